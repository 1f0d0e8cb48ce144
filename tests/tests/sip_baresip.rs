//! Two real `baresip` phones, each registered at a different `scope-node` of one overlay: a
//! MESSAGE and an auto-answered call with audio from a WAV tone (no sound card: `aufile`
//! source, `aubridge` player), checked by baresip's own RTP statistics at hang-up. The caller's
//! super-node finds the callee through the DHT.
//!
//! Needs `baresip` (Debian 1.0); skipped with a message without it. Each phone gets its own
//! configuration directory; baresip also binds TLS on port+1, so ports are picked in pairs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use scope_tests::poll_until;
use scope_tests::sip::{free_port, have, two_super_nodes};

/// A baresip process, killed when dropped.
struct Phone {
    child: Child,
    log: PathBuf,
}

impl Phone {
    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port whose successor is free too (baresip's TLS listener).
fn port_pair() -> u16 {
    for _ in 0..50 {
        let p = free_port();
        if p < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
    panic!("no free port pair");
}

/// 20 s of a 440 Hz tone, 8 kHz mono 16-bit PCM (what PCMU carries).
fn write_tone(path: &Path) {
    let samples: Vec<i16> = (0..8000 * 20)
        .map(|i| {
            (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * f64::from(i) / 8000.0).sin()) as i16
        })
        .collect();
    let data_len = u32::try_from(samples.len() * 2).unwrap();
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    for v in [1u16, 1] {
        wav.extend_from_slice(&v.to_le_bytes());
    }
    for v in [8000u32, 16000] {
        wav.extend_from_slice(&v.to_le_bytes());
    }
    for v in [2u16, 16] {
        wav.extend_from_slice(&v.to_le_bytes());
    }
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        wav.extend_from_slice(&s.to_le_bytes());
    }
    std::fs::write(path, wav).unwrap();
}

/// Writes config, accounts and contacts for `user` and starts baresip with `commands`.
fn phone(
    root: &Path,
    user: &str,
    proxy: SocketAddr,
    peer: &str,
    quit_after: u32,
    commands: &[&str],
) -> Phone {
    let dir = root.join(user);
    std::fs::create_dir_all(&dir).unwrap();
    let tone = root.join("tone.wav");
    let mut config = String::new();
    let _ = writeln!(config, "sip_listen 127.0.0.1:{}", port_pair());
    let _ = writeln!(
        config,
        "audio_player aubridge,{user}\naudio_alert aubridge,{user}"
    );
    let _ = writeln!(config, "audio_source aufile,{}", tone.display());
    config.push_str("module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n");
    config.push_str("module aubridge.so\nmodule_app account.so\nmodule_app menu.so\n");
    config.push_str("module_app contact.so\nmodule_app rtcpsummary.so\nrtp_stats yes\n");
    std::fs::write(dir.join("config"), config).unwrap();
    let account = format!(
        "<sip:{user}@scope>;outbound=\"sip:{proxy}\";regint=60;answermode=auto;audio_codecs=PCMU\n"
    );
    std::fs::write(dir.join("accounts"), account).unwrap();
    std::fs::write(
        dir.join("contacts"),
        format!("\"{peer}\" <sip:{peer}@scope>\n"),
    )
    .unwrap();
    let log = dir.join("out.txt");
    let out = std::fs::File::create(&log).unwrap();
    let mut cmd = Command::new("baresip");
    // -s: SIP trace on stdout, where the test finds the MESSAGE (baresip 1.0 only plays an
    // alert for an incoming message and prints no text).
    cmd.env("HOME", &dir)
        .arg("-s")
        .arg("-f")
        .arg(&dir)
        .args(["-t", &quit_after.to_string()]);
    for c in commands {
        cmd.args(["-e", c]);
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start baresip: {e}"));
    Phone { child, log }
}

/// The (transmit, receive) RTP packet counts of baresip's end-of-call summary.
fn rtp_packets(output: &str) -> Option<(u64, u64)> {
    let line = output
        .lines()
        .find(|l| l.trim_start().starts_with("packets:"))?;
    let mut n = line
        .split_whitespace()
        .skip(1)
        .filter_map(|w| w.parse().ok());
    Some((n.next()?, n.next()?))
}

#[test]
fn two_baresip_phones_message_and_call_with_audio_both_ways() {
    if !have("baresip") {
        eprintln!("skipped: baresip not installed (apt-get install baresip)");
        return;
    }
    // Bob's super-node runs as by default, alice's on one thread (its proxy hosting the
    // overlay's driver): both ways a proxy reaches the DHT.
    let (bobs, alices) = two_super_nodes(&[]);
    let root = tempfile::tempdir().unwrap();
    write_tone(&root.path().join("tone.wav"));

    let bob = phone(root.path(), "bob", bobs.sip_addr(), "alice", 30, &[]);
    let registered = || bob.output().contains("200 OK () [1 binding]");
    assert!(
        poll_until(
            Duration::from_secs(10),
            Duration::from_millis(50),
            registered
        ),
        "bob did not register:\n{}",
        bob.output()
    );

    // Alice sends a MESSAGE to her current contact (bob), calls him, and quits (hanging up)
    // after 7 s; bob answers automatically.
    let mut alice = phone(
        root.path(),
        "alice",
        alices.sip_addr(),
        "bob",
        7,
        &["/message hello-from-alice", "/dial sip:bob@scope"],
    );
    let ended = scope_tests::wait_timeout(&mut alice.child, Duration::from_secs(20));
    assert!(ended.is_some(), "alice did not quit:\n{}", alice.output());
    let hung_up = poll_until(Duration::from_secs(5), Duration::from_millis(50), || {
        bob.output().contains("terminated")
    });
    let (a, b) = (alice.output(), bob.output());
    assert!(
        hung_up,
        "the call did not end at bob\n--- alice\n{a}\n--- bob\n{b}"
    );
    let delivered = b.contains("MESSAGE sip:bob") && b.contains("hello-from-alice");
    assert!(
        delivered,
        "bob did not get the MESSAGE\n--- alice\n{a}\n--- bob\n{b}"
    );
    for (who, out) in [("alice", &a), ("bob", &b)] {
        let (tx, rx) = rtp_packets(out).unwrap_or_else(|| panic!("{who}: no RTP summary\n{out}"));
        assert!(tx >= 100 && rx >= 100, "{who}: RTP tx {tx} rx {rx}\n{out}");
    }
    // Alice's super-node proxied her requests to bob's device, which it found in the DHT.
    let (_, metrics) = alices.get("/metrics").unwrap();
    for m in ["MESSAGE", "INVITE", "ACK", "BYE"] {
        assert!(
            metrics.contains(&format!("scope_sip_requests_total{{method=\"{m}\"}} 1")),
            "{m}\n{metrics}"
        );
    }
    let (_, metrics) = bobs.get("/metrics").unwrap();
    assert!(
        metrics.contains("scope_sip_requests_total{method=\"REGISTER\"}"),
        "{metrics}"
    );
}
