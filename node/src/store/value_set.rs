//! The digest of a key's live value set: what a guarded update is checked against.
//!
//! A writer that planned its change on a view of a key's values (a SIP registrar deciding
//! which bindings a REGISTER replaces) sends the digest of that view with the change; the root
//! applies the change only if its own live values still have that digest. So a plan made from
//! a cached view is as good as one made from a fresh read, without the read's round trip.
//!
//! The digest covers the multiset of value hashes (SHA-1 of each value's bytes) of every live
//! value under the key, durable and soft, whatever its secret: exactly what a `get` returns.
//! Order does not matter; a value held twice (under two secrets) counts twice.

use sha1::{Digest as _, Sha1};

use super::Store;
use super::error::StoreError;
use super::read;
use super::record::{DhtKey, Hash, Payload, Record, StorageClass};

/// Most values a guarded key may hold: past this the root reports a digest no writer can
/// have computed (see [`value_set_digest`]), so a guarded update on such a key always asks
/// the writer to read first.
pub const MAX_GUARDED_VALUES: usize = 256;

/// Domain label of the digest, so it cannot be confused with any other SHA-1 in the system.
const LABEL: &[u8] = b"scope-value-set-v1";
/// Label of the digest of a set too large to guard.
const OVERFLOW: &[u8] = b"scope-value-set-overflow-v1";

/// The digest of a set of value hashes, in any order.
#[must_use]
pub fn value_set_digest(hashes: impl IntoIterator<Item = Hash>) -> Hash {
    let mut hashes: Vec<Hash> = hashes.into_iter().collect();
    let mut h = Sha1::new();
    if hashes.len() > MAX_GUARDED_VALUES {
        h.update(OVERFLOW);
        return h.finalize().into();
    }
    hashes.sort_unstable();
    h.update(LABEL);
    for v in &hashes {
        h.update(v);
    }
    h.finalize().into()
}

impl Store {
    /// The [`value_set_digest`] of `key`'s values live at `now_ms`, in both databases.
    ///
    /// # Errors
    /// [`StoreError`] when the durable database cannot be read.
    pub fn value_set(&self, now_ms: u64, key: DhtKey) -> Result<Hash, StoreError> {
        let mut hashes = Vec::new();
        let mut take = |rec: &Record| {
            if matches!(rec.payload, Payload::Value(_)) && rec.is_live(now_ms) {
                hashes.push(rec.id.value_hash);
            }
            // One past the limit is enough to know the set overflows.
            hashes.len() <= MAX_GUARDED_VALUES
        };
        let soft_bounds = read::order_bounds(key, &[], StorageClass::Soft)?;
        let soft_ok = self.soft().values_after(soft_bounds).all(&mut take);
        if soft_ok {
            let bounds = read::order_bounds(key, &[], StorageClass::Durable)?;
            self.with_durable_values(key, &bounds, |values| {
                for rec in values {
                    if !take(&rec?) {
                        break;
                    }
                }
                Ok(())
            })?;
        }
        Ok(value_set_digest(hashes))
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::store::{PutRequest, RemoveRequest, StoreLimits, sha1};

    const NOW: u64 = 1_700_000_000_000;

    fn put(store: &Store, value: &[u8], class: StorageClass, ttl_secs: i64) {
        let req = PutRequest {
            key: DhtKey([7; 20]),
            value: value.to_vec(),
            secret_hash: Some(sha1(b"secret")),
            ttl_secs,
            client: IpAddr::V4(Ipv4Addr::LOCALHOST),
            class,
        };
        store.put(NOW, &req).unwrap();
    }

    #[test]
    fn digest_ignores_order_and_counts_duplicates() {
        let (a, b) = (sha1(b"a"), sha1(b"b"));
        assert_eq!(value_set_digest([a, b]), value_set_digest([b, a]));
        assert_ne!(value_set_digest([a]), value_set_digest([a, a]));
        assert_ne!(value_set_digest([]), value_set_digest([a]));
        let many = (0..=MAX_GUARDED_VALUES as u32).map(|i| sha1(&i.to_be_bytes()));
        let fewer = (0..MAX_GUARDED_VALUES as u32).map(|i| sha1(&i.to_be_bytes()));
        assert_ne!(value_set_digest(many), value_set_digest(fewer));
    }

    #[test]
    fn covers_live_values_of_both_classes() {
        let store = Store::in_memory(StoreLimits::default()).unwrap();
        let key = DhtKey([7; 20]);
        assert_eq!(store.value_set(NOW, key).unwrap(), value_set_digest([]));
        put(&store, b"durable", StorageClass::Durable, 60);
        put(&store, b"soft", StorageClass::Soft, 60);
        put(&store, b"short", StorageClass::Soft, 1);
        let all = [sha1(b"durable"), sha1(b"soft"), sha1(b"short")];
        assert_eq!(store.value_set(NOW, key).unwrap(), value_set_digest(all));
        // Expired values are not part of the set.
        let later = NOW + 2_000;
        let live = [sha1(b"durable"), sha1(b"soft")];
        assert_eq!(store.value_set(later, key).unwrap(), value_set_digest(live));
        // Nor are removed ones.
        let rm = RemoveRequest {
            key,
            value_hash: sha1(b"soft"),
            secret: b"secret".to_vec(),
            ttl_secs: 60,
            client: IpAddr::V4(Ipv4Addr::LOCALHOST),
            class: StorageClass::Soft,
        };
        store.remove(later, &rm).unwrap();
        let left = value_set_digest([sha1(b"durable")]);
        assert_eq!(store.value_set(later, key).unwrap(), left);
        assert_eq!(
            store.value_set(later, DhtKey([8; 20])).unwrap(),
            value_set_digest([])
        );
    }

    #[test]
    fn durable_key_count_follows_puts_purges_and_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.redb");
        let key = DhtKey([7; 20]);
        {
            let store = Store::open(&path, StoreLimits::default()).unwrap();
            assert!(!store.durable_holds(key));
            put(&store, b"soft", StorageClass::Soft, 60);
            assert!(!store.durable_holds(key), "soft values are not counted");
            put(&store, b"kept", StorageClass::Durable, 60);
            put(&store, b"brief", StorageClass::Durable, 1);
            // A refresh of the same item is not a second record.
            put(&store, b"kept", StorageClass::Durable, 120);
            assert_eq!(store.indexes().durable_keys.get(&key), Some(&2));
            store.purge_expired(NOW + 2_000).unwrap();
            assert_eq!(store.indexes().durable_keys.get(&key), Some(&1));
        }
        let store = Store::open(&path, StoreLimits::default()).unwrap();
        assert_eq!(store.indexes().durable_keys.get(&key), Some(&1));
        assert_eq!(
            store.value_set(NOW, key).unwrap(),
            value_set_digest([sha1(b"kept")])
        );
        store.purge_expired(NOW + 200_000).unwrap();
        assert!(!store.durable_holds(key));
    }
}
