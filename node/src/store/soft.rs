//! The in-memory table of [`StorageClass::Soft`](super::StorageClass::Soft) items: the same
//! item model, indexes and rules as the redb tables ([`super::rules`]), in B-trees, with no
//! transaction and no file. A write here costs a few map updates instead of a copy-on-write
//! commit and an fsync, which is what soft state refreshed by its owner can afford.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use super::digest::{Entry, ItemKind, meta};
use super::error::StoreError;
use super::limits::StoreLimits;
use super::purge::PurgeCounts;
use super::quota::Occupancy;
use super::record::{DhtKey, ItemId, Record, StorageClass};
use super::ring::KeyRange;
use super::rules::ItemTable;
use super::tables::{ORDER_LEN, order_key};

/// The soft table may hold this fraction of the store's capacity: it lives in RAM, where an
/// item (record, B-tree entries, index entry) costs about three times its charged bytes.
pub(crate) const SOFT_SHARE: u64 = 8;

/// Soft items with their `get` order, expiry order and per-client charges.
#[derive(Debug, Default)]
pub(crate) struct SoftTable {
    /// Values and tombstones by identity (`class` is always `Soft`).
    items: BTreeMap<ItemId, Record>,
    /// `get` order of live values: the durable table's order-key encoding.
    order: BTreeSet<[u8; ORDER_LEN]>,
    /// (expiry, identity), what purging walks.
    expiry: BTreeSet<(u64, ItemId)>,
    /// Bytes charged per client (clients at zero are removed).
    clients: HashMap<IpAddr, u64>,
    /// Bytes charged in all.
    bytes: u64,
    /// Stored values and tombstones.
    values: u64,
    tombstones: u64,
    /// Summary changes not yet taken into the repair index, in order.
    changes: Vec<(ItemKind, Entry, Option<u64>)>,
}

impl SoftTable {
    /// The summary changes made since the last call, for the repair index.
    pub(crate) fn take_changes(&mut self) -> Vec<(ItemKind, Entry, Option<u64>)> {
        std::mem::take(&mut self.changes)
    }

    /// The values within `range` of order keys (start bound, last key included), in `get`
    /// order: one key's values after a placemark (the page filler skips expired ones).
    pub(crate) fn values_after(
        &self,
        range: (std::ops::Bound<[u8; ORDER_LEN]>, [u8; ORDER_LEN]),
    ) -> impl Iterator<Item = &Record> {
        let (start, end) = range;
        self.order
            .range((start, std::ops::Bound::Included(end)))
            .filter_map(|k| self.items.get(&super::tables::id_from_order_key(k).ok()?))
    }

    /// The live records on `range` in ring order from its start, after `after` if given;
    /// `visit` returns false to stop.
    pub(crate) fn scan(
        &self,
        now_ms: u64,
        range: KeyRange,
        after: Option<ItemId>,
        mut visit: impl FnMut(Record) -> bool,
    ) {
        let mut started = after.is_none();
        for (lo, hi) in range.segments() {
            let floor = |key: DhtKey| ItemId {
                key,
                secret_hash: [0; 20],
                value_hash: [0; 20],
            };
            let mut lower = std::ops::Bound::Included(floor(lo));
            if let (false, Some(a)) = (started, after) {
                if a.key < lo || hi.is_some_and(|h| a.key >= h) {
                    continue;
                }
                lower = std::ops::Bound::Excluded(a);
            }
            started = true;
            let upper = hi.map_or(std::ops::Bound::Unbounded, |h| {
                std::ops::Bound::Excluded(floor(h))
            });
            for rec in self.items.range((lower, upper)).map(|(_, r)| r) {
                if rec.is_live(now_ms) && !visit(rec.clone()) {
                    return;
                }
            }
        }
    }

    /// Bytes charged to `client`.
    pub(crate) fn usage(&self, client: IpAddr) -> u64 {
        self.clients.get(&client).copied().unwrap_or(0)
    }

    /// (values, tombstones, bytes charged, active clients), for the store's statistics.
    pub(crate) fn counts(&self) -> (u64, u64, u64, u64) {
        (
            self.values,
            self.tombstones,
            self.bytes,
            self.clients.len() as u64,
        )
    }

    /// Every client's charged bytes.
    pub(crate) fn usages(&self) -> impl Iterator<Item = (IpAddr, u64)> + '_ {
        self.clients.iter().map(|(c, b)| (*c, *b))
    }

    fn charge(&mut self, client: IpAddr, cost: u64, add: bool) {
        let used = self.clients.entry(client).or_insert(0);
        if add {
            *used = used.saturating_add(cost);
            self.bytes = self.bytes.saturating_add(cost);
        } else {
            *used = used.saturating_sub(cost);
            self.bytes = self.bytes.saturating_sub(cost);
        }
        if *used == 0 {
            self.clients.remove(&client);
        }
    }
}

impl ItemTable for SoftTable {
    fn load(&self, id: ItemId) -> Result<Option<Record>, StoreError> {
        Ok(self.items.get(&id).cloned())
    }

    fn insert_record(&mut self, rec: &Record) -> Result<(), StoreError> {
        let rec = Record {
            class: StorageClass::Soft,
            ..rec.clone()
        };
        self.expiry.insert((rec.expiry_ms, rec.id));
        self.changes.push((
            ItemKind::Values,
            Entry::of_item(&rec.id),
            Some(meta(rec.expiry_ms, rec.is_tombstone())),
        ));
        if rec.is_tombstone() {
            self.tombstones += 1;
        } else {
            self.order.insert(order_key(&rec));
            self.values += 1;
        }
        self.charge(rec.client, rec.cost(), true);
        self.items.insert(rec.id, rec);
        Ok(())
    }

    fn delete_record(&mut self, rec: &Record) -> Result<(), StoreError> {
        let Some(old) = self.items.remove(&rec.id) else {
            return Ok(());
        };
        self.expiry.remove(&(old.expiry_ms, old.id));
        self.changes
            .push((ItemKind::Values, Entry::of_item(&old.id), None));
        if old.is_tombstone() {
            self.tombstones = self.tombstones.saturating_sub(1);
        } else {
            self.order.remove(&order_key(&old));
            self.values = self.values.saturating_sub(1);
        }
        self.charge(old.client, old.cost(), false);
        Ok(())
    }

    fn extend(&mut self, old: &Record, expiry_ms: u64) -> Result<(), StoreError> {
        let Some(rec) = self.items.get_mut(&old.id) else {
            return Ok(());
        };
        self.expiry.remove(&(rec.expiry_ms, rec.id));
        rec.expiry_ms = expiry_ms;
        self.expiry.insert((expiry_ms, old.id));
        self.changes.push((
            ItemKind::Values,
            Entry::of_item(&old.id),
            Some(meta(expiry_ms, old.is_tombstone())),
        ));
        Ok(())
    }

    fn occupancy(&self, limits: &StoreLimits, client: IpAddr) -> Result<Occupancy, StoreError> {
        Ok(Occupancy {
            used: self.bytes,
            capacity: limits.capacity_bytes / SOFT_SHARE,
            client_usage: self.usage(client),
            clients: self.clients.len() as u64,
        })
    }

    fn purge(&mut self, now_ms: u64) -> Result<PurgeCounts, StoreError> {
        let mut counts = PurgeCounts::default();
        while let Some(&(expiry, id)) = self.expiry.first() {
            if expiry > now_ms {
                break;
            }
            let Some(rec) = self.items.get(&id).cloned() else {
                self.expiry.remove(&(expiry, id));
                continue;
            };
            self.delete_record(&rec)?;
            if rec.is_tombstone() {
                counts.tombstones += 1;
            } else {
                counts.values += 1;
            }
        }
        Ok(counts)
    }

    fn held_under_other_secret(&self, now_ms: u64, id: ItemId) -> Result<bool, StoreError> {
        let lo = ItemId {
            key: id.key,
            secret_hash: [0; 20],
            value_hash: [0; 20],
        };
        let hi = ItemId {
            key: id.key,
            secret_hash: [0xff; 20],
            value_hash: [0xff; 20],
        };
        Ok(self.items.range(lo..=hi).any(|(other, rec)| {
            other.value_hash == id.value_hash
                && other.secret_hash != id.secret_hash
                && !rec.is_tombstone()
                && rec.is_live(now_ms)
        }))
    }
}
