//! Random inputs never panic the proxy, and once the timers run out nothing is left behind.

use proptest::prelude::*;

use super::*;

/// Valid messages from Alice the fuzzer starts from (and mutates).
fn templates() -> Vec<String> {
    let mut t: Vec<String> = ["INVITE", "MESSAGE", "OPTIONS", "SUBSCRIBE", "CANCEL", "ACK"]
        .iter()
        .map(|m| from_alice(m, "sip:bob@scope", "p1", "fz", ""))
        .collect();
    t.push(from_alice(
        "INVITE",
        &format!("sip:bob@{BOB1}"),
        "p2",
        "fz2",
        "Route: <sip:10.0.0.1:5060;lr>\n",
    ));
    t.push(
        from_alice(
            "BYE",
            &format!("sip:bob@{BOB1}"),
            "p3",
            "fz",
            "Route: <sip:10.0.0.1:5060;lr>\n",
        )
        .replace("To: <sip:bob@scope>", "To: <sip:bob@scope>;tag=b1"),
    );
    t.push(format!(
        "REGISTER sip:scope SIP/2.0\nVia: SIP/2.0/UDP {BOB1};branch=z9hG4bKreg\nMax-Forwards: 70\n\
         From: <sip:bob@scope>;tag=f\nTo: <sip:bob@scope>\nCall-ID: r1\nCSeq: 1 REGISTER\n\
         Contact: <sip:bob@{BOB1}>\nContent-Length: 0\n\n"
    ));
    t
}

#[derive(Debug, Clone)]
enum Step {
    /// Template `usize`, mutated by the edits.
    Send(usize, Vec<(prop::sample::Index, u8, u8)>),
    /// Random bytes.
    Garbage(Vec<u8>),
    /// Answer the oldest DHT request: 0 = empty, 1 = Bob's contacts, 2 = error.
    Dht(u8),
    /// Answer a request the proxy forwarded with this status.
    Reply(prop::sample::Index, u16),
    /// Let time pass (ms).
    Wait(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (
            0usize..9,
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 0..6)
        )
            .prop_map(|(i, e)| Step::Send(i, e)),
        prop::collection::vec(any::<u8>(), 0..200).prop_map(Step::Garbage),
        (0u8..3).prop_map(Step::Dht),
        (
            any::<prop::sample::Index>(),
            prop::sample::select(vec![100u16, 180, 200, 404, 487, 503, 603])
        )
            .prop_map(|(i, s)| Step::Reply(i, s)),
        (0u64..40_000).prop_map(Step::Wait),
    ]
}

fn mutate(text: &str, edits: &[(prop::sample::Index, u8, u8)]) -> Vec<u8> {
    let mut bytes = text.replace('\n', "\r\n").into_bytes();
    for (at, byte, op) in edits {
        if bytes.is_empty() {
            break;
        }
        let i = at.index(bytes.len());
        match op {
            0 => bytes[i] = *byte,
            1 => bytes.insert(i, *byte),
            2 => {
                bytes.remove(i);
            }
            _ => {}
        }
    }
    bytes
}

fn run(steps: Vec<Step>) {
    let mut h = Harness::new();
    let templates = templates();
    let mut forwarded: Vec<(SocketAddr, Request)> = Vec::new();
    let mut pending: Vec<Output> = Vec::new();
    for step in steps {
        match step {
            Step::Send(i, edits) => {
                let bytes = mutate(&templates[i % templates.len()], &edits);
                let _ = h.proxy.handle_bytes(h.now, &bytes, addr(ALICE), Link::Udp);
            }
            Step::Garbage(bytes) => {
                let _ = h.proxy.handle_bytes(
                    h.now,
                    &bytes,
                    addr(BOB2),
                    Link::Tcp(Some(ConnectionId(1))),
                );
            }
            Step::Dht(kind) if !pending.is_empty() => match (pending.remove(0), kind) {
                (Output::Lookup { id, .. }, 2) | (Output::Store { id, .. }, 2) => {
                    h.proxy.handle_lookup(h.now, id, Err(DhtError::Timeout));
                    h.proxy.handle_store_done(h.now, id, Err(DhtError::Timeout));
                }
                (Output::Lookup { id, .. }, 1) => {
                    h.bind("bob", &format!("sip:bob@{BOB1}"));
                    h.bind("bob", &format!("sip:bob@{BOB2};transport=tcp"));
                    let b = h.dht[&key_of("bob")].clone();
                    h.proxy.handle_lookup(h.now, id, Ok(b));
                }
                (Output::Lookup { id, .. }, _) => h.proxy.handle_lookup(h.now, id, Ok(Vec::new())),
                (Output::Store { id, .. }, _) => {
                    h.proxy.handle_store_done(h.now, id, Ok(Stored::Applied))
                }
            },
            Step::Dht(_) => {}
            Step::Reply(i, status) if !forwarded.is_empty() => {
                let (to, req) = forwarded[i.index(forwarded.len())].clone();
                let resp = Message::Response(response_for(&req, status, "X", Some("t")));
                let _ = h.proxy.handle_bytes(h.now, &resp.to_bytes(), to, Link::Udp);
            }
            Step::Reply(..) => {}
            Step::Wait(ms) => {
                h.advance(Duration::from_millis(ms));
            }
        }
        pending.extend(h.outputs());
        for (to, msg) in h.sent() {
            if let Message::Request(r) = msg {
                forwarded.push((to, r));
            }
        }
        forwarded.truncate(16);
    }
    h.assert_idle_after_timers();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn sip_proxy_survives_random_input_and_leaves_nothing_behind(
        steps in prop::collection::vec(step(), 1..40)
    ) {
        run(steps);
    }
}
