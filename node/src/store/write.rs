//! The write path: storing records, TTL extension, tombstones, and the bookkeeping of the
//! indexes and counters that goes with every change. All of it runs inside one write
//! transaction, so the indexes and counters can never disagree with the items table.

use std::net::IpAddr;

use redb::ReadableTable as _;

use super::digest::{Entry, ItemKind, meta};
use super::error::StoreError;
use super::limits::StoreLimits;
use super::purge::PurgeCounts;
use super::quota::Occupancy;
use super::record::{HASH_LEN, ID_LEN, ItemId, Record};
use super::rules::ItemTable;
use super::tables::{META_TOMBSTONES, META_VALUES, TAG_ITEM, Tables, expiry_key, load, order_key};

impl Tables<'_> {
    /// Writes a new record with its index entries, and charges its client.
    pub(crate) fn insert_record(&mut self, rec: &Record) -> Result<(), StoreError> {
        let id = rec.id.to_bytes();
        if self
            .items
            .insert(id.as_slice(), rec.encode().as_slice())?
            .is_none()
        {
            self.key_deltas.push((rec.id.key, 1));
        }
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
        if self.items.remove(id.as_slice())?.is_some() {
            self.key_deltas.push((rec.id.key, -1));
        }
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
    pub(crate) fn extend_expiry(&mut self, old: &Record, expiry_ms: u64) -> Result<(), StoreError> {
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

    /// Whether a live value with `id`'s key and value hash is stored under another secret hash.
    pub(crate) fn other_secret_holds(&self, now_ms: u64, id: ItemId) -> Result<bool, StoreError> {
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

impl ItemTable for Tables<'_> {
    fn load(&self, id: ItemId) -> Result<Option<Record>, StoreError> {
        load(&self.items, id)
    }

    fn insert_record(&mut self, rec: Record) -> Result<(), StoreError> {
        Tables::insert_record(self, &rec)
    }

    fn delete_record(&mut self, rec: &Record) -> Result<(), StoreError> {
        Tables::delete_record(self, rec)
    }

    fn extend(&mut self, old: &Record, expiry_ms: u64) -> Result<(), StoreError> {
        self.extend_expiry(old, expiry_ms)
    }

    fn occupancy(&self, limits: &StoreLimits, client: IpAddr) -> Result<Occupancy, StoreError> {
        Tables::occupancy(self, limits, client)
    }

    fn purge(&mut self, now_ms: u64) -> Result<PurgeCounts, StoreError> {
        Tables::purge(self, now_ms)
    }

    fn held_under_other_secret(&self, now_ms: u64, id: ItemId) -> Result<bool, StoreError> {
        self.other_secret_holds(now_ms, id)
    }
}

/// A record cost as a signed delta (costs are far below `i64::MAX`).
fn cost_delta(cost: u64) -> i64 {
    i64::try_from(cost).unwrap_or(i64::MAX)
}
