//! RFC 4475 torture messages and random mutations sent to a running `scope-node` over UDP and
//! TCP: it must stay up, count the bad input, answer OPTIONS, and still carry a sipp call.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use scope_tests::Daemon;
use scope_tests::sip::{
    Sipp, free_port, have, options_request, register_all, scenario, sipp_args, tcp_exchange,
    udp_exchange, users_file,
};

fn torture_messages() -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../node/tests/data/rfc4475");
    let mut out = Vec::new();
    for kind in ["valid", "invalid"] {
        let dir = std::fs::read_dir(root.join(kind)).unwrap();
        for entry in dir.flatten() {
            let name = format!("{kind}/{}", entry.file_name().to_string_lossy());
            out.push((name, std::fs::read(entry.path()).unwrap()));
        }
    }
    assert!(out.len() >= 30, "torture corpus missing: {}", out.len());
    out
}

/// A random edit of `msg`: flipped bytes, a cut, a duplicated slice, or inserted junk.
fn mutate(rng: &mut StdRng, msg: &[u8]) -> Vec<u8> {
    let mut m = msg.to_vec();
    for _ in 0..rng.random_range(1..4) {
        if m.is_empty() {
            break;
        }
        let at = rng.random_range(0..m.len());
        match rng.random_range(0..5) {
            0 => m[at] = rng.random(),
            1 => m.truncate(at),
            2 => {
                let end = (at + rng.random_range(1..64)).min(m.len());
                let slice = m[at..end].to_vec();
                m.splice(at..at, slice);
            }
            3 => {
                let junk: &[u8] = [
                    &b"\r\n"[..],
                    b":",
                    b";",
                    b"<",
                    b"\"",
                    b"\0",
                    b"Content-Length: 99999\r\n",
                ][rng.random_range(0..7)];
                m.splice(at..at, junk.iter().copied());
            }
            _ => m[at] = b' ',
        }
    }
    m
}

fn alive(node: &Daemon, round: usize) {
    let probe = options_request("UDP", &format!("udp{round}"));
    let reply = udp_exchange(node.sip_addr(), probe.as_bytes(), Duration::from_secs(3))
        .expect("no answer to OPTIONS over UDP");
    assert!(
        reply.starts_with(b"SIP/2.0 200"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    let probe = options_request("TCP", &format!("tcp{round}"));
    let reply = tcp_exchange(node.sip_addr(), probe.as_bytes(), Duration::from_secs(3));
    assert!(
        reply.starts_with(b"SIP/2.0 200"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
}

fn blast(node: SocketAddr, corpus: &[(String, Vec<u8>)], rng: &mut StdRng) {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    for (_, msg) in corpus {
        udp.send_to(msg, node).unwrap();
    }
    for i in 0..3000 {
        let (_, base) = &corpus[i % corpus.len()];
        let _ = udp.send_to(&mutate(rng, base), node);
        if i % 200 == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    // Over TCP: each message on its own connection, then mutated streams of several messages,
    // an endless head and a header flood.
    for (_, msg) in corpus {
        let _ = tcp_exchange(node, msg, Duration::from_millis(50));
    }
    for _ in 0..100 {
        let Ok(mut s) = TcpStream::connect(node) else {
            continue;
        };
        for _ in 0..5 {
            let (_, base) = &corpus[rng.random_range(0..corpus.len())];
            let _ = s.write_all(&mutate(rng, base));
        }
    }
    if let Ok(mut s) = TcpStream::connect(node) {
        let _ = s.write_all(&vec![b'a'; 200 * 1024]);
    }
    let flood = format!(
        "OPTIONS sip:scope SIP/2.0\r\n{}\r\n",
        "X-A: b\r\n".repeat(5000)
    );
    let _ = tcp_exchange(node, flood.as_bytes(), Duration::from_millis(200));
    let _ = udp.send_to(&flood.as_bytes()[..flood.len().min(60_000)], node);
}

#[test]
fn torture_and_mutations_leave_the_node_serving_calls() {
    let node = Daemon::start(&[]);
    let corpus = torture_messages();
    let mut rng = StdRng::seed_from_u64(4475);
    alive(&node, 0);
    blast(node.sip_addr(), &corpus, &mut rng);
    alive(&node, 1);
    let status = node.status().unwrap();
    let errors = status["sip"]["parse_errors"].as_u64().unwrap_or(0);
    assert!(errors > 100, "parse errors not counted: {status}");

    if !have("sipp") {
        eprintln!("sipp not installed: skipping the call after the torture");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let uas_port = free_port();
    register_all(
        node.sip_addr(),
        dir.path(),
        &["after".into()],
        "",
        uas_port,
        10,
    );
    let uas = Sipp::spawn(
        "uas",
        &sipp_args(None, &scenario("uas.xml"), uas_port, 1, 1, &[]),
    );
    std::thread::sleep(Duration::from_millis(300));
    let file = users_file(dir.path(), "after.csv", &["after".into()]);
    let mut args = sipp_args(
        Some(node.sip_addr()),
        &scenario("uac.xml"),
        free_port(),
        1,
        1,
        &[("domain", "scope".into()), ("prefix", String::new())],
    );
    args.extend(["-inf".to_string(), file.display().to_string()]);
    let uac = Sipp::spawn("uac", &args).wait(Duration::from_secs(30));
    let uas = uas.wait(Duration::from_secs(10));
    assert!(
        uac.ok() && uas.ok(),
        "call after torture failed\n{}\n{}",
        uac.log,
        uas.log
    );
}
