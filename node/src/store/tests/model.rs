//! Property test: random operation sequences against a plain in-memory model of the rules.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::store::{Hash, RemoveOutcome, ZERO_HASH};

/// One step of a random run.
#[derive(Debug, Clone)]
enum Step {
    Put {
        k: u8,
        v: u8,
        secret: Option<u8>,
        ttl: i64,
    },
    Rm {
        k: u8,
        v: u8,
        secret: u8,
        ttl: i64,
    },
    Advance(u64),
    Purge,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..3u8, 0..4u8, proptest::option::of(0..2u8), 1..10i64)
            .prop_map(|(k, v, secret, ttl)| Step::Put { k, v, secret, ttl }),
        2 => (0..3u8, 0..4u8, 0..2u8, 1..10i64).prop_map(|(k, v, secret, ttl)| Step::Rm { k, v, secret, ttl }),
        2 => (0..6_000u64).prop_map(Step::Advance),
        1 => Just(Step::Purge),
    ]
}

/// A model entry: tombstone?, expiry, arrival, value.
type Entry = (bool, u64, u64, Vec<u8>);

/// The model: identity → entry, expired entries kept until a purge, like the store.
#[derive(Default)]
struct Model {
    items: BTreeMap<(u8, Hash, Hash), Entry>,
}

fn secret(s: u8) -> Vec<u8> {
    vec![b's', s]
}

fn value(v: u8) -> Vec<u8> {
    vec![b'v', v]
}

impl Model {
    fn put(&mut self, now: u64, id: (u8, Hash, Hash), new: Entry) -> Option<Entry> {
        let old = self.items.get(&id).filter(|e| now < e.1).cloned();
        let merged = match &old {
            None => new,
            Some(o) if o.0 && !new.0 => o.clone(),
            Some(o) if !o.0 && new.0 => (true, new.1.max(o.1), new.2, new.3),
            Some(o) => (o.0, o.1.max(new.1), o.2, o.3.clone()),
        };
        self.items.insert(id, merged);
        old
    }

    fn rm(&mut self, now: u64, k: u8, v: &[u8], s: &[u8], ttl: i64) -> RemoveOutcome {
        let id = (k, sha1(s), sha1(v));
        let mismatch = self
            .items
            .iter()
            .any(|(i, e)| i.0 == k && i.2 == id.2 && i.1 != id.1 && !e.0 && now < e.1);
        let exp = now + ttl.unsigned_abs() * 1000;
        match self.put(now, id, (true, exp, now, s.to_vec())) {
            Some(old) if !old.0 => RemoveOutcome::Removed,
            _ if mismatch => RemoveOutcome::SecretMismatch,
            _ => RemoveOutcome::NotFound,
        }
    }

    fn live_values(&self, now: u64, k: u8) -> Vec<Vec<u8>> {
        let mut live: Vec<_> = self
            .items
            .iter()
            .filter(|(i, e)| i.0 == k && !e.0 && now < e.1)
            .collect();
        live.sort_by_key(|(i, e)| (e.2, i.1, i.2));
        live.into_iter().map(|(_, e)| e.3.clone()).collect()
    }

    fn counts(&self) -> (u64, u64) {
        let tombs = self.items.values().filter(|e| e.0).count() as u64;
        (self.items.len() as u64 - tombs, tombs)
    }
}

fn run(steps: &[Step], class: StorageClass) -> Result<(), TestCaseError> {
    let (s, mut m, mut now) = (store(), Model::default(), T0);
    for st in steps {
        match st {
            Step::Put {
                k,
                v,
                secret: sec,
                ttl,
            } => {
                let sec_bytes = sec.map(secret);
                let req = PutRequest {
                    class,
                    ..put_req(key(*k), &value(*v), sec_bytes.as_deref(), *ttl, ip(1))
                };
                s.put(now, &req).unwrap();
                let id = (
                    *k,
                    sec_bytes.as_deref().map_or(ZERO_HASH, sha1),
                    sha1(&value(*v)),
                );
                m.put(
                    now,
                    id,
                    (false, now + ttl.unsigned_abs() * 1000, now, value(*v)),
                );
            }
            Step::Rm {
                k,
                v,
                secret: sec,
                ttl,
            } => {
                let req = RemoveRequest {
                    class,
                    ..rm_req(key(*k), &value(*v), &secret(*sec), *ttl)
                };
                let got = s.remove(now, &req).unwrap();
                prop_assert_eq!(got, m.rm(now, *k, &value(*v), &secret(*sec), *ttl));
            }
            Step::Advance(ms) => now += ms,
            Step::Purge => {
                s.purge_expired(now).unwrap();
                m.items.retain(|_, e| now < e.1);
                let st = s.stats().unwrap();
                prop_assert_eq!((st.values, st.tombstones), m.counts());
            }
        }
        for k in 0..3 {
            prop_assert_eq!(get_all(&s, now, key(k), 2), m.live_values(now, k));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_model(steps in proptest::collection::vec(step(), 1..40)) {
        run(&steps, StorageClass::Durable)?;
    }

    /// The soft table follows the same rules through its own structures.
    #[test]
    fn soft_store_matches_model(steps in proptest::collection::vec(step(), 1..40)) {
        run(&steps, StorageClass::Soft)?;
    }
}
