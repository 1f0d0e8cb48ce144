//! The `scope-node` process as an operator sees it: flags, exit codes, signals, its key on
//! disk, and the `/status`, `/route` and `/metrics` endpoints.

// A test fails by panicking: unwrap and expect are the clearest way to say what broke.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::time::{Duration, Instant};

use scope_tests::{Daemon, poll_until, run_to_exit};

const EXIT_USAGE: i32 = 2;
const QUICK: Duration = Duration::from_secs(10);

/// The stderr of a failed start must be exactly one non-empty line.
fn assert_one_line(stderr: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one line on stderr, got {stderr:?}"
    );
}

#[test]
fn bad_flag_exits_2_with_one_line() {
    let (status, stderr) = run_to_exit(&["--no-such-flag"], QUICK);
    assert_eq!(status.and_then(|s| s.code()), Some(EXIT_USAGE), "{stderr}");
    assert_one_line(&stderr);
    assert!(stderr.contains("--no-such-flag"), "{stderr}");

    let (status, stderr) = run_to_exit(&["--overlay-addr", "not-an-address"], QUICK);
    assert_eq!(status.and_then(|s| s.code()), Some(EXIT_USAGE), "{stderr}");
    assert_one_line(&stderr);
}

#[test]
fn overlay_port_in_use_exits_2_with_one_line() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().to_str().unwrap();
    let args = [
        "--data-dir",
        dir,
        "--no-mdns",
        "--overlay-addr",
        &addr,
        "--gateway-addr",
        "127.0.0.1:0",
    ];
    let (status, stderr) = run_to_exit(&args, QUICK);
    assert_eq!(status.and_then(|s| s.code()), Some(EXIT_USAGE), "{stderr}");
    assert_one_line(&stderr);
    assert!(
        stderr.contains(&addr) && stderr.contains("in use"),
        "{stderr}"
    );
}

#[test]
fn gateway_port_in_use_exits_2_with_one_line() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().to_str().unwrap();
    let args = [
        "--data-dir",
        dir,
        "--no-mdns",
        "--overlay-addr",
        "127.0.0.1:0",
        "--gateway-addr",
        &addr,
    ];
    let (status, stderr) = run_to_exit(&args, QUICK);
    assert_eq!(status.and_then(|s| s.code()), Some(EXIT_USAGE), "{stderr}");
    assert_one_line(&stderr);
    assert!(
        stderr.contains(&addr) && stderr.contains("in use"),
        "{stderr}"
    );
}

#[test]
fn sigterm_leaves_gracefully_and_neighbours_drop_it() {
    let first = Daemon::start(&[]);
    first.wait_joined(QUICK);
    let mut nodes = vec![first];
    for _ in 0..3 {
        let d = Daemon::start(&[nodes[0].overlay]);
        d.wait_joined(QUICK);
        nodes.push(d);
    }
    let mut leaver = nodes.remove(1);
    assert!(poll_until(QUICK, Duration::from_millis(50), || nodes
        .iter()
        .all(|n| lists(n, &leaver.id))));

    let sent = Instant::now();
    let status = leaver.terminate(Duration::from_secs(5));
    assert!(
        status.is_some_and(|s| s.success()),
        "exit within 5 s with 0, got {status:?}"
    );
    eprintln!("exited {:?} after SIGTERM", sent.elapsed());
    // A graceful leave tells the neighbours at once; failure detection alone would take seconds
    // of probing, so "promptly" here is well under the probe interval.
    let dropped = poll_until(Duration::from_secs(1), Duration::from_millis(20), || {
        nodes.iter().all(|n| !lists(n, &leaver.id))
    });
    assert!(dropped, "neighbours still list the node 1 s after it left");
    eprintln!("neighbours dropped it {:?} after SIGTERM", sent.elapsed());
}

#[test]
fn sigint_exits_0_within_5_s() {
    let mut d = Daemon::start(&[]);
    d.wait_joined(QUICK);
    let status = d.signal("INT", Duration::from_secs(5));
    assert!(status.is_some_and(|s| s.success()), "got {status:?}");
}

/// True if `node`'s leaf set names `id`.
fn lists(node: &Daemon, id: &str) -> bool {
    let status = node.status().unwrap();
    status["leaf_set"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == id)
}

#[test]
fn restart_on_the_same_data_dir_keeps_the_node_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Daemon::start_with_dir(dir.path(), &[]);
    let id = first.id.clone();
    assert!(
        first
            .terminate(Duration::from_secs(5))
            .is_some_and(|s| s.success())
    );
    drop(first);
    let second = Daemon::start_with_dir(dir.path(), &[]);
    assert_eq!(second.id, id);
    assert_eq!(second.status().unwrap()["node_id"], id);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("node.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the key file is readable by others");
    }
}

#[test]
fn status_has_the_documented_fields() {
    let a = Daemon::start(&[]);
    a.wait_joined(QUICK);
    let b = Daemon::start(&[a.overlay]);
    b.wait_joined(QUICK);
    assert!(poll_until(QUICK, Duration::from_millis(50), || lists(
        &a, &b.id
    )));
    let s = a.status().unwrap();
    assert_eq!(s["node_id"], a.id);
    let id = s["node_id"].as_str().unwrap();
    assert!(
        id.len() == 40 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(
        s["overlay_addr"]
            .as_str()
            .unwrap()
            .parse::<SocketAddr>()
            .unwrap(),
        a.overlay
    );
    assert_eq!(s["joined"], true);
    assert_eq!(s["leaf_set"][0]["id"], b.id);
    assert_eq!(
        s["leaf_set"][0]["addr"]
            .as_str()
            .unwrap()
            .parse::<SocketAddr>()
            .unwrap(),
        b.overlay
    );
    assert!(s["routing_table_entries"].as_u64().unwrap() >= 1, "{s}");
    // Nothing but the SIP super-nodes' own P2PSIP advertisements (service list entry and
    // provider address, at most two per node on this two-node overlay, plus replicas).
    assert!(s["stored_values"].as_u64().is_some_and(|n| n <= 8), "{s}");
    assert!(s["uptime_s"].is_u64(), "{s}");
    assert_eq!(s["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn route_answers_and_rejects_bad_keys() {
    let a = Daemon::start(&[]);
    a.wait_joined(QUICK);
    let b = Daemon::start(&[a.overlay]);
    b.wait_joined(QUICK);
    let key = a.id.clone(); // a's own ID: its root is a, from anywhere
    let r = scope_tests::get_json(b.gateway, &format!("/route/{key}")).unwrap();
    assert_eq!(r["root"]["id"], a.id);
    assert_eq!(r["hops"], 1);
    assert_eq!(r["path"], serde_json::json!([b.id, a.id]));

    for bad in ["xyz", "00", &"g".repeat(40), &"0".repeat(41)] {
        let (code, body) = b.get(&format!("/route/{bad}")).unwrap();
        assert_eq!(code, 400, "{bad}: {body}");
    }
}

#[test]
fn route_is_503_until_joined() {
    // A seed that never answers: the node keeps trying to join and serves no lookups.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let lonely = Daemon::start(&[silent.local_addr().unwrap()]);
    assert_eq!(lonely.status().unwrap()["joined"], false);
    let (code, body) = lonely.get(&format!("/route/{}", "0".repeat(40))).unwrap();
    assert_eq!(code, 503, "{body}");
}

#[test]
fn metrics_parse_as_prometheus_text() {
    let a = Daemon::start(&[]);
    a.wait_joined(QUICK);
    let b = Daemon::start(&[a.overlay]);
    b.wait_joined(QUICK);
    let _ = b.get(&format!("/route/{}", a.id)).unwrap();
    let (code, text) = b.get("/metrics").unwrap();
    assert_eq!(code, 200);
    let samples = parse_prometheus(&text);
    for name in [
        "scope_datagrams_in_total",
        "scope_datagrams_out_total",
        "scope_datagrams_dropped_total{reason=\"malformed\"}",
        "scope_datagrams_dropped_total{reason=\"bad_signature\"}",
        "scope_lookups_started_total",
        "scope_lookups_succeeded_total",
        "scope_lookup_hops_bucket{le=\"1\"}",
        "scope_lookup_hops_bucket{le=\"+Inf\"}",
        "scope_lookup_hops_sum",
        "scope_lookup_hops_count",
        "scope_leaf_set_size",
        "scope_routing_table_entries",
    ] {
        assert!(samples.contains_key(name), "missing {name} in\n{text}");
    }
    assert!(samples["scope_datagrams_in_total"] > 0.0);
    assert!(samples["scope_lookups_succeeded_total"] >= 1.0);
    assert!(samples["scope_lookup_hops_count"] >= 1.0);
    assert_eq!(samples["scope_leaf_set_size"], 1.0);
    assert!(
        samples
            .keys()
            .any(|k| k.starts_with("scope_rtt_seconds{peer=")),
        "{text}"
    );
}

/// A strict reader of the text format: every line is a comment (`# HELP name text`,
/// `# TYPE name kind`) or `name{labels} value`, every sample's family was declared, and every
/// value is a number.
fn parse_prometheus(text: &str) -> BTreeMap<String, f64> {
    let mut declared = Vec::new();
    let mut samples = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut words = rest.splitn(3, ' ');
            let (kind, name) = (words.next().unwrap(), words.next().unwrap());
            assert!(kind == "HELP" || kind == "TYPE", "bad comment {line:?}");
            if kind == "TYPE" {
                let t = words.next().unwrap();
                assert!(["counter", "gauge", "histogram"].contains(&t), "{line:?}");
                declared.push(name.to_string());
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line:?}"
        );
        assert!(
            declared.iter().any(|d| name == d
                || name
                    .strip_prefix(d.as_str())
                    .is_some_and(|s| ["_bucket", "_sum", "_count"].contains(&s))),
            "sample of an undeclared family: {line:?}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            assert!(
                labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                "{line:?}"
            );
        }
        samples.insert(series.to_string(), value);
    }
    samples
}
