//! Python's standard-library `xmlrpc.client`, as an independent OpenDHT client, against 8
//! `scope-node` processes: `tests/python/test_opendht.py`, whose output and verdict this test
//! passes on.

// A test fails by panicking: unwrap and expect are the clearest way to say what broke.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use scope_tests::start_overlay;

const NODES: usize = 8;

#[test]
fn python_xmlrpc_client_suite_passes() {
    let nodes = start_overlay(NODES, &["--http-timeout-secs", "3"]);
    let urls: Vec<String> = nodes.iter().map(scope_tests::Daemon::rpc_url).collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("python");
    let out = Command::new("python3")
        .args(["-m", "unittest", "-v", "test_opendht"])
        .current_dir(&dir)
        .env("SCOPE_GATEWAYS", urls.join(","))
        .output()
        .expect("cannot run python3");
    eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "python suite failed: {}", out.status);
}
