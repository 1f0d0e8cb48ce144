//! Persistent storage of the OpenDHT service: values, tombstones and blob chunks on redb.
//!
//! # What it stores
//!
//! Under each 20-byte DHT key a *set* of values, each identified by (key, secret hash, SHA-1 of
//! value) as in OpenDHT; the same triple put again only extends its TTL. `rm` is stored as a
//! tombstone that lives for its own TTL, so a stale replica cannot bring a removed value back;
//! a tombstone may also arrive before its value. Values expire at their absolute expiry time,
//! are never returned after it, and are deleted by [`Store::purge_expired`].
//!
//! # How it is called
//!
//! The store is synchronous and never reads a clock: every method takes `now_ms`, unix time in
//! milliseconds, from the caller (the runtime, or the simulator's virtual clock). Methods take
//! `&self`: redb serialises writers and lets readers run beside them, so one `Store` can be
//! shared (e.g. in an `Arc`) by the gateway and the replication task.
//!
//! # Durability
//!
//! Every write of a [`StorageClass::Durable`] item commits one redb transaction with immediate
//! durability (an fsync) before it returns `Ok`, so an acknowledged put survives `kill -9`.
//! Under load, [`Store::apply_batch`] applies many operations with one commit (group commit).
//!
//! [`StorageClass::Soft`] items live in an in-memory table ([`soft`]) under the same rules
//! ([`rules`]): no transaction, no file, no fsync. (A redb database on its in-memory backend
//! was measured first: its copy-on-write commit cost as much CPU as the file's commit with its
//! fsync.) Reads see both: a key's durable values come first, then its soft ones, and the
//! repair index covers both, so soft items are re-replicated after joins and failures like any
//! other. The soft table takes at most an eighth of the capacity ([`soft::SOFT_SHARE`]): it is
//! held in RAM, where an item costs about three times its charged bytes.
//!
//! # Fair share
//!
//! See [`quota`] for the admission rule and why it was chosen.

mod chunk;
pub mod digest;
mod error;
mod limits;
mod ops;
mod prefix_map;
mod purge;
pub mod quota;
mod read;
mod record;
mod ring;
mod rules;
mod soft;
mod stats;
mod tables;
mod value_set;
mod write;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use redb::backends::InMemoryBackend;
use redb::{Database, ReadTransaction, ReadableDatabase as _, ReadableTable as _};
use rules::ItemTable;
use soft::SoftTable;

pub use digest::{BucketDigest, Entry, ItemKind, Layout, Summary, SummaryDiff, SummaryIndex, diff};
pub use error::StoreError;
pub use limits::{GET_ITEM_OVERHEAD, ITEM_OVERHEAD, MAX_TTL_SECS, StoreLimits};
pub use ops::{ApplyOutcome, Op, OpOutcome, PutRequest, RemoveOutcome, RemoveRequest};
pub use purge::PurgeCounts;
pub use read::{MAX_PLACEMARK_LEN, Page, ValueDetails};
pub use record::{DhtKey, HASH_LEN, Hash, ItemId, Payload, Record, StorageClass, ZERO_HASH, sha1};
pub use ring::KeyRange;
pub use stats::StoreStats;
pub use value_set::{MAX_GUARDED_VALUES, value_set_digest};

use quota::Admission;
use tables::{CHUNKS, ITEMS, ORDER, Tables, load};

/// The in-memory summaries of both kinds of items (see [`digest`]).
#[derive(Debug, Default)]
struct Indexes {
    values: SummaryIndex,
    chunks: SummaryIndex,
    /// Records per key in the durable table: a key absent here needs no durable read when
    /// its value set is checked (SIP bindings and other soft keys never have one).
    durable_keys: HashMap<DhtKey, u32>,
}

impl Indexes {
    fn of(&mut self, kind: ItemKind) -> &mut SummaryIndex {
        match kind {
            ItemKind::Values => &mut self.values,
            ItemKind::Chunks => &mut self.chunks,
        }
    }

    /// Counts records added to (+1) or deleted from (−1) the durable table under `key`.
    fn count_durable(&mut self, key: DhtKey, delta: i32) {
        let n = self.durable_keys.entry(key).or_insert(0);
        *n = n.saturating_add_signed(delta);
        if *n == 0 {
            self.durable_keys.remove(&key);
        }
    }
}

/// The node's store: one redb database file, one in memory, and the limits it enforces.
pub struct Store {
    /// The database; all durable state lives in it.
    db: Database,
    /// Soft state ([`StorageClass::Soft`]), in memory.
    soft: Mutex<SoftTable>,
    /// Limits checked on every write.
    limits: StoreLimits,
    /// Held from the start of a write transaction until its changes are in `index`, so the
    /// index sees committed changes in commit order.
    writer: Mutex<()>,
    /// Summaries of what the tables hold, for repair digests (derived state, rebuilt at open).
    index: Mutex<Indexes>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the database file at `path` (creating it if absent), e.g. `<data-dir>/store.redb`.
    /// Fails if another process holds it open.
    pub fn open(path: impl AsRef<Path>, limits: StoreLimits) -> Result<Store, StoreError> {
        Store::init(Database::create(path)?, limits)
    }

    /// A store in memory only, for tests and the simulator: same code path, no file.
    pub fn in_memory(limits: StoreLimits) -> Result<Store, StoreError> {
        Store::init(
            Database::builder().create_with_backend(InMemoryBackend::new())?,
            limits,
        )
    }

    /// Creates any missing table, so readers never meet a missing one, and loads the summary
    /// index from the tables.
    fn init(db: Database, limits: StoreLimits) -> Result<Store, StoreError> {
        let store = Store {
            db,
            soft: Mutex::new(SoftTable::default()),
            limits,
            writer: Mutex::new(()),
            index: Mutex::new(Indexes::default()),
        };
        store.write(|_| Ok(()))?;
        // A record or chunk that does not decode is left out (reading it fails the same way
        // later) rather than refusing to open the whole store over it.
        let mut idx = Indexes::default();
        let txn = store.read()?;
        for entry in txn.open_table(ITEMS)?.iter()? {
            let (k, v) = entry?;
            let Ok(id) = ItemId::from_bytes(k.value()) else {
                continue;
            };
            // Counted even if its record does not decode: deleting it counts it out.
            idx.count_durable(id.key, 1);
            if let Ok((expiry, tomb)) = Record::decode_summary(v.value()) {
                idx.values
                    .set(Entry::of_item(&id), Some(digest::meta(expiry, tomb)));
            }
        }
        for entry in txn.open_table(CHUNKS)?.iter()? {
            let (k, v) = entry?;
            if let (Ok(hash), Ok((expiry, _))) =
                (<Hash>::try_from(k.value()), chunk::decode_chunk(v.value()))
            {
                idx.chunks
                    .set(Entry::of_chunk(&hash), Some(digest::meta(expiry, false)));
            }
        }
        *store.indexes() = idx;
        Ok(store)
    }

    /// The summary indexes (a poisoned lock is taken over: the index is only ever changed
    /// whole, one `set` at a time).
    fn indexes(&self) -> MutexGuard<'_, Indexes> {
        self.index
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The limits this store enforces.
    #[must_use]
    pub fn limits(&self) -> &StoreLimits {
        &self.limits
    }

    /// The soft table (a poisoned lock is taken over: every method leaves it consistent).
    fn soft(&self) -> MutexGuard<'_, SoftTable> {
        self.soft
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The writers' lock: held by every write, durable or soft, and by readers that need the
    /// soft table and the index to agree (a poisoned lock is taken over: it guards no data).
    fn writer(&self) -> MutexGuard<'_, ()> {
        self.writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the item table of `class`: in one durable transaction, or on the soft table.
    fn write_in<R>(
        &self,
        class: StorageClass,
        f: impl FnOnce(&mut dyn ItemTable) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        match class {
            StorageClass::Durable => self.write(|t| f(t)),
            StorageClass::Soft => {
                let _writer = self.writer();
                let mut soft = self.soft();
                let out = f(&mut *soft);
                let changes = soft.take_changes();
                drop(soft);
                self.index_changes(changes);
                out
            }
        }
    }

    /// Takes committed summary changes into the repair index, in order.
    fn index_changes(&self, changes: Vec<(ItemKind, Entry, Option<u64>)>) {
        self.index_durable_changes(changes, Vec::new());
    }

    /// [`Store::index_changes`] of a durable transaction, with its per-key record counts.
    fn index_durable_changes(
        &self,
        changes: Vec<(ItemKind, Entry, Option<u64>)>,
        key_deltas: Vec<(DhtKey, i32)>,
    ) {
        if changes.is_empty() && key_deltas.is_empty() {
            return;
        }
        let mut idx = self.indexes();
        for (kind, entry, meta) in changes {
            idx.of(kind).set(entry, meta);
        }
        for (key, delta) in key_deltas {
            idx.count_durable(key, delta);
        }
    }

    /// Whether the durable table holds any record (live or not) under `key`.
    fn durable_holds(&self, key: DhtKey) -> bool {
        self.indexes().durable_keys.contains_key(&key)
    }

    /// Runs `f` over `key`'s durable records within `bounds`, in order. A key the durable
    /// table holds nothing under (SIP bindings, presence: soft values only) gets none without
    /// a read transaction being opened.
    fn with_durable_values<R>(
        &self,
        key: DhtKey,
        bounds: &read::OrderBounds,
        f: impl FnOnce(&mut dyn Iterator<Item = Result<Record, StoreError>>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        if !self.durable_holds(key) {
            return f(&mut std::iter::empty());
        }
        let txn = self.read()?;
        let (order, items) = (txn.open_table(ORDER)?, txn.open_table(ITEMS)?);
        f(&mut read::durable_values(&order, &items, bounds)?)
    }

    /// Runs `f` in one write transaction on the durable database and commits it durably; an
    /// error aborts everything `f` did.
    fn write<R>(
        &self,
        f: impl FnOnce(&mut Tables<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let _writer = self.writer();
        let txn = self.db.begin_write()?;
        let (out, changes, key_deltas) = {
            let mut tables = Tables::open(&txn)?;
            let out = f(&mut tables)?;
            (
                out,
                std::mem::take(&mut tables.changes),
                std::mem::take(&mut tables.key_deltas),
            )
        };
        txn.commit()?;
        self.index_durable_changes(changes, key_deltas);
        Ok(out)
    }

    /// A read snapshot of the durable database.
    fn read(&self) -> Result<ReadTransaction, StoreError> {
        Ok(self.db.begin_read()?)
    }

    /// A client's `put` / `put_removable`. `Ok` means stored durably (or already held, or
    /// suppressed by a tombstone: all OpenDHT status 0). [`StoreError::OverCapacity`] is status 1.
    pub fn put(&self, now_ms: u64, req: &PutRequest) -> Result<ApplyOutcome, StoreError> {
        let rec = req.to_record(now_ms, &self.limits)?;
        self.write_in(req.class, |t| {
            t.apply(now_ms, &self.limits, rec, Admission::Client)
        })
    }

    /// A client's `rm`: stores a tombstone for (key, SHA-1(secret), value hash) that lives for
    /// `ttl_secs` (at least as long as the value it removes). Only a value stored under exactly
    /// that secret hash is deleted; see [`RemoveOutcome`] for what a wrong secret gives.
    pub fn remove(&self, now_ms: u64, req: &RemoveRequest) -> Result<RemoveOutcome, StoreError> {
        let tomb = req.to_record(now_ms, &self.limits)?;
        self.write_in(req.class, |t| t.remove(now_ms, &self.limits, tomb))
    }

    /// Applies a record (value or tombstone) received from another replica under the same TTL
    /// and tombstone rules as a client put. Its hashes are checked, its expiry clamped to one
    /// week; it bypasses the per-client share but not the total capacity (see [`quota`]).
    pub fn insert_replica(&self, now_ms: u64, rec: Record) -> Result<ApplyOutcome, StoreError> {
        let rec = ops::check_replica(rec, now_ms, &self.limits)?;
        self.write_in(rec.class, |t| {
            t.apply(now_ms, &self.limits, rec, Admission::Replica)
        })
    }

    /// Applies many operations with one commit per storage class: one durable commit for the
    /// durable ones (group commit for a loaded gateway), one in memory for the soft ones. Each
    /// operation gets its own result, in order, and a refused one (bad input, over capacity)
    /// does not undo the others. The outer error means a database itself failed; then none of
    /// that class's operations is stored (the soft ones commit first and may be).
    pub fn apply_batch(
        &self,
        now_ms: u64,
        ops: &[Op],
    ) -> Result<Vec<Result<OpOutcome, StoreError>>, StoreError> {
        let mut out: Vec<Option<Result<OpOutcome, StoreError>>> = Vec::new();
        out.resize_with(ops.len(), || None);
        for class in [StorageClass::Soft, StorageClass::Durable] {
            if !ops.iter().any(|op| op.class() == class) {
                continue;
            }
            self.write_in(class, |t| {
                let mine = ops.iter().enumerate().filter(|(_, op)| op.class() == class);
                for (i, op) in mine {
                    match self.apply_op(t, now_ms, op) {
                        Err(e @ StoreError::Db(_)) => return Err(e),
                        r => out[i] = Some(r),
                    }
                }
                Ok(())
            })?;
        }
        Ok(out
            .into_iter()
            .map(|r| r.unwrap_or(Err(StoreError::Corrupt("operation not applied"))))
            .collect())
    }

    /// One operation of a batch.
    fn apply_op(
        &self,
        t: &mut dyn ItemTable,
        now_ms: u64,
        op: &Op,
    ) -> Result<OpOutcome, StoreError> {
        let limits = &self.limits;
        match op {
            Op::Put(req) => {
                let rec = req.to_record(now_ms, limits)?;
                t.apply(now_ms, limits, rec, Admission::Client)
                    .map(OpOutcome::Applied)
            }
            Op::Remove(req) => {
                let tomb = req.to_record(now_ms, limits)?;
                t.remove(now_ms, limits, tomb).map(OpOutcome::Removed)
            }
            Op::Replica(rec) => {
                let rec = ops::check_replica(rec.clone(), now_ms, limits)?;
                t.apply(now_ms, limits, rec, Admission::Replica)
                    .map(OpOutcome::Applied)
            }
        }
    }

    /// OpenDHT `get`: one page of `key`'s live values, at most `maxvals` (at least 1) and about
    /// [`StoreLimits::max_get_bytes`]. Pass the returned placemark back until it is empty.
    pub fn get(
        &self,
        now_ms: u64,
        key: DhtKey,
        maxvals: usize,
        placemark: &[u8],
    ) -> Result<Page<Vec<u8>>, StoreError> {
        let page = self.get_details(now_ms, key, maxvals, placemark)?;
        Ok(Page {
            values: page.values.into_iter().map(|d| d.value).collect(),
            placemark: page.placemark,
        })
    }

    /// OpenDHT `get_details`: like [`Store::get`], with TTL left, hash algorithm and secret hash.
    pub fn get_details(
        &self,
        now_ms: u64,
        key: DhtKey,
        maxvals: usize,
        placemark: &[u8],
    ) -> Result<Page<ValueDetails>, StoreError> {
        if placemark.len() > MAX_PLACEMARK_LEN {
            return Err(StoreError::BadPlacemark(placemark.len()));
        }
        let mut fill = read::PageFill::default();
        let mut mark = placemark;
        let classes: &[StorageClass] = match read::placemark_class(placemark) {
            StorageClass::Durable => &[StorageClass::Durable, StorageClass::Soft],
            StorageClass::Soft => &[StorageClass::Soft],
        };
        for &class in classes {
            let bounds = read::order_bounds(key, mark, class)?;
            let query = (now_ms, maxvals, mark);
            let next = match class {
                StorageClass::Durable => self.with_durable_values(key, &bounds, |values| {
                    read::fill_page(values, &self.limits, query, class, &mut fill)
                })?,
                StorageClass::Soft => {
                    let soft = self.soft();
                    let values = soft.values_after(bounds).cloned().map(Ok);
                    read::fill_page(values, &self.limits, query, class, &mut fill)?
                }
            };
            if !next.is_empty() {
                return Ok(Page {
                    values: fill.values,
                    placemark: next,
                });
            }
            // This database has nothing more: the next one starts at its first value.
            mark = &[];
        }
        Ok(Page {
            values: fill.values,
            placemark: Vec::new(),
        })
    }

    /// Deletes every value, tombstone and chunk expired at `now_ms` from disk (reads already
    /// hide them). Call it periodically; it also runs when a put finds the node full.
    pub fn purge_expired(&self, now_ms: u64) -> Result<PurgeCounts, StoreError> {
        let soft = self.write_in(StorageClass::Soft, |t| t.purge(now_ms))?;
        let durable = self.write(|t| t.purge(now_ms))?;
        Ok(PurgeCounts {
            values: durable.values + soft.values,
            tombstones: durable.tombstones + soft.tombstones,
            chunks: durable.chunks + soft.chunks,
        })
    }

    /// Up to `limit` live records (values and tombstones) whose keys lie in `range`, in ring
    /// order from `range.from`, starting after `after`. For pushing replicas to a new neighbour.
    pub fn records_in_range(
        &self,
        now_ms: u64,
        range: KeyRange,
        after: Option<ItemId>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let items = self.read()?.open_table(ITEMS)?;
        ring::scan(&items, now_ms, range, after, |r| {
            out.push(r);
            out.len() < limit
        })?;
        let durable = out.len();
        {
            // The writer lock keeps a soft write from landing between the table and its index
            // while both are read. Nobody holds the soft table while waiting for the index, so
            // taking the index first cannot deadlock.
            let _writer = self.writer();
            let index = self.indexes();
            self.soft().scan(&index.values, now_ms, range, after, |r| {
                out.push(r);
                out.len() - durable < limit
            });
        }
        // Both lists are in ring order from the same start; keep the first `limit` of the union.
        out.sort_by_key(|r| (range.position(r.id.key), r.id));
        out.truncate(limit);
        Ok(out)
    }

    /// The digest of `layout`'s non-empty buckets over the live items of `kind` (see
    /// [`digest`]): from memory, and from cache for buckets unchanged since the last call.
    pub fn repair_digest(&self, kind: ItemKind, now_ms: u64, layout: Layout) -> Vec<BucketDigest> {
        self.indexes().of(kind).digest(now_ms, layout)
    }

    /// [`Store::repair_digest`] of the buckets in `span` only.
    pub fn repair_digest_within(
        &self,
        kind: ItemKind,
        now_ms: u64,
        layout: Layout,
        span: std::ops::Range<u32>,
    ) -> Vec<BucketDigest> {
        self.indexes().of(kind).digest_within(now_ms, layout, span)
    }

    /// The summaries of the live items of `kind` on `arc`, in ring order from its start (from
    /// memory); compare them with [`diff`].
    pub fn repair_summaries(&self, kind: ItemKind, now_ms: u64, arc: KeyRange) -> Vec<Summary> {
        self.indexes().of(kind).summaries(now_ms, arc)
    }

    /// Items of `kind` held (including expired ones not purged yet).
    pub fn item_count(&self, kind: ItemKind) -> usize {
        self.indexes().of(kind).len()
    }

    /// The live records that these entries name (absent or expired ones are skipped), to send
    /// to a replica after [`diff`]. Reads each entry's key and picks the fingerprint's match.
    pub fn records_for(&self, now_ms: u64, entries: &[Entry]) -> Result<Vec<Record>, StoreError> {
        let mut out = Vec::new();
        let items = self.read()?.open_table(ITEMS)?;
        for e in entries {
            ring::scan(&items, now_ms, KeyRange::single(e.key), None, |r| {
                if e.matches(&r.id) {
                    out.push(r);
                }
                true
            })?;
        }
        let soft = self.soft();
        for e in entries {
            out.extend(
                soft.records_of(e.key)
                    .filter(|r| r.is_live(now_ms) && e.matches(&r.id))
                    .cloned(),
            );
        }
        Ok(out)
    }

    /// The expiry of the live chunk `hash`, if held (from memory).
    pub fn chunk_expiry(&self, now_ms: u64, hash: &Hash) -> Option<u64> {
        self.indexes()
            .chunks
            .get(now_ms, &Entry::of_chunk(hash))
            .map(|m| m & !digest::TOMBSTONE)
    }

    /// The live records with these identities (absent or expired ones are skipped), to send to
    /// a replica after [`diff`].
    ///
    /// A read transaction is opened only when some key has durable records: the root loads
    /// each record it commits to copy it to the replicas, and for a SIP binding (soft state,
    /// never durable) opening one was half the cost of that load.
    pub fn records(&self, now_ms: u64, ids: &[ItemId]) -> Result<Vec<Record>, StoreError> {
        let mut out = Vec::new();
        let items = if ids.iter().any(|id| self.durable_holds(id.key)) {
            Some(self.read()?.open_table(ITEMS)?)
        } else {
            None
        };
        let soft = self.soft();
        for id in ids {
            let durable = match &items {
                Some(items) => load(items, *id)?,
                None => None,
            };
            let held = durable.or_else(|| soft.load(*id).ok().flatten());
            if let Some(rec) = held.filter(|r| r.is_live(now_ms)) {
                out.push(rec);
            }
        }
        Ok(out)
    }

    /// Stores a blob chunk under `hash` after checking that SHA-1 of `bytes` is `hash`; it
    /// expires at `expiry_ms` (clamped to one week ahead). Storing it again extends its expiry.
    pub fn put_chunk(
        &self,
        now_ms: u64,
        hash: &Hash,
        bytes: &[u8],
        expiry_ms: u64,
    ) -> Result<ApplyOutcome, StoreError> {
        let expiry_ms = chunk::check_chunk(now_ms, hash, bytes, expiry_ms, &self.limits)?;
        self.write(|t| t.put_chunk(now_ms, &self.limits, hash, bytes, expiry_ms))
    }

    /// The chunk stored under `hash`, unless absent or expired at `now_ms`.
    pub fn get_chunk(&self, now_ms: u64, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        let chunks = self.read()?.open_table(CHUNKS)?;
        let Some(guard) = chunks.get(hash.as_slice())? else {
            return Ok(None);
        };
        let (expiry, data) = chunk::decode_chunk(guard.value())?;
        Ok((now_ms < expiry).then(|| data.to_vec()))
    }

    /// The live chunks whose hashes lie in `range`, as (hash, expiry), for replica repair:
    /// compare with a neighbour's list and move the missing ones with [`Store::get_chunk`] and
    /// [`Store::put_chunk`].
    pub fn chunks_in_range(
        &self,
        now_ms: u64,
        range: KeyRange,
    ) -> Result<Vec<(Hash, u64)>, StoreError> {
        chunk::chunks_in_range(&self.read()?.open_table(CHUNKS)?, now_ms, range)
    }

    /// Bytes currently charged to `client` (values and tombstones it stored, until purged).
    pub fn client_usage(&self, client: IpAddr) -> Result<u64, StoreError> {
        Ok(stats::client_usage(&self.read()?, client)? + self.soft().usage(client))
    }
}
