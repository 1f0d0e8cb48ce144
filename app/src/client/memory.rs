//! An in-process DHT with the OpenDHT semantics, for tests and for the GUI's fake client.
//!
//! It keeps what the real overlay keeps: a set of values per key identified by
//! (key, secret hash, value hash), a TTL per value, removal with a secret (leaving a tombstone
//! that suppresses the same put), pages capped at about 1 KB, blobs, and `watch` with cursors.
//! Time can be moved forward by hand ([`MemoryDht::advance`]) so expiry is testable.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Notify;

use super::dht::{
    Change, Detailed, Dht, DhtError, Key, MAX_TTL_SECS, PAGE_MAXVALS, Page, Watched, check_value,
    sha1,
};

/// Bytes of values after which a page ends, as Bamboo's `MAX_GET_RESP_SIZE` does.
const PAGE_BYTES: usize = 1100;
/// Most blob size, as `scope.put_blob`.
const MAX_BLOB_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone)]
struct Item {
    seq: u64,
    value: Vec<u8>,
    secret_hash: Option<[u8; 20]>,
    expires: u64,
}

#[derive(Debug, Default)]
struct State {
    items: BTreeMap<Key, Vec<Item>>,
    tombstones: HashMap<(Key, [u8; 20], [u8; 20]), u64>,
    blobs: HashMap<[u8; 20], (Vec<u8>, u64)>,
    log: Vec<(u64, Change)>,
    seq: u64,
}

/// The in-process DHT. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct MemoryDht {
    state: Mutex<State>,
    changed: Notify,
    start: Instant,
    skew: AtomicU64,
    ops: AtomicU64,
}

impl Default for MemoryDht {
    fn default() -> Self {
        MemoryDht {
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            start: Instant::now(),
            skew: AtomicU64::new(0),
            ops: AtomicU64::new(0),
        }
    }
}

impl MemoryDht {
    /// An empty DHT.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves this DHT's clock forward, so TTLs run out without waiting.
    pub fn advance(&self, by: Duration) {
        self.skew.fetch_add(by.as_secs(), Ordering::Relaxed);
    }

    /// DHT operations served so far (each page of a `get` counts as one), for cost checks.
    #[must_use]
    pub fn ops(&self) -> u64 {
        self.ops.load(Ordering::Relaxed)
    }

    /// Raw values under `key` (expired ones excluded), as any client could read them.
    #[must_use]
    pub fn raw_values(&self, key: &Key) -> Vec<Vec<u8>> {
        let now = self.now();
        let state = self.lock();
        state.items.get(key).map_or_else(Vec::new, |items| {
            items
                .iter()
                .filter(|i| i.expires > now)
                .map(|i| i.value.clone())
                .collect()
        })
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_secs() + self.skew.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another test thread panicked; the data is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn count(&self) {
        self.ops.fetch_add(1, Ordering::Relaxed);
    }

    fn store(&self, key: Key, value: Vec<u8>, secret_hash: Option<[u8; 20]>, ttl: u32) {
        let now = self.now();
        let expires = now + u64::from(ttl.clamp(1, MAX_TTL_SECS));
        let value_hash = sha1(&value);
        let mut state = self.lock();
        let stone = (key, secret_hash.unwrap_or_default(), value_hash);
        if state.tombstones.get(&stone).is_some_and(|&t| t > now) {
            return;
        }
        state.seq += 1;
        let seq = state.seq;
        let items = state.items.entry(key).or_default();
        items.retain(|i| i.expires > now);
        if let Some(same) = items
            .iter_mut()
            .find(|i| i.secret_hash == secret_hash && sha1(&i.value) == value_hash)
        {
            same.expires = same.expires.max(expires);
            return;
        }
        items.push(Item {
            seq,
            value: value.clone(),
            secret_hash,
            expires,
        });
        state.log.push((seq, Change::Put { key, value }));
        drop(state);
        self.changed.notify_waiters();
    }

    fn page(&self, key: &Key, placemark: &[u8]) -> Page<Detailed> {
        let after = placemark
            .try_into()
            .map(u64::from_be_bytes)
            .unwrap_or_default();
        let now = self.now();
        let state = self.lock();
        let mut page = Page::default();
        let mut bytes = 0;
        let live = state.items.get(key).into_iter().flatten();
        for item in live.filter(|i| i.seq > after && i.expires > now) {
            if page.values.len() >= usize::from(PAGE_MAXVALS) || bytes >= PAGE_BYTES {
                // More remain: the placemark of the last value returned resumes after it.
                return page;
            }
            bytes += item.value.len();
            page.placemark = item.seq.to_be_bytes().to_vec();
            page.values.push(Detailed {
                value: item.value.clone(),
                ttl_remaining: u32::try_from(item.expires - now).unwrap_or(u32::MAX),
                secret_hash: item.secret_hash,
            });
        }
        page.placemark.clear();
        page
    }

    fn changes_after(&self, keys: &[Key], after: u64) -> (u64, Vec<Change>) {
        let state = self.lock();
        let changes = state
            .log
            .iter()
            .filter(|(seq, change)| *seq > after && keys.contains(change_key(change)))
            .map(|(_, change)| change.clone())
            .collect();
        (state.seq, changes)
    }
}

fn change_key(change: &Change) -> &Key {
    match change {
        Change::Put { key, .. } | Change::Rm { key, .. } => key,
    }
}

#[async_trait]
impl Dht for MemoryDht {
    async fn put(&self, key: Key, value: Vec<u8>, ttl: u32) -> Result<(), DhtError> {
        self.count();
        check_value(&value)?;
        self.store(key, value, None, ttl);
        Ok(())
    }

    async fn put_removable(
        &self,
        key: Key,
        value: Vec<u8>,
        secret_hash: [u8; 20],
        ttl: u32,
    ) -> Result<(), DhtError> {
        self.count();
        check_value(&value)?;
        self.store(key, value, Some(secret_hash), ttl);
        Ok(())
    }

    async fn get_page(&self, key: Key, placemark: Vec<u8>) -> Result<Page<Vec<u8>>, DhtError> {
        self.count();
        let page = self.page(&key, &placemark);
        Ok(Page {
            values: page.values.into_iter().map(|d| d.value).collect(),
            placemark: page.placemark,
        })
    }

    async fn get_details_page(
        &self,
        key: Key,
        placemark: Vec<u8>,
    ) -> Result<Page<Detailed>, DhtError> {
        self.count();
        Ok(self.page(&key, &placemark))
    }

    async fn rm(
        &self,
        key: Key,
        value_hash: [u8; 20],
        secret: Vec<u8>,
        ttl: u32,
    ) -> Result<(), DhtError> {
        self.count();
        let secret_hash = sha1(&secret);
        let now = self.now();
        let mut state = self.lock();
        let stone_expiry = now + u64::from(ttl.clamp(1, MAX_TTL_SECS));
        let stone = state
            .tombstones
            .entry((key, secret_hash, value_hash))
            .or_default();
        *stone = (*stone).max(stone_expiry);
        let Some(items) = state.items.get_mut(&key) else {
            return Ok(());
        };
        let before = items.len();
        items.retain(|i| !(i.secret_hash == Some(secret_hash) && sha1(&i.value) == value_hash));
        if items.len() != before {
            state.seq += 1;
            let seq = state.seq;
            let value_hash = value_hash.to_vec();
            state.log.push((seq, Change::Rm { key, value_hash }));
            drop(state);
            self.changed.notify_waiters();
        }
        Ok(())
    }

    async fn put_blob(&self, data: Vec<u8>, ttl: u32) -> Result<[u8; 20], DhtError> {
        self.count();
        if data.len() > MAX_BLOB_BYTES {
            return Err(DhtError::Fault(format!(
                "blob of {} bytes is over the 8 MiB limit",
                data.len()
            )));
        }
        let hash = sha1(&data);
        let expires = self.now() + u64::from(ttl.clamp(1, MAX_TTL_SECS));
        self.lock().blobs.insert(hash, (data, expires));
        Ok(hash)
    }

    async fn get_blob(&self, hash: [u8; 20]) -> Result<Option<Vec<u8>>, DhtError> {
        self.count();
        let now = self.now();
        let state = self.lock();
        Ok(state
            .blobs
            .get(&hash)
            .filter(|(_, expires)| *expires > now)
            .map(|(data, _)| data.clone()))
    }

    async fn watch(&self, keys: &[Key], cursor: &str, timeout_s: u32) -> Result<Watched, DhtError> {
        self.count();
        let after = if cursor.is_empty() {
            self.lock().seq
        } else {
            cursor.parse().map_err(|_| DhtError::BadCursor)?
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(timeout_s));
        loop {
            let notified = self.changed.notified();
            let (seq, changes) = self.changes_after(keys, after);
            if !changes.is_empty() || tokio::time::Instant::now() >= deadline {
                let cursor = if changes.is_empty() { after } else { seq };
                return Ok(Watched {
                    cursor: cursor.to_string(),
                    changes,
                });
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(Watched {
                    cursor: after.to_string(),
                    changes: Vec::new(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn values_are_sets_paged_and_expire() {
        let dht = MemoryDht::new();
        let key = sha1(b"k");
        for i in 0..40u8 {
            dht.put(key, vec![i; 100], 60).await.unwrap();
        }
        dht.put(key, vec![0; 100], 120).await.unwrap();
        let first = dht.get_page(key, Vec::new()).await.unwrap();
        assert!(first.values.len() < 40 && !first.placemark.is_empty());
        assert_eq!(dht.get_all(key).await.unwrap().len(), 40);
        dht.advance(Duration::from_secs(61));
        assert_eq!(dht.get_all(key).await.unwrap(), vec![vec![0; 100]]);
        assert!(dht.put(key, vec![0; 1025], 60).await.is_err());
    }

    #[tokio::test]
    async fn rm_needs_the_secret_and_leaves_a_tombstone() {
        let dht = MemoryDht::new();
        let key = sha1(b"k");
        dht.put_removable(key, b"v".to_vec(), sha1(b"s"), 60)
            .await
            .unwrap();
        dht.rm(key, sha1(b"v"), b"wrong".to_vec(), 60)
            .await
            .unwrap();
        assert_eq!(dht.get_all(key).await.unwrap().len(), 1);
        dht.rm(key, sha1(b"v"), b"s".to_vec(), 60).await.unwrap();
        assert!(dht.get_all(key).await.unwrap().is_empty());
        dht.put_removable(key, b"v".to_vec(), sha1(b"s"), 60)
            .await
            .unwrap();
        assert!(dht.get_all(key).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn watch_wakes_on_a_put_and_resumes_from_its_cursor() {
        let dht = std::sync::Arc::new(MemoryDht::new());
        let key = sha1(b"k");
        let other = dht.clone();
        let waiter = tokio::spawn(async move { other.watch(&[key], "", 5).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        dht.put(sha1(b"unwatched"), b"x".to_vec(), 60)
            .await
            .unwrap();
        dht.put(key, b"v".to_vec(), 60).await.unwrap();
        let seen = waiter.await.unwrap().unwrap();
        assert_eq!(seen.changes.len(), 1);
        let again = dht.watch(&[key], &seen.cursor, 0).await.unwrap();
        assert!(again.changes.is_empty());
    }

    #[tokio::test]
    async fn blobs_round_trip() {
        let dht = MemoryDht::new();
        let hash = dht.put_blob(vec![7; 5000], 60).await.unwrap();
        assert_eq!(dht.get_blob(hash).await.unwrap(), Some(vec![7; 5000]));
        assert_eq!(dht.get_blob([0; 20]).await.unwrap(), None);
    }
}
