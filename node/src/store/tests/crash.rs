//! Durability under `kill -9`: a child process (this same test binary, running the helper test
//! below) puts values, reports once they are acknowledged, and is killed with SIGKILL; the parent
//! then reopens the file and finds every acknowledged value.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};

use super::persistence::temp_dir;
use super::*;
use crate::store::Op;

/// Set in the child's environment to the database path; the helper test does nothing without it.
const CHILD_ENV: &str = "SCOPE_STORE_CRASH_CHILD_DB";
/// Printed by the child once all its puts are acknowledged.
const READY: &str = "SCOPE-STORE-CHILD-READY";

#[test]
fn crash_child_helper() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let s = Store::open(&path, StoreLimits::default()).unwrap();
    for i in 0..100u32 {
        s.put(
            T0,
            &put_req(key(1), format!("single-{i}").as_bytes(), None, 600, ip(1)),
        )
        .unwrap();
    }
    let ops: Vec<Op> = (0..50u32)
        .map(|i| {
            Op::Put(put_req(
                key(2),
                format!("batch-{i}").as_bytes(),
                None,
                600,
                ip(2),
            ))
        })
        .collect();
    assert!(s.apply_batch(T0, &ops).unwrap().iter().all(Result::is_ok));
    println!("{READY}");
    std::io::stdout().flush().unwrap();
    // Wait to be killed; give up after a minute so a broken parent cannot leave us running.
    for _ in 0..600 {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn acknowledged_puts_survive_sigkill() {
    let dir = temp_dir("crash");
    let path = dir.join("store.redb");
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "store::tests::crash::crash_child_helper",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let ready = BufReader::new(stdout)
        .lines()
        .take(1_000)
        .any(|l| l.is_ok_and(|l| l.contains(READY)));
    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(ready, "child never acknowledged its puts");
    #[cfg(unix)]
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    let s = Store::open(&path, StoreLimits::default()).unwrap();
    assert_eq!(get_all(&s, T0, key(1), 20).len(), 100);
    assert_eq!(get_all(&s, T0, key(2), 20).len(), 50);
    assert_eq!(s.stats().unwrap().values, 150);
    drop(s);
    std::fs::remove_dir_all(dir).unwrap();
}
