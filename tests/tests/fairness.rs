//! Fair share between clients, from outside: 4 nodes with 1 MiB of storage each; a client
//! flooding puts from 127.0.0.2 is refused with status 1 while a client from 127.0.0.3 still
//! stores (`tests/python/fairness.py`, whose output and verdict this test passes on).

// A test fails by panicking: unwrap and expect are the clearest way to say what broke.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use scope_tests::start_overlay;

#[test]
fn a_flooding_client_gets_status_1_while_another_still_puts() {
    let flags = ["--store-capacity-mb", "1", "--client-floor-kb", "16"];
    let nodes = start_overlay(4, &flags);
    let urls: Vec<String> = nodes.iter().map(scope_tests::Daemon::rpc_url).collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("python");
    let out = Command::new("python3")
        .arg("fairness.py")
        .current_dir(&dir)
        .env("SCOPE_GATEWAYS", urls.join(","))
        .output()
        .expect("cannot run python3");
    eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "fairness check failed: {}",
        out.status
    );
}
