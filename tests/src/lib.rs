//! Shared harness for the end-to-end tests: starting and stopping real `scope-node` daemons.
//!
//! Every daemon runs on 127.0.0.1 with ports chosen by the OS (port 0; the daemon's first stdout
//! line says which), a temporary data directory and `--no-mdns`. A [`Daemon`] kills its
//! process with SIGKILL when dropped, so every process a test starts is gone at its end, also
//! when the test panics. On a panic the data directories (with each daemon's `stderr.log`) are
//! kept and their paths printed.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod load;
pub mod rpc;
pub mod sip;

/// How long a daemon may take to print its startup line.
const STARTUP: Duration = Duration::from_secs(20);
/// Timeout of one HTTP request (longer than the overlay's 10 s lookup timeout).
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

/// Path of the `scope-node` binary (`$SCOPE_NODE_BIN` if set), otherwise built once per test
/// process with the same cargo that runs the tests, so `cargo test --workspace` alone is enough.
///
/// # Panics
/// When the build fails.
pub fn binary() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    // The bench points this at a release build.
    let init = || match std::env::var_os("SCOPE_NODE_BIN") {
        Some(p) => Ok(PathBuf::from(p)),
        None => build_binary("scope-node"),
    };
    match BIN.get_or_init(init) {
        Ok(p) => p,
        Err(e) => panic!("cannot build scope-node: {e}"),
    }
}

/// Path of the `whatsup` command line (`$WHATSUP_BIN` if set), otherwise built once per test
/// process like [`binary`].
///
/// # Panics
/// When the build fails.
pub fn whatsup_binary() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let init = || match std::env::var_os("WHATSUP_BIN") {
        Some(p) => Ok(PathBuf::from(p)),
        None => build_binary("whatsup"),
    };
    match BIN.get_or_init(init) {
        Ok(p) => p,
        Err(e) => panic!("cannot build whatsup: {e}"),
    }
}

/// Builds `bin` with the features `cargo test --workspace` resolves (every package, with the
/// dev-dependencies the test targets activate), so under that command the binary it already
/// built is fresh; `cargo build -p …` alone resolves fewer features and rebuilt dozens of crates
/// (4.5 minutes of CI).
fn build_binary(bin: &str) -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace root")?;
    let out = Command::new(env!("CARGO"))
        .args(["build", "--workspace", "--tests", "--bin", bin])
        .arg("--message-format=json-render-diagnostics")
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo build exited with {}", out.status));
    }
    // Cargo names the executable it built; this respects CARGO_TARGET_DIR and build.target-dir.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["reason"] == "compiler-artifact" && v["target"]["name"] == bin)
        // Not the unit-test harness built from the same target.
        .filter(|v| v["profile"]["test"] == false)
        .find_map(|v| v["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| format!("cargo did not report the {bin} executable"))
}

/// Where a daemon keeps its key: a temporary directory it owns, or one the test owns (to
/// restart a node on the same directory).
#[derive(Debug)]
enum DataDir {
    Owned(Option<tempfile::TempDir>),
    Borrowed(PathBuf),
}

impl DataDir {
    fn temporary() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("scope-node-test-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot make a temp dir: {e}"));
        Self::Owned(Some(dir))
    }

    fn path(&self) -> &Path {
        match self {
            Self::Owned(Some(d)) => d.path(),
            Self::Owned(None) => Path::new("."),
            Self::Borrowed(p) => p,
        }
    }
}

/// One running `scope-node` process.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    /// Its node ID (40 hex digits).
    pub id: String,
    /// Its overlay UDP address.
    pub overlay: SocketAddr,
    /// Its HTTP gateway address.
    pub gateway: SocketAddr,
    /// Its SIP address (UDP and TCP), when the startup line names one.
    pub sip: Option<SocketAddr>,
    dir: DataDir,
}

impl Daemon {
    /// Starts a daemon with a fresh data directory, joining through `bootstrap` (none: a new
    /// overlay).
    ///
    /// # Panics
    /// When it does not start.
    pub fn start(bootstrap: &[SocketAddr]) -> Self {
        Self::launch(DataDir::temporary(), &[], &local_args(bootstrap))
    }

    /// Like [`Daemon::start`], with `extra` flags appended (say `--sip-t1-ms 50`).
    ///
    /// # Panics
    /// When it does not start.
    pub fn start_with_args(bootstrap: &[SocketAddr], extra: &[&str]) -> Self {
        let mut args = local_args(bootstrap);
        args.extend(extra.iter().map(|a| (*a).to_string()));
        Self::launch(DataDir::temporary(), &[], &args)
    }

    /// Its SIP address.
    ///
    /// # Panics
    /// When the daemon did not report one.
    #[must_use]
    pub fn sip_addr(&self) -> SocketAddr {
        self.sip
            .unwrap_or_else(|| panic!("daemon {} reported no SIP address", self.id))
    }

    /// Starts a daemon on the data directory `dir`, which outlives it.
    ///
    /// # Panics
    /// When it does not start.
    pub fn start_with_dir(dir: &Path, bootstrap: &[SocketAddr]) -> Self {
        Self::launch(
            DataDir::Borrowed(dir.to_path_buf()),
            &[],
            &local_args(bootstrap),
        )
    }

    /// Starts a daemon with extra flags, on `dir` if given (which outlives it) or on a fresh
    /// temporary directory.
    ///
    /// # Panics
    /// When it does not start.
    pub fn start_with(dir: Option<&Path>, bootstrap: &[SocketAddr], extra: &[&str]) -> Self {
        let dir = dir.map_or_else(DataDir::temporary, |d| DataDir::Borrowed(d.to_path_buf()));
        let mut args = local_args(bootstrap);
        args.extend(extra.iter().map(|a| (*a).to_string()));
        Self::launch(dir, &[], &args)
    }

    /// The gateway's XML-RPC URL.
    #[must_use]
    pub fn rpc_url(&self) -> String {
        format!("http://{}/", self.gateway)
    }

    /// Starts `wrapper… scope-node --data-dir <fresh dir> args…` (the wrapper being, say,
    /// `ip netns exec NS`, which must exec the daemon so that killing the child kills it).
    ///
    /// # Panics
    /// When it does not start.
    pub fn start_wrapped(wrapper: &[String], args: &[String]) -> Self {
        Self::launch(DataDir::temporary(), wrapper, args)
    }

    fn launch(dir: DataDir, wrapper: &[String], args: &[String]) -> Self {
        let (mut child, line) = spawn_with_line(dir.path(), wrapper, args);
        match parse_startup_line(&line) {
            Some((id, overlay, gateway)) => Self {
                child,
                id,
                overlay,
                gateway,
                sip: parse_sip_addr(&line),
                dir,
            },
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "unexpected startup line {line:?} (stderr in {})",
                    dir.path().display()
                );
            }
        }
    }

    /// The daemon's data directory.
    #[must_use]
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Its process ID.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `GET path` on its gateway: status code and body.
    ///
    /// # Errors
    /// When the request fails at the transport level.
    pub fn get(&self, path: &str) -> Result<(u16, String), String> {
        http_get(self.gateway, path)
    }

    /// Its `/status` as JSON.
    ///
    /// # Errors
    /// When the request fails or the answer is not a 200 with JSON.
    pub fn status(&self) -> Result<Value, String> {
        get_json(self.gateway, "/status")
    }

    /// Waits until `/status` says `joined`.
    ///
    /// # Panics
    /// When that takes longer than `timeout`.
    pub fn wait_joined(&self, timeout: Duration) {
        let ok = poll_until(timeout, Duration::from_millis(50), || {
            self.status().is_ok_and(|s| s["joined"] == true)
        });
        assert!(ok, "node {} did not join within {timeout:?}", self.id);
    }

    /// Kills the process with SIGKILL (a crash, as far as its peers can tell) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits up to `timeout` for the process to exit; `None` if it did not
    /// (it is then killed when dropped).
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.signal("TERM", timeout)
    }

    /// Sends signal `name` (`TERM`, `INT`, …) with kill(1) and waits up to `timeout` for the
    /// process to exit; `None` if it did not.
    ///
    /// # Panics
    /// When kill(1) cannot be run (Debian: package `procps`).
    pub fn signal(&mut self, name: &str, timeout: Duration) -> Option<ExitStatus> {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("cannot run kill(1) (install procps): {e}"));
        assert!(sent.success(), "kill -{name} failed");
        wait_timeout(&mut self.child, timeout)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking()
            && let DataDir::Owned(dir) = &mut self.dir
            && let Some(d) = dir.take()
        {
            eprintln!("daemon {}: logs kept in {}", self.id, d.keep().display());
        }
    }
}

/// Arguments for a daemon on 127.0.0.1 with OS-chosen ports (overlay, gateway, SIP) and no
/// mDNS.
fn local_args(bootstrap: &[SocketAddr]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--overlay-addr",
        "127.0.0.1:0",
        "--gateway-addr",
        "127.0.0.1:0",
        "--sip-addr",
        "127.0.0.1:0",
        "--no-mdns",
    ]
    .map(String::from)
    .to_vec();
    for b in bootstrap {
        args.extend(["--bootstrap".to_string(), b.to_string()]);
    }
    args
}

/// Starts `wrapper… scope-node --data-dir dir args…`, with stderr going to
/// `dir/stderr.log`, and returns it with its first stdout line (empty if it printed none).
fn spawn_with_line(dir: &Path, wrapper: &[String], args: &[String]) -> (Child, String) {
    let log = std::fs::File::create(dir.join("stderr.log"))
        .unwrap_or_else(|e| panic!("cannot create a log file in {}: {e}", dir.display()));
    let mut command = match wrapper.split_first() {
        Some((program, rest)) => {
            let mut c = Command::new(program);
            c.args(rest).arg(binary());
            c
        }
        None => Command::new(binary()),
    };
    let mut child = command
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start scope-node: {e}"));
    let line = child.stdout.take().map_or_else(String::new, first_line);
    (child, line)
}

/// Reads the first line of `out` (waiting up to [`STARTUP`]) and keeps draining the rest on a
/// thread, so the child never blocks on a full pipe.
fn first_line(out: std::process::ChildStdout) -> String {
    let (tx, rx) = mpsc::channel();
    let _ = std::thread::Builder::new()
        .name("daemon-stdout".into())
        .spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
    rx.recv_timeout(STARTUP).unwrap_or_default()
}

/// Splits `scope-node <id> overlay udp://<addr> gateway http://<addr>`.
#[must_use]
pub fn parse_startup_line(line: &str) -> Option<(String, SocketAddr, SocketAddr)> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["scope-node", id, "overlay", overlay, "gateway", gateway, ..] => Some((
            (*id).to_string(),
            overlay.strip_prefix("udp://")?.parse().ok()?,
            gateway.strip_prefix("http://")?.parse().ok()?,
        )),
        _ => None,
    }
}

/// The address after `sip` in the startup line, if any.
#[must_use]
pub fn parse_sip_addr(line: &str) -> Option<SocketAddr> {
    let mut words = line.split_whitespace().skip(6);
    while let Some(w) = words.next() {
        if w == "sip" {
            return words.next()?.parse().ok();
        }
    }
    None
}

/// Runs `scope-node` with exactly `args` (no defaults added) and returns its exit status and
/// stderr, killing it if it runs longer than `timeout`.
///
/// # Panics
/// When it cannot be started.
#[must_use]
pub fn run_to_exit(args: &[&str], timeout: Duration) -> (Option<ExitStatus>, String) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let log_path = dir.path().join("stderr.log");
    let log = std::fs::File::create(&log_path).unwrap_or_else(|e| panic!("log file: {e}"));
    let mut child = Command::new(binary())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start scope-node: {e}"));
    let status = wait_timeout(&mut child, timeout);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    (
        status,
        std::fs::read_to_string(log_path).unwrap_or_default(),
    )
}

/// Waits up to `timeout` for `child` to exit.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => return None,
        }
    }
}

/// Calls `check` every `every` until it returns true (then true) or `timeout` passes (false).
pub fn poll_until(timeout: Duration, every: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(every);
    }
}

/// `GET http://addr/path`: status code and body, whatever the status.
///
/// # Errors
/// When the request fails at the transport level.
pub fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, String), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(HTTP_TIMEOUT))
        .build()
        .into();
    let mut resp = agent
        .get(format!("http://{addr}{path}"))
        .call()
        .map_err(|e| format!("GET {addr}{path}: {e}"))?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("GET {addr}{path}: body: {e}"))?;
    Ok((status, body))
}

/// `GET` expecting 200 and a JSON body.
///
/// # Errors
/// When the request fails, the status is not 200 or the body is not JSON.
pub fn get_json(addr: SocketAddr, path: &str) -> Result<Value, String> {
    let (status, body) = http_get(addr, path)?;
    if status != 200 {
        return Err(format!("GET {addr}{path}: status {status}: {body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("GET {addr}{path}: {e}: {body}"))
}

/// Starts `n` daemons with `extra` flags, each joining through the first, and waits until
/// each has joined before starting the next (so the overlay is consistent at the end).
///
/// # Panics
/// When one does not start or join within 20 s.
#[must_use]
pub fn start_overlay(n: usize, extra: &[&str]) -> Vec<Daemon> {
    let mut nodes: Vec<Daemon> = Vec::with_capacity(n);
    for _ in 0..n {
        let boot: Vec<SocketAddr> = nodes.first().map(|d| d.overlay).into_iter().collect();
        let d = Daemon::start_with(None, &boot, extra);
        d.wait_joined(Duration::from_secs(20));
        nodes.push(d);
    }
    nodes
}
