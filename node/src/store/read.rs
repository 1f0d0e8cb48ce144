//! The read path: `get` and `get_details` with OpenDHT's paging.
//!
//! Values come back in arrival order. A page stops at `maxvals` values or when the next value
//! would take it past [`StoreLimits::max_get_bytes`] (OpenDHT's cap of about one maximal value),
//! but always holds at least one value so paging progresses. The placemark names the last value
//! returned by its position in the order index, so values put or removed between pages neither
//! repeat nor shift the rest; an empty placemark means there is nothing more.
//!
//! A key's durable values come first, then its soft ones (the in-memory database); the
//! placemark's first byte says which database it points into.

use std::ops::Bound;

use redb::ReadOnlyTable;

use super::error::StoreError;
use super::limits::{GET_ITEM_OVERHEAD, StoreLimits};
use super::record::{
    DhtKey, HASH_LEN, Hash, Payload, Record, StorageClass, ZERO_HASH, be_u64, hash_at,
};
use super::tables::{ORDER_LEN, id_from_order_key, load, order_key_parts};

/// Longest placemark OpenDHT accepts (its 77-byte storage key).
pub const MAX_PLACEMARK_LEN: usize = 77;
/// Placemark format version of a position among durable values, so old or foreign placemarks
/// are refused, not misread.
const PLACEMARK_VERSION: u8 = 1;
/// Placemark format version of a position among soft values.
const PLACEMARK_SOFT: u8 = 2;
/// Length of our placemarks: version, arrival, secret hash, value hash.
const PLACEMARK_LEN: usize = 1 + 8 + 2 * HASH_LEN;

/// One page of a `get`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The values of this page, in arrival order.
    pub values: Vec<T>,
    /// Opaque; pass it back for the next page. Empty when there are no more values.
    pub placemark: Vec<u8>,
}

/// A value as `get_details` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueDetails {
    /// The value bytes.
    pub value: Vec<u8>,
    /// Whole seconds left to live, truncated.
    pub ttl_remaining_secs: u64,
    /// `"SHA"` for removable values, `""` for plain puts (OpenDHT's documented intent).
    pub hash_alg: &'static str,
    /// The stored secret hash; `None` for plain puts.
    pub secret_hash: Option<Hash>,
}

impl ValueDetails {
    /// The details of a live value record at `now_ms`.
    fn of(rec: Record, now_ms: u64) -> ValueDetails {
        let removable = rec.id.secret_hash != ZERO_HASH;
        let value = match rec.payload {
            Payload::Value(v) => v,
            Payload::Tombstone { .. } => Vec::new(),
        };
        ValueDetails {
            value,
            ttl_remaining_secs: rec.expiry_ms.saturating_sub(now_ms) / 1000,
            hash_alg: if removable { "SHA" } else { "" },
            secret_hash: removable.then_some(rec.id.secret_hash),
        }
    }
}

/// Which database a placemark points into: the soft one, or (empty or version 1) the durable
/// one. A malformed placemark is refused when it is used.
pub(crate) fn placemark_class(placemark: &[u8]) -> StorageClass {
    if placemark.first() == Some(&PLACEMARK_SOFT) {
        StorageClass::Soft
    } else {
        StorageClass::Durable
    }
}

/// The placemark of the position before a key's first soft value: where a page that ended
/// with the last durable value continues.
fn soft_start() -> Vec<u8> {
    let mut out = vec![0; PLACEMARK_LEN];
    out[0] = PLACEMARK_SOFT;
    out
}

/// The placemark version of positions in the database of `class`.
fn version_of(class: StorageClass) -> u8 {
    match class {
        StorageClass::Durable => PLACEMARK_VERSION,
        StorageClass::Soft => PLACEMARK_SOFT,
    }
}

/// Where a page starts: just after the placemark's position, or at the key's first value.
fn start_bound(
    key: DhtKey,
    placemark: &[u8],
    class: StorageClass,
) -> Result<Bound<[u8; ORDER_LEN]>, StoreError> {
    if placemark.is_empty() {
        return Ok(Bound::Included(order_key_parts(
            key, 0, &ZERO_HASH, &ZERO_HASH,
        )));
    }
    if placemark.len() != PLACEMARK_LEN || placemark[0] != version_of(class) {
        return Err(StoreError::BadPlacemark(placemark.len()));
    }
    let arrival = be_u64(&placemark[1..9]);
    let (secret, value) = (hash_at(placemark, 9), hash_at(placemark, 9 + HASH_LEN));
    Ok(Bound::Excluded(order_key_parts(
        key, arrival, &secret, &value,
    )))
}

/// The placemark of a returned value.
fn placemark_of(rec: &Record, class: StorageClass) -> Vec<u8> {
    let mut out = Vec::with_capacity(PLACEMARK_LEN);
    out.push(version_of(class));
    out.extend_from_slice(&rec.arrival_ms.to_be_bytes());
    out.extend_from_slice(&rec.id.secret_hash);
    out.extend_from_slice(&rec.id.value_hash);
    out
}

/// A page being filled, possibly from both databases.
#[derive(Debug, Default)]
pub(crate) struct PageFill {
    /// Values so far.
    pub(crate) values: Vec<ValueDetails>,
    /// Their bytes as the page budget counts them.
    pub(crate) bytes: usize,
}

/// Where a key's records start (after a placemark, or from the first) and end in the
/// order index.
pub(crate) type OrderBounds = (Bound<[u8; ORDER_LEN]>, [u8; ORDER_LEN]);

/// The order-key bounds of the values of `key` after `placemark` in the table of `class`.
pub(crate) fn order_bounds(
    key: DhtKey,
    placemark: &[u8],
    class: StorageClass,
) -> Result<OrderBounds, StoreError> {
    let start = start_bound(key, placemark, class)?;
    let end = order_key_parts(key, u64::MAX, &[0xff; HASH_LEN], &[0xff; HASH_LEN]);
    Ok((start, end))
}

/// Reads `key`'s values from the durable tables, in `get` order within `bounds`.
pub(crate) fn durable_values<'t>(
    order: &'t ReadOnlyTable<&'static [u8], ()>,
    items: &'t ReadOnlyTable<&'static [u8], &'static [u8]>,
    bounds: &OrderBounds,
) -> Result<impl Iterator<Item = Result<Record, StoreError>> + 't, StoreError> {
    let start = bounds.0.as_ref().map(|k| k.as_slice());
    let range = order.range::<&[u8]>((start, Bound::Included(bounds.1.as_slice())))?;
    Ok(range.map(move |entry| {
        let id = id_from_order_key(entry?.0.value())?;
        load(items, id)?.ok_or(StoreError::Corrupt("order index without item"))
    }))
}

/// Adds the live values among `records` (one table's values of `key` in `get` order, after
/// `placemark`) to `fill`; returns the placemark to continue from when the page filled up
/// first (empty: this table has no more values of `key`).
pub(crate) fn fill_page(
    records: impl Iterator<Item = Result<Record, StoreError>>,
    limits: &StoreLimits,
    query: (u64, usize, &[u8]),
    class: StorageClass,
    fill: &mut PageFill,
) -> Result<Vec<u8>, StoreError> {
    let (now_ms, maxvals, placemark) = query;
    // A full page continues from the placemark it was given (or the first value).
    let mut last = placemark.to_vec();
    if last.is_empty() && class == StorageClass::Soft {
        last = soft_start();
    }
    for rec in records {
        let rec = rec?;
        let Payload::Value(v) = &rec.payload else {
            continue;
        };
        if !rec.is_live(now_ms) {
            continue;
        }
        let size = v.len() + GET_ITEM_OVERHEAD;
        if fill.values.len() >= maxvals.max(1)
            || (!fill.values.is_empty() && fill.bytes + size > limits.max_get_bytes)
        {
            return Ok(last);
        }
        fill.bytes += size;
        last = placemark_of(&rec, class);
        fill.values.push(ValueDetails::of(rec, now_ms));
    }
    Ok(Vec::new())
}
