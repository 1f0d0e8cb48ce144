//! Compact digests of a key range, so two replicas find what differs and move only that.
//!
//! The protocol the DHT layer runs with these pieces:
//!
//! 1. Both sides compute [`RangeDigest`] of the same [`KeyRange`](super::KeyRange) with the same
//!    bucket count (the range's records hashed into `2^bits` buckets by the top bits of the key).
//! 2. [`RangeDigest::differing_buckets`] names the buckets whose count or hash differ.
//! 3. For those buckets each side lists its [`ItemSummary`]s
//!    ([`Store::summaries`](super::Store::summaries)); [`diff`] says which records to send and
//!    which to fetch, and [`Store::records`](super::Store::records) reads them for the transfer.
//!
//! A summary is (id, expiry, tombstone?), so a TTL extension or a removal known to one side
//! only shows as a difference too. Expired records are left out on both sides.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use sha1::{Digest as _, Sha1};

use super::record::{DhtKey, Hash, ItemId, Record};
use super::write::newer;

/// Most bucket bits a digest may use (65,536 buckets).
pub const MAX_BUCKET_BITS: u8 = 16;

/// What a replica exchanges about one record instead of the record itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemSummary {
    /// The record's identity.
    pub id: ItemId,
    /// Its expiry, unix milliseconds.
    pub expiry_ms: u64,
    /// Whether it is a tombstone.
    pub tombstone: bool,
}

impl ItemSummary {
    /// The summary of a record.
    #[must_use]
    pub fn of(rec: &Record) -> ItemSummary {
        ItemSummary {
            id: rec.id,
            expiry_ms: rec.expiry_ms,
            tombstone: rec.is_tombstone(),
        }
    }
}

/// Digest of one bucket: how many records and a SHA-1 over their summaries in scan order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketDigest {
    /// Number of live records in the bucket.
    pub count: u32,
    /// SHA-1 over the records' (id, expiry, tombstone flag); all zero for an empty bucket.
    pub hash: Hash,
}

/// The digest of a key range: one [`BucketDigest`] per bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeDigest {
    /// Bucket bits used (the top `bits` bits of a key choose its bucket).
    pub bits: u8,
    /// The buckets, in bucket-number order; empty buckets are left out.
    pub buckets: BTreeMap<u32, BucketDigest>,
}

/// The bucket of `key` with `bits` bucket bits: the top bits of the key.
#[must_use]
pub fn bucket_of(key: DhtKey, bits: u8) -> u32 {
    let top = u32::from_be_bytes([key.0[0], key.0[1], key.0[2], key.0[3]]);
    match bits.min(MAX_BUCKET_BITS) {
        0 => 0,
        b => top >> (32 - u32::from(b)),
    }
}

/// Builds a [`RangeDigest`] from records fed in scan order.
pub(crate) struct DigestBuilder {
    bits: u8,
    open: BTreeMap<u32, (u32, Sha1)>,
}

impl DigestBuilder {
    /// A builder for `bits` bucket bits (clamped to [`MAX_BUCKET_BITS`]).
    pub(crate) fn new(bits: u8) -> DigestBuilder {
        DigestBuilder {
            bits: bits.min(MAX_BUCKET_BITS),
            open: BTreeMap::new(),
        }
    }

    /// Adds one live record.
    pub(crate) fn add(&mut self, s: &ItemSummary) {
        let entry = self
            .open
            .entry(bucket_of(s.id.key, self.bits))
            .or_insert_with(|| (0, Sha1::new()));
        entry.0 = entry.0.saturating_add(1);
        entry.1.update(s.id.to_bytes());
        entry.1.update(s.expiry_ms.to_be_bytes());
        entry.1.update([u8::from(s.tombstone)]);
    }

    /// The finished digest.
    pub(crate) fn finish(self) -> RangeDigest {
        let buckets = self
            .open
            .into_iter()
            .map(|(b, (count, h))| {
                (
                    b,
                    BucketDigest {
                        count,
                        hash: h.finalize().into(),
                    },
                )
            })
            .collect();
        RangeDigest {
            bits: self.bits,
            buckets,
        }
    }
}

impl RangeDigest {
    /// Buckets whose contents differ between `self` and `other` (a bucket present on one side
    /// only differs too). Digests with different bit counts cannot be compared bucket by bucket,
    /// so then every bucket either side has is reported.
    #[must_use]
    pub fn differing_buckets(&self, other: &RangeDigest) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .buckets
            .keys()
            .chain(other.buckets.keys())
            .copied()
            .collect();
        out.sort_unstable();
        out.dedup();
        if self.bits == other.bits {
            out.retain(|b| self.buckets.get(b) != other.buckets.get(b));
        }
        out
    }
}

/// What to move after comparing summaries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SummaryDiff {
    /// Records the local side should send: missing remotely, or newer here.
    pub send: Vec<ItemId>,
    /// Records the local side should fetch: missing here, or newer remotely.
    pub fetch: Vec<ItemId>,
}

/// Compares local and remote summaries of the same buckets. For one identity a tombstone beats
/// a value and otherwise the later expiry wins, which is the rule the store applies on insert.
#[must_use]
pub fn diff(local: &[ItemSummary], remote: &[ItemSummary]) -> SummaryDiff {
    let mut theirs: BTreeMap<ItemId, &ItemSummary> = remote.iter().map(|s| (s.id, s)).collect();
    let mut out = SummaryDiff::default();
    for mine in local {
        match theirs.remove(&mine.id) {
            None => out.send.push(mine.id),
            Some(t) => match newer(mine.tombstone, mine.expiry_ms, t.tombstone, t.expiry_ms) {
                Ordering::Greater => out.send.push(mine.id),
                Ordering::Less => out.fetch.push(mine.id),
                Ordering::Equal => {}
            },
        }
    }
    out.fetch.extend(theirs.into_keys());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(key: u8, expiry: u64, tombstone: bool) -> ItemSummary {
        ItemSummary {
            id: ItemId {
                key: DhtKey([key; 20]),
                secret_hash: [0; 20],
                value_hash: [key; 20],
            },
            expiry_ms: expiry,
            tombstone,
        }
    }

    #[test]
    fn buckets_are_the_top_bits() {
        let k = DhtKey([0b1010_0000; 20]);
        assert_eq!(bucket_of(k, 0), 0);
        assert_eq!(bucket_of(k, 3), 0b101);
        assert_eq!(bucket_of(DhtKey::MAX, 16), 0xffff);
    }

    #[test]
    fn diff_prefers_tombstones_then_later_expiry() {
        let local = [
            summary(1, 10, false),
            summary(2, 50, false),
            summary(3, 10, false),
        ];
        let remote = [
            summary(1, 10, false),
            summary(2, 40, false),
            summary(3, 5, true),
            summary(4, 1, false),
        ];
        let d = diff(&local, &remote);
        assert_eq!(d.send, vec![local[1].id]);
        assert_eq!(d.fetch, vec![local[2].id, remote[3].id]);
    }
}
