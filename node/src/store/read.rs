//! The read path: `get` and `get_details` with OpenDHT's paging.
//!
//! Values come back in arrival order. A page stops at `maxvals` values or when the next value
//! would take it past [`StoreLimits::max_get_bytes`] (OpenDHT's cap of about one maximal value),
//! but always holds at least one value so paging progresses. The placemark names the last value
//! returned by its position in the order index, so values put or removed between pages neither
//! repeat nor shift the rest; an empty placemark means there is nothing more.

use std::ops::Bound;

use redb::ReadOnlyTable;

use super::error::StoreError;
use super::limits::{GET_ITEM_OVERHEAD, StoreLimits};
use super::record::{DhtKey, HASH_LEN, Hash, Payload, Record, ZERO_HASH, be_u64, hash_at};
use super::tables::{ORDER_LEN, id_from_order_key, load, order_key_parts};

/// Longest placemark OpenDHT accepts (its 77-byte storage key).
pub const MAX_PLACEMARK_LEN: usize = 77;
/// Placemark format version, so old or foreign placemarks are refused, not misread.
const PLACEMARK_VERSION: u8 = 1;
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

/// Where a page starts: just after the placemark's position, or at the key's first value.
fn start_bound(key: DhtKey, placemark: &[u8]) -> Result<Bound<[u8; ORDER_LEN]>, StoreError> {
    if placemark.is_empty() {
        return Ok(Bound::Included(order_key_parts(
            key, 0, &ZERO_HASH, &ZERO_HASH,
        )));
    }
    if placemark.len() != PLACEMARK_LEN || placemark[0] != PLACEMARK_VERSION {
        return Err(StoreError::BadPlacemark(placemark.len()));
    }
    let arrival = be_u64(&placemark[1..9]);
    let (secret, value) = (hash_at(placemark, 9), hash_at(placemark, 9 + HASH_LEN));
    Ok(Bound::Excluded(order_key_parts(
        key, arrival, &secret, &value,
    )))
}

/// The placemark of a returned value.
fn placemark_of(rec: &Record) -> Vec<u8> {
    let mut out = Vec::with_capacity(PLACEMARK_LEN);
    out.push(PLACEMARK_VERSION);
    out.extend_from_slice(&rec.arrival_ms.to_be_bytes());
    out.extend_from_slice(&rec.id.secret_hash);
    out.extend_from_slice(&rec.id.value_hash);
    out
}

/// Reads one page of `key`'s live values.
pub(crate) fn get_page(
    order: &ReadOnlyTable<&'static [u8], ()>,
    items: &ReadOnlyTable<&'static [u8], &'static [u8]>,
    limits: &StoreLimits,
    query: (u64, DhtKey, usize, &[u8]),
) -> Result<Page<ValueDetails>, StoreError> {
    let (now_ms, key, maxvals, placemark) = query;
    let start = start_bound(key, placemark)?;
    let end = order_key_parts(key, u64::MAX, &[0xff; HASH_LEN], &[0xff; HASH_LEN]);
    let start_ref = start.as_ref().map(|k| k.as_slice());
    let (mut values, mut bytes, mut last) = (Vec::new(), 0usize, Vec::new());
    for entry in order.range::<&[u8]>((start_ref, Bound::Included(end.as_slice())))? {
        let id = id_from_order_key(entry?.0.value())?;
        let rec = load(items, id)?.ok_or(StoreError::Corrupt("order index without item"))?;
        let Payload::Value(v) = &rec.payload else {
            continue;
        };
        if !rec.is_live(now_ms) {
            continue;
        }
        let size = v.len() + GET_ITEM_OVERHEAD;
        if values.len() >= maxvals.max(1)
            || (!values.is_empty() && bytes + size > limits.max_get_bytes)
        {
            return Ok(Page {
                values,
                placemark: last,
            });
        }
        bytes += size;
        last = placemark_of(&rec);
        values.push(ValueDetails::of(rec, now_ms));
    }
    Ok(Page {
        values,
        placemark: Vec::new(),
    })
}
