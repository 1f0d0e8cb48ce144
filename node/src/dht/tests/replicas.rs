//! Replication, repair after crashes and joins, and tombstones against stale replicas.

use super::*;
use crate::store::{Store, StoreLimits};

/// Puts `n` values under distinct keys through varying hosts; returns the keys.
fn fill(h: &mut Harness, n: usize) -> Vec<DhtKey> {
    let live = h.live();
    (0..n)
        .map(|i| {
            let k = key(&format!("k{i}"));
            let via = live[i % live.len()];
            assert_eq!(
                put(h, via, k, format!("v{i}").as_bytes(), None, 3600),
                Status::Ok
            );
            k
        })
        .collect()
}

/// Asserts that each key's value is held by each of the r closest live hosts.
fn assert_r_copies(h: &Harness, keys: &[DhtKey]) {
    for (i, k) in keys.iter().enumerate() {
        let id = plain_id(*k, format!("v{i}").as_bytes());
        let holders = h.holders(id);
        for c in h.closest(*k, 4) {
            assert!(
                holders.contains(&c),
                "key {i}: host {c} lacks it; holders {holders:?}"
            );
        }
    }
}

#[test]
fn every_value_has_r_copies_on_the_r_closest() {
    let mut h = Harness::new(11, 12);
    let keys = fill(&mut h, 30);
    settle(&mut h, 2);
    assert_r_copies(&h, &keys);
}

#[test]
fn values_survive_a_crashed_root_and_are_repaired() {
    let mut h = Harness::new(12, 12);
    let keys = fill(&mut h, 30);
    let root = h.closest(keys[0], 1)[0];
    h.crash(root);
    let reader = h.live().into_iter().find(|&i| i != root).unwrap();
    assert_eq!(get_all(&mut h, reader, keys[0]), vec![b"v0".to_vec()]);
    settle(&mut h, 40);
    assert_r_copies(&h, &keys);
    for (i, k) in keys.iter().enumerate().step_by(5) {
        assert_eq!(
            get_all(&mut h, reader, *k),
            vec![format!("v{i}").into_bytes()]
        );
    }
}

#[test]
fn a_node_joining_closer_to_keys_receives_them() {
    let mut h = Harness::new(13, 8);
    let keys = fill(&mut h, 30);
    for _ in 0..4 {
        h.spawn(Some(0));
        settle(&mut h, 2);
    }
    settle(&mut h, 30);
    assert_r_copies(&h, &keys);
    let newest = h.hosts.len() - 1;
    for (i, k) in keys.iter().enumerate().step_by(3) {
        assert_eq!(
            get_all(&mut h, newest, *k),
            vec![format!("v{i}").into_bytes()]
        );
    }
}

#[test]
fn a_tombstone_stops_a_stale_replica_from_resurrecting_a_value() {
    let mut h = Harness::new(14, 10);
    let k = key("gone");
    assert_eq!(put(&mut h, 1, k, b"old", Some(b"pw"), 3600), Status::Ok);
    settle(&mut h, 2);
    let id = ItemId {
        key: k,
        secret_hash: sha1(b"pw"),
        value_hash: sha1(b"old"),
    };
    let root = h.closest(k, 1)[0];
    let stale_record = h.hosts[root]
        .dht
        .store()
        .records(h.now_ms(), &[id])
        .unwrap();
    assert_eq!(rm(&mut h, 2, k, b"old", b"pw"), Status::Ok);
    settle(&mut h, 2);
    // One replica loses its disk and comes back with the value but not the removal.
    let replica = h.closest(k, 4)[2];
    let stale = Store::in_memory(StoreLimits::default()).unwrap();
    stale
        .insert_replica(h.now_ms(), stale_record[0].clone())
        .unwrap();
    h.hosts[replica].dht.store = stale;
    assert!(
        !h.hosts[replica]
            .dht
            .store()
            .get(h.now_ms(), k, 10, &[])
            .unwrap()
            .values
            .is_empty()
    );
    settle(&mut h, 25);
    for i in h.live() {
        let page = h.hosts[i].dht.store().get(h.now_ms(), k, 10, &[]).unwrap();
        assert!(
            page.values.is_empty(),
            "host {i} still returns the removed value"
        );
    }
    assert!(get_all(&mut h, 5, k).is_empty());
}

/// A value put while its node was alone in the overlay is handed over on join like any other:
/// within a couple of seconds of the joins, a get through every node returns it. The joins
/// come close together, so by the lone node's first repair round it may no longer be among
/// the key's r closest nodes, and shares no arc holding the key with anyone.
#[test]
fn a_value_put_by_a_lone_node_is_visible_everywhere_soon_after_joins() {
    for (seed, joiners) in [(41u64, 3usize), (42, 5), (43, 7), (44, 4), (45, 6), (46, 7)] {
        let mut h = Harness::new(seed, 1);
        let k = key(&format!("alone {seed}"));
        assert_eq!(put(&mut h, 0, k, b"first", None, 3600), Status::Ok);
        for _ in 0..joiners {
            h.spawn(Some(0));
            h.run_for(Duration::from_millis(20));
        }
        let mut waited = Duration::ZERO;
        while !h.hosts.iter().all(|x| x.joined) && waited < Duration::from_secs(30) {
            h.run_for(Duration::from_millis(100));
            waited += Duration::from_millis(100);
        }
        assert!(
            h.hosts.iter().all(|x| x.joined),
            "seed {seed}: joins did not finish"
        );
        settle_ms(&mut h, 2_000);
        for i in h.live() {
            assert_eq!(
                get_all(&mut h, i, k),
                vec![b"first".to_vec()],
                "seed {seed}, {joiners} joiners: get through host {i} (root is host {}, holders {:?})",
                h.closest(k, 1)[0],
                h.holders(plain_id(k, b"first")),
            );
        }
    }
}

fn settle_ms(h: &mut Harness, ms: u64) {
    h.run_for(Duration::from_millis(ms));
}

#[test]
fn soft_values_are_held_in_memory_by_r_replicas_and_repaired_after_a_crash() {
    let mut h = Harness::new(14, 12);
    let live = h.live();
    let keys: Vec<DhtKey> = (0..30)
        .map(|i| {
            let k = key(&format!("k{i}"));
            let req = PutReq {
                key: k,
                value: format!("v{i}").into_bytes(),
                secret_hash: None,
                ttl_secs: 3600,
                class: crate::store::StorageClass::Soft,
            };
            assert_eq!(put_as(&mut h, live[i % live.len()], req, 1), Status::Ok);
            k
        })
        .collect();
    settle(&mut h, 2);
    assert_r_copies(&h, &keys);
    let root = h.closest(keys[0], 1)[0];
    h.crash(root);
    settle(&mut h, 40);
    // The copies made by repair to replace the crashed root's are soft too.
    assert_r_copies(&h, &keys);
    for (i, k) in keys.iter().enumerate() {
        let id = plain_id(*k, format!("v{i}").as_bytes());
        for holder in h.holders(id) {
            let recs = h.call(holder, |d, _| d.store().records(0, &[id]).unwrap());
            assert!(
                recs.iter()
                    .all(|r| r.class == crate::store::StorageClass::Soft),
                "key {i} on host {holder}: {recs:?}"
            );
        }
    }
}
