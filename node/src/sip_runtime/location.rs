//! The location service behind the proxy: where `Output::Lookup` / `Output::Store` go.
//!
//! # What a DHT-backed implementation must do
//!
//! The proxy hands over a 20-byte `key`, already SHA-1 of the canonical AOR text
//! (`sip:user@DOMAIN`, see [`crate::sip::registrar::Aor`]), so every super-node derives the
//! same key. Under that key the DHT holds **one value per binding** (several values per key:
//! one per registered device), each the [`Binding::encode`] bytes (at most
//! [`crate::sip::registrar::MAX_RECORD`] = 1,024 bytes, the OpenDHT value limit):
//!
//! - [`LocationService::lookup`]: `get(key)` paging through every value (placemarks), decode
//!   each with [`Binding::decode`], **skip** values that fail to decode or whose
//!   `expires_at` has passed, and return the rest. An empty key is `Ok(vec![])`, not an
//!   error: the proxy answers 404 for it.
//! - [`LocationService::store`]: apply the [`BindingOp`]s **in order** (removals of replaced
//!   bindings come before their puts), as one guarded update where they fit one message
//!   ([`crate::dht::UpdateReq`]), else concurrently when every operation names a different
//!   encoded value (then they touch different DHT items and the order cannot matter). With
//!   `expect`, apply them only if the live values under the key are exactly the encodings of
//!   those bindings (the update's guard, [`crate::store::value_set_digest`] of their SHA-1s),
//!   else change nothing and answer [`Stored::Stale`], with the live bindings when the
//!   DHT's answer carried them ([`crate::dht::Updated::Stale`]):
//!   - `Put { binding, ttl }`: `put_removable(key, value = binding.encode(), hash type
//!     SHA-1, secret hash = SHA-1(secret), ttl = ttl seconds)`, where the secret is
//!     [`binding_secret`] of the key and the value;
//!   - `Remove(binding)`: `rm(key, value hash = SHA-1(binding.encode()), SHA-1, secret =
//!     binding_secret(key, value), ttl)` with the TTL of the put it cancels (or the
//!     remaining lifetime), so the removal outlives the value on every replica.
//!
//!   Return `Ok(Stored::Applied)` only when every operation was acknowledged (OpenDHT status 0); status 1
//!   (over capacity) or 2 (try again) after retries is [`DhtError::Failed`]; no answer within
//!   the DHT's own deadline is [`DhtError::Timeout`].
//!
//! The secret is derived from the binding itself so that **any** super-node can remove a
//! binding another one stored (`Expires: 0` through any super-node), as the registrar's
//! ownership rule (same Call-ID or `+sip.instance`, checked before a `Remove` is planned)
//! requires. It stops strangers who only know the key and see a value without its Call-ID
//! from removing it through plain `rm`; it is not authentication (see the registrar docs).
//!
//! Both methods may run concurrently, many at a time; the runtime bounds how many.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use sha1::{Digest as _, Sha1};

use crate::sip::proxy::{DhtError, Stored};
use crate::sip::registrar::{Binding, BindingOp};

/// Where bindings live: the DHT in a full node, a shared map in tests and single nodes.
///
/// Implementations are cheap to share (`Arc`) and every call is independent.
pub trait LocationService: Send + Sync + 'static {
    /// Every live binding stored under `key` (SHA-1 of the canonical AOR).
    fn lookup(&self, key: [u8; 20]) -> impl Future<Output = Result<Vec<Binding>, DhtError>> + Send;

    /// Applies `ops` under `key`, in order; with `expect`, only if exactly those bindings are
    /// live there.
    fn store(
        &self,
        key: [u8; 20],
        expect: Option<Vec<Binding>>,
        ops: Vec<BindingOp>,
    ) -> impl Future<Output = Result<Stored, DhtError>> + Send;
}

/// The per-binding removal secret a DHT implementation uses with `put_removable`/`rm`:
/// SHA-1 over a fixed label, the key and the encoded value.
#[must_use]
pub fn binding_secret(key: &[u8; 20], value: &[u8]) -> [u8; 20] {
    let mut h = Sha1::new();
    h.update(b"scope-sip-binding-v1");
    h.update(key);
    h.update(value);
    h.finalize().into()
}

/// Most bindings one key may hold in [`SharedMemoryLocation`]: a bound on what one AOR costs.
const MAX_BINDINGS_PER_KEY: usize = 32;
/// Most keys [`SharedMemoryLocation`] holds; puts beyond it fail as "over capacity".
const MAX_KEYS: usize = 1_000_000;

/// An in-process location store shared by every proxy in the process (clone it: it is an
/// `Arc`), standing in for the DHT until the DHT layer is wired in.
///
/// Bindings expire by their TTL like DHT values do (wall clock, checked on every read and
/// purged on write), so a device that stops refreshing disappears on its own.
#[derive(Clone, Debug, Default)]
pub struct SharedMemoryLocation {
    inner: Arc<Mutex<HashMap<[u8; 20], Vec<Binding>>>>,
}

impl SharedMemoryLocation {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Live bindings across every key, for `/status`.
    #[must_use]
    pub fn len(&self) -> usize {
        let now = super::unix_now();
        self.map(|m| {
            m.values()
                .map(|v| v.iter().filter(|b| b.expires_at > now).count())
                .sum()
        })
    }

    /// Whether no binding is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `f` on the map; a poisoned lock (a panic elsewhere) still yields the data, since
    /// every mutation below leaves the map consistent.
    fn map<R>(&self, f: impl FnOnce(&mut HashMap<[u8; 20], Vec<Binding>>) -> R) -> R {
        let mut guard = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    fn apply(
        &self,
        key: [u8; 20],
        expect: Option<Vec<Binding>>,
        ops: Vec<BindingOp>,
        now: u64,
    ) -> Result<Stored, DhtError> {
        self.map(|m| {
            if let Some(expect) = expect {
                // The DHT compares value sets: the encodings, in any order.
                let values = |bindings: &[Binding]| {
                    let mut v: Vec<_> = bindings
                        .iter()
                        .filter(|b| b.expires_at > now)
                        .map(|b| b.encode().ok())
                        .collect();
                    v.sort();
                    v
                };
                let stored = m.get(&key).map_or(&[][..], Vec::as_slice);
                if values(stored) != values(&expect) {
                    let live = stored.iter().filter(|b| b.expires_at > now).cloned();
                    return Ok(Stored::Stale(Some(live.collect())));
                }
            }
            if !m.contains_key(&key) && m.len() >= MAX_KEYS {
                m.retain(|_, v| {
                    v.retain(|b| b.expires_at > now);
                    !v.is_empty()
                });
                if m.len() >= MAX_KEYS {
                    return Err(DhtError::Failed("location store over capacity".into()));
                }
            }
            let values = m.entry(key).or_default();
            values.retain(|b| b.expires_at > now);
            for op in ops {
                match op {
                    BindingOp::Remove(old) => values.retain(|b| *b != old),
                    BindingOp::Put { binding, ttl } => {
                        values.retain(|b| *b != binding);
                        if values.len() >= MAX_BINDINGS_PER_KEY {
                            return Err(DhtError::Failed("too many bindings".into()));
                        }
                        // The TTL is authoritative, as in the DHT: the value lives that long.
                        let expires_at = now.saturating_add(u64::from(ttl));
                        values.push(Binding {
                            expires_at: binding.expires_at.min(expires_at),
                            ..binding
                        });
                    }
                }
            }
            if values.is_empty() {
                m.remove(&key);
            }
            Ok(Stored::Applied)
        })
    }
}

impl LocationService for SharedMemoryLocation {
    async fn lookup(&self, key: [u8; 20]) -> Result<Vec<Binding>, DhtError> {
        let now = super::unix_now();
        Ok(self.map(|m| {
            m.get(&key)
                .map(|v| v.iter().filter(|b| b.expires_at > now).cloned().collect())
                .unwrap_or_default()
        }))
    }

    async fn store(
        &self,
        key: [u8; 20],
        expect: Option<Vec<Binding>>,
        ops: Vec<BindingOp>,
    ) -> Result<Stored, DhtError> {
        self.apply(key, expect, ops, super::unix_now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(contact: &str, expires_at: u64) -> Binding {
        Binding {
            contact: contact.into(),
            expires_at,
            call_id: "c".into(),
            cseq: 1,
            instance: None,
            reg_id: None,
        }
    }

    #[tokio::test]
    async fn put_lookup_remove_and_expiry() {
        let loc = SharedMemoryLocation::new();
        let other = loc.clone();
        let now = super::super::unix_now();
        let key = [1; 20];
        let a = binding("sip:a@1.2.3.4", now + 60);
        let b = binding("sip:b@1.2.3.4", now + 60);
        let ops = vec![
            BindingOp::Put {
                binding: a.clone(),
                ttl: 60,
            },
            BindingOp::Put {
                binding: b.clone(),
                ttl: 60,
            },
        ];
        let stored = loc.store(key, Some(Vec::new()), ops).await.unwrap();
        assert_eq!(stored, Stored::Applied);
        assert_eq!(other.lookup(key).await.unwrap().len(), 2);
        // A wrong view changes nothing; the right one, in any order, does.
        let remove_a = vec![BindingOp::Remove(a.clone())];
        let stale = other.store(key, Some(vec![a.clone()]), remove_a.clone());
        // The stale answer brings back what is stored, as the DHT's does.
        let Stored::Stale(Some(live)) = stale.await.unwrap() else {
            panic!("a stale answer without the live bindings");
        };
        assert_eq!(live.len(), 2);
        assert_eq!(loc.lookup(key).await.unwrap().len(), 2);
        let view = Some(vec![b.clone(), a]);
        assert_eq!(
            other.store(key, view, remove_a).await.unwrap(),
            Stored::Applied
        );
        assert_eq!(loc.lookup(key).await.unwrap(), vec![b]);
        let stale = binding("sip:c@1.2.3.4", now.saturating_sub(1));
        loc.apply(
            [2; 20],
            None,
            vec![BindingOp::Put {
                binding: stale,
                ttl: 0,
            }],
            now,
        )
        .unwrap();
        assert!(loc.lookup([2; 20]).await.unwrap().is_empty());
        assert_eq!(loc.len(), 1);
    }

    #[test]
    fn secrets_differ_per_value() {
        assert_ne!(
            binding_secret(&[0; 20], b"a"),
            binding_secret(&[0; 20], b"b")
        );
        assert_ne!(
            binding_secret(&[0; 20], b"a"),
            binding_secret(&[1; 20], b"a")
        );
    }
}
