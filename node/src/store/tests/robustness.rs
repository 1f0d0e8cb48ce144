//! Damaged data on disk gives errors, never panics; the store can be shared between threads.

use super::*;
use crate::store::tables::{ITEMS, ORDER, order_key_parts};
use crate::store::{ItemId, KeyRange, StoreError, ZERO_HASH};

/// Writes raw bytes as the record of `id` (and an order entry pointing at it), bypassing checks,
/// and counts it under its key as opening the store would.
fn plant(s: &Store, id: ItemId, bytes: &[u8]) {
    let txn = s.db.begin_write().unwrap();
    {
        let mut items = txn.open_table(ITEMS).unwrap();
        items.insert(id.to_bytes().as_slice(), bytes).unwrap();
        let mut order = txn.open_table(ORDER).unwrap();
        order
            .insert(
                order_key_parts(id.key, 0, &id.secret_hash, &id.value_hash).as_slice(),
                (),
            )
            .unwrap();
    }
    txn.commit().unwrap();
    s.indexes().count_durable(id.key, 1);
}

#[test]
fn corrupt_record_is_an_error_not_a_panic() {
    let s = store();
    let id = ItemId {
        key: key(30),
        secret_hash: ZERO_HASH,
        value_hash: sha1(b"v"),
    };
    plant(&s, id, &[9, 9, 9]);
    assert!(matches!(
        s.get(T0, key(30), 10, &[]),
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        s.records_in_range(T0, KeyRange::FULL, None, 10),
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        s.put(T0, &put_req(key(30), b"v", None, 10, ip(1))),
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(s.records(T0, &[id]), Err(StoreError::Corrupt(_))));
    assert_eq!(StoreError::Corrupt("x").opendht_status(), Some(2));
    // Other keys are unaffected.
    s.put(T0, &put_req(key(31), b"w", None, 10, ip(1))).unwrap();
    assert_eq!(get_all(&s, T0, key(31), 10), vec![b"w".to_vec()]);
}

#[test]
fn store_is_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Store>();
}
