//! Helpers for SIP tests with real peers: sipp runs (killed when dropped), scenario files in
//! `tests/sipp/`, user lists, free ports, and raw UDP/TCP SIP clients.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::{Daemon, wait_timeout};

/// Whether a program is installed (on PATH).
#[must_use]
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Path of a scenario file in `tests/sipp/`.
#[must_use]
pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sipp")
        .join(name)
}

/// A UDP port that was free a moment ago (also free on TCP), for a sipp or baresip to take.
///
/// # Panics
/// When the OS has no free port.
#[must_use]
pub fn free_port() -> u16 {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let port = udp.local_addr().map_or(0, |a| a.port());
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair");
}

/// Writes a sipp injection file (`SEQUENTIAL`, one user per line) into `dir`.
///
/// # Panics
/// When the file cannot be written.
#[must_use]
pub fn users_file(dir: &Path, name: &str, users: &[String]) -> PathBuf {
    let path = dir.join(name);
    let mut text = String::from("SEQUENTIAL\n");
    for u in users {
        text.push_str(u);
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

/// One sipp process, started in its own directory; killed when dropped.
#[derive(Debug)]
pub struct Sipp {
    child: Child,
    dir: tempfile::TempDir,
    label: String,
}

/// How a sipp run ended.
#[derive(Debug)]
pub struct SippOutcome {
    /// Exit status (None: killed after the timeout).
    pub status: Option<ExitStatus>,
    /// Its screen output and error log, for assertion messages.
    pub log: String,
}

impl SippOutcome {
    /// Exit code 0: every call succeeded.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

impl Sipp {
    /// Starts `sipp args…` (with `-nostdin -trace_err` added) labelled `label` in messages.
    ///
    /// # Panics
    /// When sipp cannot be started.
    pub fn spawn(label: &str, args: &[String]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("scope-sipp-")
            .tempdir()
            .unwrap_or_else(|e| panic!("temp dir: {e}"));
        let out = std::fs::File::create(dir.path().join("screen.txt"))
            .unwrap_or_else(|e| panic!("log file: {e}"));
        let err = out.try_clone().unwrap_or_else(|e| panic!("log file: {e}"));
        let child = Command::new("sipp")
            .args(args)
            .args(["-nostdin", "-trace_err", "-trace_screen"])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start sipp (install sip-tester): {e}"));
        Self {
            child,
            dir,
            label: label.to_owned(),
        }
    }

    /// Waits up to `timeout` for sipp to exit (then kills it) and collects its logs.
    pub fn wait(mut self, timeout: Duration) -> SippOutcome {
        let status = wait_timeout(&mut self.child, timeout);
        if status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let mut log = format!("--- sipp {} ---\n", self.label);
        if let Ok(entries) = std::fs::read_dir(self.dir.path()) {
            for e in entries.flatten() {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                let tail: String = text.lines().rev().take(60).collect::<Vec<_>>().join("\n");
                log.push_str(&format!(
                    "[{}] (last lines, reversed)\n{tail}\n",
                    e.path().display()
                ));
            }
        }
        SippOutcome { status, log }
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Common sipp arguments: target, scenario, local IP/port, call count, rate, keys.
#[must_use]
pub fn sipp_args(
    target: Option<SocketAddr>,
    scenario_file: &Path,
    port: u16,
    calls: usize,
    rate: usize,
    keys: &[(&str, String)],
) -> Vec<String> {
    let mut a = Vec::new();
    if let Some(t) = target {
        a.push(t.to_string());
    }
    a.extend([
        "-sf".to_string(),
        scenario_file.display().to_string(),
        "-i".into(),
        "127.0.0.1".into(),
        "-p".into(),
        port.to_string(),
        "-m".into(),
        calls.to_string(),
        "-r".into(),
        rate.to_string(),
        "-l".into(),
        (rate * 5).max(10).to_string(),
        "-timeout".into(),
        "60s".into(),
        "-timeout_error".into(),
    ]);
    for (k, v) in keys {
        a.extend(["-key".to_string(), (*k).to_string(), v.clone()]);
    }
    a
}

/// Registers `users` (prefixed by `prefix`) at `proxy` with contacts at 127.0.0.1:`contact_port`,
/// and checks every REGISTER got its 200.
///
/// # Panics
/// When a registration fails.
pub fn register_all(
    proxy: SocketAddr,
    dir: &Path,
    users: &[String],
    prefix: &str,
    contact_port: u16,
    rate: usize,
) {
    register_all_over(
        Transport::Udp,
        proxy,
        dir,
        users,
        prefix,
        contact_port,
        rate,
    );
}

/// How a sipp talks to the proxy: its `-t` mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// One UDP socket (sipp's default, `u1`).
    Udp,
    /// One TCP connection for every call (`t1`); a UAS listens on TCP.
    Tcp,
}

impl Transport {
    /// sipp's arguments for this transport.
    #[must_use]
    pub fn sipp_args(self) -> Vec<String> {
        let mode = match self {
            Self::Udp => "u1",
            Self::Tcp => "t1",
        };
        vec!["-t".to_string(), mode.to_string()]
    }
}

/// [`register_all`] over `transport`: the contacts carry `transport=` accordingly, so calls
/// reach them over it.
///
/// # Panics
/// When a registration fails.
pub fn register_all_over(
    transport: Transport,
    proxy: SocketAddr,
    dir: &Path,
    users: &[String],
    prefix: &str,
    contact_port: u16,
    rate: usize,
) {
    let file = users_file(dir, &format!("reg-{prefix}{contact_port}.csv"), users);
    let mut args = sipp_args(
        Some(proxy),
        &scenario("register.xml"),
        free_port(),
        users.len(),
        rate,
        &[
            ("domain", "scope".into()),
            ("prefix", prefix.into()),
            ("contact_port", contact_port.to_string()),
        ],
    );
    args.extend(["-inf".to_string(), file.display().to_string()]);
    args.extend(transport.sipp_args());
    let out = Sipp::spawn("register", &args).wait(Duration::from_secs(60));
    assert!(out.ok(), "registrations failed\n{}", out.log);
}

/// Sends `message` over UDP to `to` and returns the first reply within `wait` (if any).
///
/// # Panics
/// When no local socket can be bound.
#[must_use]
pub fn udp_exchange(to: SocketAddr, message: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    s.set_read_timeout(Some(wait)).ok()?;
    s.send_to(message, to).ok()?;
    let mut buf = vec![0u8; 65_536];
    let (n, _) = s.recv_from(&mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

/// Writes `bytes` on a new TCP connection to `to` and reads what comes back within `wait`.
#[must_use]
pub fn tcp_exchange(to: SocketAddr, bytes: &[u8], wait: Duration) -> Vec<u8> {
    let Ok(mut s) = TcpStream::connect_timeout(&to, wait) else {
        return Vec::new();
    };
    let _ = s.set_read_timeout(Some(wait));
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if out.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    out
}

/// A minimal OPTIONS request to the proxy itself (answered 200 by it), to check that it
/// still serves; `;rport` makes the answer come back to the sending socket.
#[must_use]
pub fn options_request(transport: &str, branch: &str) -> String {
    format!(
        "OPTIONS sip:scope SIP/2.0\r\nVia: SIP/2.0/{transport} 127.0.0.1:9;rport;branch=z9hG4bK{branch}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@scope>;tag=p{branch}\r\nTo: <sip:scope>\r\n\
         Call-ID: {branch}@probe\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

/// Super-node A, which starts an overlay, and super-node B, joined through A, both with the
/// flags `extra`. A runs as by default (on a 2-core machine its proxy on a thread of its own
/// beside the DHT), B on one thread, where its proxy hosts the overlay's driver: tests through
/// both cover both ways a proxy reaches the DHT.
pub fn two_super_nodes(extra: &[&str]) -> (Daemon, Daemon) {
    let a = Daemon::start_with_args(&[], extra);
    a.wait_joined(Duration::from_secs(10));
    let mut b_args = extra.to_vec();
    b_args.extend(["--threads", "1"]);
    let b = Daemon::start_with_args(&[a.overlay], &b_args);
    b.wait_joined(Duration::from_secs(10));
    (a, b)
}
