//! mDNS discovery between two hosts: a daemon started with no `--bootstrap` finds the other
//! super-node on its LAN and joins its overlay.
//!
//! The loopback interface has no MULTICAST flag, so this needs real links: two network
//! namespaces (the "hosts") on a bridge in a third, nothing attached to the root namespace (so
//! no other mDNS responder on this machine takes part). Creating namespaces needs root and
//! iproute2, and querying the daemons needs curl; hence `#[ignore]`:
//! `cargo test -p scope-tests --test mdns_netns -- --ignored`.

// A test fails by panicking: unwrap and expect are the clearest way to say what broke.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use scope_tests::{Daemon, poll_until};

/// Network namespaces and links made for one test, removed on drop (also on panic).
struct Lan {
    prefix: String,
    hosts: Vec<String>,
}

impl Lan {
    /// Hosts `<prefix>-h1`, `<prefix>-h2`, … at 10.77.0.1, .2, … on a bridge in `<prefix>-hub`.
    fn new(n: usize) -> Self {
        // Tests run in parallel in one process: a counter keeps their namespaces apart.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n_lan = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let prefix = format!("sc{n_lan}m{}", std::process::id());
        let hub = format!("{prefix}-hub");
        let mut lan = Self {
            prefix: prefix.clone(),
            hosts: Vec::new(),
        };
        ip(&["netns", "add", &hub]);
        ip(&[
            "-n",
            &hub,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ]);
        ip(&["-n", &hub, "link", "set", "br0", "up"]);
        for i in 1..=n {
            let ns = format!("{prefix}-h{i}");
            ip(&["netns", "add", &ns]);
            lan.hosts.push(ns.clone());
            // Interface names must be unique in the root namespace while they are made.
            let (inner, outer) = (format!("{prefix}i{i}"), format!("{prefix}o{i}"));
            ip(&[
                "link", "add", &inner, "type", "veth", "peer", "name", &outer,
            ]);
            ip(&["link", "set", &inner, "netns", &ns]);
            ip(&["link", "set", &outer, "netns", &hub]);
            ip(&["-n", &ns, "link", "set", &inner, "name", "eth0"]);
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("10.77.0.{i}/24"),
                "dev",
                "eth0",
            ]);
            ip(&["-n", &ns, "link", "set", "eth0", "up"]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
            ip(&["-n", &hub, "link", "set", &outer, "master", "br0"]);
            ip(&["-n", &hub, "link", "set", &outer, "up"]);
        }
        lan
    }

    /// `ip netns exec <host i>`, as a command prefix.
    fn exec(&self, i: usize) -> Vec<String> {
        ["ip", "netns", "exec", &self.hosts[i]]
            .map(String::from)
            .to_vec()
    }

    /// `GET path` on port `port` of host `i`, from inside it.
    fn get(&self, i: usize, port: u16, path: &str) -> serde_json::Value {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.hosts[i],
                "curl",
                "-sf",
                "--max-time",
                "5",
            ])
            .arg(format!("http://127.0.0.1:{port}{path}"))
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for ns in self.hosts.iter().chain([&format!("{}-hub", self.prefix)]) {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().unwrap();
    assert!(status.success(), "ip {}: {status}", args.join(" "));
}

#[test]
#[ignore = "needs root, iproute2 and curl: creates network namespaces"]
fn a_node_with_no_bootstrap_joins_the_super_node_it_finds_by_mdns() {
    let lan = Lan::new(2);
    // The default ports: each host has its own network stack.
    let args: Vec<String> = [
        "--overlay-addr",
        "0.0.0.0:3630",
        "--gateway-addr",
        "127.0.0.1:5851",
    ]
    .map(String::from)
    .to_vec();
    // Drop order: daemons first (declared after `lan`), then the namespaces.
    let first = Daemon::start_wrapped(&lan.exec(0), &args);
    assert!(poll_until(
        Duration::from_secs(10),
        Duration::from_millis(100),
        || { lan.get(0, 5851, "/status")["joined"] == true }
    ));
    let second = Daemon::start_wrapped(&lan.exec(1), &args);
    let joined_first = poll_until(Duration::from_secs(10), Duration::from_millis(100), || {
        let s = lan.get(1, 5851, "/status");
        s["joined"] == true
            && s["leaf_set"]
                .as_array()
                .is_some_and(|l| l.iter().any(|m| m["id"] == first.id))
    });
    assert!(
        joined_first,
        "the second node did not join the first by mDNS: {}",
        lan.get(1, 5851, "/status")
    );
    let s = lan.get(1, 5851, "/status");
    eprintln!("second node's status: {s}");
    assert_eq!(s["leaf_set"][0]["addr"], "10.77.0.1:3630");
    // And the first node learned of the second through the overlay.
    let a = lan.get(0, 5851, "/status");
    eprintln!("first node's status: {a}");
    assert!(
        a["leaf_set"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == second.id),
        "{a}"
    );
    drop((first, second));
}

/// Runs `whatsup --home <home> --json <args>` inside host `i`; returns (success, stdout, stderr).
fn whatsup_in(
    lan: &Lan,
    i: usize,
    home: &std::path::Path,
    args: &[&str],
) -> (bool, String, String) {
    let out = Command::new("ip")
        .args(["netns", "exec", &lan.hosts[i]])
        .arg(scope_tests::whatsup_binary())
        .arg("--home")
        .arg(home)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
#[ignore = "needs root, iproute2 and curl: creates network namespaces"]
fn a_client_with_no_gateway_finds_super_nodes_by_mdns_and_fails_over() {
    let lan = Lan::new(3);
    // Gateways on every interface, as a super-node serving its LAN runs them.
    let args: Vec<String> = [
        "--overlay-addr",
        "0.0.0.0:3630",
        "--gateway-addr",
        "0.0.0.0:5851",
    ]
    .map(String::from)
    .to_vec();
    let mut first = Daemon::start_wrapped(&lan.exec(0), &args);
    assert!(poll_until(
        Duration::from_secs(10),
        Duration::from_millis(100),
        || lan.get(0, 5851, "/status")["joined"] == true
    ));
    let second = Daemon::start_wrapped(&lan.exec(1), &args);
    assert!(poll_until(
        Duration::from_secs(10),
        Duration::from_millis(100),
        || lan.get(1, 5851, "/status")["leaf_set"]
            .as_array()
            .is_some_and(|l| l.iter().any(|m| m["id"] == first.id))
    ));
    // Host 3 runs no super-node: the client finds both gateways by mDNS.
    let home = std::env::temp_dir().join(format!("scope-mdns-client-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    let (ok, out, err) = whatsup_in(&lan, 2, &home, &["init", "carol"]);
    assert!(ok, "init with no --gateway: {out} {err}");
    let (ok, out, err) = whatsup_in(&lan, 2, &home, &["profile", "show", "carol"]);
    assert!(ok && out.contains("carol"), "{out} {err}");
    // Remembered for the next runs, which then need not wait for mDNS.
    let found = std::fs::read_to_string(home.join("gateways.txt")).unwrap_or_default();
    eprintln!("gateways found by mDNS: {found:?}");
    assert!(
        found.contains("10.77.0.1") && found.contains("10.77.0.2"),
        "{found}"
    );
    // A super-node dies: the next command goes to the other one, quickly and without error.
    first.kill();
    let started = std::time::Instant::now();
    let (ok, out, err) = whatsup_in(&lan, 2, &home, &["profile", "show", "carol"]);
    let took = started.elapsed();
    eprintln!("command after the kill took {took:?}");
    assert!(ok && out.contains("carol"), "after the kill: {out} {err}");
    assert!(err.trim().is_empty(), "no user-visible error: {err}");
    assert!(took < Duration::from_secs(2), "failover took {took:?}");
    let _ = std::fs::remove_dir_all(&home);
    drop((first, second));
}
