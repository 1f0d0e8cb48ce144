//! Values, paging, TTLs, removal and fair share.

use std::collections::BTreeSet;

use super::*;
use crate::store::{ApplyOutcome, Op, OpOutcome, RemoveOutcome, StoreError, ZERO_HASH};

#[test]
fn fifty_values_page_out_exactly_once() {
    let s = store();
    let k = key(1);
    for i in 0..50u32 {
        let v = format!("value-{i}");
        s.put(
            T0 + u64::from(i),
            &put_req(k, v.as_bytes(), None, 60, ip(1)),
        )
        .unwrap();
    }
    let got = get_all(&s, T0 + 100, k, 10);
    let expected: Vec<Vec<u8>> = (0..50).map(|i| format!("value-{i}").into_bytes()).collect();
    assert_eq!(got, expected, "arrival order, each once");
    let first = s.get(T0 + 100, k, 10, &[]).unwrap();
    assert_eq!(first.values.len(), 10);
    assert!(!first.placemark.is_empty() && first.placemark.len() <= 77);
}

#[test]
fn pages_are_capped_near_one_maximal_value() {
    let s = store();
    let k = key(2);
    for i in 0..5u8 {
        s.put(T0, &put_req(k, &[i; 600], None, 60, ip(1))).unwrap();
    }
    let page = s.get(T0, k, 100, &[]).unwrap();
    assert_eq!(
        page.values.len(),
        1,
        "two 600-byte values exceed the ~1 KB page"
    );
    assert_eq!(get_all(&s, T0, k, 100).len(), 5);
    let big = s.get(T0, k, 1, &[]).unwrap();
    assert_eq!(big.values.len(), 1);
}

#[test]
fn absent_key_and_bad_placemark() {
    let s = store();
    let page = s.get(T0, key(3), 10, &[]).unwrap();
    assert!(page.values.is_empty() && page.placemark.is_empty());
    assert!(matches!(
        s.get(T0, key(3), 10, &[1, 2, 3]),
        Err(StoreError::BadPlacemark(3))
    ));
    assert!(matches!(
        s.get(T0, key(3), 10, &[0; 78]),
        Err(StoreError::BadPlacemark(78))
    ));
}

#[test]
fn same_triple_again_extends_ttl_only() {
    let s = store();
    let k = key(4);
    assert_eq!(
        s.put(T0, &put_req(k, b"v", None, 10, ip(1))).unwrap(),
        ApplyOutcome::Stored
    );
    assert_eq!(
        s.put(T0, &put_req(k, b"v", None, 100, ip(1))).unwrap(),
        ApplyOutcome::Extended
    );
    assert_eq!(
        s.put(T0, &put_req(k, b"v", None, 50, ip(1))).unwrap(),
        ApplyOutcome::Unchanged
    );
    assert_eq!(get_all(&s, T0 + 60_000, k, 10), vec![b"v".to_vec()]);
    assert_eq!(s.stats().unwrap().values, 1);
    // Same value, another secret: a separate item.
    s.put(T0, &put_req(k, b"v", Some(b"s"), 10, ip(1))).unwrap();
    assert_eq!(get_all(&s, T0, k, 10).len(), 2);
}

#[test]
fn ttl_is_validated_and_clamped() {
    let s = store();
    assert!(matches!(
        s.put(T0, &put_req(key(5), b"v", None, 0, ip(1))),
        Err(StoreError::InvalidTtl(0))
    ));
    assert!(matches!(
        s.put(T0, &put_req(key(5), b"v", None, -3, ip(1))),
        Err(StoreError::InvalidTtl(-3))
    ));
    s.put(T0, &put_req(key(5), b"v", None, 10_000_000, ip(1)))
        .unwrap();
    let d = s.get_details(T0, key(5), 10, &[]).unwrap();
    assert_eq!(d.values[0].ttl_remaining_secs, 604_800);
    let long = vec![0; 1025];
    assert!(matches!(
        s.put(T0, &put_req(key(5), &long, None, 10, ip(1))),
        Err(StoreError::ValueTooLarge {
            len: 1025,
            max: 1024
        })
    ));
}

#[test]
fn details_report_ttl_and_secret() {
    let s = store();
    let k = key(6);
    s.put(T0, &put_req(k, b"plain", None, 100, ip(1))).unwrap();
    s.put(
        T0 + 1,
        &put_req(k, b"removable", Some(b"secret"), 100, ip(1)),
    )
    .unwrap();
    let d = s.get_details(T0 + 10_500, k, 10, &[]).unwrap().values;
    assert_eq!(
        (d[0].ttl_remaining_secs, d[0].hash_alg, d[0].secret_hash),
        (89, "", None)
    );
    assert_eq!(
        (d[1].hash_alg, d[1].secret_hash),
        ("SHA", Some(sha1(b"secret")))
    );
}

#[test]
fn expired_values_vanish_at_read_time_and_purge_deletes_them() {
    let s = store();
    let k = key(7);
    s.put(T0, &put_req(k, b"short", None, 2, ip(1))).unwrap();
    s.put(T0, &put_req(k, b"long", None, 100, ip(1))).unwrap();
    assert_eq!(get_all(&s, T0 + 1_999, k, 10).len(), 2);
    assert_eq!(get_all(&s, T0 + 2_000, k, 10), vec![b"long".to_vec()]);
    let before = s.stats().unwrap();
    let purged = s.purge_expired(T0 + 3_000).unwrap();
    assert_eq!((purged.values, purged.tombstones), (1, 0));
    let after = s.stats().unwrap();
    assert_eq!(after.values, 1);
    assert_eq!(before.bytes_used - after.bytes_used, 5 + 77);
    assert_eq!(s.purge_expired(T0 + 3_000).unwrap().total(), 0);
}

#[test]
fn extended_value_survives_purge_at_old_expiry() {
    let s = store();
    let k = key(8);
    s.put(T0, &put_req(k, b"v", None, 2, ip(1))).unwrap();
    s.put(T0, &put_req(k, b"v", None, 20, ip(1))).unwrap();
    assert_eq!(s.purge_expired(T0 + 5_000).unwrap().total(), 0);
    assert_eq!(get_all(&s, T0 + 5_000, k, 10).len(), 1);
    assert_eq!(s.purge_expired(T0 + 20_000).unwrap().values, 1);
}

#[test]
fn rm_with_right_and_wrong_secret() {
    let s = store();
    let k = key(9);
    s.put(T0, &put_req(k, b"v", Some(b"right"), 100, ip(1)))
        .unwrap();
    let wrong = s.remove(T0, &rm_req(k, b"v", b"wrong", 100)).unwrap();
    assert_eq!(wrong, RemoveOutcome::SecretMismatch);
    assert_eq!(get_all(&s, T0, k, 10), vec![b"v".to_vec()]);
    assert_eq!(
        s.remove(T0, &rm_req(k, b"v", b"right", 100)).unwrap(),
        RemoveOutcome::Removed
    );
    assert!(get_all(&s, T0, k, 10).is_empty());
    assert_eq!(
        s.remove(T0, &rm_req(k, b"other", b"x", 100)).unwrap(),
        RemoveOutcome::NotFound
    );
    let long = [0u8; 41];
    assert!(matches!(
        s.remove(T0, &rm_req(k, b"v", &long, 10)),
        Err(StoreError::SecretTooLong { .. })
    ));
}

#[test]
fn plain_put_is_not_removable() {
    let s = store();
    let k = key(10);
    s.put(T0, &put_req(k, b"v", None, 100, ip(1))).unwrap();
    for secret in [&b""[..], b"x", &ZERO_HASH] {
        assert_eq!(
            s.remove(T0, &rm_req(k, b"v", secret, 100)).unwrap(),
            RemoveOutcome::SecretMismatch
        );
    }
    assert_eq!(get_all(&s, T0, k, 10).len(), 1);
}

#[test]
fn tombstone_prevents_resurrection() {
    let s = store();
    let k = key(11);
    let put = put_req(k, b"v", Some(b"s"), 100, ip(1));
    s.put(T0, &put).unwrap();
    // A short rm TTL is stretched to the value's own expiry.
    s.remove(T0 + 1_000, &rm_req(k, b"v", b"s", 1)).unwrap();
    assert_eq!(s.put(T0 + 50_000, &put).unwrap(), ApplyOutcome::Suppressed);
    assert!(get_all(&s, T0 + 50_000, k, 10).is_empty());
    assert_eq!(s.stats().unwrap().tombstones, 1);
    // Once the tombstone has expired, a fresh put is a new value.
    assert_eq!(s.put(T0 + 100_000, &put).unwrap(), ApplyOutcome::Stored);
}

#[test]
fn tombstone_before_value() {
    let s = store();
    let k = key(12);
    assert_eq!(
        s.remove(T0, &rm_req(k, b"v", b"s", 60)).unwrap(),
        RemoveOutcome::NotFound
    );
    let put = put_req(k, b"v", Some(b"s"), 30, ip(1));
    assert_eq!(s.put(T0 + 1, &put).unwrap(), ApplyOutcome::Suppressed);
    assert!(get_all(&s, T0 + 1, k, 10).is_empty());
}

#[test]
fn fair_share_refuses_the_flooder_not_the_newcomer() {
    let limits = StoreLimits {
        capacity_bytes: 100_000,
        client_floor_bytes: 0,
        ..StoreLimits::default()
    };
    let s = Store::in_memory(limits).unwrap();
    let mut refused = None;
    for i in 0..1_000u32 {
        let value = format!("{i:0>923}");
        if let Err(e) = s.put(T0, &put_req(key(13), value.as_bytes(), None, 600, ip(1))) {
            refused = Some((i, e));
            break;
        }
    }
    let (count, err) = refused.expect("the flooder must be refused");
    assert!(matches!(err, StoreError::OverCapacity));
    assert_eq!(err.opendht_status(), Some(1));
    assert_eq!(
        count, 50,
        "a lone client gets half the node: 50 values of 1000 charged bytes"
    );
    s.put(T0, &put_req(key(14), b"hello", None, 600, ip(2)))
        .unwrap();
    assert_eq!(s.client_usage(ip(2)).unwrap(), 5 + 77);
    assert_eq!(s.stats().unwrap().active_clients, 2);
    let clients: BTreeSet<_> = s
        .client_usages()
        .unwrap()
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    assert_eq!(clients, BTreeSet::from([ip(1), ip(2)]));
}

#[test]
fn total_capacity_binds_everyone_and_expiry_frees_it() {
    let limits = StoreLimits {
        capacity_bytes: 10_000,
        client_floor_bytes: 10_000,
        ..StoreLimits::default()
    };
    let s = Store::in_memory(limits).unwrap();
    for i in 0..10u8 {
        s.put(T0, &put_req(key(i), &[i; 923], None, 10, ip(i)))
            .unwrap();
    }
    let late = put_req(key(50), &[1; 923], None, 10, ip(50));
    assert!(matches!(s.put(T0, &late), Err(StoreError::OverCapacity)));
    // The expired values are purged on demand when the node is full.
    assert_eq!(s.put(T0 + 10_000, &late).unwrap(), ApplyOutcome::Stored);
    assert_eq!(s.stats().unwrap().values, 1);
}

#[test]
fn batch_commits_many_ops_with_individual_results() {
    let s = store();
    let k = key(15);
    let ops = vec![
        Op::Put(put_req(k, b"a", Some(b"s"), 60, ip(1))),
        Op::Put(put_req(k, b"b", None, 0, ip(1))),
        Op::Put(put_req(k, b"c", None, 60, ip(1))),
        Op::Remove(rm_req(k, b"a", b"s", 60)),
    ];
    let out = s.apply_batch(T0, &ops).unwrap();
    assert!(matches!(
        out[0],
        Ok(OpOutcome::Applied(ApplyOutcome::Stored))
    ));
    assert!(matches!(out[1], Err(StoreError::InvalidTtl(0))));
    assert!(matches!(
        out[3],
        Ok(OpOutcome::Removed(RemoveOutcome::Removed))
    ));
    assert_eq!(get_all(&s, T0, k, 10), vec![b"c".to_vec()]);
}
