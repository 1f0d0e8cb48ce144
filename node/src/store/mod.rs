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
//! Every write method commits one redb transaction with immediate durability (an fsync) before
//! it returns `Ok`, so an acknowledged put survives `kill -9`. Under load,
//! [`Store::apply_batch`] applies many operations with one commit (group commit).
//!
//! # Fair share
//!
//! See [`quota`] for the admission rule and why it was chosen.

mod chunk;
pub mod digest;
mod error;
mod limits;
mod ops;
mod purge;
pub mod quota;
mod read;
mod record;
mod ring;
mod stats;
mod tables;
mod write;

#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::path::Path;

use redb::backends::InMemoryBackend;
use redb::{Database, ReadTransaction, ReadableDatabase as _};

pub use digest::{BucketDigest, ItemSummary, RangeDigest, SummaryDiff, bucket_of, diff};
pub use error::StoreError;
pub use limits::{GET_ITEM_OVERHEAD, ITEM_OVERHEAD, MAX_TTL_SECS, StoreLimits};
pub use ops::{ApplyOutcome, Op, OpOutcome, PutRequest, RemoveOutcome, RemoveRequest};
pub use purge::PurgeCounts;
pub use read::{MAX_PLACEMARK_LEN, Page, ValueDetails};
pub use record::{DhtKey, HASH_LEN, Hash, ItemId, Payload, Record, ZERO_HASH, sha1};
pub use ring::KeyRange;
pub use stats::StoreStats;

use digest::DigestBuilder;
use quota::Admission;
use tables::{CHUNKS, ITEMS, ORDER, Tables, load};

/// The node's store: one redb database file plus the limits it enforces.
pub struct Store {
    /// The database; all state lives in it, none in memory beside it.
    db: Database,
    /// Limits checked on every write.
    limits: StoreLimits,
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

    /// Creates any missing table, so readers never meet a missing one.
    fn init(db: Database, limits: StoreLimits) -> Result<Store, StoreError> {
        let store = Store { db, limits };
        store.write(|_| Ok(()))?;
        Ok(store)
    }

    /// The limits this store enforces.
    #[must_use]
    pub fn limits(&self) -> &StoreLimits {
        &self.limits
    }

    /// Runs `f` in one write transaction and commits it durably; an error aborts everything `f` did.
    fn write<R>(
        &self,
        f: impl FnOnce(&mut Tables<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let txn = self.db.begin_write()?;
        let out = {
            let mut tables = Tables::open(&txn)?;
            f(&mut tables)?
        };
        txn.commit()?;
        Ok(out)
    }

    /// A read snapshot.
    fn read(&self) -> Result<ReadTransaction, StoreError> {
        Ok(self.db.begin_read()?)
    }

    /// A client's `put` / `put_removable`. `Ok` means stored durably (or already held, or
    /// suppressed by a tombstone: all OpenDHT status 0). [`StoreError::OverCapacity`] is status 1.
    pub fn put(&self, now_ms: u64, req: &PutRequest) -> Result<ApplyOutcome, StoreError> {
        let rec = req.to_record(now_ms, &self.limits)?;
        self.write(|t| t.apply(now_ms, &self.limits, rec, Admission::Client))
    }

    /// A client's `rm`: stores a tombstone for (key, SHA-1(secret), value hash) that lives for
    /// `ttl_secs` (at least as long as the value it removes). Only a value stored under exactly
    /// that secret hash is deleted; see [`RemoveOutcome`] for what a wrong secret gives.
    pub fn remove(&self, now_ms: u64, req: &RemoveRequest) -> Result<RemoveOutcome, StoreError> {
        let tomb = req.to_record(now_ms, &self.limits)?;
        self.write(|t| t.remove(now_ms, &self.limits, tomb))
    }

    /// Applies a record (value or tombstone) received from another replica under the same TTL
    /// and tombstone rules as a client put. Its hashes are checked, its expiry clamped to one
    /// week; it bypasses the per-client share but not the total capacity (see [`quota`]).
    pub fn insert_replica(&self, now_ms: u64, rec: Record) -> Result<ApplyOutcome, StoreError> {
        let rec = ops::check_replica(rec, now_ms, &self.limits)?;
        self.write(|t| t.apply(now_ms, &self.limits, rec, Admission::Replica))
    }

    /// Applies many operations in one transaction with one durable commit (group commit for a
    /// loaded gateway). Each operation gets its own result, and a refused one (bad input, over
    /// capacity) does not undo the others. The outer error means the database itself failed,
    /// and then none of the operations is stored.
    pub fn apply_batch(
        &self,
        now_ms: u64,
        ops: &[Op],
    ) -> Result<Vec<Result<OpOutcome, StoreError>>, StoreError> {
        self.write(|t| {
            let mut out = Vec::with_capacity(ops.len());
            for op in ops {
                match self.apply_op(t, now_ms, op) {
                    Err(e @ StoreError::Db(_)) => return Err(e),
                    r => out.push(r),
                }
            }
            Ok(out)
        })
    }

    /// One operation of a batch.
    fn apply_op(&self, t: &mut Tables<'_>, now_ms: u64, op: &Op) -> Result<OpOutcome, StoreError> {
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
        let txn = self.read()?;
        let (order, items) = (txn.open_table(ORDER)?, txn.open_table(ITEMS)?);
        read::get_page(
            &order,
            &items,
            &self.limits,
            (now_ms, key, maxvals, placemark),
        )
    }

    /// Deletes every value, tombstone and chunk expired at `now_ms` from disk (reads already
    /// hide them). Call it periodically; it also runs when a put finds the node full.
    pub fn purge_expired(&self, now_ms: u64) -> Result<PurgeCounts, StoreError> {
        self.write(|t| t.purge(now_ms))
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
        let items = self.read()?.open_table(ITEMS)?;
        let mut out = Vec::new();
        if limit > 0 {
            ring::scan(&items, now_ms, range, after, |r| {
                out.push(r);
                out.len() < limit
            })?;
        }
        Ok(out)
    }

    /// The digest of `range` with `2^bits` buckets (see [`digest`]).
    pub fn digest(
        &self,
        now_ms: u64,
        range: KeyRange,
        bits: u8,
    ) -> Result<RangeDigest, StoreError> {
        let items = self.read()?.open_table(ITEMS)?;
        let mut builder = DigestBuilder::new(bits);
        ring::scan(&items, now_ms, range, None, |r| {
            builder.add(&ItemSummary::of(&r));
            true
        })?;
        Ok(builder.finish())
    }

    /// Summaries of the live records in `range`, restricted to bucket `bucket.1` of a
    /// `bucket.0`-bit digest if given; compare them with [`diff`].
    pub fn summaries(
        &self,
        now_ms: u64,
        range: KeyRange,
        bucket: Option<(u8, u32)>,
    ) -> Result<Vec<ItemSummary>, StoreError> {
        let items = self.read()?.open_table(ITEMS)?;
        let mut out = Vec::new();
        ring::scan(&items, now_ms, range, None, |r| {
            if bucket.is_none_or(|(bits, b)| bucket_of(r.id.key, bits) == b) {
                out.push(ItemSummary::of(&r));
            }
            true
        })?;
        Ok(out)
    }

    /// The live records with these identities (absent or expired ones are skipped), to send to
    /// a replica after [`diff`].
    pub fn records(&self, now_ms: u64, ids: &[ItemId]) -> Result<Vec<Record>, StoreError> {
        let items = self.read()?.open_table(ITEMS)?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(rec) = load(&items, *id)?.filter(|r| r.is_live(now_ms)) {
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
        stats::client_usage(&self.read()?, client)
    }
}
