//! Transaction layer scenarios in virtual time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::sip::{HeaderName, Message, Request, parse_message, response_for};

const PEER: &str = "192.0.2.7:5060";

fn peer() -> SocketAddr {
    PEER.parse().unwrap()
}

fn request(method: &str, branch: &str) -> Request {
    let text = format!(
        "{method} sip:bob@scope SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5060;branch={branch}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:alice@scope>;tag=a1\r\nTo: <sip:bob@scope>\r\n\
         Call-ID: c1@192.0.2.7\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
    );
    match parse_message(text.as_bytes()).unwrap() {
        Message::Request(r) => r,
        Message::Response(_) => unreachable!(),
    }
}

fn drain(layer: &mut TransactionLayer) -> (Vec<Transmit>, Vec<Event>) {
    let mut t = Vec::new();
    while let Some(x) = layer.poll_transmit() {
        t.push(x);
    }
    let mut e = Vec::new();
    while let Some(x) = layer.poll_event() {
        e.push(x);
    }
    (t, e)
}

/// Runs timers until `until`, returning (offset from `t0`, transmits, events) per wakeup.
fn run_until(
    layer: &mut TransactionLayer,
    t0: Instant,
    until: Duration,
) -> Vec<(Duration, Vec<Transmit>, Vec<Event>)> {
    let mut log = Vec::new();
    for _ in 0..1000 {
        let Some(at) = layer.poll_timeout() else {
            break;
        };
        if at > t0 + until {
            break;
        }
        layer.handle_timeout(at);
        let (t, e) = drain(layer);
        if !t.is_empty() || !e.is_empty() {
            log.push((at - t0, t, e));
        }
    }
    log
}

/// An arbitrary origin for virtual time; only offsets from it matter.
#[allow(
    clippy::disallowed_methods,
    reason = "tests need some Instant to add virtual time to"
)]
fn origin() -> Instant {
    Instant::now()
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn first_line(t: &Transmit) -> String {
    String::from_utf8_lossy(&t.contents)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn invite_client_timer_a_doubles_until_timer_b() {
    let t0 = origin();
    let mut layer = TransactionLayer::new(Config::default());
    let id = layer
        .send_request(t0, request("INVITE", "z9hG4bKa"), peer(), Transport::Udp)
        .unwrap();
    assert_eq!(drain(&mut layer).0.len(), 1);
    let log = run_until(&mut layer, t0, Duration::from_secs(60));
    let retransmits: Vec<_> = log
        .iter()
        .filter(|(_, t, _)| !t.is_empty())
        .map(|(at, _, _)| *at)
        .collect();
    assert_eq!(retransmits, [500, 1500, 3500, 7500, 15500, 31500].map(ms));
    let (at, _, events) = log.last().unwrap();
    assert_eq!(*at, ms(32_000));
    assert_eq!(events, &[Event::Timeout { id }, Event::Terminated { id }]);
    assert!(layer.is_empty());
}

#[test]
fn invite_client_over_tcp_never_retransmits() {
    let t0 = origin();
    let mut layer = TransactionLayer::new(Config::default());
    layer
        .send_request(t0, request("INVITE", "z9hG4bKt"), peer(), Transport::Tcp)
        .unwrap();
    drain(&mut layer);
    let log = run_until(&mut layer, t0, Duration::from_secs(60));
    assert!(log.iter().all(|(_, t, _)| t.is_empty()));
    assert_eq!(log.len(), 1);
}

#[test]
fn invite_client_acks_non_2xx_and_absorbs_retransmissions() {
    let t0 = origin();
    let mut layer = TransactionLayer::new(Config::default());
    let req = request("INVITE", "z9hG4bKb");
    let id = layer
        .send_request(t0, req.clone(), peer(), Transport::Udp)
        .unwrap();
    drain(&mut layer);
    let busy = response_for(&req, 486, "Busy Here", Some("b1"));
    layer.handle_message(
        t0 + ms(100),
        Message::Response(busy.clone()),
        peer(),
        Transport::Udp,
    );
    let (t, e) = drain(&mut layer);
    assert!(
        matches!(&e[..], [Event::Response { id: i, response }] if *i == id && response.status == 486)
    );
    let Message::Request(ack) = parse_message(&t[0].contents).unwrap() else {
        panic!("not a request")
    };
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.headers.cseq().unwrap().method, "ACK");
    assert_eq!(ack.headers.top_via().unwrap().branch(), Some("z9hG4bKb"));
    assert_eq!(ack.headers.to().unwrap().tag(), Some("b1"));
    // The retransmitted 486 is ACKed again but not reported.
    layer.handle_message(
        t0 + ms(600),
        Message::Response(busy),
        peer(),
        Transport::Udp,
    );
    let (t, e) = drain(&mut layer);
    assert_eq!((t.len(), e.len()), (1, 0));
    let log = run_until(&mut layer, t0, Duration::from_secs(60));
    assert_eq!(log.last().unwrap().0, ms(32_100));
    assert_eq!(log.last().unwrap().2, [Event::Terminated { id }]);
}

#[test]
fn invite_client_provisional_stops_retransmissions_and_2xx_is_accepted() {
    let t0 = origin();
    let mut layer = TransactionLayer::new(Config::default());
    let req = request("INVITE", "z9hG4bKc");
    let id = layer
        .send_request(t0, req.clone(), peer(), Transport::Udp)
        .unwrap();
    drain(&mut layer);
    let at = |v| t0 + ms(v);
    let ringing = response_for(&req, 180, "Ringing", Some("r"));
    layer.handle_message(at(200), Message::Response(ringing), peer(), Transport::Udp);
    assert_eq!(drain(&mut layer).1.len(), 1);
    assert!(run_until(&mut layer, t0, Duration::from_secs(60)).is_empty());
    let progress = response_for(&req, 183, "Session Progress", Some("r"));
    layer.handle_message(
        at(60_000),
        Message::Response(progress),
        peer(),
        Transport::Udp,
    );
    drain(&mut layer);
    let ok = response_for(&req, 200, "OK", Some("r"));
    layer.handle_message(
        at(90_000),
        Message::Response(ok.clone()),
        peer(),
        Transport::Udp,
    );
    assert!(matches!(&drain(&mut layer).1[..], [Event::Response { .. }]));
    // RFC 6026 Accepted: a retransmitted or forked 2xx still reaches the TU.
    let fork = response_for(&req, 200, "OK", Some("other-branch"));
    layer.handle_message(at(90_500), Message::Response(fork), peer(), Transport::Udp);
    assert!(matches!(&drain(&mut layer).1[..], [Event::Response { id: i, .. }] if *i == id));
    let log = run_until(&mut layer, t0, Duration::from_secs(600));
    assert_eq!(
        log.last().unwrap(),
        &(ms(122_000), vec![], vec![Event::Terminated { id }])
    );
    layer.handle_message(at(200_000), Message::Response(ok), peer(), Transport::Udp);
    assert!(matches!(
        &drain(&mut layer).1[..],
        [Event::StrayResponse { .. }]
    ));
}

#[test]
fn invite_client_timer_c_reports_then_ends() {
    let t0 = origin();
    let mut layer = TransactionLayer::new(Config::default());
    let req = request("INVITE", "z9hG4bKq");
    let id = layer
        .send_request(t0, req.clone(), peer(), Transport::Tcp)
        .unwrap();
    drain(&mut layer);
    let ringing = response_for(&req, 180, "Ringing", Some("r"));
    layer.handle_message(
        t0 + ms(1000),
        Message::Response(ringing),
        peer(),
        Transport::Tcp,
    );
    drain(&mut layer);
    let log = run_until(&mut layer, t0, Duration::from_secs(600));
    let events: Vec<_> = log.iter().map(|(at, _, e)| (*at, e.clone())).collect();
    assert_eq!(
        events,
        [
            (ms(181_000), vec![Event::Timeout { id }]),
            (ms(213_000), vec![Event::Terminated { id }])
        ]
    );
}

#[test]
fn non_invite_client_timer_e_caps_at_t2_and_f_times_out() {
    let t0 = origin();
    let mut layer = TransactionLayer::new(Config::default());
    let id = layer
        .send_request(t0, request("OPTIONS", "z9hG4bKd"), peer(), Transport::Udp)
        .unwrap();
    drain(&mut layer);
    let log = run_until(&mut layer, t0, Duration::from_secs(60));
    let retransmits: Vec<_> = log
        .iter()
        .filter(|(_, t, _)| !t.is_empty())
        .map(|(at, _, _)| *at)
        .collect();
    let expected: Vec<_> = [
        500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500,
    ]
    .map(ms)
    .into();
    assert_eq!(retransmits, expected);
    assert_eq!(
        log.last().unwrap().2,
        [Event::Timeout { id }, Event::Terminated { id }]
    );
}

#[test]
fn non_invite_client_timer_k_after_final() {
    let t0 = origin();
    let mut layer = TransactionLayer::new(Config::default());
    let req = request("MESSAGE", "z9hG4bKe");
    let id = layer
        .send_request(t0, req.clone(), peer(), Transport::Udp)
        .unwrap();
    drain(&mut layer);
    let ok = response_for(&req, 200, "OK", Some("x"));
    layer.handle_message(
        t0 + ms(50),
        Message::Response(ok.clone()),
        peer(),
        Transport::Udp,
    );
    assert_eq!(drain(&mut layer).1.len(), 1);
    layer.handle_message(t0 + ms(60), Message::Response(ok), peer(), Transport::Udp);
    assert!(drain(&mut layer).1.is_empty(), "retransmission absorbed");
    let log = run_until(&mut layer, t0, Duration::from_secs(60));
    assert_eq!(log, [(ms(5050), vec![], vec![Event::Terminated { id }])]);
}

#[test]
fn invite_server_sends_trying_at_once_or_after_delay() {
    let t0 = origin();
    let mut proxy = TransactionLayer::new(Config::default());
    proxy.handle_message(
        t0,
        Message::Request(request("INVITE", "z9hG4bKf")),
        peer(),
        Transport::Udp,
    );
    let (t, e) = drain(&mut proxy);
    assert_eq!(first_line(&t[0]), "SIP/2.0 100 Trying");
    assert!(matches!(e[..], [Event::Request { .. }]));

    let config = Config {
        trying_delay: ms(200),
        ..Config::default()
    };
    let mut ua = TransactionLayer::new(config);
    ua.handle_message(
        t0,
        Message::Request(request("INVITE", "z9hG4bKg")),
        peer(),
        Transport::Udp,
    );
    assert!(drain(&mut ua).0.is_empty());
    let log = run_until(&mut ua, t0, Duration::from_secs(1));
    assert_eq!(log[0].0, ms(200));
    assert_eq!(first_line(&log[0].1[0]), "SIP/2.0 100 Trying");
}

fn server_with_invite(t0: Instant, branch: &str) -> (TransactionLayer, TransactionId, Request) {
    let mut layer = TransactionLayer::new(Config::default());
    let req = request("INVITE", branch);
    layer.handle_message(t0, Message::Request(req.clone()), peer(), Transport::Udp);
    let (_, e) = drain(&mut layer);
    let Some(Event::Request { id, .. }) = e.first() else {
        panic!("no request event")
    };
    (layer, *id, req)
}

#[test]
fn invite_server_timer_g_retransmits_until_ack_absorbed() {
    let t0 = origin();
    let (mut layer, id, req) = server_with_invite(t0, "z9hG4bKh");
    layer
        .send_response(t0, id, &response_for(&req, 486, "Busy Here", Some("s")))
        .unwrap();
    assert_eq!(drain(&mut layer).0.len(), 1);
    let log = run_until(&mut layer, t0, ms(8000));
    let at: Vec<_> = log.iter().map(|(at, _, _)| *at).collect();
    assert_eq!(at, [500, 1500, 3500, 7500].map(ms));
    let mut ack = request("ACK", "z9hG4bKh");
    ack.headers
        .set(HeaderName::from_static("To"), "<sip:bob@scope>;tag=s");
    layer.handle_message(t0 + ms(8000), Message::Request(ack), peer(), Transport::Udp);
    assert_eq!(
        drain(&mut layer),
        (vec![], vec![]),
        "ACK absorbed, nothing sent"
    );
    let log = run_until(&mut layer, t0, Duration::from_secs(60));
    assert_eq!(log, [(ms(13_000), vec![], vec![Event::Terminated { id }])]);
}

#[test]
fn invite_server_timer_h_without_ack() {
    let t0 = origin();
    let (mut layer, id, req) = server_with_invite(t0, "z9hG4bKi");
    layer
        .send_response(t0, id, &response_for(&req, 404, "Not Found", Some("s")))
        .unwrap();
    drain(&mut layer);
    let log = run_until(&mut layer, t0, Duration::from_secs(60));
    let (at, _, events) = log.last().unwrap();
    assert_eq!(
        (*at, events.clone()),
        (
            ms(32_000),
            vec![Event::Timeout { id }, Event::Terminated { id }]
        )
    );
}

#[test]
fn retransmitted_request_gets_last_response_again() {
    let t0 = origin();
    let (mut layer, id, req) = server_with_invite(t0, "z9hG4bKj");
    layer
        .send_response(t0, id, &response_for(&req, 180, "Ringing", Some("s")))
        .unwrap();
    drain(&mut layer);
    layer.handle_message(t0 + ms(500), Message::Request(req), peer(), Transport::Udp);
    let (t, e) = drain(&mut layer);
    assert!(e.is_empty());
    assert_eq!(first_line(&t[0]), "SIP/2.0 180 Ringing");
}

#[test]
fn cancel_finds_pending_answered_or_no_invite() {
    let t0 = origin();
    let (mut layer, invite_id, req) = server_with_invite(t0, "z9hG4bKk");
    let cancel = |layer: &mut TransactionLayer, branch: &str| {
        let cancel = request("CANCEL", branch);
        layer.handle_message(t0, Message::Request(cancel), peer(), Transport::Udp);
        match drain(layer).1.first() {
            Some(Event::Cancel { id, target, .. }) => (*id, *target),
            other => panic!("{other:?}"),
        }
    };
    let (cancel_id, target) = cancel(&mut layer, "z9hG4bKk");
    assert_eq!(target, CancelTarget::Pending(invite_id));
    assert_ne!(cancel_id, invite_id);
    let (_, target) = cancel(&mut layer, "z9hG4bKother");
    assert_eq!(target, CancelTarget::NotFound);
    let terminated = response_for(&req, 487, "Request Terminated", Some("s"));
    layer.send_response(t0, invite_id, &terminated).unwrap();
    let (mut layer2, invite2, req2) = server_with_invite(t0, "z9hG4bKk2");
    layer2
        .send_response(t0, invite2, &response_for(&req2, 603, "Decline", Some("s")))
        .unwrap();
    drain(&mut layer2);
    assert_eq!(
        cancel(&mut layer2, "z9hG4bKk2").1,
        CancelTarget::Answered(invite2)
    );
}

#[test]
fn invite_server_accepted_absorbs_retransmissions_and_passes_2xx_ack() {
    let t0 = origin();
    let (mut layer, id, req) = server_with_invite(t0, "z9hG4bKl");
    let ok = response_for(&req, 200, "OK", Some("s"));
    layer.send_response(t0, id, &ok).unwrap();
    assert_eq!(drain(&mut layer).1, []);
    // The retransmitted INVITE is absorbed (no new call); the TU retransmits the 2xx itself.
    layer.handle_message(
        t0 + ms(500),
        Message::Request(req.clone()),
        peer(),
        Transport::Udp,
    );
    assert_eq!(drain(&mut layer), (vec![], vec![]));
    layer.send_response(t0 + ms(500), id, &ok).unwrap();
    assert_eq!(drain(&mut layer).0.len(), 1);
    let ack = request("ACK", "z9hG4bKnew");
    layer.handle_message(t0 + ms(600), Message::Request(ack), peer(), Transport::Udp);
    assert!(matches!(drain(&mut layer).1[..], [Event::Ack { .. }]));
    let log = run_until(&mut layer, t0, Duration::from_secs(600));
    assert_eq!(log, [(ms(32_000), vec![], vec![Event::Terminated { id }])]);
    let err = layer.send_response(t0, id, &ok);
    assert_eq!(err, Err(TransactionError::UnknownTransaction));
}

#[test]
fn non_invite_server_timer_j() {
    let t0 = origin();
    let mut layer = TransactionLayer::new(Config::default());
    let req = request("REGISTER", "z9hG4bKm");
    layer.handle_message(t0, Message::Request(req.clone()), peer(), Transport::Udp);
    let (t, e) = drain(&mut layer);
    assert!(t.is_empty(), "no automatic 100 for non-INVITE");
    let Some(Event::Request { id, .. }) = e.first().cloned() else {
        panic!()
    };
    layer
        .send_response(t0, id, &response_for(&req, 200, "OK", Some("r")))
        .unwrap();
    drain(&mut layer);
    layer.handle_message(
        t0 + ms(10),
        Message::Request(req.clone()),
        peer(),
        Transport::Udp,
    );
    assert_eq!(
        drain(&mut layer).0.len(),
        1,
        "retransmitted REGISTER gets the 200 again"
    );
    assert_eq!(
        layer.len(),
        1,
        "the completed transaction lingers until timer J"
    );
    let log = run_until(&mut layer, t0, Duration::from_secs(60));
    assert_eq!(log, [(ms(32_000), vec![], vec![Event::Terminated { id }])]);
    assert!(layer.is_empty());
    // After timer J the same request is a new transaction for the TU.
    layer.handle_message(
        t0 + ms(60_000),
        Message::Request(req),
        peer(),
        Transport::Udp,
    );
    let (t, e) = drain(&mut layer);
    assert!(t.is_empty());
    assert!(matches!(e.first(), Some(Event::Request { id: new, .. }) if *new != id));
}

#[test]
fn a_retransmitted_datagram_is_matched_without_parsing_and_forgotten_after_timer_j() {
    let t0 = origin();
    let mut layer = TransactionLayer::new(Config::default());
    let req = request("REGISTER", "z9hG4bKq");
    let bytes = req.to_bytes();
    layer
        .handle_bytes(t0, &bytes, peer(), Transport::Udp)
        .unwrap();
    let Some(Event::Request { id, .. }) = drain(&mut layer).1.first().cloned() else {
        panic!("no request event")
    };
    // While the registrar works, a retransmission is absorbed.
    layer
        .handle_bytes(t0 + ms(500), &bytes, peer(), Transport::Udp)
        .unwrap();
    assert_eq!(drain(&mut layer), (vec![], vec![]));
    let ok = response_for(&req, 200, "OK", Some("r"));
    layer.send_response(t0 + ms(600), id, &ok).unwrap();
    let sent = drain(&mut layer).0;
    // Once answered, the same bytes get the same response.
    layer
        .handle_bytes(t0 + ms(1_000), &bytes, peer(), Transport::Udp)
        .unwrap();
    assert_eq!(drain(&mut layer).0, sent);
    // From another address the same bytes are parsed and matched by branch, as before.
    let other: SocketAddr = "192.0.2.8:5060".parse().unwrap();
    layer
        .handle_bytes(t0 + ms(1_100), &bytes, other, Transport::Udp)
        .unwrap();
    assert_eq!(drain(&mut layer).0.len(), 1);
    // After timer J the datagram starts a new transaction.
    run_until(&mut layer, t0, Duration::from_secs(60));
    assert!(layer.is_empty());
    layer
        .handle_bytes(t0 + ms(60_000), &bytes, peer(), Transport::Udp)
        .unwrap();
    assert!(
        matches!(drain(&mut layer).1.first(), Some(Event::Request { id: new, .. }) if *new != id)
    );
}

#[test]
fn send_request_refuses_ack_and_missing_branch() {
    let t0 = origin();
    let mut layer = TransactionLayer::new(Config::default());
    assert_eq!(
        layer.send_request(t0, request("ACK", "z9hG4bKn"), peer(), Transport::Udp),
        Err(TransactionError::AckNotAllowed)
    );
    assert_eq!(
        layer.send_request(t0, request("BYE", "old"), peer(), Transport::Udp),
        Err(TransactionError::NoBranch)
    );
    layer
        .send_request(t0, request("BYE", "z9hG4bKo"), peer(), Transport::Udp)
        .unwrap();
    assert_eq!(
        layer.send_request(t0, request("BYE", "z9hG4bKo"), peer(), Transport::Udp),
        Err(TransactionError::Duplicate)
    );
}

#[test]
fn garbage_bytes_get_400_or_silence() {
    let t0 = origin();
    let mut layer = TransactionLayer::new(Config::default());
    let mut bad = request("OPTIONS", "z9hG4bKp").to_bytes();
    bad.splice(0..7, b"OPT IONS".iter().copied());
    assert!(
        layer
            .handle_bytes(t0, &bad, peer(), Transport::Udp)
            .is_err()
    );
    let (t, e) = drain(&mut layer);
    assert!(e.is_empty());
    assert_eq!(first_line(&t[0]), "SIP/2.0 400 Bad Request");
    assert!(
        layer
            .handle_bytes(t0, b"\xff\xfe garbage\r\n\r\n", peer(), Transport::Udp)
            .is_err()
    );
    assert_eq!(drain(&mut layer), (vec![], vec![]));
}

#[test]
fn timer_queue_is_compacted_under_load() {
    let t0 = origin();
    let mut layer = TransactionLayer::new(Config::default());
    for i in 0..3000 {
        let req = request("MESSAGE", &format!("z9hG4bKload{i}"));
        layer
            .send_request(t0, req.clone(), peer(), Transport::Udp)
            .unwrap();
        let ok = response_for(&req, 200, "OK", Some("x"));
        layer.handle_message(t0, Message::Response(ok), peer(), Transport::Udp);
    }
    drain(&mut layer);
    assert_eq!(layer.len(), 3000);
    layer.handle_timeout(t0 + Duration::from_secs(6));
    assert!(layer.is_empty());
    assert!(
        layer.queue.len() <= 1024,
        "{} stale entries kept",
        layer.queue.len()
    );
}

mod fuzz {
    use proptest::prelude::*;

    use super::*;

    /// Drains output, remembering server transactions that still await an answer.
    fn collect(layer: &mut TransactionLayer, open: &mut Vec<(TransactionId, Request)>) {
        while layer.poll_transmit().is_some() {}
        while let Some(ev) = layer.poll_event() {
            match ev {
                Event::Request { id, request, .. } | Event::Cancel { id, request, .. } => {
                    open.push((id, request))
                }
                Event::Terminated { id } => open.retain(|(o, _)| *o != id),
                _ => {}
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Random sequences of requests, responses, mutated bytes and timeouts never panic,
        /// and once every server transaction is answered and all timers have run, no
        /// transaction is left behind.
        #[test]
        fn sip_transaction_layer_survives_random_input(
            steps in proptest::collection::vec((0u8..6, 0usize..4, 0u64..40_000, any::<u8>()), 1..40)
        ) {
            let mut now = origin();
            let mut layer = TransactionLayer::new(Config::default());
            let mut open = Vec::new();
            let methods = ["INVITE", "ACK", "CANCEL", "BYE"];
            for (kind, m, dt, byte) in steps {
                now += Duration::from_millis(dt);
                let req = request(methods[m], &format!("z9hG4bK{}", byte % 4));
                let transport = if byte % 2 == 0 { Transport::Udp } else { Transport::Tcp };
                match kind {
                    0 => layer.handle_message(now, Message::Request(req), peer(), transport),
                    1 => {
                        let resp = response_for(&req, 100 + u16::from(byte), "X", Some("t"));
                        layer.handle_message(now, Message::Response(resp), peer(), transport);
                    }
                    2 => { let _ = layer.send_request(now, req, peer(), transport); }
                    3 => {
                        let mut bytes = req.to_bytes();
                        let i = usize::from(byte) % bytes.len();
                        bytes[i] = byte;
                        let _ = layer.handle_bytes(now, &bytes, peer(), transport);
                    }
                    4 => layer.handle_timeout(now),
                    _ => {
                        if let Some((id, r)) = open.first().cloned() {
                            let _ = layer.send_response(now, id, &response_for(&r, 100 + u16::from(byte) * 2, "Y", Some("u")));
                        }
                    }
                }
                collect(&mut layer, &mut open);
            }
            for (id, r) in std::mem::take(&mut open) {
                let _ = layer.send_response(now, id, &response_for(&r, 500, "Z", Some("v")));
            }
            collect(&mut layer, &mut open);
            for _ in 0..100 {
                let Some(at) = layer.poll_timeout() else { break };
                layer.handle_timeout(at.max(now));
                collect(&mut layer, &mut open);
            }
            prop_assert!(layer.is_empty(), "{} transactions left", layer.len());
        }
    }
}
