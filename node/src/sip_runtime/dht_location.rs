//! The location service on the DHT: what makes any super-node's proxy find a user who
//! registered at any other.
//!
//! Each binding is one value under SHA-1 of the canonical AOR, put removable with a secret
//! derived from the key and the value ([`binding_secret`]), so a refresh or an `Expires: 0`
//! arriving at any super-node can remove it; TTL = the binding's expiry.
//!
//! Bindings and service advertisements are soft state (their owners refresh them), so they are
//! stored as [`StorageClass::Soft`]: in memory on every replica, with no fsync in a REGISTER's
//! path. They survive any r − 1 replicas failing at once; if every replica restarts, devices
//! are found again when they next refresh, as with Kamailio's in-memory location table.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use sha1::{Digest as _, Sha1};

use super::location::{LocationService, binding_secret};
use super::service_list::ServiceDirectory;
use crate::dht::{GetReq, PutReq, RmReq, Status};
use crate::runtime::{CallError, NodeHandle};
use crate::sip::proxy::DhtError;
use crate::sip::registrar::{Binding, BindingOp};
use crate::store::{DhtKey, StorageClass};

/// Values asked for per page when reading an AOR's bindings.
const PAGE: u16 = 64;
/// Most pages read for one AOR (bounds the cost of an AOR flooded with values).
const MAX_PAGES: usize = 16;

/// A [`LocationService`] over this super-node's DHT.
#[derive(Clone, Debug)]
pub struct DhtLocation {
    node: NodeHandle,
}

impl DhtLocation {
    /// Location lookups and stores through `node`'s DHT.
    #[must_use]
    pub fn new(node: NodeHandle) -> Self {
        Self { node }
    }

    /// The proxy writes as the local host: fair share counts SIP bindings against this node.
    fn client() -> IpAddr {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    }

    async fn put_value(&self, key: [u8; 20], value: Vec<u8>, ttl: u32) -> Result<(), DhtError> {
        let secret = binding_secret(&key, &value);
        let req = PutReq {
            key: DhtKey(key),
            value,
            secret_hash: Some(Sha1::digest(secret).into()),
            ttl_secs: ttl.max(1),
            class: StorageClass::Soft,
        };
        status(self.node.put_removable(req, Self::client()).await)
    }

    /// One put (`put` true, with `ttl`) or removal of an encoded binding.
    async fn write(
        &self,
        key: [u8; 20],
        put: bool,
        value: Vec<u8>,
        ttl: u32,
    ) -> Result<(), DhtError> {
        if put {
            self.put_value(key, value, ttl).await
        } else {
            self.remove_value(key, value, ttl).await
        }
    }

    /// Removes an encoded value; the tombstone lives `ttl` seconds, which must cover what is
    /// left of the value's life so that no copy of it can come back.
    async fn remove_value(&self, key: [u8; 20], value: Vec<u8>, ttl: u32) -> Result<(), DhtError> {
        let req = RmReq {
            key: DhtKey(key),
            value_hash: Sha1::digest(&value).into(),
            secret: binding_secret(&key, &value).to_vec(),
            ttl_secs: ttl.clamp(1, 604_800),
            class: StorageClass::Soft,
        };
        status(self.node.rm(req, Self::client()).await)
    }
}

fn status(result: Result<Status, CallError>) -> Result<(), DhtError> {
    match result {
        Ok(Status::Ok) => Ok(()),
        Ok(other) => Err(DhtError::Failed(format!("DHT status {other:?}"))),
        Err(e) => Err(DhtError::Failed(e.to_string())),
    }
}

impl LocationService for DhtLocation {
    async fn lookup(&self, key: [u8; 20]) -> Result<Vec<Binding>, DhtError> {
        let mut bindings = Vec::new();
        let mut placemark = Vec::new();
        for _ in 0..MAX_PAGES {
            let req = GetReq {
                key: DhtKey(key),
                maxvals: PAGE,
                placemark,
            };
            let page = self
                .node
                .get(req)
                .await
                .map_err(|e| DhtError::Failed(e.to_string()))?;
            // Values are untrusted: anything that is not a binding is skipped.
            bindings.extend(page.values.iter().filter_map(|v| Binding::decode(v).ok()));
            if page.placemark.is_empty() {
                break;
            }
            placemark = page.placemark;
        }
        Ok(bindings)
    }

    /// Applies the operations concurrently when each names a different value (a refresh's
    /// removal of the old binding and put of the new one touch different DHT items, so their
    /// order does not matter), saving a round trip per extra operation; in order otherwise.
    async fn store(&self, key: [u8; 20], ops: Vec<BindingOp>) -> Result<(), DhtError> {
        let mut writes = Vec::with_capacity(ops.len());
        for op in ops {
            let (put, binding, ttl) = match op {
                BindingOp::Put { binding, ttl } => (true, binding, ttl),
                BindingOp::Remove(binding) => {
                    // The binding lives until its `expires_at` at most (its put's TTL); its
                    // tombstone a minute longer, for clocks a little apart.
                    let left = binding.remaining(super::unix_now()).saturating_add(60);
                    (false, binding, u32::try_from(left).unwrap_or(u32::MAX))
                }
            };
            let value = binding
                .encode()
                .map_err(|e| DhtError::Failed(e.to_string()))?;
            writes.push((put, value, ttl));
        }
        let distinct = writes
            .iter()
            .enumerate()
            .all(|(i, (_, v, _))| writes.iter().skip(i + 1).all(|(_, w, _)| w != v));
        if writes.len() < 2 || !distinct {
            for (put, value, ttl) in writes {
                self.write(key, put, value, ttl).await?;
            }
            return Ok(());
        }
        let mut set = tokio::task::JoinSet::new();
        for (put, value, ttl) in writes {
            let me = self.clone();
            set.spawn(async move { me.write(key, put, value, ttl).await });
        }
        let mut result = Ok(());
        while let Some(done) = set.join_next().await {
            let done = done.unwrap_or_else(|e| Err(DhtError::Failed(e.to_string())));
            if result.is_ok() {
                result = done;
            }
        }
        result
    }
}

impl ServiceDirectory for DhtLocation {
    async fn put(&self, key: [u8; 20], value: Vec<u8>, ttl: Duration) -> Result<(), DhtError> {
        let ttl = u32::try_from(ttl.as_secs())
            .unwrap_or(u32::MAX)
            .clamp(1, 604_800);
        self.put_value(key, value, ttl).await
    }

    async fn remove(&self, key: [u8; 20], value: Vec<u8>) -> Result<(), DhtError> {
        let ttl = super::service_list::ADVERT_TTL.as_secs() + 60;
        self.remove_value(key, value, u32::try_from(ttl).unwrap_or(u32::MAX))
            .await
    }
}
