//! The in-memory table of [`StorageClass::Soft`](super::StorageClass::Soft) items: the same
//! item model and rules as the redb tables ([`super::rules`]), with no transaction and no
//! file. A write here costs a few map updates instead of a copy-on-write commit and an fsync,
//! which is what soft state refreshed by its owner can afford.
//!
//! Soft state is many keys with a few values each (a SIP address-of-record's bindings, a
//! service's providers), written at the rate devices register. So records are grouped by key in
//! a hash map, each key's records in `get` order, and expiry is kept in per-second buckets that
//! are appended to and checked lazily. The ring order that range scans (handoff) need is the
//! store's summary index's, which holds every soft item anyway: with a million bindings a
//! B-tree descent is a handful of cache misses, and a write used to pay three (find the old
//! record, insert it, index it); now it pays the index's alone.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::ops::Bound;

use super::digest::{Entry, ItemKind, SummaryIndex, meta};
use super::error::StoreError;
use super::limits::StoreLimits;
use super::purge::PurgeCounts;
use super::quota::Occupancy;
use super::read::OrderBounds;
use super::record::{DhtKey, ItemId, Record, StorageClass, cmp_hash, hash_at};
use super::ring::KeyRange;
use super::rules::ItemTable;
use super::tables::order_key;

/// The soft table may hold this fraction of the store's capacity: it lives in RAM, where an
/// item (record, B-tree entries, index entry) costs about three times its charged bytes.
pub(crate) const SOFT_SHARE: u64 = 8;

/// Expiry entries allowed beyond twice the records held before the buckets are rebuilt.
const EXPIRY_SLACK: usize = 4096;

/// Soft items by key with their expiry buckets and per-client charges.
#[derive(Debug, Default)]
pub(crate) struct SoftTable {
    /// Values and tombstones by key (`class` is always `Soft`), each key's in `get` order:
    /// arrival, then secret hash, then value hash.
    keys: HashMap<DhtKey, Vec<Record>, ahash::RandomState>,
    /// Identities by expiry second, what purging walks. A deleted or extended record leaves
    /// its entry behind (purging checks each entry against the record it names), so entries
    /// are only ever appended; they are rebuilt when stale ones outnumber the records.
    expiry: BTreeMap<u64, Vec<ItemId>>,
    /// Entries in `expiry`, stale ones included.
    expiry_entries: usize,
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

/// `get` order within a key.
fn order_cmp(a: &Record, b: &Record) -> std::cmp::Ordering {
    a.arrival_ms
        .cmp(&b.arrival_ms)
        .then_with(|| cmp_hash(&a.id.secret_hash, &b.id.secret_hash))
        .then_with(|| cmp_hash(&a.id.value_hash, &b.id.value_hash))
}

/// The expiry bucket of `expiry_ms`.
fn second(expiry_ms: u64) -> u64 {
    expiry_ms / 1000
}

impl SoftTable {
    /// The summary changes made since the last call, for the repair index.
    pub(crate) fn take_changes(&mut self) -> Vec<(ItemKind, Entry, Option<u64>)> {
        std::mem::take(&mut self.changes)
    }

    /// The values within `range` of order keys (start bound, last key included), in `get`
    /// order: one key's values after a placemark (the page filler skips expired ones).
    pub(crate) fn values_after(&self, range: OrderBounds) -> impl Iterator<Item = &Record> {
        let (start, end) = range;
        let key = DhtKey(hash_at(&end, 0));
        self.records_of(key).filter(move |r| {
            if r.is_tombstone() {
                return false;
            }
            let k = order_key(r);
            let after_start = match &start {
                Bound::Included(s) => k >= *s,
                Bound::Excluded(s) => k > *s,
                Bound::Unbounded => true,
            };
            after_start && k <= end
        })
    }

    /// The live records on `range` in ring order from its start (by identity within a key),
    /// after `after` if given; `visit` returns false to stop. The order of keys comes from
    /// `index`, the store's summary index of values, which names every soft item.
    pub(crate) fn scan(
        &self,
        index: &SummaryIndex,
        now_ms: u64,
        range: KeyRange,
        after: Option<ItemId>,
        mut visit: impl FnMut(Record) -> bool,
    ) {
        let mut started = after.is_none();
        for (lo, hi) in range.segments() {
            let mut lower = Bound::Included(lo);
            let mut resume = None;
            if let (false, Some(a)) = (started, after) {
                if a.key < lo || hi.is_some_and(|h| a.key >= h) {
                    continue;
                }
                lower = Bound::Included(a.key);
                resume = Some(a);
            }
            started = true;
            let upper = hi.map_or(Bound::Unbounded, Bound::Excluded);
            let keys = index.keys_in(lower, upper);
            for recs in keys.filter_map(|k| self.keys.get(&k)) {
                let mut by_id: Vec<&Record> = recs.iter().collect();
                by_id.sort_unstable_by_key(|r| r.id);
                for rec in by_id {
                    if resume.is_some_and(|a| rec.id <= a) {
                        continue;
                    }
                    if rec.is_live(now_ms) && !visit(rec.clone()) {
                        return;
                    }
                }
                resume = None;
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

    /// Every record under `key`, live or not, in `get` order.
    pub(crate) fn records_of(&self, key: DhtKey) -> impl Iterator<Item = &Record> {
        self.keys.get(&key).map_or(&[][..], Vec::as_slice).iter()
    }

    /// The record stored under `id`.
    fn find(&self, id: ItemId) -> Option<&Record> {
        self.keys.get(&id.key)?.iter().find(|r| r.id == id)
    }

    /// Notes that `id` expires at `expiry_ms`, rebuilding the buckets when stale entries
    /// have piled up.
    fn expire_at(&mut self, expiry_ms: u64, id: ItemId) {
        self.expiry.entry(second(expiry_ms)).or_default().push(id);
        self.expiry_entries += 1;
        let held = usize::try_from(self.values + self.tombstones).unwrap_or(usize::MAX);
        if self.expiry_entries > held.saturating_mul(2).saturating_add(EXPIRY_SLACK) {
            let mut rebuilt: BTreeMap<u64, Vec<ItemId>> = BTreeMap::new();
            for rec in self.keys.values().flatten() {
                rebuilt
                    .entry(second(rec.expiry_ms))
                    .or_default()
                    .push(rec.id);
            }
            self.expiry = rebuilt;
            self.expiry_entries = held;
        }
    }
}

impl ItemTable for SoftTable {
    fn load(&self, id: ItemId) -> Result<Option<Record>, StoreError> {
        Ok(self.find(id).cloned())
    }

    fn insert_record(&mut self, rec: Record) -> Result<(), StoreError> {
        let rec = Record {
            class: StorageClass::Soft,
            ..rec
        };
        self.changes.push((
            ItemKind::Values,
            Entry::of_item(&rec.id),
            Some(meta(rec.expiry_ms, rec.is_tombstone())),
        ));
        if rec.is_tombstone() {
            self.tombstones += 1;
        } else {
            self.values += 1;
        }
        self.charge(rec.client, rec.cost(), true);
        let (expiry_ms, id) = (rec.expiry_ms, rec.id);
        let recs = self.keys.entry(rec.id.key).or_default();
        let at = recs.partition_point(|r| order_cmp(r, &rec).is_lt());
        recs.insert(at, rec);
        self.expire_at(expiry_ms, id);
        Ok(())
    }

    fn delete_record(&mut self, rec: &Record) -> Result<(), StoreError> {
        let Some(recs) = self.keys.get_mut(&rec.id.key) else {
            return Ok(());
        };
        let Some(at) = recs.iter().position(|r| r.id == rec.id) else {
            return Ok(());
        };
        let old = recs.remove(at);
        if recs.is_empty() {
            self.keys.remove(&rec.id.key);
        }
        self.changes
            .push((ItemKind::Values, Entry::of_item(&old.id), None));
        if old.is_tombstone() {
            self.tombstones = self.tombstones.saturating_sub(1);
        } else {
            self.values = self.values.saturating_sub(1);
        }
        self.charge(old.client, old.cost(), false);
        Ok(())
    }

    fn extend(&mut self, old: &Record, expiry_ms: u64) -> Result<(), StoreError> {
        let Some(rec) = self
            .keys
            .get_mut(&old.id.key)
            .and_then(|recs| recs.iter_mut().find(|r| r.id == old.id))
        else {
            return Ok(());
        };
        rec.expiry_ms = expiry_ms;
        self.changes.push((
            ItemKind::Values,
            Entry::of_item(&old.id),
            Some(meta(expiry_ms, old.is_tombstone())),
        ));
        self.expire_at(expiry_ms, old.id);
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
        while let Some(entry) = self.expiry.first_entry() {
            let sec = *entry.key();
            if sec > second(now_ms) {
                break;
            }
            let ids = entry.remove();
            self.expiry_entries = self.expiry_entries.saturating_sub(ids.len());
            let mut not_yet = Vec::new();
            for id in ids {
                // An entry whose record is gone or now expires in another bucket is stale.
                let Some(rec) = self.find(id).filter(|r| second(r.expiry_ms) == sec) else {
                    continue;
                };
                if rec.expiry_ms > now_ms {
                    not_yet.push(id);
                    continue;
                }
                let rec = rec.clone();
                self.delete_record(&rec)?;
                if rec.is_tombstone() {
                    counts.tombstones += 1;
                } else {
                    counts.values += 1;
                }
            }
            if !not_yet.is_empty() {
                // Only the current second can be partly due; it is the last bucket looked at.
                self.expiry_entries += not_yet.len();
                self.expiry.insert(sec, not_yet);
                break;
            }
        }
        Ok(counts)
    }

    fn held_under_other_secret(&self, now_ms: u64, id: ItemId) -> Result<bool, StoreError> {
        Ok(self.keys.get(&id.key).is_some_and(|recs| {
            recs.iter().any(|rec| {
                rec.id.value_hash == id.value_hash
                    && rec.id.secret_hash != id.secret_hash
                    && !rec.is_tombstone()
                    && rec.is_live(now_ms)
            })
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::store::quota::Admission;
    use crate::store::record::Payload;

    const T0: u64 = 1_700_000_000_000;

    fn rec(key: u8, value: u8, expiry_ms: u64) -> Record {
        let v = vec![value; 8];
        Record {
            id: ItemId {
                key: DhtKey([key; 20]),
                secret_hash: [0; 20],
                value_hash: crate::store::sha1(&v),
            },
            payload: Payload::Value(v),
            expiry_ms,
            arrival_ms: T0,
            client: IpAddr::V4(Ipv4Addr::LOCALHOST),
            class: StorageClass::Soft,
        }
    }

    fn apply(t: &mut SoftTable, r: Record) {
        t.apply(T0, &StoreLimits::default(), r, Admission::Replica)
            .unwrap();
    }

    #[test]
    fn an_extended_record_outlives_its_first_expiry_bucket() {
        let mut t = SoftTable::default();
        apply(&mut t, rec(1, 1, T0 + 1_000));
        apply(&mut t, rec(1, 1, T0 + 5_000));
        assert_eq!(t.purge(T0 + 2_000).unwrap().values, 0);
        assert_eq!(t.counts().0, 1);
        assert_eq!(t.purge(T0 + 5_000).unwrap().values, 1);
        assert_eq!(t.counts().0, 0);
        assert!(t.expiry.is_empty() && t.keys.is_empty());
    }

    #[test]
    fn a_partly_due_second_keeps_what_is_not_due_yet() {
        let mut t = SoftTable::default();
        apply(&mut t, rec(1, 1, T0 + 100));
        apply(&mut t, rec(2, 2, T0 + 900));
        assert_eq!(t.purge(T0 + 500).unwrap().values, 1);
        assert_eq!(t.counts().0, 1);
        assert_eq!(t.purge(T0 + 900).unwrap().values, 1);
        assert_eq!(t.expiry_entries, 0);
    }

    #[test]
    fn churn_does_not_pile_up_expiry_entries() {
        let mut t = SoftTable::default();
        // Each refresh leaves a stale entry behind; the buckets are rebuilt before stale
        // entries outnumber the records by more than the slack.
        for round in 0..20_000u64 {
            apply(&mut t, rec(1, 1, T0 + 10_000 + round * 1_000));
        }
        assert_eq!(t.counts().0, 1);
        assert!(t.expiry_entries <= 2 + EXPIRY_SLACK, "{}", t.expiry_entries);
        assert_eq!(t.purge(T0 + 10_000 + 20_000 * 1_000).unwrap().values, 1);
        assert_eq!(t.counts().0, 0);
    }
}
