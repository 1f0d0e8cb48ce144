//! Requests and outcomes of the write operations.

use std::net::IpAddr;

use super::error::StoreError;
use super::limits::{MAX_TTL_SECS, StoreLimits};
use super::record::{DhtKey, Hash, ItemId, Payload, Record, StorageClass, ZERO_HASH, sha1};

/// A client's `put` or `put_removable`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutRequest {
    /// The DHT key.
    pub key: DhtKey,
    /// The value (at most `max_value_len` bytes).
    pub value: Vec<u8>,
    /// SHA-1 of the remove secret for `put_removable`; `None` for a plain `put`, stored as
    /// [`ZERO_HASH`] and therefore never removable.
    pub secret_hash: Option<Hash>,
    /// Time to live in seconds: must be positive; above one week it is clamped to one week.
    pub ttl_secs: i64,
    /// The client's address, the fair-share identity.
    pub client: IpAddr,
    /// On disk, or in memory on every replica.
    pub class: StorageClass,
}

/// A client's `rm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveRequest {
    /// The DHT key.
    pub key: DhtKey,
    /// SHA-1 of the value to remove.
    pub value_hash: Hash,
    /// The secret itself (at most `max_secret_len` bytes); its SHA-1 must be the stored hash.
    pub secret: Vec<u8>,
    /// How long the tombstone lives, seconds (positive, clamped to one week). It is stretched to
    /// the removed value's own expiry if that is later, so the value cannot come back.
    pub ttl_secs: i64,
    /// The client's address; the tombstone's bytes are charged to it, as OpenDHT charged removes.
    pub client: IpAddr,
    /// The class of the value it removes: the tombstone is kept beside it.
    pub class: StorageClass,
}

/// One operation of a batch ([`Store::apply_batch`](super::Store::apply_batch)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A client put.
    Put(PutRequest),
    /// A client remove.
    Remove(RemoveRequest),
    /// A record received from another replica.
    Replica(Record),
}

impl Op {
    /// The key it writes under.
    #[must_use]
    pub fn key(&self) -> DhtKey {
        match self {
            Op::Put(req) => req.key,
            Op::Remove(req) => req.key,
            Op::Replica(rec) => rec.id.key,
        }
    }

    /// The storage class of the item it writes.
    #[must_use]
    pub fn class(&self) -> StorageClass {
        match self {
            Op::Put(req) => req.class,
            Op::Remove(req) => req.class,
            Op::Replica(rec) => rec.class,
        }
    }
}

/// What storing a record (put, replica) did. Every variant is OpenDHT status 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// A new record was written.
    Stored,
    /// The same item was already there; its expiry moved later (TTL extension).
    Extended,
    /// The same item was already there with an expiry at least as late; nothing changed.
    Unchanged,
    /// A live tombstone for this item exists: the value was discarded so it cannot come back.
    Suppressed,
    /// The record was a tombstone and it deleted the live value it names.
    Removed,
}

/// What a client `rm` did. OpenDHT returned status 0 in every case, and so should the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveOutcome {
    /// The value existed with this secret hash and was deleted; the tombstone is stored.
    Removed,
    /// No value with this hash under this key (yet). The tombstone is stored anyway, because the
    /// value may still arrive from a replica, and must then be discarded.
    NotFound,
    /// A value with this hash exists under this key but with another secret hash (a wrong secret,
    /// or a plain put, which is never removable). Nothing was deleted; a tombstone under the
    /// presented secret's hash is stored as OpenDHT did, and matches nothing.
    SecretMismatch,
}

/// The result of one operation in a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpOutcome {
    /// Result of [`Op::Put`] or [`Op::Replica`].
    Applied(ApplyOutcome),
    /// Result of [`Op::Remove`].
    Removed(RemoveOutcome),
}

/// The absolute expiry of a TTL given at `now_ms`: refuses `ttl <= 0`, clamps to one week.
pub(crate) fn expiry_from_ttl(now_ms: u64, ttl_secs: i64) -> Result<u64, StoreError> {
    if ttl_secs <= 0 {
        return Err(StoreError::InvalidTtl(ttl_secs));
    }
    let secs = ttl_secs.min(MAX_TTL_SECS).unsigned_abs();
    Ok(now_ms.saturating_add(secs * 1000))
}

/// The latest expiry a record may carry at `now_ms` (one week ahead).
pub(crate) fn max_expiry(now_ms: u64) -> u64 {
    now_ms.saturating_add(MAX_TTL_SECS.unsigned_abs() * 1000)
}

impl PutRequest {
    /// Validates the request and builds the record to store.
    pub(crate) fn to_record(
        &self,
        now_ms: u64,
        limits: &StoreLimits,
    ) -> Result<Record, StoreError> {
        check_value_len(self.value.len(), limits)?;
        Ok(Record {
            id: ItemId {
                key: self.key,
                secret_hash: self.secret_hash.unwrap_or(ZERO_HASH),
                value_hash: sha1(&self.value),
            },
            payload: Payload::Value(self.value.clone()),
            expiry_ms: expiry_from_ttl(now_ms, self.ttl_secs)?,
            arrival_ms: now_ms,
            client: self.client,
            class: self.class,
        })
    }
}

impl RemoveRequest {
    /// Validates the request and builds the tombstone to store.
    pub(crate) fn to_record(
        &self,
        now_ms: u64,
        limits: &StoreLimits,
    ) -> Result<Record, StoreError> {
        check_secret_len(self.secret.len(), limits)?;
        Ok(Record {
            id: ItemId {
                key: self.key,
                secret_hash: sha1(&self.secret),
                value_hash: self.value_hash,
            },
            payload: Payload::Tombstone {
                secret: self.secret.clone(),
            },
            expiry_ms: expiry_from_ttl(now_ms, self.ttl_secs)?,
            arrival_ms: now_ms,
            client: self.client,
            class: self.class,
        })
    }
}

/// Refuses values over the limit.
pub(crate) fn check_value_len(len: usize, limits: &StoreLimits) -> Result<(), StoreError> {
    if len > limits.max_value_len {
        return Err(StoreError::ValueTooLarge {
            len,
            max: limits.max_value_len,
        });
    }
    Ok(())
}

/// Refuses secrets over the limit.
pub(crate) fn check_secret_len(len: usize, limits: &StoreLimits) -> Result<(), StoreError> {
    if len > limits.max_secret_len {
        return Err(StoreError::SecretTooLong {
            len,
            max: limits.max_secret_len,
        });
    }
    Ok(())
}

/// Validates a replica: hashes match, sizes within limits, not expired; clamps its expiry to one
/// week from now so a faulty peer cannot make anything immortal.
pub(crate) fn check_replica(
    mut rec: Record,
    now_ms: u64,
    limits: &StoreLimits,
) -> Result<Record, StoreError> {
    match &rec.payload {
        Payload::Value(v) => check_value_len(v.len(), limits)?,
        Payload::Tombstone { secret } => check_secret_len(secret.len(), limits)?,
    }
    rec.verify()?;
    if !rec.is_live(now_ms) {
        return Err(StoreError::AlreadyExpired);
    }
    rec.expiry_ms = rec.expiry_ms.min(max_expiry(now_ms));
    Ok(rec)
}
