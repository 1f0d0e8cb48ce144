//! Soft items: kept in the in-memory database, read, paged, removed, repaired and purged
//! together with durable ones.

use super::{T0, get_all, ip, key, put_req, rm_req, store};
use crate::store::{
    ApplyOutcome, Entry, ItemKind, KeyRange, Op, OpOutcome, StorageClass, Store, StoreLimits,
};

fn soft_put(k: u8, value: &[u8], secret: Option<&[u8]>) -> crate::store::PutRequest {
    crate::store::PutRequest {
        class: StorageClass::Soft,
        ..put_req(key(k), value, secret, 60, ip(1))
    }
}

#[test]
fn a_get_returns_durable_values_then_soft_ones_across_pages() {
    let s = store();
    for i in 0..5u8 {
        s.put(
            T0 + u64::from(i),
            &put_req(key(1), &[b'd', i], None, 60, ip(1)),
        )
        .unwrap();
        s.put(T0 + u64::from(i), &soft_put(1, &[b's', i], None))
            .unwrap();
    }
    let durable: Vec<Vec<u8>> = (0..5u8).map(|i| vec![b'd', i]).collect();
    let soft: Vec<Vec<u8>> = (0..5u8).map(|i| vec![b's', i]).collect();
    let all: Vec<Vec<u8>> = durable.iter().chain(&soft).cloned().collect();
    // Every page size, including ones that end exactly where the durable values end.
    for maxvals in 1..=11 {
        assert_eq!(
            get_all(&s, T0 + 10, key(1), maxvals),
            all,
            "maxvals {maxvals}"
        );
    }
    // A key with only soft values pages the same way.
    s.put(T0, &soft_put(2, b"only", None)).unwrap();
    assert_eq!(get_all(&s, T0 + 10, key(2), 1), vec![b"only".to_vec()]);
}

#[test]
fn a_page_full_at_the_last_durable_value_continues_into_soft_ones() {
    let s = store();
    s.put(T0, &put_req(key(1), b"d", None, 60, ip(1))).unwrap();
    s.put(T0, &soft_put(1, b"s", None)).unwrap();
    let first = s.get(T0, key(1), 1, &[]).unwrap();
    assert_eq!(first.values, vec![b"d".to_vec()]);
    assert!(!first.placemark.is_empty());
    let second = s.get(T0, key(1), 1, &first.placemark).unwrap();
    assert_eq!(second.values, vec![b"s".to_vec()]);
    assert!(second.placemark.is_empty());
    // A forged placemark is refused, not misread.
    assert!(s.get(T0, key(1), 1, &[2, 0, 0]).is_err());
}

#[test]
fn soft_values_are_removed_by_soft_tombstones_and_expire() {
    let s = store();
    s.put(T0, &soft_put(1, b"v", Some(b"secret"))).unwrap();
    let rm = crate::store::RemoveRequest {
        class: StorageClass::Soft,
        ..rm_req(key(1), b"v", b"secret", 60)
    };
    s.remove(T0 + 1, &rm).unwrap();
    assert!(get_all(&s, T0 + 2, key(1), 10).is_empty());
    // The tombstone keeps a stale soft copy from coming back.
    let outcome = s.put(T0 + 3, &soft_put(1, b"v", Some(b"secret"))).unwrap();
    assert_eq!(outcome, ApplyOutcome::Suppressed);

    s.put(T0, &soft_put(3, b"short", None)).unwrap();
    assert_eq!(get_all(&s, T0 + 59_999, key(3), 10).len(), 1);
    assert!(get_all(&s, T0 + 60_000, key(3), 10).is_empty());
    let purged = s.purge_expired(T0 + 120_000).unwrap();
    assert_eq!(purged.values, 1);
    assert_eq!(s.stats().unwrap().values, 0);
}

#[test]
fn repair_sees_soft_items_with_their_class() {
    let s = store();
    let ops = [
        Op::Put(soft_put(1, b"s", None)),
        Op::Put(put_req(key(1), b"d", None, 60, ip(1))),
    ];
    let out = s.apply_batch(T0, &ops).unwrap();
    assert!(
        out.iter()
            .all(|r| matches!(r, Ok(OpOutcome::Applied(ApplyOutcome::Stored))))
    );
    assert_eq!(s.item_count(ItemKind::Values), 2);
    let entries: Vec<Entry> = s
        .repair_summaries(ItemKind::Values, T0, KeyRange::FULL)
        .iter()
        .map(|summary| summary.entry)
        .collect();
    let mut classes: Vec<StorageClass> = s
        .records_for(T0, &entries)
        .unwrap()
        .iter()
        .map(|r| r.class)
        .collect();
    classes.sort_by_key(|c| *c == StorageClass::Soft);
    assert_eq!(classes, vec![StorageClass::Durable, StorageClass::Soft]);

    // A replica of a soft record lands in the other store's memory, not on its disk.
    let other = store();
    for rec in s.records_in_range(T0, KeyRange::FULL, None, 10).unwrap() {
        other.insert_replica(T0, rec).unwrap();
    }
    assert_eq!(
        get_all(&other, T0, key(1), 10),
        vec![b"d".to_vec(), b"s".to_vec()]
    );
}

#[test]
fn soft_items_do_not_survive_a_reopen_and_durable_ones_do() {
    let dir = super::persistence::temp_dir("soft-reopen");
    let path = dir.join("store.redb");
    {
        let s = Store::open(&path, StoreLimits::default()).unwrap();
        s.put(T0, &put_req(key(1), b"d", None, 60, ip(1))).unwrap();
        s.put(T0, &soft_put(1, b"s", None)).unwrap();
    }
    let s = Store::open(&path, StoreLimits::default()).unwrap();
    assert_eq!(get_all(&s, T0, key(1), 10), vec![b"d".to_vec()]);
    assert_eq!(s.item_count(ItemKind::Values), 1);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_soft_table_holds_at_most_its_share_of_the_capacity() {
    let limits = StoreLimits {
        capacity_bytes: 8 * 1024,
        client_floor_bytes: 8 * 1024,
        ..StoreLimits::default()
    };
    let s = Store::in_memory(limits).unwrap();
    // 1,024 bytes of soft share: items of 100 + 77 bytes, five fit and the sixth does not.
    let put = |i: u8| crate::store::PutRequest {
        class: StorageClass::Soft,
        ..put_req(key(i), &[i; 100], None, 60, ip(1))
    };
    for i in 0..5 {
        s.put(T0, &put(i)).unwrap();
    }
    assert!(matches!(
        s.put(T0, &put(5)),
        Err(crate::store::StoreError::OverCapacity)
    ));
    // Durable items still have the rest of the capacity.
    s.put(T0, &put_req(key(9), &[9; 100], None, 60, ip(1)))
        .unwrap();
}
