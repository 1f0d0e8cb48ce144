//! The DHT's messages between nodes: a version byte, then one postcard-encoded [`Msg`].
//!
//! Every message fits one overlay payload: routed ones ([`Msg::Get`], [`Msg::Subscribe`]) stay
//! under [`MAX_ROUTED_PAYLOAD`], direct ones under [`MAX_DIRECT_PAYLOAD`]. A put carries a value
//! of up to 1,024 bytes and so does not fit a routed payload with its header; it is sent directly
//! to the root found by a lookup instead. Decoding is bounded (input length, list lengths, byte
//! fields) and never panics: anything wrong is a [`DecodeError`] and the caller counts a drop.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::api::UpdateOp;
use crate::overlay::NodeInfo;
use crate::overlay::wire::{MAX_DIRECT_PAYLOAD, MAX_ROUTED_PAYLOAD};
use crate::store::{
    DhtKey, Entry, Hash, ItemId, ItemKind, KeyRange, Payload, Record, StorageClass, Summary,
};

/// Version of the DHT message format; a message with another first byte is dropped.
pub const DHT_WIRE_VERSION: u8 = 4;
/// Most buckets in one [`Msg::Digest`] (one datagram's worth; a digest of more buckets is
/// sent as several messages, each naming the span of bucket numbers it covers).
pub const MAX_BUCKETS: usize = 64;
/// Most bucket bits a digest may use (see [`crate::store::digest::MAX_BUCKET_BITS`]).
pub const MAX_BUCKET_BITS: u8 = crate::store::digest::MAX_BUCKET_BITS;
/// Most item summaries in one [`Msg::Have`].
pub const MAX_SUMMARIES: usize = 24;
/// Most entries in one [`Msg::Want`].
pub const MAX_WANT: usize = 32;
/// Most values in one [`Msg::GetReply`].
pub const MAX_PAGE_VALUES: usize = 64;
/// Most writes in one [`WriteBody::Update`].
pub const MAX_UPDATE_OPS: usize = 8;
/// Longest byte field any message carries (a value, a blob chunk, a secret).
pub const MAX_BYTES_FIELD: usize = 1100;

/// A stored item's identity on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireId {
    /// The key.
    pub key: [u8; 20],
    /// SHA-1 of the remove secret, or zero for a plain put.
    pub secret_hash: Hash,
    /// SHA-1 of the value.
    pub value_hash: Hash,
}

impl From<ItemId> for WireId {
    fn from(id: ItemId) -> Self {
        WireId {
            key: id.key.0,
            secret_hash: id.secret_hash,
            value_hash: id.value_hash,
        }
    }
}

impl From<WireId> for ItemId {
    fn from(w: WireId) -> Self {
        ItemId {
            key: DhtKey(w.key),
            secret_hash: w.secret_hash,
            value_hash: w.value_hash,
        }
    }
}

/// A record (value or tombstone) on the wire, as replicas exchange it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireRecord {
    /// Its identity.
    pub id: WireId,
    /// True for a tombstone, whose `bytes` are the secret; false for a value.
    pub tombstone: bool,
    /// The value, or the tombstone's secret.
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
    /// Absolute expiry, unix ms.
    pub expiry_ms: u64,
    /// When the root received it, unix ms (the `get` order).
    pub arrival_ms: u64,
    /// The client charged for it.
    pub client: IpAddr,
    /// On disk or in memory, as its writer asked.
    pub class: StorageClass,
}

impl From<Record> for WireRecord {
    fn from(r: Record) -> Self {
        let (tombstone, bytes) = match r.payload {
            Payload::Value(v) => (false, v),
            Payload::Tombstone { secret } => (true, secret),
        };
        WireRecord {
            id: r.id.into(),
            tombstone,
            bytes,
            expiry_ms: r.expiry_ms,
            arrival_ms: r.arrival_ms,
            client: r.client,
            class: r.class,
        }
    }
}

impl From<WireRecord> for Record {
    fn from(w: WireRecord) -> Self {
        let payload = if w.tombstone {
            Payload::Tombstone { secret: w.bytes }
        } else {
            Payload::Value(w.bytes)
        };
        Record {
            id: w.id.into(),
            payload,
            expiry_ms: w.expiry_ms,
            arrival_ms: w.arrival_ms,
            client: w.client,
            class: w.class,
        }
    }
}

/// Which items a repair message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireKind {
    /// Values and tombstones.
    Values,
    /// Blob chunks.
    Chunks,
}

impl From<ItemKind> for WireKind {
    fn from(k: ItemKind) -> Self {
        match k {
            ItemKind::Values => WireKind::Values,
            ItemKind::Chunks => WireKind::Chunks,
        }
    }
}

impl From<WireKind> for ItemKind {
    fn from(k: WireKind) -> Self {
        match k {
            WireKind::Values => ItemKind::Values,
            WireKind::Chunks => ItemKind::Chunks,
        }
    }
}

/// A repair entry (key and fingerprint, see [`Entry`]) on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireEntry {
    /// The key.
    pub key: [u8; 20],
    /// The fingerprint, fixed width (it is uniformly random, a varint would only grow it).
    pub fp: [u8; 8],
}

impl From<Entry> for WireEntry {
    fn from(e: Entry) -> Self {
        WireEntry {
            key: e.key.0,
            fp: e.fp().to_be_bytes(),
        }
    }
}

impl From<WireEntry> for Entry {
    fn from(w: WireEntry) -> Self {
        Entry::new(DhtKey(w.key), u64::from_be_bytes(w.fp))
    }
}

/// An item summary on the wire (repair).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireSummary {
    /// The item.
    pub entry: WireEntry,
    /// Expiry (unix ms) with the top bit set for a tombstone.
    pub meta: u64,
}

impl From<Summary> for WireSummary {
    fn from(s: Summary) -> Self {
        WireSummary {
            entry: s.entry.into(),
            meta: s.meta,
        }
    }
}

impl From<WireSummary> for Summary {
    fn from(w: WireSummary) -> Self {
        Summary {
            entry: w.entry.into(),
            meta: w.meta,
        }
    }
}

/// A key-ring arc `[from, to)` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireRange {
    /// First key (included).
    pub from: [u8; 20],
    /// End (excluded); equal to `from` for the whole ring.
    pub to: [u8; 20],
}

impl From<KeyRange> for WireRange {
    fn from(r: KeyRange) -> Self {
        WireRange {
            from: r.from.0,
            to: r.to.0,
        }
    }
}

impl From<WireRange> for KeyRange {
    fn from(w: WireRange) -> Self {
        KeyRange::new(DhtKey(w.from), DhtKey(w.to))
    }
}

/// A client write as the origin sends it to the root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteBody {
    /// `put` / `put_removable`.
    Put {
        /// The key.
        key: [u8; 20],
        /// The value.
        #[serde(with = "serde_bytes")]
        value: Vec<u8>,
        /// SHA-1 of the remove secret (`None`: a plain put).
        secret_hash: Option<Hash>,
        /// Seconds to live.
        ttl_secs: u32,
        /// The client, for fair share.
        client: IpAddr,
        /// On disk or in memory.
        class: StorageClass,
    },
    /// `rm`.
    Rm {
        /// The key.
        key: [u8; 20],
        /// SHA-1 of the value to remove.
        value_hash: Hash,
        /// The secret.
        #[serde(with = "serde_bytes")]
        secret: Vec<u8>,
        /// Seconds the tombstone lives.
        ttl_secs: u32,
        /// The client, charged for the tombstone.
        client: IpAddr,
        /// The class of the value removed.
        class: StorageClass,
    },
    /// A guarded update: every write applied together, if the value set matches `guard`.
    Update {
        /// The key.
        key: [u8; 20],
        /// The digest of the live values the writer expects; `None`: no condition.
        guard: Option<Hash>,
        /// The writes, in order.
        ops: Vec<UpdateOp>,
        /// The client, for fair share.
        client: IpAddr,
        /// On disk or in memory.
        class: StorageClass,
    },
}

impl WriteBody {
    /// The key written.
    #[must_use]
    pub fn key(&self) -> DhtKey {
        match self {
            WriteBody::Put { key, .. }
            | WriteBody::Rm { key, .. }
            | WriteBody::Update { key, .. } => DhtKey(*key),
        }
    }
}

/// The root's answer to a write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteAnswer {
    /// An OpenDHT status code (0 ok, 1 over capacity, 2 try again).
    Status(u8),
    /// The receiver is not the root; this node is closer to the key.
    Redirect(NodeInfo),
    /// An update's guard did not match the key's values; nothing was written. Sent when the
    /// values do not all fit [`WriteAnswer::StaleValues`].
    Stale,
    /// An update's guard did not match the key's values; nothing was written. These are every
    /// live value under the key (at most [`MAX_PAGE_VALUES`]), so the writer need not read.
    StaleValues(Vec<WireValue>),
}

/// A value in a get reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireValue {
    /// The bytes.
    #[serde(with = "serde_bytes")]
    pub value: Vec<u8>,
    /// Whole seconds left to live.
    pub ttl_remaining_secs: u32,
    /// The secret hash of a removable value.
    pub secret_hash: Option<Hash>,
}

/// A change reported to a subscriber.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireChange {
    /// A value was stored.
    Put(#[serde(with = "serde_bytes")] Vec<u8>),
    /// The value with this identity was removed.
    Rm,
}

/// Every DHT message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// Routed to the key: one page of values, answered with [`Msg::GetReply`].
    Get {
        /// The origin's request number.
        req: u64,
        /// The key.
        key: [u8; 20],
        /// Page size.
        maxvals: u16,
        /// Paging position (empty: first page).
        #[serde(with = "serde_bytes")]
        placemark: Vec<u8>,
    },
    /// Direct, root → origin: a page, or an error code (2: try again; 3: bad placemark).
    GetReply {
        /// The origin's request number.
        req: u64,
        /// Values and next placemark, or an error code.
        page: Result<(Vec<WireValue>, Vec<u8>), u8>,
    },
    /// Direct, origin → root: a put or rm.
    Write {
        /// The origin's request number.
        req: u64,
        /// What to write.
        body: WriteBody,
    },
    /// Direct, root → origin: the write's outcome.
    WriteReply {
        /// The origin's request number.
        req: u64,
        /// Status or redirect.
        answer: WriteAnswer,
    },
    /// Direct, root → replica: store this record and acknowledge after the commit.
    Replicate {
        /// The root's replication number.
        token: u64,
        /// The record.
        record: WireRecord,
    },
    /// Direct, replica → root: the record is durable (or refused, `ok == false`).
    ReplicaAck {
        /// The root's replication number.
        token: u64,
        /// Whether the replica stored it.
        ok: bool,
    },
    /// Direct, repair: bucket digests of the arc both nodes replicate, for the buckets
    /// numbered `span.0 .. span.1` of the layout (arc, bits).
    Digest {
        /// Values or chunks.
        kind: WireKind,
        /// The shared arc.
        range: WireRange,
        /// Bucket bits (at most [`MAX_BUCKET_BITS`]; clamped to the arc's width by both sides).
        bits: u8,
        /// The bucket numbers this message covers: every non-empty one in it is listed.
        span: (u32, u32),
        /// Non-empty buckets: (bucket, item count, XOR of summary hashes).
        buckets: Vec<(u32, u32, [u8; 8])>,
    },
    /// Direct, repair: the sender's summaries of one bucket in the ring-order interval
    /// `(after, upto]` of that bucket's sub-arc.
    Have {
        /// Values or chunks.
        kind: WireKind,
        /// The shared arc.
        range: WireRange,
        /// Bucket bits.
        bits: u8,
        /// The bucket.
        bucket: u32,
        /// Exclusive lower bound (`None`: from the start of the bucket).
        after: Option<WireEntry>,
        /// Inclusive upper bound (`None`: to the end of the bucket).
        upto: Option<WireEntry>,
        /// The summaries, in ring order.
        items: Vec<WireSummary>,
    },
    /// Direct, repair: send me these items (values as [`Msg::Push`], chunks as copies).
    Want {
        /// Values or chunks.
        kind: WireKind,
        /// The items wanted.
        entries: Vec<WireEntry>,
    },
    /// Direct, repair: a record the receiver lacks or holds an older version of.
    Push {
        /// The record.
        record: WireRecord,
    },
    /// Routed to the key: notify the origin of changes under it for `ttl_secs`.
    Subscribe {
        /// The key.
        key: [u8; 20],
        /// How long the subscription lives unless refreshed.
        ttl_secs: u32,
    },
    /// Direct, root → subscriber: a change under a watched key.
    Notify {
        /// The item that changed.
        id: WireId,
        /// What happened.
        change: WireChange,
    },
    /// Routed to the chunk's hash (origin → root, acknowledged with [`Msg::ChunkAck`]), or
    /// direct with `copy` set (root → replica, not acknowledged): store this blob chunk.
    ChunkPut {
        /// The sender's number for the acknowledgement.
        token: u64,
        /// SHA-1 of `bytes`.
        hash: Hash,
        /// Absolute expiry, unix ms.
        expiry_ms: u64,
        /// The chunk.
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
        /// A root's copy to a replica (sent directly) rather than an origin's put (routed).
        copy: bool,
    },
    /// Direct: chunk stored (or not).
    ChunkAck {
        /// The number from [`Msg::ChunkPut`].
        token: u64,
        /// Whether it is stored.
        ok: bool,
    },
    /// Routed to the chunk's hash: send me this chunk.
    ChunkGet {
        /// The origin's number.
        token: u64,
        /// The chunk's hash.
        hash: Hash,
    },
    /// Direct: the chunk, or `None` when absent.
    ChunkReply {
        /// The number from [`Msg::ChunkGet`].
        token: u64,
        /// The chunk's bytes.
        #[serde(with = "serde_bytes")]
        bytes: Option<Vec<u8>>,
    },
}

/// Why bytes were not a valid DHT message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Longer than any overlay payload.
    #[error("message larger than one datagram")]
    Oversized,
    /// Empty, or a version this node does not speak.
    #[error("unknown DHT message version")]
    Version,
    /// Not a valid encoding (garbage, truncated, trailing bytes).
    #[error("malformed DHT message")]
    Malformed,
    /// Decoded, but a list or byte field exceeds its limit.
    #[error("a DHT message field exceeds its limit")]
    OverLimit,
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The encoding is larger than the payload limit it must travel under.
    #[error("DHT message larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
}

impl Msg {
    /// Whether this message travels routed to a key (else directly to a node).
    #[must_use]
    pub fn is_routed(&self) -> bool {
        matches!(
            self,
            Msg::Get { .. }
                | Msg::Subscribe { .. }
                | Msg::ChunkGet { .. }
                | Msg::ChunkPut { copy: false, .. }
        )
    }

    /// The payload limit for this message: routed messages are smaller.
    #[must_use]
    pub fn limit(&self) -> usize {
        if self.is_routed() {
            MAX_ROUTED_PAYLOAD
        } else {
            MAX_DIRECT_PAYLOAD
        }
    }

    /// Whether every list and byte field is within its limit.
    fn within_limits(&self) -> bool {
        let bytes_ok = |b: &[u8]| b.len() <= MAX_BYTES_FIELD;
        match self {
            Msg::Get { placemark, .. } => placemark.len() <= crate::store::MAX_PLACEMARK_LEN,
            Msg::GetReply {
                page: Ok((v, p)), ..
            } => {
                v.len() <= MAX_PAGE_VALUES
                    && v.iter().all(|x| bytes_ok(&x.value))
                    && p.len() <= crate::store::MAX_PLACEMARK_LEN
            }
            Msg::WriteReply {
                answer: WriteAnswer::StaleValues(v),
                ..
            } => v.len() <= MAX_PAGE_VALUES && v.iter().all(|x| bytes_ok(&x.value)),
            Msg::Write { body, .. } => match body {
                WriteBody::Put { value, .. } => bytes_ok(value),
                WriteBody::Rm { secret, .. } => bytes_ok(secret),
                WriteBody::Update { ops, .. } => {
                    ops.len() <= MAX_UPDATE_OPS
                        && ops.iter().all(|op| match op {
                            UpdateOp::Put { value, .. } => bytes_ok(value),
                            UpdateOp::Rm { secret, .. } => bytes_ok(secret),
                        })
                }
            },
            Msg::Replicate { record, .. } | Msg::Push { record } => bytes_ok(&record.bytes),
            Msg::Digest {
                bits,
                span,
                buckets,
                ..
            } => {
                *bits <= MAX_BUCKET_BITS
                    && span.0 <= span.1
                    && span.1 <= 1u32 << *bits
                    && buckets.len() <= MAX_BUCKETS
                    && buckets.iter().all(|(b, _, _)| span.0 <= *b && *b < span.1)
            }
            Msg::Have {
                bits,
                bucket,
                items,
                ..
            } => {
                *bits <= MAX_BUCKET_BITS && *bucket < 1u32 << *bits && items.len() <= MAX_SUMMARIES
            }
            Msg::Want { entries, .. } => entries.len() <= MAX_WANT,
            Msg::Notify {
                change: WireChange::Put(v),
                ..
            } => bytes_ok(v),
            Msg::ChunkPut { bytes, .. } => bytes_ok(bytes),
            Msg::ChunkReply {
                bytes: Some(bytes), ..
            } => bytes_ok(bytes),
            _ => true,
        }
    }
}

/// Encodes `msg`, checking that it fits the payload limit of its kind.
///
/// # Errors
/// [`EncodeError::TooLarge`] when it does not fit.
pub fn encode(msg: &Msg) -> Result<Vec<u8>, EncodeError> {
    let max = msg.limit();
    let mut out = Vec::with_capacity(256);
    out.push(DHT_WIRE_VERSION);
    let out = postcard::to_extend(msg, out).map_err(|_| EncodeError::TooLarge { max })?;
    if out.len() > max {
        return Err(EncodeError::TooLarge { max });
    }
    Ok(out)
}

/// Decodes one message and checks every limit.
///
/// # Errors
/// The reason the bytes must be dropped.
pub fn decode(data: &[u8]) -> Result<Msg, DecodeError> {
    if data.len() > MAX_DIRECT_PAYLOAD {
        return Err(DecodeError::Oversized);
    }
    let (&version, rest) = data.split_first().ok_or(DecodeError::Version)?;
    if version != DHT_WIRE_VERSION {
        return Err(DecodeError::Version);
    }
    let (msg, trailing) =
        postcard::take_from_bytes::<Msg>(rest).map_err(|_| DecodeError::Malformed)?;
    if !trailing.is_empty() {
        return Err(DecodeError::Malformed);
    }
    if msg.within_limits() {
        Ok(msg)
    } else {
        Err(DecodeError::OverLimit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv6Addr;

    /// Byte fields go through serde's bytes path (one copy, not a visitor call per byte); in
    /// postcard that is the same encoding as a sequence of `u8`, so the wire is unchanged.
    #[test]
    fn byte_fields_keep_the_sequence_encoding() {
        #[derive(Serialize)]
        struct AsSeq {
            v: Vec<u8>,
        }
        #[derive(Serialize)]
        struct AsBytes {
            #[serde(with = "serde_bytes")]
            v: Vec<u8>,
        }
        for len in [0u8, 1, 127, 128, 255] {
            let v: Vec<u8> = (0..len).collect();
            let seq = postcard::to_allocvec(&AsSeq { v: v.clone() }).unwrap();
            assert_eq!(seq, postcard::to_allocvec(&AsBytes { v }).unwrap());
        }
    }

    fn biggest_replicate() -> Msg {
        Msg::Replicate {
            token: u64::MAX,
            record: WireRecord {
                id: WireId {
                    key: [0xff; 20],
                    secret_hash: [0xff; 20],
                    value_hash: [0xff; 20],
                },
                tombstone: false,
                bytes: vec![0xab; 1024],
                expiry_ms: u64::MAX,
                arrival_ms: u64::MAX,
                client: IpAddr::V6(Ipv6Addr::LOCALHOST),
                class: StorageClass::Durable,
            },
        }
    }

    #[test]
    fn largest_messages_fit_a_datagram() {
        let put = Msg::Write {
            req: u64::MAX,
            body: WriteBody::Put {
                key: [0xff; 20],
                value: vec![1; 1024],
                secret_hash: Some([0xff; 20]),
                ttl_secs: u32::MAX,
                client: IpAddr::V6(Ipv6Addr::LOCALHOST),
                class: StorageClass::Durable,
            },
        };
        for msg in [put, biggest_replicate()] {
            let bytes = encode(&msg).unwrap();
            assert_eq!(decode(&bytes).unwrap(), msg);
        }
    }

    #[test]
    fn bad_version_and_trailing_bytes_are_refused() {
        let mut bytes = encode(&biggest_replicate()).unwrap();
        bytes.push(0);
        assert_eq!(decode(&bytes), Err(DecodeError::Malformed));
        bytes[0] = 9;
        assert_eq!(decode(&bytes), Err(DecodeError::Version));
        assert_eq!(decode(&[]), Err(DecodeError::Version));
        assert_eq!(decode(&[0; 2000]), Err(DecodeError::Oversized));
    }

    #[test]
    fn over_limit_lists_are_refused() {
        let entry = WireEntry {
            key: [0; 20],
            fp: [0; 8],
        };
        let range = WireRange {
            from: [0; 20],
            to: [0; 20],
        };
        let bad = [
            Msg::Want {
                kind: WireKind::Values,
                entries: vec![entry; MAX_WANT + 1],
            },
            Msg::Digest {
                kind: WireKind::Values,
                range,
                bits: MAX_BUCKET_BITS + 1,
                span: (0, 1),
                buckets: Vec::new(),
            },
            Msg::Digest {
                kind: WireKind::Chunks,
                range,
                bits: 2,
                span: (0, 2),
                buckets: vec![(3, 1, [0; 8])],
            },
            Msg::Have {
                kind: WireKind::Values,
                range,
                bits: 2,
                bucket: 4,
                after: None,
                upto: None,
                items: Vec::new(),
            },
        ];
        for msg in bad {
            let mut bytes = vec![DHT_WIRE_VERSION];
            bytes.extend(postcard::to_allocvec(&msg).unwrap());
            assert_eq!(decode(&bytes), Err(DecodeError::OverLimit), "{msg:?}");
        }
    }

    #[test]
    fn largest_repair_messages_fit_a_datagram() {
        let entry = WireEntry {
            key: [0xff; 20],
            fp: [0xff; 8],
        };
        let range = WireRange {
            from: [0xff; 20],
            to: [0xfe; 20],
        };
        let max = u32::from(u16::MAX);
        let msgs = [
            Msg::Digest {
                kind: WireKind::Chunks,
                range,
                bits: MAX_BUCKET_BITS,
                span: (0, 1 << MAX_BUCKET_BITS),
                buckets: vec![((1 << MAX_BUCKET_BITS) - 1, max, [0xff; 8]); MAX_BUCKETS],
            },
            Msg::Have {
                kind: WireKind::Values,
                range,
                bits: MAX_BUCKET_BITS,
                bucket: (1 << MAX_BUCKET_BITS) - 1,
                after: Some(entry),
                upto: Some(entry),
                items: vec![
                    WireSummary {
                        entry,
                        meta: u64::MAX
                    };
                    MAX_SUMMARIES
                ],
            },
            Msg::Want {
                kind: WireKind::Values,
                entries: vec![entry; MAX_WANT],
            },
        ];
        for msg in msgs {
            let bytes = encode(&msg).unwrap();
            assert_eq!(decode(&bytes).unwrap(), msg);
        }
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1300)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn mutated_messages_never_panic(pos in 0usize..1200, byte in any::<u8>()) {
            let mut bytes = encode(&biggest_replicate()).unwrap();
            let at = pos % bytes.len();
            bytes[at] = byte;
            let _ = decode(&bytes);
        }
    }
}
