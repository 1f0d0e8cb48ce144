//! The DHT's public request, result and command types: what the gateway and the runtime see.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::overlay::{NodeId, NodeInfo};
use crate::store::{DhtKey, Hash, Page, StorageClass, ValueDetails};

/// Number of a client request, returned when it is made and repeated in its [`DhtEvent::Done`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReqId(pub u64);

/// A `put` (no secret hash) or `put_removable` (with one), already validated by the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutReq {
    /// The key (short keys already left-padded).
    pub key: DhtKey,
    /// The value, at most 1,024 bytes.
    pub value: Vec<u8>,
    /// SHA-1 of the remove secret; `None` for a plain, unremovable put.
    pub secret_hash: Option<Hash>,
    /// Seconds to live, 1 to 604,800.
    pub ttl_secs: u32,
    /// On disk (OpenDHT's methods), or in memory on every replica for soft state.
    pub class: StorageClass,
}

/// An `rm`: remove the value with this hash if `secret` hashes to its stored secret hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RmReq {
    /// The key.
    pub key: DhtKey,
    /// SHA-1 of the value to remove.
    pub value_hash: Hash,
    /// The secret, at most 40 bytes.
    pub secret: Vec<u8>,
    /// Seconds the removal (tombstone) lives; at least the value's remaining TTL.
    pub ttl_secs: u32,
    /// The class of the value removed (the tombstone is kept beside it).
    pub class: StorageClass,
}

/// A `get` / `get_details`: one page of a key's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetReq {
    /// The key.
    pub key: DhtKey,
    /// Most values in the page (at least 1 is used).
    pub maxvals: u16,
    /// Empty for the first page, then the placemark of the previous page.
    pub placemark: Vec<u8>,
}

/// One write of an [`UpdateReq`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpdateOp {
    /// A put (`secret_hash` set: removable) of `value` for `ttl_secs`.
    Put {
        /// The value, at most 1,024 bytes.
        #[serde(with = "serde_bytes")]
        value: Vec<u8>,
        /// SHA-1 of the remove secret; `None` for a plain put.
        secret_hash: Option<Hash>,
        /// Seconds to live.
        ttl_secs: u32,
    },
    /// An `rm` of the value with SHA-1 `value_hash`; the tombstone lives `ttl_secs`.
    Rm {
        /// SHA-1 of the value to remove.
        value_hash: Hash,
        /// The secret, at most 40 bytes.
        #[serde(with = "serde_bytes")]
        secret: Vec<u8>,
        /// Seconds the removal lives.
        ttl_secs: u32,
    },
}

/// Several writes under one key that travel to the root together, in one message, and are
/// applied there only while the key's live values still have the digest `guard`
/// ([`crate::store::value_set_digest`]): a compare-and-set on the value set. A writer that
/// planned its change on a cached view of the key saves the read it would otherwise need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateReq {
    /// The key.
    pub key: DhtKey,
    /// The digest of the values the writer expects; `None` applies the writes unconditionally.
    pub guard: Option<Hash>,
    /// The writes, at most [`MAX_UPDATE_OPS`](super::wire::MAX_UPDATE_OPS), applied in order.
    pub ops: Vec<UpdateOp>,
    /// The class of every value written or removed.
    pub class: StorageClass,
}

/// How an [`UpdateReq`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Updated {
    /// The guard held (or there was none) and the writes ended with this status: `Ok` once
    /// every write is on the root and at least one replica, else the first failure.
    Done(Status),
    /// The key's values no longer match the guard; nothing was written. Like a failed
    /// compare-and-swap it brings back what is there: every live value under the key when they
    /// all fit the root's one-datagram answer, so the writer can plan again without a read;
    /// `None` when they do not, and the writer must read them.
    Stale(Option<Vec<Vec<u8>>>),
}

/// OpenDHT's status codes for put, put_removable and rm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0: stored (or removed) durably on the root and at least one replica; for soft state,
    /// applied on the root with its copies sent (see the `write` module).
    Ok,
    /// 1: over capacity: the node is full, or this client used its fair share.
    OverCapacity,
    /// 2: try again: the root did not answer in time or could not store.
    TryAgain,
}

impl Status {
    /// The OpenDHT code.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::OverCapacity => 1,
            Status::TryAgain => 2,
        }
    }

    /// From an OpenDHT code; unknown codes read as "try again".
    #[must_use]
    pub fn from_code(code: u8) -> Status {
        match code {
            0 => Status::Ok,
            1 => Status::OverCapacity,
            _ => Status::TryAgain,
        }
    }
}

/// Why a request failed without an OpenDHT status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DhtError {
    /// No root answered within the request timeout after every attempt (OpenDHT: try again).
    #[error("the DHT did not answer in time")]
    Timeout,
    /// The request breaks a limit the gateway should already have checked.
    #[error("invalid request: {0}")]
    Invalid(&'static str),
    /// The placemark was not one a root hands out.
    #[error("malformed placemark")]
    BadPlacemark,
    /// A blob or one of its chunks is not stored anywhere reachable.
    #[error("blob not found")]
    NotFound,
}

/// A watch cursor: the node incarnation and the change sequence number last seen.
/// The gateway shows it as a string (`Display` / `FromStr`) and hands it back unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    /// When the local change log was created (unix ms); a cursor from an older incarnation
    /// restarts from the oldest change kept.
    pub epoch: u64,
    /// The last change sequence number seen.
    pub seq: u64,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.epoch, self.seq)
    }
}

impl FromStr for Cursor {
    type Err = DhtError;

    fn from_str(s: &str) -> Result<Cursor, DhtError> {
        let bad = || DhtError::Invalid("cursor");
        let (e, q) = s.split_once('-').ok_or_else(bad)?;
        Ok(Cursor {
            epoch: e.parse().map_err(|_| bad())?,
            seq: q.parse().map_err(|_| bad())?,
        })
    }
}

/// What happened under a watched key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// A value was put.
    Put {
        /// The value.
        value: Vec<u8>,
    },
    /// A value was removed.
    Rm {
        /// SHA-1 of the removed value.
        value_hash: Hash,
    },
}

/// One change in the local change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Its position in the log.
    pub seq: u64,
    /// The key.
    pub key: DhtKey,
    /// What happened.
    pub kind: ChangeKind,
}

/// The answer to a watch: changes after the cursor (possibly none) and the cursor to resume at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchBatch {
    /// Pass back to the next watch; it neither misses nor repeats a change.
    pub cursor: Cursor,
    /// Changes under the watched keys, oldest first.
    pub changes: Vec<Change>,
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A put, put_removable or rm.
    Write(Result<Status, DhtError>),
    /// A guarded update.
    Update(Result<Updated, DhtError>),
    /// A get or get_details (plain `get` uses only the values).
    Get(Result<Page<ValueDetails>, DhtError>),
    /// A watch.
    Watch(WatchBatch),
    /// A blob put: its content hash.
    PutBlob(Result<Hash, DhtError>),
    /// A blob get: its bytes.
    GetBlob(Result<Vec<u8>, DhtError>),
}

/// Output for the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DhtEvent {
    /// A client request finished.
    Done {
        /// The request.
        req: ReqId,
        /// Its result.
        result: Outcome,
    },
}

/// Opaque label of a [`DhtCommand::SendDirect`]; hand it back with the overlay's message id
/// through [`Dht::direct_sent`](super::Dht::direct_sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendTag(pub(crate) u64);

/// Opaque label of a [`DhtCommand::Lookup`]; hand it back with the overlay's lookup id through
/// [`Dht::lookup_started`](super::Dht::lookup_started).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupTag(pub(crate) u64);

/// Something the runtime must do on its overlay [`Node`](crate::overlay::Node).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DhtCommand {
    /// `node.route_payload(now, key, bytes)`.
    RoutePayload {
        /// The key to route to.
        key: NodeId,
        /// The payload.
        bytes: Vec<u8>,
    },
    /// `node.send_direct(now, to, bytes)`, then report the id with `tag`.
    SendDirect {
        /// The destination.
        to: NodeInfo,
        /// The payload.
        bytes: Vec<u8>,
        /// Label to report the overlay's id under.
        tag: SendTag,
    },
    /// `node.send_datagram(to, bytes)`: unacknowledged, nothing to report.
    SendDatagram {
        /// The destination.
        to: NodeInfo,
        /// The payload.
        bytes: Vec<u8>,
    },
    /// `node.route(now, key)`, then report the lookup id with `tag`.
    Lookup {
        /// The key whose root is wanted.
        key: NodeId,
        /// Label to report the lookup id under.
        tag: LookupTag,
    },
}
