//! Hostile payloads never panic and are counted.

use proptest::prelude::*;

use super::*;
use crate::dht::wire::{self, Msg, WireEntry, WireKind, WireRange, WireSummary};
use crate::overlay::Event;

fn hostile_payloads() -> Vec<Vec<u8>> {
    let range = WireRange {
        from: [1; 20],
        to: [1; 20],
    };
    let msgs = [
        Msg::Digest {
            kind: WireKind::Values,
            range,
            bits: 13,
            span: (0, 3),
            buckets: vec![],
        },
        Msg::Digest {
            kind: WireKind::Chunks,
            range,
            bits: 6,
            span: (0, 64),
            buckets: vec![(65_000, 9, [0; 8])],
        },
        Msg::Digest {
            kind: WireKind::Values,
            range: WireRange {
                from: [1; 20],
                to: [2; 20],
            },
            bits: 12,
            span: (4000, 4096),
            buckets: vec![(4095, 9, [0; 8])],
        },
        Msg::Have {
            kind: WireKind::Values,
            range,
            bits: 0,
            bucket: 9,
            after: None,
            upto: None,
            items: vec![],
        },
        Msg::Have {
            kind: WireKind::Chunks,
            range,
            bits: 4,
            bucket: 3,
            after: Some(WireEntry {
                key: [9; 20],
                fp: [9; 8],
            }),
            upto: None,
            items: vec![WireSummary {
                entry: WireEntry {
                    key: [7; 20],
                    fp: [1; 8],
                },
                meta: u64::MAX,
            }],
        },
        Msg::Want {
            kind: WireKind::Chunks,
            entries: vec![WireEntry {
                key: [3; 20],
                fp: [0; 8],
            }],
        },
        Msg::ReplicaAck {
            token: 77,
            ok: true,
        },
        Msg::WriteReply {
            req: 1234,
            answer: wire::WriteAnswer::Status(0),
        },
        Msg::GetReply {
            req: 99,
            page: Err(200),
        },
        Msg::Get {
            req: 1,
            key: [0; 20],
            maxvals: 0,
            placemark: vec![9; 77],
        },
    ];
    let mut out: Vec<Vec<u8>> = msgs.iter().map(|m| wire::encode(m).unwrap()).collect();
    out.extend([
        vec![],
        vec![1],
        vec![1, 255, 255, 255, 255, 255],
        vec![0xff; 1500],
    ]);
    out
}

#[test]
fn garbage_and_hostile_payloads_never_panic() {
    let mut h = Harness::new(31, 4);
    let from = crate::overlay::NodeInfo {
        id: h.hosts[1].node.id(),
        addr: h.hosts[1].node.local_addr(),
    };
    for payload in hostile_payloads() {
        for verified in [true, false] {
            let ev = Event::Direct {
                from,
                verified,
                payload: payload.clone(),
            };
            h.call(0, |d, now| d.handle_overlay_event(now, &ev));
        }
        let ev = Event::Deliver {
            key: from.id,
            origin: from,
            hops: 1,
            payload,
        };
        h.call(0, |d, now| d.handle_overlay_event(now, &ev));
    }
    h.run_for(std::time::Duration::from_secs(2));
    assert!(h.hosts[0].dht.metrics().dropped_malformed >= 4);
    // Still works afterwards.
    assert_eq!(put(&mut h, 0, key("after"), b"ok", None, 60), Status::Ok);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_payloads_into_a_dht_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1200), verified: bool) {
        let me = crate::overlay::NodeInfo { id: crate::overlay::NodeId([5; 20]), addr: crate::sim::network::host_addr(0) };
        let store = crate::store::Store::in_memory(crate::store::StoreLimits::default()).unwrap();
        #[allow(clippy::disallowed_methods)]
        let now = std::time::Instant::now();
        let mut dht = crate::dht::Dht::new(crate::dht::DhtConfig::default(), store, me, now, 1);
        let mut tagged = vec![wire::DHT_WIRE_VERSION];
        tagged.extend_from_slice(&bytes);
        for payload in [bytes, tagged] {
            dht.handle_overlay_event(now, &Event::Direct { from: me, verified, payload: payload.clone() });
            dht.handle_overlay_event(now, &Event::Deliver { key: me.id, origin: me, hops: 0, payload });
            while dht.poll_command().is_some() {}
        }
    }
}

#[test]
fn writes_arriving_in_one_step_share_one_commit() {
    let me = crate::overlay::NodeInfo {
        id: crate::overlay::NodeId([5; 20]),
        addr: crate::sim::network::host_addr(0),
    };
    let store = crate::store::Store::in_memory(crate::store::StoreLimits::default()).unwrap();
    #[allow(clippy::disallowed_methods)]
    let now = std::time::Instant::now();
    let mut dht = crate::dht::Dht::new(
        crate::dht::DhtConfig::default(),
        store,
        me,
        now,
        1_700_000_000_000,
    );
    for n in 0..100u32 {
        let body = wire::WriteBody::Put {
            key: [7; 20],
            value: n.to_be_bytes().to_vec(),
            secret_hash: None,
            ttl_secs: 60,
            client: client(1),
            class: crate::store::StorageClass::Durable,
        };
        let payload = wire::encode(&Msg::Write {
            req: u64::from(n),
            body,
        })
        .unwrap();
        dht.handle_overlay_event(
            now,
            &Event::Direct {
                from: me,
                verified: true,
                payload,
            },
        );
    }
    let replies = std::iter::from_fn(|| dht.poll_command()).count();
    assert_eq!(replies, 100, "one status reply per write");
    assert_eq!(
        (dht.metrics().commits, dht.metrics().committed_ops),
        (1, 100)
    );
}
