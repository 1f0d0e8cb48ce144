//! Content-addressed blob chunks: large content (images up to 8 MiB) is split by the caller into
//! chunks of at most [`StoreLimits::max_chunk_len`] bytes, each stored under its SHA-1. Chunks
//! expire like values and count against the node's total capacity; they are not charged to a
//! client (the gateway applies fair share to the blob as a whole before chunking).

use std::ops::Bound;

use redb::{ReadOnlyTable, ReadableTable as _};

use super::digest::{Entry, ItemKind, meta};
use super::error::StoreError;
use super::limits::{ITEM_OVERHEAD, StoreLimits};
use super::ops::{ApplyOutcome, max_expiry};
use super::record::{Hash, be_u64, hash_at, sha1};
use super::ring::KeyRange;
use super::tables::{META_BYTES, META_CHUNKS, TAG_CHUNK, Tables, expiry_key};

/// Bytes charged for a chunk of `len` bytes.
fn chunk_cost(len: usize) -> i64 {
    i64::try_from(len as u64 + ITEM_OVERHEAD).unwrap_or(i64::MAX)
}

/// Splits a stored chunk into expiry and bytes.
pub(crate) fn decode_chunk(bytes: &[u8]) -> Result<(u64, &[u8]), StoreError> {
    let (head, data) = bytes
        .split_at_checked(8)
        .ok_or(StoreError::Corrupt("chunk too short"))?;
    Ok((be_u64(head), data))
}

/// Validates a chunk: size, content hash, expiry; returns the clamped expiry.
pub(crate) fn check_chunk(
    now_ms: u64,
    hash: &Hash,
    bytes: &[u8],
    expiry_ms: u64,
    limits: &StoreLimits,
) -> Result<u64, StoreError> {
    if bytes.len() > limits.max_chunk_len {
        return Err(StoreError::ChunkTooLarge {
            len: bytes.len(),
            max: limits.max_chunk_len,
        });
    }
    if sha1(bytes) != *hash {
        return Err(StoreError::HashMismatch);
    }
    if expiry_ms <= now_ms {
        return Err(StoreError::AlreadyExpired);
    }
    Ok(expiry_ms.min(max_expiry(now_ms)))
}

impl Tables<'_> {
    /// The stored expiry of a chunk, if present.
    pub(crate) fn chunk_expiry(&self, hash: &Hash) -> Result<Option<u64>, StoreError> {
        match self.chunks.get(hash.as_slice())? {
            Some(g) => Ok(Some(decode_chunk(g.value())?.0)),
            None => Ok(None),
        }
    }

    /// Stores a checked chunk, or extends the expiry of the same chunk already held.
    pub(crate) fn put_chunk(
        &mut self,
        now_ms: u64,
        limits: &StoreLimits,
        hash: &Hash,
        bytes: &[u8],
        expiry_ms: u64,
    ) -> Result<ApplyOutcome, StoreError> {
        match self.chunk_expiry(hash)? {
            Some(old) if old > now_ms && old >= expiry_ms => return Ok(ApplyOutcome::Unchanged),
            Some(old) if old > now_ms => {
                self.write_chunk(hash, bytes, old, expiry_ms)?;
                return Ok(ApplyOutcome::Extended);
            }
            Some(_) => self.delete_chunk(hash)?,
            None => {}
        }
        let cost = chunk_cost(bytes.len()).unsigned_abs();
        if self.counter(META_BYTES)?.saturating_add(cost) > limits.capacity_bytes {
            self.purge(now_ms)?;
            if self.counter(META_BYTES)?.saturating_add(cost) > limits.capacity_bytes {
                return Err(StoreError::OverCapacity);
            }
        }
        self.chunks
            .insert(hash.as_slice(), encode_chunk(bytes, expiry_ms).as_slice())?;
        self.expiry
            .insert(expiry_key(expiry_ms, TAG_CHUNK, hash).as_slice(), ())?;
        self.changes.push((
            ItemKind::Chunks,
            Entry::of_chunk(hash),
            Some(meta(expiry_ms, false)),
        ));
        self.bump(META_CHUNKS, 1)?;
        self.bump(META_BYTES, chunk_cost(bytes.len()))?;
        Ok(ApplyOutcome::Stored)
    }

    /// Rewrites a held chunk with a later expiry, moving its expiry-index entry.
    fn write_chunk(
        &mut self,
        hash: &Hash,
        bytes: &[u8],
        old: u64,
        new: u64,
    ) -> Result<(), StoreError> {
        self.chunks
            .insert(hash.as_slice(), encode_chunk(bytes, new).as_slice())?;
        self.expiry
            .remove(expiry_key(old, TAG_CHUNK, hash).as_slice())?;
        self.expiry
            .insert(expiry_key(new, TAG_CHUNK, hash).as_slice(), ())?;
        self.changes.push((
            ItemKind::Chunks,
            Entry::of_chunk(hash),
            Some(meta(new, false)),
        ));
        Ok(())
    }

    /// Deletes a chunk and its index entry and releases its bytes.
    pub(crate) fn delete_chunk(&mut self, hash: &Hash) -> Result<(), StoreError> {
        let Some(guard) = self.chunks.remove(hash.as_slice())? else {
            return Ok(());
        };
        let (expiry, data) = decode_chunk(guard.value())?;
        let cost = chunk_cost(data.len());
        drop(guard);
        self.expiry
            .remove(expiry_key(expiry, TAG_CHUNK, hash).as_slice())?;
        self.changes
            .push((ItemKind::Chunks, Entry::of_chunk(hash), None));
        self.bump(META_CHUNKS, -1)?;
        self.bump(META_BYTES, -cost)
    }
}

/// The stored form of a chunk: expiry then bytes.
fn encode_chunk(bytes: &[u8], expiry_ms: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + bytes.len());
    out.extend_from_slice(&expiry_ms.to_be_bytes());
    out.extend_from_slice(bytes);
    out
}

/// The live chunks whose hashes lie in `range` (chunk addresses share the key space, so a chunk
/// is replicated by the same nodes as a value with that key), as (hash, expiry) in ring order.
pub(crate) fn chunks_in_range(
    chunks: &ReadOnlyTable<&'static [u8], &'static [u8]>,
    now_ms: u64,
    range: KeyRange,
) -> Result<Vec<(Hash, u64)>, StoreError> {
    let mut out = Vec::new();
    for (lo, hi) in range.segments() {
        let upper = hi
            .as_ref()
            .map_or(Bound::Unbounded, |h| Bound::Excluded(h.0.as_slice()));
        for entry in chunks.range::<&[u8]>((Bound::Included(lo.0.as_slice()), upper))? {
            let (k, v) = entry?;
            let expiry = decode_chunk(v.value())?.0;
            if now_ms < expiry {
                out.push((hash_at(k.value(), 0), expiry));
            }
        }
    }
    Ok(out)
}
