//! The stored data model: keys, item identities, records and their on-disk encoding.
//!
//! An item is identified by (key, secret hash, SHA-1 of value), as in OpenDHT's storage manager:
//! the same value under the same key with another secret is a separate item. A record is either
//! a value or a tombstone (a stored `rm`) for such an identity.

use std::net::{IpAddr, Ipv6Addr};

use sha1::{Digest as _, Sha1};

use super::error::StoreError;
use super::limits::ITEM_OVERHEAD;

/// Length of a DHT key and of every hash (SHA-1).
pub const HASH_LEN: usize = 20;

/// A SHA-1 hash: value hashes, secret hashes, chunk addresses.
pub type Hash = [u8; HASH_LEN];

/// The secret hash of a plain (non-removable) `put`. No secret hashes to it, so such items can
/// never be removed, only expire (OpenDHT's `ZERO_HASH`).
pub const ZERO_HASH: Hash = [0; HASH_LEN];

/// SHA-1 of `bytes`, the only hash OpenDHT supports (`"SHA"`).
#[must_use]
pub fn sha1(bytes: &[u8]) -> Hash {
    Sha1::digest(bytes).into()
}

/// A 160-bit DHT key, compared as an unsigned big-endian integer (byte order is numeric order,
/// which is what the ring-range scans rely on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DhtKey(pub [u8; HASH_LEN]);

/// Orders two 160-bit hashes as big-endian integers, which is their byte order, in two word
/// compares: the B-trees of the store and its indexes compare keys on every step, and a
/// `memcmp` call per step was a visible share of a write.
#[must_use]
pub(crate) fn cmp_hash(a: &Hash, b: &Hash) -> std::cmp::Ordering {
    let word = |h: &Hash| {
        let (hi, lo) = h.split_at(16);
        (
            u128::from_be_bytes(hi.try_into().unwrap_or([0; 16])),
            u32::from_be_bytes(lo.try_into().unwrap_or([0; 4])),
        )
    };
    word(a).cmp(&word(b))
}

impl Ord for DhtKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        cmp_hash(&self.0, &other.0)
    }
}

impl PartialOrd for DhtKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl DhtKey {
    /// The smallest key, 0.
    pub const MIN: DhtKey = DhtKey([0; HASH_LEN]);
    /// The largest key, 2^160 − 1.
    pub const MAX: DhtKey = DhtKey([0xff; HASH_LEN]);

    /// A key from up to 20 bytes, left-padded with zeros as OpenDHT read short keys;
    /// `None` for longer input.
    #[must_use]
    pub fn from_slice(bytes: &[u8]) -> Option<DhtKey> {
        let pad = HASH_LEN.checked_sub(bytes.len())?;
        let mut key = [0; HASH_LEN];
        key[pad..].copy_from_slice(bytes);
        Some(DhtKey(key))
    }
}

/// Length of an encoded [`ItemId`]: key, secret hash, value hash.
pub(crate) const ID_LEN: usize = 3 * HASH_LEN;

/// The identity of a stored item or tombstone: (key, secret hash, SHA-1 of value), ordered
/// field by field (the order of its on-disk form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ItemId {
    /// The DHT key the value is stored under.
    pub key: DhtKey,
    /// SHA-1 of the remove secret, or [`ZERO_HASH`] for a plain put.
    pub secret_hash: Hash,
    /// SHA-1 of the value.
    pub value_hash: Hash,
}

impl Ord for ItemId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key
            .cmp(&other.key)
            .then_with(|| cmp_hash(&self.secret_hash, &other.secret_hash))
            .then_with(|| cmp_hash(&self.value_hash, &other.value_hash))
    }
}

impl PartialOrd for ItemId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl ItemId {
    /// The on-disk form; sorts by key first, so a key range is a contiguous table range.
    pub(crate) fn to_bytes(self) -> [u8; ID_LEN] {
        let mut out = [0; ID_LEN];
        out[..HASH_LEN].copy_from_slice(&self.key.0);
        out[HASH_LEN..2 * HASH_LEN].copy_from_slice(&self.secret_hash);
        out[2 * HASH_LEN..].copy_from_slice(&self.value_hash);
        out
    }

    /// Decodes [`ItemId::to_bytes`]; a wrong length means a damaged table.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<ItemId, StoreError> {
        if bytes.len() != ID_LEN {
            return Err(StoreError::Corrupt("item id length"));
        }
        Ok(ItemId {
            key: DhtKey(hash_at(bytes, 0)),
            secret_hash: hash_at(bytes, HASH_LEN),
            value_hash: hash_at(bytes, 2 * HASH_LEN),
        })
    }
}

/// The 20 bytes of `bytes` at `at`; the caller has checked the length.
pub(crate) fn hash_at(bytes: &[u8], at: usize) -> Hash {
    let mut out = ZERO_HASH;
    if let Some(src) = bytes.get(at..at + HASH_LEN) {
        out.copy_from_slice(src);
    }
    out
}

/// What a record holds: a value, or the proof that it was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A live value (at most `max_value_len` bytes).
    Value(Vec<u8>),
    /// A stored `rm`. The secret is kept so that a node receiving the tombstone as a replica can
    /// check `SHA-1(secret) == secret_hash` itself instead of trusting the sender.
    Tombstone {
        /// The secret whose hash is the item's secret hash.
        secret: Vec<u8>,
    },
}

/// How an item survives failures: what its writer asked for, and which of the store's two
/// databases holds it.
///
/// Soft state that its owner refreshes anyway (SIP bindings, service advertisements) does not
/// need an fsync per write: it is kept in memory on all r replicas, so it survives any r − 1
/// of them failing at once, as Kamailio's in-memory location table survives nothing and
/// OpenDHT's in-memory storage survives the same r − 1. A restart of every replica loses it,
/// and devices re-register. Everything else is durable (`kill -9` safe on every replica).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum StorageClass {
    /// Committed with an fsync before it is acknowledged.
    #[default]
    Durable,
    /// Held in memory by every replica; acknowledged once replicas hold it.
    Soft,
}

/// One stored item or tombstone, as moved between replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The item's identity.
    pub id: ItemId,
    /// Value or tombstone.
    pub payload: Payload,
    /// Absolute expiry, unix milliseconds; the record is live while `now < expiry_ms`.
    pub expiry_ms: u64,
    /// When the root first received it, unix milliseconds: the `get` order, kept by replicas so
    /// every replica pages in the same order.
    pub arrival_ms: u64,
    /// The client that put (or removed) it, charged for its bytes under the fair-share rule.
    pub client: IpAddr,
    /// Which database holds it (not part of the encoding: the database it is read from says).
    pub class: StorageClass,
}

/// Fixed-size header of an encoded record: version, kind, expiry, arrival, client address.
const HEADER_LEN: usize = 1 + 1 + 8 + 8 + 16;
/// Encoding version byte, so a future layout can be told apart from damage.
const VERSION: u8 = 1;

impl Record {
    /// Whether the record is a tombstone.
    #[must_use]
    pub fn is_tombstone(&self) -> bool {
        matches!(self.payload, Payload::Tombstone { .. })
    }

    /// Whether the record is still live at `now_ms`.
    #[must_use]
    pub fn is_live(&self, now_ms: u64) -> bool {
        now_ms < self.expiry_ms
    }

    /// Bytes charged for this record against capacity and the client's share.
    #[must_use]
    pub fn cost(&self) -> u64 {
        let len = match &self.payload {
            Payload::Value(v) => v.len(),
            Payload::Tombstone { secret } => secret.len(),
        };
        len as u64 + ITEM_OVERHEAD
    }

    /// Checks that the payload matches the identity: SHA-1 of a value is its value hash, SHA-1 of a
    /// tombstone's secret is its secret hash. Guards against forged or damaged replicas.
    pub fn verify(&self) -> Result<(), StoreError> {
        let ok = match &self.payload {
            Payload::Value(v) => sha1(v) == self.id.value_hash,
            Payload::Tombstone { secret } => sha1(secret) == self.id.secret_hash,
        };
        if ok {
            Ok(())
        } else {
            Err(StoreError::HashMismatch)
        }
    }

    /// Encodes everything but the id (which is the table key).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let (kind, bytes) = match &self.payload {
            Payload::Value(v) => (0u8, v),
            Payload::Tombstone { secret } => (1u8, secret),
        };
        let mut out = Vec::with_capacity(HEADER_LEN + bytes.len());
        out.extend_from_slice(&[VERSION, kind]);
        out.extend_from_slice(&self.expiry_ms.to_be_bytes());
        out.extend_from_slice(&self.arrival_ms.to_be_bytes());
        out.extend_from_slice(&ip_to_bytes(self.client));
        out.extend_from_slice(bytes);
        out
    }

    /// The expiry and tombstone flag of an encoded record, without copying its payload (for
    /// loading the summary index when the store opens).
    pub(crate) fn decode_summary(bytes: &[u8]) -> Result<(u64, bool), StoreError> {
        let header = bytes
            .get(..HEADER_LEN)
            .ok_or(StoreError::Corrupt("record too short"))?;
        if header[0] != VERSION {
            return Err(StoreError::Corrupt("record version"));
        }
        match header[1] {
            0 | 1 => Ok((be_u64(&header[2..10]), header[1] == 1)),
            _ => Err(StoreError::Corrupt("record kind")),
        }
    }

    /// Decodes [`Record::encode`]; damaged bytes give [`StoreError::Corrupt`], never a panic.
    pub(crate) fn decode(id: ItemId, bytes: &[u8]) -> Result<Record, StoreError> {
        let (header, rest) = bytes
            .split_at_checked(HEADER_LEN)
            .ok_or(StoreError::Corrupt("record too short"))?;
        if header[0] != VERSION {
            return Err(StoreError::Corrupt("record version"));
        }
        let payload = match header[1] {
            0 => Payload::Value(rest.to_vec()),
            1 => Payload::Tombstone {
                secret: rest.to_vec(),
            },
            _ => return Err(StoreError::Corrupt("record kind")),
        };
        Ok(Record {
            id,
            payload,
            expiry_ms: be_u64(&header[2..10]),
            arrival_ms: be_u64(&header[10..18]),
            client: ip_from_bytes(&header[18..34]),
            class: StorageClass::Durable,
        })
    }
}

/// A big-endian u64 from the first 8 bytes (zero-padded if shorter; callers pass 8).
pub(crate) fn be_u64(bytes: &[u8]) -> u64 {
    let mut buf = [0; 8];
    let n = bytes.len().min(8);
    buf[..n].copy_from_slice(&bytes[..n]);
    u64::from_be_bytes(buf)
}

/// A client address as 16 bytes (IPv4 as IPv4-mapped IPv6), the per-client usage table key.
pub(crate) fn ip_to_bytes(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// Inverse of [`ip_to_bytes`]; IPv4-mapped addresses come back as IPv4.
pub(crate) fn ip_from_bytes(bytes: &[u8]) -> IpAddr {
    let mut buf = [0; 16];
    let n = bytes.len().min(16);
    buf[..n].copy_from_slice(&bytes[..n]);
    Ipv6Addr::from(buf).to_canonical()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    proptest::proptest! {
        /// Keys and identities order exactly as their bytes do (the ring scans and the
        /// on-disk tables rely on that order).
        #[test]
        fn order_is_byte_order(
            a in proptest::array::uniform20(0u8..4),
            b in proptest::array::uniform20(0u8..4),
            c in proptest::array::uniform20(0u8..4),
        ) {
            proptest::prop_assert_eq!(DhtKey(a).cmp(&DhtKey(b)), a.cmp(&b));
            let x = ItemId { key: DhtKey(a), secret_hash: b, value_hash: c };
            let y = ItemId { key: DhtKey(a), secret_hash: c, value_hash: b };
            proptest::prop_assert_eq!(x.cmp(&y), x.to_bytes().cmp(&y.to_bytes()));
        }
    }

    fn sample(payload: Payload) -> Record {
        Record {
            id: ItemId {
                key: DhtKey([7; 20]),
                secret_hash: [1; 20],
                value_hash: [2; 20],
            },
            payload,
            expiry_ms: 123_456,
            arrival_ms: 99,
            client: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            class: StorageClass::Durable,
        }
    }

    #[test]
    fn record_round_trips() {
        for payload in [
            Payload::Value(b"hello".to_vec()),
            Payload::Tombstone {
                secret: b"s".to_vec(),
            },
        ] {
            let r = sample(payload);
            assert_eq!(Record::decode(r.id, &r.encode()).unwrap(), r);
        }
        let id = sample(Payload::Value(vec![])).id;
        assert_eq!(ItemId::from_bytes(&id.to_bytes()).unwrap(), id);
    }

    #[test]
    fn corrupt_bytes_are_errors() {
        let r = sample(Payload::Value(vec![1, 2, 3]));
        let mut bytes = r.encode();
        assert!(Record::decode(r.id, &bytes[..10]).is_err());
        bytes[1] = 9;
        assert!(Record::decode(r.id, &bytes).is_err());
        assert!(ItemId::from_bytes(&[0; 59]).is_err());
    }

    #[test]
    fn short_keys_are_left_padded() {
        let k = DhtKey::from_slice(&[1, 2]).unwrap();
        assert_eq!(&k.0[18..], &[1, 2]);
        assert_eq!(k.0[..18], [0; 18]);
        assert!(DhtKey::from_slice(&[0; 21]).is_none());
    }
}
