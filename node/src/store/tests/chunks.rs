//! Blob chunks.

use super::*;
use crate::store::{ApplyOutcome, KeyRange, StoreError};

#[test]
fn chunk_put_get_with_hash_check() {
    let s = store();
    let data = vec![7u8; 40_000];
    let h = sha1(&data);
    assert_eq!(
        s.put_chunk(T0, &h, &data, T0 + 5_000).unwrap(),
        ApplyOutcome::Stored
    );
    assert_eq!(s.get_chunk(T0, &h).unwrap(), Some(data.clone()));
    assert!(matches!(
        s.put_chunk(T0, &sha1(b"other"), &data, T0 + 5_000),
        Err(StoreError::HashMismatch)
    ));
    assert!(matches!(
        s.put_chunk(T0, &h, &data, T0),
        Err(StoreError::AlreadyExpired)
    ));
    let huge = vec![0u8; 64 * 1024 + 1];
    assert!(matches!(
        s.put_chunk(T0, &sha1(&huge), &huge, T0 + 1),
        Err(StoreError::ChunkTooLarge { .. })
    ));
    assert_eq!(s.get_chunk(T0, &sha1(b"absent")).unwrap(), None);
}

#[test]
fn chunks_expire_and_extend_like_values() {
    let s = store();
    let (a, b) = (b"chunk a".to_vec(), b"chunk b".to_vec());
    s.put_chunk(T0, &sha1(&a), &a, T0 + 1_000).unwrap();
    s.put_chunk(T0, &sha1(&b), &b, T0 + 1_000).unwrap();
    assert_eq!(
        s.put_chunk(T0, &sha1(&b), &b, T0 + 9_000).unwrap(),
        ApplyOutcome::Extended
    );
    assert_eq!(s.get_chunk(T0 + 1_000, &sha1(&a)).unwrap(), None);
    assert_eq!(s.purge_expired(T0 + 1_000).unwrap().chunks, 1);
    assert_eq!(s.get_chunk(T0 + 1_000, &sha1(&b)).unwrap(), Some(b));
    let st = s.stats().unwrap();
    assert_eq!((st.chunks, st.bytes_used), (1, 7 + 77));
}

#[test]
fn chunks_listed_by_ring_range() {
    let s = store();
    let blobs: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i; 10]).collect();
    for b in &blobs {
        s.put_chunk(T0, &sha1(b), b, T0 + 1_000).unwrap();
    }
    let all = s.chunks_in_range(T0, KeyRange::FULL).unwrap();
    assert_eq!(all.len(), 20);
    let (lo, hi) = (key(0x40), key(0xc0));
    let inner = s.chunks_in_range(T0, KeyRange::new(lo, hi)).unwrap();
    let outer = s.chunks_in_range(T0, KeyRange::new(hi, lo)).unwrap();
    assert_eq!(inner.len() + outer.len(), 20);
    assert!(
        inner
            .iter()
            .all(|(h, _)| KeyRange::new(lo, hi).contains(crate::store::DhtKey(*h)))
    );
    assert!(
        s.chunks_in_range(T0 + 1_000, KeyRange::FULL)
            .unwrap()
            .is_empty()
    );
}
