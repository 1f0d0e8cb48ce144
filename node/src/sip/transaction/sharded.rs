//! A hash map split into shards, so it grows a shard at a time.
//!
//! A registrar keeps every REGISTER of the last 32 s (timer J), half a million entries at
//! 16,000/s, in a few maps of that size. A single `HashMap` doubles by rehashing everything
//! at once: measured under load, crossing 2^19 entries stalled the SIP node for about a
//! second of its event loop and sent sipp into retransmissions. Split 64 ways, each shard
//! rehashes a sixty-fourth of the entries, and the shards cross their thresholds at slightly
//! different moments, so the work no longer arrives in one piece.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

use ahash::RandomState;

/// Shards per map (a power of two).
const SHARDS: usize = 64;

/// A hash map of `SHARDS` independent tables, keyed randomly per process like the tables
/// themselves (every key comes from the network).
#[derive(Debug)]
pub(super) struct ShardedMap<K, V> {
    /// Picks the shard; independent of the shards' own hasher, so the keys of one shard do
    /// not share bits of the hash their table indexes by.
    selector: RandomState,
    shards: Box<[HashMap<K, V, RandomState>]>,
}

impl<K: Hash + Eq, V> Default for ShardedMap<K, V> {
    fn default() -> Self {
        let hasher = RandomState::new();
        Self {
            selector: RandomState::new(),
            shards: (0..SHARDS)
                .map(|_| HashMap::with_hasher(hasher.clone()))
                .collect(),
        }
    }
}

impl<K: Hash + Eq, V> ShardedMap<K, V> {
    fn shard<Q: Hash + ?Sized>(&self, key: &Q) -> usize {
        // The high bits: ahash mixes them as well as the low ones.
        usize::try_from(self.selector.hash_one(key) >> 58).unwrap_or(0) & (SHARDS - 1)
    }

    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(HashMap::len).sum()
    }

    pub(super) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shards[self.shard(key)].get(key)
    }

    pub(super) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = self.shard(key);
        self.shards[i].get_mut(key)
    }

    pub(super) fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key).is_some()
    }

    pub(super) fn insert(&mut self, key: K, value: V) -> Option<V> {
        let i = self.shard(&key);
        self.shards[i].insert(key, value)
    }

    /// Every entry, shard by shard (in no particular order).
    pub(super) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards.iter().flat_map(HashMap::iter)
    }

    pub(super) fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = self.shard(key);
        self.shards[i].remove(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_one_map() {
        let mut m: ShardedMap<String, u32> = ShardedMap::default();
        for i in 0..10_000u32 {
            assert_eq!(m.insert(format!("k{i}"), i), None);
        }
        assert_eq!(m.len(), 10_000);
        assert_eq!(m.insert("k7".into(), 70), Some(7));
        assert_eq!(m.len(), 10_000);
        assert_eq!(m.get("k7"), Some(&70));
        *m.get_mut("k8").unwrap() += 1;
        assert_eq!(m.get("k8"), Some(&9));
        assert!(m.contains_key("k9999"));
        assert!(!m.contains_key("k10000"));
        for i in 0..10_000u32 {
            assert!(m.remove(&format!("k{i}")).is_some());
        }
        assert_eq!(m.remove("k1"), None);
        assert_eq!(m.len(), 0);
        // Keys spread over the shards.
        for i in 0..6_400u32 {
            m.insert(format!("x{i}"), i);
        }
        assert!(
            m.shards.iter().all(|s| s.len() > 50),
            "a shard is nearly empty"
        );
    }
}
