//! Node-level tests: two real nodes pumped by hand, and hostile input.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use rand::SeedableRng as _;

use super::super::wire::{self, Body, Message, Signed, Stamp};
use super::super::{Config, Identity, NodeId};
use super::{Event, Node};

fn addr(i: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i], 3630))
}

fn identity(seed: u64) -> Identity {
    Identity::from_random(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed))
}

/// Two nodes joined into one overlay, and every datagram that passed between them.
struct Pair {
    nodes: Vec<Node>,
    now: Instant,
    captured: Vec<Vec<u8>>,
}

impl Pair {
    fn joined() -> Self {
        #[allow(clippy::disallowed_methods)] // a base for virtual time in a test
        let now = Instant::now();
        let mut a = Node::new(Config::default(), identity(1), addr(1));
        let mut b = Node::new(Config::default(), identity(2), addr(2));
        a.bootstrap(now, &[]);
        b.bootstrap(now, &[addr(1)]);
        let mut pair = Self {
            nodes: vec![a, b],
            now,
            captured: Vec::new(),
        };
        pair.drive(Duration::from_secs(5));
        assert!(pair.nodes.iter().all(Node::is_joined));
        pair
    }

    /// Delivers datagrams instantly and fires timers, for `span` of virtual time (bounded).
    fn drive(&mut self, span: Duration) {
        let end = self.now + span;
        for _ in 0..100_000 {
            let mut moved = false;
            for i in 0..2 {
                while let Some(t) = self.nodes[i].poll_transmit() {
                    moved = true;
                    let to = usize::from(t.dst == addr(2));
                    self.captured.push(t.payload.clone());
                    self.nodes[to].handle_datagram(
                        self.now,
                        addr(u8::try_from(i).unwrap() + 1),
                        &t.payload,
                    );
                }
            }
            if moved {
                continue;
            }
            let next = self.nodes.iter().filter_map(Node::poll_timeout).min();
            match next {
                Some(at) if at <= end => {
                    self.now = self.now.max(at);
                    for n in &mut self.nodes {
                        n.handle_timeout(self.now);
                    }
                }
                _ => {
                    self.now = end;
                    return;
                }
            }
        }
        panic!("drive did not settle");
    }

    fn lookup_from(&mut self, i: usize, key: NodeId) -> Option<Event> {
        self.nodes[i].route(self.now, key);
        self.drive(Duration::from_millis(10));
        std::iter::from_fn(|| self.nodes[i].poll_event())
            .find(|e| matches!(e, Event::LookupDone { .. }))
    }
}

#[test]
fn two_nodes_join_and_route_to_the_closer() {
    let mut pair = Pair::joined();
    let b = pair.nodes[1].id();
    let Some(Event::LookupDone {
        result: Ok(route), ..
    }) = pair.lookup_from(0, b)
    else {
        panic!("lookup failed");
    };
    assert_eq!(route.root.id, b);
    assert_eq!(route.hops, 1);
    assert_eq!(route.path, vec![pair.nodes[0].id(), b]);
}

/// The first direct payload `node` delivered: (sender, verified, payload).
fn first_direct(node: &mut Node) -> Option<(NodeId, bool, Vec<u8>)> {
    std::iter::from_fn(|| node.poll_event()).find_map(|e| match e {
        Event::Direct {
            from,
            verified,
            payload,
        } => Some((from.id, verified, payload)),
        _ => None,
    })
}

#[test]
fn application_payloads_reach_the_root_and_come_back_direct() {
    let mut pair = Pair::joined();
    let (a, b) = (pair.nodes[0].id(), pair.nodes[1].id());
    let now = pair.now;
    pair.nodes[0]
        .route_payload(now, b, b"get this".to_vec())
        .unwrap();
    pair.drive(Duration::from_millis(10));
    let delivered = std::iter::from_fn(|| pair.nodes[1].poll_event())
        .find_map(|e| match e {
            Event::Deliver {
                key,
                origin,
                payload,
                ..
            } => Some((key, origin, payload)),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        (delivered.0, delivered.1.id, delivered.2.as_slice()),
        (b, a, &b"get this"[..])
    );
    pair.nodes[1]
        .send_direct(now, delivered.1, b"here".to_vec())
        .unwrap();
    pair.drive(Duration::from_millis(10));
    let back = first_direct(&mut pair.nodes[0]);
    assert_eq!(back, Some((b, true, b"here".to_vec())));
    let too_big = vec![0; super::super::wire::MAX_DIRECT_PAYLOAD + 1];
    assert!(
        pair.nodes[1]
            .send_direct(now, delivered.1, too_big.clone())
            .is_err()
    );

    // An unacknowledged datagram arrives the same way and leaves nothing to retransmit.
    pair.nodes[1]
        .send_datagram(delivered.1, b"copy".to_vec())
        .unwrap();
    pair.drive(Duration::from_millis(10));
    let copy = first_direct(&mut pair.nodes[0]);
    assert_eq!(copy, Some((b, true, b"copy".to_vec())));
    assert!(pair.nodes[1].inflight.is_empty(), "nothing awaits an ack");
    assert!(pair.nodes[1].send_datagram(delivered.1, too_big).is_err());
}

#[test]
fn forged_join_and_routing_state_are_dropped() {
    let mut pair = Pair::joined();
    let mallory = identity(99);
    let victim = pair.nodes[1].id();
    // A join claiming the victim's ID, signed with another key.
    let forged = Message {
        sender: victim,
        body: Body::JoinRequest(Signed::sign(&mallory, Stamp { epoch: 9, seq: 1 }, 9)),
    };
    let bytes = wire::encode(&forged).unwrap();
    let before = pair.nodes[0].metrics().dropped.bad_signature;
    pair.nodes[0].handle_datagram(pair.now, addr(66), &bytes);
    assert_eq!(pair.nodes[0].metrics().dropped.bad_signature, before + 1);
    assert!(pair.nodes[0].poll_transmit().is_none());
    // A replayed signed message is dropped as a replay.
    let replay = pair
        .captured
        .iter()
        .find(|d| {
            wire::decode(d).is_ok_and(|dg| dg.bodies.iter().any(|b| matches!(b, Body::LeafSet(_))))
        })
        .cloned()
        .unwrap();
    let from = addr(2);
    let replays = pair.nodes[0].metrics().dropped.replayed;
    pair.nodes[0].handle_datagram(pair.now, from, &replay);
    pair.nodes[0].handle_datagram(pair.now, from, &replay);
    assert!(pair.nodes[0].metrics().dropped.replayed > replays);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random bytes and random mutations of real datagrams never panic the node and never break
    /// it: afterwards it still routes.
    #[test]
    fn hostile_datagrams_never_break_a_node(
        garbage in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..1300), 1..20),
        mutations in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<u8>()), 1..40),
    ) {
        let mut pair = Pair::joined();
        let now = pair.now;
        for g in &garbage {
            pair.nodes[0].handle_datagram(now, addr(2), g);
        }
        for (which, at, x) in &mutations {
            let mut d = pair.captured[which.index(pair.captured.len())].clone();
            let i = at.index(d.len());
            d[i] ^= x | 1;
            pair.nodes[0].handle_datagram(now, addr(2), &d);
            pair.nodes[0].handle_datagram(now, addr(77), &d[..i]);
        }
        pair.drive(Duration::from_secs(3));
        let b = pair.nodes[1].id();
        let done = pair.lookup_from(0, b);
        let root_ok = matches!(done, Some(Event::LookupDone { result: Ok(ref r), .. }) if r.root.id == b);
        prop_assert!(root_ok, "{:?}", done);
    }
}

/// Many messages to one peer in one step share datagrams, and every one is still delivered and
/// acknowledged (acks coalesced, the congestion window releasing the rest as acks come back).
#[test]
fn messages_to_one_peer_in_one_step_share_datagrams() {
    const N: usize = 60;
    let mut pair = Pair::joined();
    let now = pair.now;
    let b = super::NodeInfo {
        id: pair.nodes[1].id(),
        addr: addr(2),
    };
    let before: Vec<_> = pair.nodes.iter().map(|n| n.metrics().clone()).collect();
    for i in 0..N {
        let payload = format!("message {i}").into_bytes();
        pair.nodes[0].send_direct(now, b, payload).unwrap();
    }
    pair.drive(Duration::from_millis(10));
    let got: Vec<_> = std::iter::from_fn(|| pair.nodes[1].poll_event())
        .filter_map(|e| match e {
            Event::Direct { payload, .. } => Some(payload),
            _ => None,
        })
        .collect();
    let want: Vec<_> = (0..N)
        .map(|i| format!("message {i}").into_bytes())
        .collect();
    assert_eq!(got, want, "every message, in order");
    assert!(pair.nodes[0].inflight.is_empty(), "every message acked");
    assert!(
        std::iter::from_fn(|| pair.nodes[0].poll_event())
            .all(|e| !matches!(e, Event::DirectFailed { .. }))
    );
    let delta = |i: usize| {
        let (m, b) = (pair.nodes[i].metrics(), &before[i]);
        (
            m.datagrams_out - b.datagrams_out,
            m.messages_out - b.messages_out,
            m.bundles_in - b.bundles_in,
        )
    };
    let ((sent_dg, sent_msgs, _), (ack_dg, acks, bundles_in)) = (delta(0), delta(1));
    assert_eq!((sent_msgs, acks), (N as u64, N as u64));
    assert!(bundles_in > 0);
    // The window lets the burst out in a few rounds; each round is one datagram each way.
    assert!(
        sent_dg * 4 <= N as u64,
        "{sent_dg} datagrams for {N} messages"
    );
    assert!(ack_dg * 4 <= N as u64, "{ack_dg} datagrams for {N} acks");
    println!(
        "{N} direct messages: {sent_dg} datagrams out, {acks} acks in {ack_dg} datagrams \
         ({:.3} datagrams per message)",
        (sent_dg + ack_dg) as f64 / (sent_msgs + acks) as f64
    );
}

/// A bundle is handled exactly as its messages in separate datagrams: same events, same acks.
#[test]
fn a_bundle_is_handled_like_separate_datagrams() {
    let run = |bundled: bool| {
        let mut pair = Pair::joined();
        let (a, now) = (pair.nodes[0].id(), pair.now);
        let bodies: Vec<Body> = (0..5u64)
            .map(|i| Body::Reliable {
                seq: 1_000 + i,
                inner: wire::Reliable::Direct(vec![u8::try_from(i).unwrap(); 3]),
            })
            .collect();
        let encoded: Vec<_> = bodies
            .iter()
            .map(|b| wire::encode_body(b).unwrap())
            .collect();
        let datagrams = if bundled {
            wire::pack(&a, &encoded)
        } else {
            encoded
                .iter()
                .map(|e| wire::pack(&a, std::slice::from_ref(e)).remove(0))
                .collect()
        };
        assert_eq!(datagrams.len(), if bundled { 1 } else { 5 });
        let node = &mut pair.nodes[1];
        for d in &datagrams {
            node.handle_datagram(now, addr(1), d);
        }
        // A replay of the lot changes nothing but the replay counter.
        for d in &datagrams {
            node.handle_datagram(now, addr(1), d);
        }
        let events: Vec<_> = std::iter::from_fn(|| node.poll_event())
            .filter(|e| matches!(e, Event::Direct { .. }))
            .collect();
        let mut acked = Vec::new();
        while let Some(t) = node.poll_transmit() {
            assert_eq!(t.dst, addr(1));
            for body in wire::decode(&t.payload).unwrap().bodies {
                match body {
                    Body::Ack { seq } => acked.push(seq),
                    Body::Acks(seqs) => acked.extend(seqs),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        (events, acked, node.metrics().dropped)
    };
    let (bundled, separate) = (run(true), run(false));
    assert_eq!(bundled, separate);
    assert_eq!(bundled.0.len(), 5);
    assert_eq!(bundled.1.len(), 10, "replays are acked again, as before");
    assert_eq!(bundled.2.replayed, 5);
}

#[test]
fn malformed_bundles_are_dropped_and_counted() {
    let mut pair = Pair::joined();
    let (a, now) = (pair.nodes[0].id(), pair.now);
    let ack = wire::encode_body(&Body::Ack { seq: 1 }).unwrap();
    let good = wire::pack(&a, &[ack.clone(), ack.clone(), ack]).remove(0);
    let node = &mut pair.nodes[1];
    let before = node.metrics().dropped;
    node.handle_datagram(now, addr(1), &good[..good.len() - 1]);
    let mut bad_count = good.clone();
    bad_count[21] = u8::try_from(wire::MAX_BUNDLE + 1).unwrap();
    node.handle_datagram(now, addr(1), &bad_count);
    let mut oversized = good;
    oversized.resize(wire::MAX_DATAGRAM + 1, 0);
    node.handle_datagram(now, addr(1), &oversized);
    let after = node.metrics().dropped;
    assert_eq!(after.malformed - before.malformed, 2);
    assert_eq!(after.oversized - before.oversized, 1);
    assert!(node.poll_transmit().is_none());
}
