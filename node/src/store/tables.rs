//! The redb tables and the encodings of their keys.
//!
//! * `items`: [`ItemId`] → encoded [`Record`] (values and tombstones); sorted by DHT key, so a
//!   ring range is one or two table ranges.
//! * `order`: key ‖ arrival ‖ secret hash ‖ value hash → `()`, values only: the `get` order
//!   (arrival first, as OpenDHT) and what a placemark points into.
//! * `expiry`: expiry ‖ tag ‖ id → `()`: what `purge_expired` walks, oldest first.
//! * `clients`: client address → bytes charged (rows with zero usage are deleted, so the row
//!   count is the number of active clients).
//! * `meta`: counter name → u64 (bytes used, values, tombstones, chunks).
//! * `chunks`: SHA-1 → expiry ‖ bytes.

use redb::{ReadableTable, Table, TableDefinition, WriteTransaction};

use super::digest::{Entry, ItemKind};
use super::error::StoreError;
use super::record::{DhtKey, HASH_LEN, Hash, ID_LEN, ItemId, Record};

/// Values and tombstones by identity.
pub(crate) const ITEMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("items");
/// `get` order index over live values.
pub(crate) const ORDER: TableDefinition<&[u8], ()> = TableDefinition::new("order");
/// Expiry index over items and chunks.
pub(crate) const EXPIRY: TableDefinition<&[u8], ()> = TableDefinition::new("expiry");
/// Per-client charged bytes.
pub(crate) const CLIENTS: TableDefinition<&[u8], u64> = TableDefinition::new("clients");
/// Counters.
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Content-addressed blob chunks.
pub(crate) const CHUNKS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("chunks");

/// Counter: bytes charged against capacity.
pub(crate) const META_BYTES: &str = "bytes";
/// Counter: stored values (including expired ones not yet purged).
pub(crate) const META_VALUES: &str = "values";
/// Counter: stored tombstones.
pub(crate) const META_TOMBSTONES: &str = "tombstones";
/// Counter: stored chunks.
pub(crate) const META_CHUNKS: &str = "chunks";

/// Expiry-index tag of an item (values and tombstones).
pub(crate) const TAG_ITEM: u8 = 0;
/// Expiry-index tag of a chunk.
pub(crate) const TAG_CHUNK: u8 = 1;

/// Length of an order-index key: DHT key, arrival, secret hash, value hash.
pub(crate) const ORDER_LEN: usize = HASH_LEN + 8 + 2 * HASH_LEN;

/// The order-index key of a value record.
pub(crate) fn order_key(rec: &Record) -> [u8; ORDER_LEN] {
    order_key_parts(
        rec.id.key,
        rec.arrival_ms,
        &rec.id.secret_hash,
        &rec.id.value_hash,
    )
}

/// The order-index key from its parts (also used to rebuild a placemark position).
pub(crate) fn order_key_parts(
    key: DhtKey,
    arrival_ms: u64,
    secret: &Hash,
    value: &Hash,
) -> [u8; ORDER_LEN] {
    let mut out = [0; ORDER_LEN];
    out[..HASH_LEN].copy_from_slice(&key.0);
    out[HASH_LEN..HASH_LEN + 8].copy_from_slice(&arrival_ms.to_be_bytes());
    out[HASH_LEN + 8..HASH_LEN + 8 + HASH_LEN].copy_from_slice(secret);
    out[HASH_LEN + 8 + HASH_LEN..].copy_from_slice(value);
    out
}

/// The item identity an order-index key points at.
pub(crate) fn id_from_order_key(bytes: &[u8]) -> Result<ItemId, StoreError> {
    if bytes.len() != ORDER_LEN {
        return Err(StoreError::Corrupt("order key length"));
    }
    let mut id = [0; ID_LEN];
    id[..HASH_LEN].copy_from_slice(&bytes[..HASH_LEN]);
    id[HASH_LEN..].copy_from_slice(&bytes[HASH_LEN + 8..]);
    ItemId::from_bytes(&id)
}

/// An expiry-index key: expiry (big-endian, so the index sorts by time), tag, identity bytes.
pub(crate) fn expiry_key(expiry_ms: u64, tag: u8, id: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + id.len());
    out.extend_from_slice(&expiry_ms.to_be_bytes());
    out.push(tag);
    out.extend_from_slice(id);
    out
}

/// Loads the record stored under `id`, from any readable items table.
pub(crate) fn load<T>(items: &T, id: ItemId) -> Result<Option<Record>, StoreError>
where
    T: ReadableTable<&'static [u8], &'static [u8]>,
{
    let bytes = id.to_bytes();
    match items.get(bytes.as_slice())? {
        Some(guard) => Ok(Some(Record::decode(id, guard.value())?)),
        None => Ok(None),
    }
}

/// Every table, opened in one write transaction. Dropped before the commit.
pub(crate) struct Tables<'t> {
    /// See [`ITEMS`].
    pub items: Table<'t, &'static [u8], &'static [u8]>,
    /// See [`ORDER`].
    pub order: Table<'t, &'static [u8], ()>,
    /// See [`EXPIRY`].
    pub expiry: Table<'t, &'static [u8], ()>,
    /// See [`CLIENTS`].
    pub clients: Table<'t, &'static [u8], u64>,
    /// See [`META`].
    pub meta: Table<'t, &'static str, u64>,
    /// See [`CHUNKS`].
    pub chunks: Table<'t, &'static [u8], &'static [u8]>,
    /// Every change to an item's or chunk's summary made in this transaction, in order
    /// (`None`: deleted), applied to the in-memory [`SummaryIndex`](super::digest::SummaryIndex)
    /// once the transaction commits.
    pub changes: Vec<(ItemKind, Entry, Option<u64>)>,
    /// Records added (+1) and deleted (−1) per key in this transaction, for
    /// [`Store`](super::Store)'s count of keys the durable table holds records for.
    pub key_deltas: Vec<(DhtKey, i32)>,
}

impl<'t> Tables<'t> {
    /// Opens (creating if needed) every table in `txn`.
    pub(crate) fn open(txn: &'t WriteTransaction) -> Result<Tables<'t>, StoreError> {
        Ok(Tables {
            items: txn.open_table(ITEMS)?,
            order: txn.open_table(ORDER)?,
            expiry: txn.open_table(EXPIRY)?,
            clients: txn.open_table(CLIENTS)?,
            meta: txn.open_table(META)?,
            chunks: txn.open_table(CHUNKS)?,
            changes: Vec::new(),
            key_deltas: Vec::new(),
        })
    }

    /// Reads a counter (0 if never written).
    pub(crate) fn counter(&self, name: &str) -> Result<u64, StoreError> {
        Ok(self.meta.get(name)?.map_or(0, |g| g.value()))
    }

    /// Adds `delta` to a counter, saturating at 0 (a damaged counter must not wrap).
    pub(crate) fn bump(&mut self, name: &str, delta: i64) -> Result<(), StoreError> {
        let now = self.counter(name)?;
        self.meta.insert(name, now.saturating_add_signed(delta))?;
        Ok(())
    }
}
