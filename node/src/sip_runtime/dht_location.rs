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
use crate::dht::{DhtError as DhtCallError, GetReq, PutReq, RmReq, Status};
use crate::dht::{UpdateOp, UpdateReq, Updated};
use crate::runtime::{CallError, NodeHandle};
use crate::sip::proxy::{DhtError, Stored};
use crate::sip::registrar::{Binding, BindingOp};
use crate::store::{DhtKey, StorageClass, value_set_digest};

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

impl DhtLocation {
    /// The values under `key`, read page by page (at most [`MAX_PAGES`] pages of [`PAGE`]).
    async fn values_of(&self, key: [u8; 20]) -> Result<Vec<Vec<u8>>, DhtError> {
        let (mut paged, mut req) = PagedGet::start(key);
        loop {
            let page = self
                .node
                .get(req)
                .await
                .map_err(|e| DhtError::Failed(e.to_string()))?;
            match paged.page(page.values, page.placemark) {
                Some(next) => req = next,
                None => return Ok(paged.into_values()),
            }
        }
    }
}

/// Reading every value under a key, page by page: which get to send next and when to stop.
/// Sans-IO, so the proxy's own task can drive it on a DHT it hosts as well as through a
/// [`NodeHandle`].
#[derive(Debug)]
pub(crate) struct PagedGet {
    key: [u8; 20],
    values: Vec<Vec<u8>>,
    pages: usize,
}

impl PagedGet {
    /// The reader and its first request.
    pub(crate) fn start(key: [u8; 20]) -> (Self, GetReq) {
        let paged = Self {
            key,
            values: Vec::new(),
            pages: 0,
        };
        let first = paged.request(Vec::new());
        (paged, first)
    }

    fn request(&self, placemark: Vec<u8>) -> GetReq {
        GetReq {
            key: DhtKey(self.key),
            maxvals: PAGE,
            placemark,
        }
    }

    /// Takes one page; the next request while there are more pages to read (at most
    /// [`MAX_PAGES`]), `None` when done.
    pub(crate) fn page(&mut self, values: Vec<Vec<u8>>, placemark: Vec<u8>) -> Option<GetReq> {
        self.values.extend(values);
        self.pages += 1;
        (!placemark.is_empty() && self.pages < MAX_PAGES).then(|| self.request(placemark))
    }

    /// Every value read.
    pub(crate) fn into_values(self) -> Vec<Vec<u8>> {
        self.values
    }
}

impl LocationService for DhtLocation {
    async fn lookup(&self, key: [u8; 20]) -> Result<Vec<Binding>, DhtError> {
        Ok(decode_bindings(&self.values_of(key).await?))
    }

    /// Sends the operations to the key's root as one update, guarded by `expect` when given;
    /// an unguarded update too large for one message goes as separate writes instead.
    async fn store(
        &self,
        key: [u8; 20],
        expect: Option<Vec<Binding>>,
        ops: Vec<BindingOp>,
    ) -> Result<Stored, DhtError> {
        let writes = encode_ops(ops)?;
        let guard = match &expect {
            Some(bindings) => {
                let mut hashes = Vec::with_capacity(bindings.len());
                for b in bindings {
                    let value = b.encode().map_err(|e| DhtError::Failed(e.to_string()))?;
                    hashes.push(Sha1::digest(&value).into());
                }
                Some(value_set_digest(hashes))
            }
            None => None,
        };
        let ops = writes
            .iter()
            .map(|w| match w {
                Write::Put { value, ttl } => UpdateOp::Put {
                    value: value.clone(),
                    secret_hash: Some(Sha1::digest(binding_secret(&key, value)).into()),
                    ttl_secs: (*ttl).max(1),
                },
                Write::Rm { value, ttl } => UpdateOp::Rm {
                    value_hash: Sha1::digest(value).into(),
                    secret: binding_secret(&key, value).to_vec(),
                    ttl_secs: (*ttl).clamp(1, 604_800),
                },
            })
            .collect();
        let req = UpdateReq {
            key: DhtKey(key),
            guard,
            ops,
            class: StorageClass::Soft,
        };
        match self.node.update(req, Self::client()).await {
            Ok(Updated::Done(Status::Ok)) => Ok(Stored::Applied),
            Ok(Updated::Stale(values)) => Ok(Stored::Stale(values.map(|v| decode_bindings(&v)))),
            Ok(Updated::Done(other)) => Err(DhtError::Failed(format!("DHT status {other:?}"))),
            // Too large for one message: a guarded plan is read and made again (and then
            // stored unguarded); an unguarded one goes write by write.
            Err(CallError::Dht(DhtCallError::Invalid(_))) if expect.is_some() => {
                Ok(Stored::Stale(None))
            }
            Err(CallError::Dht(DhtCallError::Invalid(_))) => {
                self.store_each(key, writes).await.map(|()| Stored::Applied)
            }
            Err(e) => Err(DhtError::Failed(e.to_string())),
        }
    }
}

/// The bindings among stored values. Values are untrusted: anything that is not a binding is
/// skipped.
pub(crate) fn decode_bindings(values: &[Vec<u8>]) -> Vec<Binding> {
    values
        .iter()
        .filter_map(|v| Binding::decode(v).ok())
        .collect()
}

/// One binding write, encoded.
#[derive(Debug, Clone)]
enum Write {
    Put { value: Vec<u8>, ttl: u32 },
    Rm { value: Vec<u8>, ttl: u32 },
}

/// Encodes the operations; a removal's tombstone outlives what is left of the binding.
fn encode_ops(ops: Vec<BindingOp>) -> Result<Vec<Write>, DhtError> {
    let codec = |e: crate::sip::RegisterError| DhtError::Failed(e.to_string());
    ops.into_iter()
        .map(|op| match op {
            BindingOp::Put { binding, ttl } => Ok(Write::Put {
                value: binding.encode().map_err(codec)?,
                ttl,
            }),
            BindingOp::Remove(binding) => {
                // The binding lives until its `expires_at` at most (its put's TTL); its
                // tombstone a minute longer, for clocks a little apart.
                let left = binding.remaining(super::unix_now()).saturating_add(60);
                Ok(Write::Rm {
                    value: binding.encode().map_err(codec)?,
                    ttl: u32::try_from(left).unwrap_or(u32::MAX),
                })
            }
        })
        .collect()
}

impl DhtLocation {
    /// Applies the writes one message each: concurrently when each names a different value
    /// (a refresh's removal of the old binding and put of the new one touch different DHT
    /// items, so their order does not matter), in order otherwise.
    async fn store_each(&self, key: [u8; 20], writes: Vec<Write>) -> Result<(), DhtError> {
        let value = |w: &Write| match w {
            Write::Put { value, .. } | Write::Rm { value, .. } => value.clone(),
        };
        let distinct = writes
            .iter()
            .enumerate()
            .all(|(i, w)| writes.iter().skip(i + 1).all(|x| value(x) != value(w)));
        let one = |me: Self, w: Write| async move {
            match w {
                Write::Put { value, ttl } => me.put_value(key, value, ttl).await,
                Write::Rm { value, ttl } => me.remove_value(key, value, ttl).await,
            }
        };
        if writes.len() < 2 || !distinct {
            for w in writes {
                one(self.clone(), w).await?;
            }
            return Ok(());
        }
        let mut set = tokio::task::JoinSet::new();
        for w in writes {
            set.spawn(one(self.clone(), w));
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

    async fn values(&self, key: [u8; 20]) -> Result<Vec<Vec<u8>>, DhtError> {
        self.values_of(key).await
    }
}
