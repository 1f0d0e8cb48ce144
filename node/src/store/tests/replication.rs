//! Ring ranges, digests and replica insertion.

use super::*;
use crate::store::{
    ApplyOutcome, BucketDigest, Entry, ItemId, ItemKind, KeyRange, Layout, Payload, Record,
    StoreError, StoreLimits, diff,
};

/// Stores one value under each of the keys `bytes`.
fn fill(s: &Store, bytes: &[u8]) {
    for &b in bytes {
        s.put(T0, &put_req(key(b), &[b], None, 600, ip(1))).unwrap();
    }
}

/// The first key byte of each record in a range scan.
fn scanned(s: &Store, range: KeyRange) -> Vec<u8> {
    s.records_in_range(T0, range, None, usize::MAX)
        .unwrap()
        .iter()
        .map(|r| r.id.key.0[0])
        .collect()
}

#[test]
fn ring_ranges_with_and_without_wrap() {
    let s = store();
    fill(&s, &[1, 50, 100, 150, 200, 250]);
    assert_eq!(
        scanned(&s, KeyRange::new(key(50), key(200))),
        vec![50, 100, 150]
    );
    assert_eq!(
        scanned(&s, KeyRange::new(key(200), key(50))),
        vec![200, 250, 1]
    );
    assert_eq!(
        scanned(&s, KeyRange::new(key(150), key(150))),
        vec![150, 200, 250, 1, 50, 100]
    );
    assert_eq!(scanned(&s, KeyRange::FULL).len(), 6);
    assert!(scanned(&s, KeyRange::new(key(2), key(3))).is_empty());
}

#[test]
fn range_scan_pages_with_after() {
    let s = store();
    fill(&s, &[1, 50, 100, 150, 200, 250]);
    let range = KeyRange::new(key(150), key(60));
    let (mut seen, mut after) = (Vec::new(), None);
    loop {
        let page = s.records_in_range(T0, range, after, 2).unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|r| r.id);
        seen.extend(page.iter().map(|r| r.id.key.0[0]));
    }
    assert_eq!(seen, vec![150, 200, 250, 1, 50]);
}

/// The digest of `range` with 4 bucket bits.
fn digest(s: &Store, range: KeyRange) -> Vec<BucketDigest> {
    s.repair_digest(ItemKind::Values, T0, Layout::new(range, 4))
}

#[test]
fn equal_stores_have_equal_digests() {
    let (a, b) = (store(), store());
    fill(&a, &[3, 90, 180]);
    fill(&b, &[180, 3, 90]);
    let range = KeyRange::FULL;
    assert_eq!(digest(&a, range), digest(&b, range));
    assert_eq!(digest(&a, range).len(), 3);
}

#[test]
fn digests_find_the_differing_items() {
    let (a, b) = (store(), store());
    fill(&a, &[3, 90, 180, 240]);
    fill(&b, &[3, 90, 181, 240]);
    b.put(T0, &put_req(key(240), &[240], None, 900, ip(1)))
        .unwrap(); // TTL extended on b only
    // Wraps round the ring; buckets are 16 sub-arcs of it by key position.
    let range = KeyRange::new(key(250), key(245));
    let layout = Layout::new(range, 4);
    let (da, db) = (digest(&a, range), digest(&b, range));
    let mut buckets: Vec<u32> = da
        .iter()
        .chain(&db)
        .map(|d| d.bucket)
        .filter(|bk| da.iter().find(|d| d.bucket == *bk) != db.iter().find(|d| d.bucket == *bk))
        .collect();
    buckets.sort_unstable();
    buckets.dedup();
    let expect: Vec<u32> = [180u8, 240]
        .iter()
        .filter_map(|k| layout.bucket(key(*k)))
        .collect();
    assert_eq!(layout.bucket(key(180)), layout.bucket(key(181)));
    assert_eq!(buckets, expect, "180/181 share a bucket; 240 is another");
    let (mut sa, mut sb) = (Vec::new(), Vec::new());
    for bucket in buckets {
        let arc = layout.arc(bucket).unwrap();
        sa.extend(a.repair_summaries(ItemKind::Values, T0, arc));
        sb.extend(b.repair_summaries(ItemKind::Values, T0, arc));
    }
    let d = diff(&sa, &sb);
    let keys = |e: &[Entry]| e.iter().map(|i| i.key.0[0]).collect::<Vec<_>>();
    assert_eq!(keys(&d.send), vec![180]);
    assert_eq!(keys(&d.fetch), vec![240, 181]);
    // Move what differs; afterwards the digests agree.
    for rec in b.records_for(T0, &d.fetch).unwrap() {
        a.insert_replica(T0, rec).unwrap();
    }
    for rec in a.records_for(T0, &d.send).unwrap() {
        b.insert_replica(T0, rec).unwrap();
    }
    assert_eq!(digest(&a, range), digest(&b, range));
}

#[test]
fn the_summary_index_survives_reopening_and_follows_purges() {
    let dir = super::persistence::temp_dir("index");
    let path = dir.join("store.redb");
    let before = {
        let s = Store::open(&path, StoreLimits::default()).unwrap();
        fill(&s, &[3, 90, 180]);
        s.put(T0, &put_req(key(7), &[7], None, 1, ip(1))).unwrap();
        digest(&s, KeyRange::FULL)
    };
    let s = Store::open(&path, StoreLimits::default()).unwrap();
    assert_eq!(digest(&s, KeyRange::FULL), before);
    assert_eq!(s.item_count(ItemKind::Values), 4);
    s.purge_expired(T0 + 2_000).unwrap();
    assert_eq!(s.item_count(ItemKind::Values), 3);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replica_tombstone_removes_and_blocks_stale_value() {
    let (root, replica) = (store(), store());
    let put = put_req(key(20), b"v", Some(b"s"), 600, ip(1));
    root.put(T0, &put).unwrap();
    replica.put(T0, &put).unwrap();
    let stale = replica
        .records_in_range(T0, KeyRange::FULL, None, 10)
        .unwrap();
    root.remove(T0, &rm_req(key(20), b"v", b"s", 60)).unwrap();
    let tomb = root.records_in_range(T0, KeyRange::FULL, None, 10).unwrap();
    assert!(tomb[0].is_tombstone());
    assert_eq!(
        replica.insert_replica(T0, tomb[0].clone()).unwrap(),
        ApplyOutcome::Removed
    );
    assert_eq!(
        root.insert_replica(T0, stale[0].clone()).unwrap(),
        ApplyOutcome::Suppressed
    );
    assert!(get_all(&root, T0, key(20), 10).is_empty());
}

#[test]
fn forged_or_expired_replicas_are_refused() {
    let s = store();
    let good = Record {
        id: ItemId {
            key: key(21),
            secret_hash: sha1(b"s"),
            value_hash: sha1(b"v"),
        },
        payload: Payload::Value(b"v".to_vec()),
        expiry_ms: T0 + 1_000,
        arrival_ms: T0,
        client: ip(1),
        class: crate::store::StorageClass::Durable,
    };
    let mut forged = good.clone();
    forged.payload = Payload::Value(b"w".to_vec());
    assert!(matches!(
        s.insert_replica(T0, forged),
        Err(StoreError::HashMismatch)
    ));
    let mut tomb = good.clone();
    tomb.payload = Payload::Tombstone {
        secret: b"not s".to_vec(),
    };
    assert!(matches!(
        s.insert_replica(T0, tomb),
        Err(StoreError::HashMismatch)
    ));
    assert!(matches!(
        s.insert_replica(T0 + 1_000, good.clone()),
        Err(StoreError::AlreadyExpired)
    ));
    let mut immortal = good.clone();
    immortal.expiry_ms = u64::MAX;
    s.insert_replica(T0, immortal).unwrap();
    let d = s.get_details(T0, key(21), 10, &[]).unwrap();
    assert_eq!(
        d.values[0].ttl_remaining_secs, 604_800,
        "replica expiry clamped to a week"
    );
}

#[test]
fn replicas_skip_fair_share_but_not_capacity() {
    let limits = StoreLimits {
        capacity_bytes: 10_000,
        client_floor_bytes: 0,
        ..StoreLimits::default()
    };
    let (root, s) = (store(), Store::in_memory(limits).unwrap());
    for i in 0..12u8 {
        root.put(T0, &put_req(key(i), &[i; 923], None, 600, ip(1)))
            .unwrap();
    }
    let recs = root
        .records_in_range(T0, KeyRange::FULL, None, 100)
        .unwrap();
    let results: Vec<_> = recs.into_iter().map(|r| s.insert_replica(T0, r)).collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        10,
        "past the 5,000-byte share, up to capacity"
    );
    assert!(matches!(results[10], Err(StoreError::OverCapacity)));
}
