//! Garbage through the public SIP API: torture messages, mutations and random bytes are
//! answered (400 / 413 / 505) or dropped, and the transaction layer keeps serving afterwards.

#![allow(
    clippy::unwrap_used,
    reason = "a test binary: a failed unwrap is a failed test"
)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use scope_node::sip::transaction::{Config, Event, TransactionLayer, Transport};
use scope_node::sip::{Message, parse_message, response_for};

#[allow(
    clippy::disallowed_methods,
    reason = "an arbitrary origin for virtual time"
)]
fn origin() -> Instant {
    Instant::now()
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc4475");
    let mut out = Vec::new();
    for kind in ["valid", "invalid"] {
        for entry in std::fs::read_dir(root.join(kind)).unwrap() {
            let path = entry.unwrap().path();
            out.push((
                format!("{kind}/{}", path.display()),
                std::fs::read(&path).unwrap(),
            ));
        }
    }
    out.sort();
    out
}

/// Answers every new request with 200 and returns the status lines sent.
fn serve(layer: &mut TransactionLayer, now: Instant) -> Vec<String> {
    while let Some(event) = layer.poll_event() {
        if let Event::Request { id, request, .. } | Event::Cancel { id, request, .. } = event {
            layer
                .send_response(now, id, &response_for(&request, 200, "OK", Some("srv")))
                .unwrap();
        }
    }
    let mut sent = Vec::new();
    while let Some(t) = layer.poll_transmit() {
        sent.push(
            String::from_utf8_lossy(&t.contents)
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    sent
}

fn options(branch: &str) -> Vec<u8> {
    format!(
        "OPTIONS sip:scope SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.50;branch={branch}\r\nMax-Forwards: 70\r\n\
         From: <sip:probe@scope>;tag=p\r\nTo: <sip:scope>\r\nCall-ID: {branch}\r\nCSeq: 1 OPTIONS\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn sip_garbage_never_stops_the_layer() {
    let source: SocketAddr = "192.0.2.50:5060".parse().unwrap();
    let mut now = origin();
    let mut layer = TransactionLayer::new(Config::default());
    let mut rng = ChaCha8Rng::seed_from_u64(4475);
    let corpus = corpus();
    for round in 0..2000 {
        now += Duration::from_millis(7);
        let (name, mut bytes) = corpus[round % corpus.len()].clone();
        if round >= corpus.len() {
            for _ in 0..rng.random_range(1..8) {
                let i = rng.random_range(0..bytes.len());
                bytes[i] = rng.random();
            }
        }
        let parsed = parse_message(&bytes);
        let result = layer.handle_bytes(now, &bytes, source, Transport::Udp);
        assert_eq!(parsed.is_ok(), result.is_ok(), "{name}");
        let sent = serve(&mut layer, now);
        if let Err(e) = result {
            let code = e.status_code().to_string();
            assert!(sent.iter().all(|l| l.contains(&code)), "{name}: {sent:?}");
        }
        layer.handle_timeout(now);
        serve(&mut layer, now);
    }
    for _ in 0..200 {
        let len = rng.random_range(0..1500);
        let junk: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let _ = layer.handle_bytes(now, &junk, source, Transport::Udp);
        serve(&mut layer, now);
    }
    layer
        .handle_bytes(now, &options("z9hG4bKalive"), source, Transport::Udp)
        .unwrap();
    assert_eq!(serve(&mut layer, now), ["SIP/2.0 200 OK"]);
    let Ok(Message::Request(_)) = parse_message(&options("z9hG4bKx")) else {
        panic!()
    };
}
