//! The write path: storing records, TTL extension, tombstones, and the bookkeeping of the
//! indexes and counters that goes with every change. All of it runs inside one write
//! transaction, so the indexes and counters can never disagree with the items table.

use redb::ReadableTable as _;

use super::digest::{Entry, ItemKind, meta};
use super::error::StoreError;
use super::limits::StoreLimits;
use super::ops::{ApplyOutcome, RemoveOutcome};
use super::quota::Admission;
use super::record::{HASH_LEN, ID_LEN, ItemId, Record};
use super::tables::{META_TOMBSTONES, META_VALUES, TAG_ITEM, Tables, expiry_key, load, order_key};

impl Tables<'_> {
    /// Writes a new record with its index entries, and charges its client.
    pub(crate) fn insert_record(&mut self, rec: &Record) -> Result<(), StoreError> {
        let id = rec.id.to_bytes();
        self.items.insert(id.as_slice(), rec.encode().as_slice())?;
        self.expiry
            .insert(expiry_key(rec.expiry_ms, TAG_ITEM, &id).as_slice(), ())?;
        self.changes.push((
            ItemKind::Values,
            Entry::of_item(&rec.id),
            Some(meta(rec.expiry_ms, rec.is_tombstone())),
        ));
        if rec.is_tombstone() {
            self.bump(META_TOMBSTONES, 1)?;
        } else {
            self.order.insert(order_key(rec).as_slice(), ())?;
            self.bump(META_VALUES, 1)?;
        }
        self.charge(rec.client, cost_delta(rec.cost()))
    }

    /// Deletes a record with its index entries, and refunds its client.
    pub(crate) fn delete_record(&mut self, rec: &Record) -> Result<(), StoreError> {
        let id = rec.id.to_bytes();
        self.items.remove(id.as_slice())?;
        self.expiry
            .remove(expiry_key(rec.expiry_ms, TAG_ITEM, &id).as_slice())?;
        self.changes
            .push((ItemKind::Values, Entry::of_item(&rec.id), None));
        if rec.is_tombstone() {
            self.bump(META_TOMBSTONES, -1)?;
        } else {
            self.order.remove(order_key(rec).as_slice())?;
            self.bump(META_VALUES, -1)?;
        }
        self.charge(rec.client, -cost_delta(rec.cost()))
    }

    /// Moves a stored record's expiry; arrival (and so its place in `get` order) is kept, which
    /// keeps a client's paging stable while others extend TTLs.
    fn extend(&mut self, old: &Record, expiry_ms: u64) -> Result<(), StoreError> {
        let id = old.id.to_bytes();
        let mut rec = old.clone();
        rec.expiry_ms = expiry_ms;
        self.items.insert(id.as_slice(), rec.encode().as_slice())?;
        self.expiry
            .remove(expiry_key(old.expiry_ms, TAG_ITEM, &id).as_slice())?;
        self.expiry
            .insert(expiry_key(expiry_ms, TAG_ITEM, &id).as_slice(), ())?;
        self.changes.push((
            ItemKind::Values,
            Entry::of_item(&old.id),
            Some(meta(expiry_ms, old.is_tombstone())),
        ));
        Ok(())
    }

    /// Stores `rec` (value or tombstone) under the OpenDHT rules:
    ///
    /// * same item, both values or both tombstones: the later expiry wins;
    /// * a live tombstone discards an arriving value;
    /// * an arriving tombstone deletes the live value and lives at least as long as it would have;
    /// * a new record must pass admission ([`Admission`]); expired leftovers are replaced.
    pub(crate) fn apply(
        &mut self,
        now_ms: u64,
        limits: &StoreLimits,
        rec: Record,
        admission: Admission,
    ) -> Result<ApplyOutcome, StoreError> {
        if let Some(old) = load(&self.items, rec.id)? {
            if old.is_live(now_ms) {
                return self.apply_over(&old, rec);
            }
            self.delete_record(&old)?;
        }
        self.admit(now_ms, limits, &rec, admission)?;
        self.insert_record(&rec)?;
        Ok(ApplyOutcome::Stored)
    }

    /// [`Tables::apply`] when a live record with the same identity exists.
    fn apply_over(&mut self, old: &Record, mut rec: Record) -> Result<ApplyOutcome, StoreError> {
        match (old.is_tombstone(), rec.is_tombstone()) {
            (true, false) => Ok(ApplyOutcome::Suppressed),
            (false, true) => {
                rec.expiry_ms = rec.expiry_ms.max(old.expiry_ms);
                self.delete_record(old)?;
                self.insert_record(&rec)?;
                Ok(ApplyOutcome::Removed)
            }
            _ if rec.expiry_ms > old.expiry_ms => {
                self.extend(old, rec.expiry_ms)?;
                Ok(ApplyOutcome::Extended)
            }
            _ => Ok(ApplyOutcome::Unchanged),
        }
    }

    /// Admission of a new record: if it does not fit, expired records are purged first (their
    /// bytes still count until then) and the check is repeated.
    fn admit(
        &mut self,
        now_ms: u64,
        limits: &StoreLimits,
        rec: &Record,
        admission: Admission,
    ) -> Result<(), StoreError> {
        if self.fits(limits, rec.client, rec.cost(), admission)? {
            return Ok(());
        }
        self.purge(now_ms)?;
        if self.fits(limits, rec.client, rec.cost(), admission)? {
            Ok(())
        } else {
            Err(StoreError::OverCapacity)
        }
    }

    /// Applies a client's tombstone and says what it did to the named value.
    pub(crate) fn remove(
        &mut self,
        now_ms: u64,
        limits: &StoreLimits,
        tomb: Record,
    ) -> Result<RemoveOutcome, StoreError> {
        let mismatch = self.held_under_other_secret(now_ms, tomb.id)?;
        let outcome = self.apply(now_ms, limits, tomb, Admission::Client)?;
        Ok(match outcome {
            ApplyOutcome::Removed => RemoveOutcome::Removed,
            _ if mismatch => RemoveOutcome::SecretMismatch,
            _ => RemoveOutcome::NotFound,
        })
    }

    /// Whether a live value with `id`'s key and value hash is stored under another secret hash.
    fn held_under_other_secret(&self, now_ms: u64, id: ItemId) -> Result<bool, StoreError> {
        let mut lo = [0u8; ID_LEN];
        lo[..HASH_LEN].copy_from_slice(&id.key.0);
        let mut hi = [0xffu8; ID_LEN];
        hi[..HASH_LEN].copy_from_slice(&id.key.0);
        for entry in self.items.range::<&[u8]>(lo.as_slice()..=hi.as_slice())? {
            let (k, v) = entry?;
            let other = ItemId::from_bytes(k.value())?;
            if other.value_hash != id.value_hash || other.secret_hash == id.secret_hash {
                continue;
            }
            let rec = Record::decode(other, v.value())?;
            if !rec.is_tombstone() && rec.is_live(now_ms) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// A record cost as a signed delta (costs are far below `i64::MAX`).
fn cost_delta(cost: u64) -> i64 {
    i64::try_from(cost).unwrap_or(i64::MAX)
}
