//! SIP through running `scope-node`s with sipp as phones: 1,000 registrations that all
//! resolve, a full call, CANCEL, unknown user (404) and a vanished device (408), calls over
//! TCP and between TCP and UDP phones, parallel forking to two devices of one user, a dialog
//! with re-INVITE, UPDATE and INFO, bindings that outlive super-nodes killed, phones using
//! another super-node's address as their domain, and a registration's refresh and removal
//! through another super-node than the one it was made at.
//!
//! Needs `sipp` (Debian `sip-tester`); the tests are skipped with a message without it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use scope_tests::sip::{
    Sipp, Transport, free_port, have, register_all, register_all_over, scenario, sipp_args,
    two_super_nodes, udp_exchange, users_file,
};
use scope_tests::{poll_until, start_overlay};

fn sipp_missing() -> bool {
    if have("sipp") {
        return false;
    }
    eprintln!("skipped: sipp not installed (apt-get install sip-tester)");
    true
}

fn users(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("u{i:05}")).collect()
}

/// Runs `calls` sipp calls with `uac` to `target` against a sipp `uas` on `uas_port`.
fn calls_answered(
    target: SocketAddr,
    uas: &str,
    uas_port: u16,
    uac_args: Vec<String>,
    calls: usize,
) {
    calls_answered_over(target, uas, uas_port, Transport::Udp, uac_args, calls);
}

/// [`calls_answered`] with the UAS listening over `uas_over`.
fn calls_answered_over(
    target: SocketAddr,
    uas: &str,
    uas_port: u16,
    uas_over: Transport,
    uac_args: Vec<String>,
    calls: usize,
) {
    let mut uas_args = sipp_args(None, &scenario(uas), uas_port, calls, 10, &[]);
    uas_args.extend(uas_over.sipp_args());
    let uas = Sipp::spawn("uas", &uas_args);
    std::thread::sleep(Duration::from_millis(300));
    let uac = Sipp::spawn("uac", &uac_args).wait(Duration::from_secs(90));
    let uas = uas.wait(Duration::from_secs(10));
    assert!(
        uac.ok() && uas.ok(),
        "calls via {target} failed\n{}\n{}",
        uac.log,
        uas.log
    );
}

/// sipp arguments for a caller running scenario `uac` once for each of `users` at `domain`
/// (listed in the file `name` written into `dir`), through `via` at `rate` calls a second.
fn callers(
    via: SocketAddr,
    uac: &str,
    (dir, name): (&Path, &str),
    users: &[String],
    rate: usize,
    domain: &str,
) -> Vec<String> {
    let file = users_file(dir, name, users);
    let keys = [("domain", domain.to_owned()), ("prefix", String::new())];
    let mut args = sipp_args(
        Some(via),
        &scenario(uac),
        free_port(),
        users.len(),
        rate,
        &keys,
    );
    args.extend(["-inf".to_string(), file.display().to_string()]);
    args
}

#[test]
fn thousand_users_register_then_each_one_resolves() {
    if sipp_missing() {
        return;
    }
    // Users register at super-node A and are called through super-node B: B finds every one
    // of them in the DHT.
    let (a, b) = two_super_nodes(&[]);
    let via = &b;
    let dir = tempfile::tempdir().unwrap();
    let uas_port = free_port();
    let list = users(1000);
    register_all(a.sip_addr(), dir.path(), &list, "", uas_port, 1000);

    // A rate a loaded 2-core CI machine sustains for both sipp ends and two debug daemons.
    let file = (dir.path(), "callees.csv");
    let uac = callers(via.sip_addr(), "uac.xml", file, &list, 100, "scope");
    calls_answered(via.sip_addr(), "uas.xml", uas_port, uac, list.len());

    let (_, metrics) = via.get("/metrics").unwrap();
    assert!(
        metrics.contains("scope_sip_requests_total{method=\"INVITE\"} 1000"),
        "{metrics}"
    );
    let status = a.status().unwrap();
    assert_eq!(status["sip"]["parse_errors"], 0, "{status}");
}

/// One call per sipp run against user `user`, with scenario `uac` (keys added).
fn one_call(
    proxy: SocketAddr,
    dir: &std::path::Path,
    uac: &str,
    user: &str,
    keys: &[(&str, String)],
) -> Vec<String> {
    let file = users_file(dir, &format!("{user}-{uac}.csv"), &[user.to_owned()]);
    let mut all = vec![("domain", "scope".to_string()), ("prefix", String::new())];
    all.extend(keys.iter().cloned());
    let mut args = sipp_args(Some(proxy), &scenario(uac), free_port(), 1, 1, &all);
    args.extend(["-inf".to_string(), file.display().to_string()]);
    args
}

/// A copy of `uac_fail.xml` expecting final status `code`.
fn fail_scenario(dir: &std::path::Path, code: u16) -> String {
    let text = std::fs::read_to_string(scenario("uac_fail.xml")).unwrap();
    let path = dir.join(format!("uac_{code}.xml"));
    std::fs::write(&path, text.replace("[expect]", &code.to_string())).unwrap();
    path.display().to_string()
}

#[test]
fn full_call_cancel_unknown_user_and_vanished_device() {
    if sipp_missing() {
        return;
    }
    // Every device registers at super-node A and every call goes through super-node B, which
    // finds the callee in the DHT. T1 = 50 ms: Timer B (64 x T1) turns the vanished device into
    // 408 after 3.2 s.
    let (a, b) = two_super_nodes(&["--sip-t1-ms", "50"]);
    let (registrar, proxy) = (a.sip_addr(), b.sip_addr());
    let dir = tempfile::tempdir().unwrap();
    let (answer_port, ring_port, dead_port) = (free_port(), free_port(), free_port());
    register_all(registrar, dir.path(), &["bob".into()], "", answer_port, 10);
    register_all(registrar, dir.path(), &["carol".into()], "", ring_port, 10);
    register_all(registrar, dir.path(), &["dave".into()], "", dead_port, 10);

    // INVITE / 100 / 180 / 200 / ACK / BYE / 200 through B to A's registered device.
    let args = one_call(proxy, dir.path(), "uac.xml", "bob", &[]);
    calls_answered(proxy, "uas.xml", answer_port, args, 1);

    // CANCEL before the answer: 200 for the CANCEL, 487 for the INVITE.
    let args = one_call(proxy, dir.path(), "uac_cancel.xml", "carol", &[]);
    calls_answered(proxy, "uas_ring.xml", ring_port, args, 1);

    // Unknown user: 404; device gone (nothing listens on its port): 408.
    for (user, code) in [("nobody", 404), ("dave", 408)] {
        let file = fail_scenario(dir.path(), code);
        let mut args = one_call(proxy, dir.path(), "uac.xml", user, &[]);
        let at = args.iter().position(|a| a == "-sf").unwrap() + 1;
        args[at] = file;
        let out = Sipp::spawn(&format!("{user} {code}"), &args).wait(Duration::from_secs(30));
        assert!(out.ok(), "call to {user} did not end {code}\n{}", out.log);
    }
    // B answered the three failures (487, 404, 408) and looked every callee up in the DHT.
    let (_, metrics) = b.get("/metrics").unwrap();
    assert!(
        metrics.contains("scope_sip_responses_sent_total{class=\"4xx\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("scope_sip_requests_total{method=\"INVITE\"} 4"),
        "{metrics}"
    );
}

#[test]
fn calls_over_tcp_and_between_tcp_and_udp_phones_through_two_super_nodes() {
    if sipp_missing() {
        return;
    }
    // Phones register at super-node A and are called through super-node B, which reaches each
    // over the transport its contact names, whatever transport the caller used: TCP to TCP, a
    // UDP caller to a TCP phone, a TCP caller to a UDP phone. A sipp in TCP mode neither sends
    // nor listens on UDP, so every call that completes crossed B over TCP where it says so.
    let (a, b) = two_super_nodes(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("tt", Transport::Tcp, Transport::Tcp),
        ("ut", Transport::Tcp, Transport::Udp),
        ("tu", Transport::Udp, Transport::Tcp),
    ];
    for (name, phone, caller) in cases {
        let list: Vec<String> = (0..20).map(|i| format!("{name}{i:03}")).collect();
        let uas_port = free_port();
        register_all_over(phone, a.sip_addr(), dir.path(), &list, "", uas_port, 20);
        let file = format!("{name}.csv");
        let mut uac = callers(
            b.sip_addr(),
            "uac.xml",
            (dir.path(), &file),
            &list,
            20,
            "scope",
        );
        uac.extend(caller.sipp_args());
        calls_answered_over(b.sip_addr(), "uas.xml", uas_port, phone, uac, list.len());
    }
    let (_, metrics) = b.get("/metrics").unwrap();
    assert!(
        metrics.contains("scope_sip_requests_total{method=\"INVITE\"} 60"),
        "{metrics}"
    );
    let status = b.status().unwrap();
    assert_eq!(status["sip"]["parse_errors"], 0, "{status}");
}

#[test]
fn bindings_outlive_two_of_four_super_nodes_killed() {
    if sipp_missing() {
        return;
    }
    // Every binding is stored on r = 4 super-nodes. Users register at A; then two other
    // super-nodes crash (SIGKILL), among them the DHT root of about half the users; every
    // user must still be found through B, whose lookups to a dead root are routed round it
    // to a replica that holds the binding.
    let mut nodes = start_overlay(4, &[]);
    let formed = poll_until(Duration::from_secs(20), Duration::from_millis(100), || {
        nodes.iter().all(|n| {
            n.status()
                .is_ok_and(|s| s["leaf_set"].as_array().is_some_and(|l| l.len() == 3))
        })
    });
    assert!(formed, "the overlay did not form");
    let dir = tempfile::tempdir().unwrap();
    let uas_port = free_port();
    let list: Vec<String> = (0..200).map(|i| format!("k{i:04}")).collect();
    register_all(nodes[0].sip_addr(), dir.path(), &list, "", uas_port, 100);

    nodes[2].kill();
    nodes[3].kill();
    let via = nodes[1].sip_addr();
    let file = (dir.path(), "survivors.csv");
    let uac = callers(via, "uac.xml", file, &list, 50, "scope");
    calls_answered(via, "uas.xml", uas_port, uac, list.len());
    let (_, metrics) = nodes[1].get("/metrics").unwrap();
    assert!(
        metrics.contains("scope_sip_requests_total{method=\"INVITE\"} 200"),
        "{metrics}"
    );
}

#[test]
fn phones_naming_any_super_node_as_their_domain_are_found_through_every_one() {
    if sipp_missing() {
        return;
    }
    // A URI whose host is the address of any live super-node names the overlay. Phones set up
    // with super-node A's address as their domain register through B; then A crashes, and
    // calls to them at A's address, placed through B, still reach them: B learnt A's address
    // from the P2PSIP service list and looks the users up in the DHT.
    let (mut a, b) = two_super_nodes(&[]);
    let a_addr = a.sip_addr().to_string();
    let known = poll_until(Duration::from_secs(30), Duration::from_millis(200), || {
        b.status().is_ok_and(|s| {
            s["sip"]["super_nodes"]
                .as_array()
                .is_some_and(|l| l.len() == 2 && l[1] == a_addr.as_str())
        })
    });
    assert!(
        known,
        "B did not learn A from the service list: {:?}",
        b.status()
    );
    let domain = a.sip_addr().to_string();
    let dir = tempfile::tempdir().unwrap();
    let uas_port = free_port();
    let list: Vec<String> = (0..20).map(|i| format!("d{i:03}")).collect();
    let file = users_file(dir.path(), "at-a.csv", &list);
    let keys = [("domain", domain), ("prefix", String::new())];
    let mut reg_keys = keys.to_vec();
    reg_keys.push(("contact_port", uas_port.to_string()));
    let mut reg = sipp_args(
        Some(b.sip_addr()),
        &scenario("register.xml"),
        free_port(),
        list.len(),
        20,
        &reg_keys,
    );
    reg.extend(["-inf".to_string(), file.display().to_string()]);
    let out = Sipp::spawn("register", &reg).wait(Duration::from_secs(60));
    assert!(out.ok(), "registrations through B failed\n{}", out.log);

    a.kill();
    let domain = &keys[0].1;
    let uac = callers(
        b.sip_addr(),
        "uac.xml",
        (dir.path(), "at-a.csv"),
        &list,
        20,
        domain,
    );
    calls_answered(b.sip_addr(), "uas.xml", uas_port, uac, list.len());
}

/// One REGISTER for alice from the device whose Call-ID is `device`, over UDP to `node`;
/// returns the status code and the Contact values of the answer.
fn register_raw(node: SocketAddr, device: &str, cseq: u32, contact: &str) -> (u16, Vec<String>) {
    let text = format!(
        "REGISTER sip:scope SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bK{device}{cseq}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:alice@scope>;tag={device}\r\nTo: <sip:alice@scope>\r\n\
         Call-ID: {device}\r\nCSeq: {cseq} REGISTER\r\n{contact}Content-Length: 0\r\n\r\n"
    );
    let reply = udp_exchange(node, text.as_bytes(), Duration::from_secs(5))
        .unwrap_or_else(|| panic!("no answer from {node} to {device} {cseq}"));
    let reply = String::from_utf8(reply).unwrap();
    let status = reply
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not a response: {reply}"));
    let contacts = reply
        .lines()
        .filter_map(|l| l.strip_prefix("Contact: "))
        .map(str::to_owned)
        .collect();
    (status, contacts)
}

#[test]
fn a_registration_is_refreshed_and_removed_through_another_super_node() {
    // Two devices of alice register at different super-nodes; each super-node answers with
    // every binding the DHT holds; only a binding's own device (its Call-ID) may refresh or
    // remove it, through any super-node; `Contact: *` removes the requester's bindings only.
    let (a, b) = two_super_nodes(&[]);
    let (a, b) = (a.sip_addr(), b.sip_addr());
    let one = "<sip:alice@127.0.0.1:41001>";
    let two = "<sip:alice@127.0.0.1:41002>";
    let with = |list: &[String], c: &str| list.iter().any(|l| l.starts_with(c));

    let (code, list) = register_raw(a, "dev1", 1, &format!("Contact: {one};expires=300\r\n"));
    assert_eq!((code, list.len()), (200, 1), "{list:?}");
    let (code, list) = register_raw(b, "dev2", 1, &format!("Contact: {two};expires=300\r\n"));
    assert_eq!(code, 200);
    assert!(
        with(&list, one) && with(&list, two),
        "B lists both: {list:?}"
    );

    // Device 1 refreshes through B; a stranger cannot remove its binding.
    let (code, list) = register_raw(b, "dev1", 2, &format!("Contact: {one};expires=600\r\n"));
    assert_eq!(code, 200);
    assert!(
        list.iter()
            .any(|l| l.starts_with(one) && l.contains("expires=6")),
        "{list:?}"
    );
    let (code, _) = register_raw(b, "stranger", 1, &format!("Contact: {one};expires=0\r\n"));
    assert_eq!(code, 403, "only the device that registered may remove");

    // Device 2 removes all of its own bindings through A: device 1's stays.
    let (code, list) = register_raw(a, "dev2", 2, "Contact: *\r\nExpires: 0\r\n");
    assert_eq!(code, 200);
    assert!(with(&list, one) && !with(&list, two), "{list:?}");
    // Device 1 removes its binding through B; A then lists nothing.
    let (code, list) = register_raw(b, "dev1", 3, &format!("Contact: {one};expires=0\r\n"));
    assert_eq!((code, list.len()), (200, 0), "{list:?}");
    let (code, list) = register_raw(a, "dev3", 1, "");
    assert_eq!((code, list.len()), (200, 0), "a query through A: {list:?}");
}

#[test]
fn a_dialog_with_reinvite_update_and_info_through_two_super_nodes() {
    if sipp_missing() {
        return;
    }
    // Callees register at A; callers reach them through B, then within each dialog send a
    // re-INVITE (ACKed), an UPDATE, an INFO and a BYE, all along the Record-Route.
    let (a, b) = two_super_nodes(&[]);
    let dir = tempfile::tempdir().unwrap();
    let uas_port = free_port();
    let list: Vec<String> = (0..10).map(|i| format!("dl{i:03}")).collect();
    register_all(a.sip_addr(), dir.path(), &list, "", uas_port, 20);
    let file = (dir.path(), "dialogs.csv");
    let uac = callers(b.sip_addr(), "uac_dialog.xml", file, &list, 10, "scope");
    calls_answered(b.sip_addr(), "uas_dialog.xml", uas_port, uac, list.len());
    let (_, metrics) = b.get("/metrics").unwrap();
    for (method, n) in [
        ("INVITE", 20),
        ("UPDATE", 10),
        ("INFO", 10),
        ("ACK", 20),
        ("BYE", 10),
    ] {
        let line = format!("scope_sip_requests_total{{method=\"{method}\"}} {n}");
        assert!(metrics.contains(&line), "{line}\n{metrics}");
    }
}

#[test]
fn a_call_forks_to_both_devices_of_a_user_and_cancels_the_one_that_did_not_answer() {
    if sipp_missing() {
        return;
    }
    // Each user has two devices registered at A: one answers, the other only rings. A call
    // through B rings both at once; the answer reaches the caller and the ringing device is
    // sent CANCEL (it answers 200 and 487, which the proxy ACKs).
    let (a, b) = two_super_nodes(&[]);
    let dir = tempfile::tempdir().unwrap();
    let (answering, ringing) = (free_port(), free_port());
    let list: Vec<String> = (0..5).map(|i| format!("fork{i}")).collect();
    register_all(a.sip_addr(), dir.path(), &list, "", answering, 20);
    register_all(a.sip_addr(), dir.path(), &list, "", ringing, 20);

    let ring = Sipp::spawn(
        "ringing device",
        &sipp_args(
            None,
            &scenario("uas_ring.xml"),
            ringing,
            list.len(),
            10,
            &[],
        ),
    );
    let uac = callers(
        b.sip_addr(),
        "uac.xml",
        (dir.path(), "forks.csv"),
        &list,
        5,
        "scope",
    );
    calls_answered(b.sip_addr(), "uas.xml", answering, uac, list.len());
    let ring = ring.wait(Duration::from_secs(20));
    assert!(
        ring.ok(),
        "the ringing device was not cancelled\n{}",
        ring.log
    );
    let (_, metrics) = b.get("/metrics").unwrap();
    assert!(
        metrics.contains("scope_sip_requests_total{method=\"INVITE\"} 5"),
        "{metrics}"
    );
}
