//! Deleting expired records, tombstones and chunks from disk.

use redb::ReadableTable as _;

use super::error::StoreError;
use super::record::{HASH_LEN, ItemId, be_u64, hash_at};
use super::tables::{TAG_CHUNK, TAG_ITEM, Tables, load};

/// How many expired entries one purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeCounts {
    /// Expired values deleted.
    pub values: u64,
    /// Expired tombstones deleted.
    pub tombstones: u64,
    /// Expired chunks deleted.
    pub chunks: u64,
}

impl PurgeCounts {
    /// Total entries deleted.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.values + self.tombstones + self.chunks
    }
}

impl Tables<'_> {
    /// Deletes everything whose expiry is at or before `now_ms`, walking the expiry index from
    /// the oldest entry. Index entries that point at nothing are dropped too.
    pub(crate) fn purge(&mut self, now_ms: u64) -> Result<PurgeCounts, StoreError> {
        let bound = now_ms.saturating_add(1).to_be_bytes();
        let mut due = Vec::new();
        for entry in self.expiry.range::<&[u8]>(..bound.as_slice())? {
            due.push(entry?.0.value().to_vec());
        }
        let mut counts = PurgeCounts::default();
        for key in due {
            self.purge_one(&key, &mut counts)?;
            self.expiry.remove(key.as_slice())?;
        }
        Ok(counts)
    }

    /// Deletes the record or chunk one expiry-index entry names, if it really has that expiry
    /// (a stale index entry must not delete a record whose TTL was extended).
    fn purge_one(&mut self, key: &[u8], counts: &mut PurgeCounts) -> Result<(), StoreError> {
        let (head, id) = key
            .split_at_checked(9)
            .ok_or(StoreError::Corrupt("expiry key"))?;
        let expiry = be_u64(&head[..8]);
        match head[8] {
            TAG_ITEM => {
                let Some(rec) = load(&self.items, ItemId::from_bytes(id)?)? else {
                    return Ok(());
                };
                if rec.expiry_ms == expiry {
                    self.delete_record(&rec)?;
                    if rec.is_tombstone() {
                        counts.tombstones += 1
                    } else {
                        counts.values += 1
                    }
                }
            }
            TAG_CHUNK if id.len() == HASH_LEN => {
                if self.chunk_expiry(&hash_at(id, 0))? == Some(expiry) {
                    self.delete_chunk(&hash_at(id, 0))?;
                    counts.chunks += 1;
                }
            }
            _ => return Err(StoreError::Corrupt("expiry tag")),
        }
        Ok(())
    }
}
