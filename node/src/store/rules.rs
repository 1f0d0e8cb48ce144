//! OpenDHT's storage rules, written once over [`ItemTable`]: the redb tables of the durable
//! database and the in-memory table of soft items both follow them.

use std::net::IpAddr;

use super::error::StoreError;
use super::limits::StoreLimits;
use super::ops::{ApplyOutcome, RemoveOutcome};
use super::purge::PurgeCounts;
use super::quota::{Admission, Occupancy, admits};
use super::record::{ItemId, Record};

/// Where values and tombstones live, as the rules need to see it. Every method keeps the
/// table's indexes, counters and summary changes consistent with its items.
pub(crate) trait ItemTable {
    /// The record stored under `id`, live or not.
    fn load(&self, id: ItemId) -> Result<Option<Record>, StoreError>;
    /// Writes a new record and charges its client.
    fn insert_record(&mut self, rec: Record) -> Result<(), StoreError>;
    /// Deletes a stored record and refunds its client.
    fn delete_record(&mut self, rec: &Record) -> Result<(), StoreError>;
    /// Moves a stored record's expiry, keeping its arrival (its place in `get` order).
    fn extend(&mut self, old: &Record, expiry_ms: u64) -> Result<(), StoreError>;
    /// What the fair-share rule ([`super::quota`]) needs to know about `client` here.
    fn occupancy(&self, limits: &StoreLimits, client: IpAddr) -> Result<Occupancy, StoreError>;
    /// Deletes everything expired at `now_ms`.
    fn purge(&mut self, now_ms: u64) -> Result<PurgeCounts, StoreError>;
    /// Whether a live value with `id`'s key and value hash is stored under another secret hash.
    fn held_under_other_secret(&self, now_ms: u64, id: ItemId) -> Result<bool, StoreError>;

    /// Stores `rec` (value or tombstone) under the OpenDHT rules:
    ///
    /// * same item, both values or both tombstones: the later expiry wins;
    /// * a live tombstone discards an arriving value;
    /// * an arriving tombstone deletes the live value and lives at least as long as it would have;
    /// * a new record must pass admission ([`Admission`]); expired leftovers are replaced.
    fn apply(
        &mut self,
        now_ms: u64,
        limits: &StoreLimits,
        rec: Record,
        admission: Admission,
    ) -> Result<ApplyOutcome, StoreError> {
        if let Some(old) = self.load(rec.id)? {
            if old.is_live(now_ms) {
                return self.apply_over(&old, rec);
            }
            self.delete_record(&old)?;
        }
        self.admit(now_ms, limits, &rec, admission)?;
        self.insert_record(rec)?;
        Ok(ApplyOutcome::Stored)
    }

    /// [`ItemTable::apply`] when a live record with the same identity exists.
    fn apply_over(&mut self, old: &Record, mut rec: Record) -> Result<ApplyOutcome, StoreError> {
        match (old.is_tombstone(), rec.is_tombstone()) {
            (true, false) => Ok(ApplyOutcome::Suppressed),
            (false, true) => {
                rec.expiry_ms = rec.expiry_ms.max(old.expiry_ms);
                self.delete_record(old)?;
                self.insert_record(rec)?;
                Ok(ApplyOutcome::Removed)
            }
            _ if rec.expiry_ms > old.expiry_ms => {
                self.extend(old, rec.expiry_ms)?;
                Ok(ApplyOutcome::Extended)
            }
            _ => Ok(ApplyOutcome::Unchanged),
        }
    }

    /// Whether `cost` more bytes for `client` pass the fair-share rule.
    fn fits(
        &self,
        limits: &StoreLimits,
        client: IpAddr,
        cost: u64,
        admission: Admission,
    ) -> Result<bool, StoreError> {
        Ok(admits(
            limits,
            self.occupancy(limits, client)?,
            cost,
            admission,
        ))
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
    fn remove(
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
}
