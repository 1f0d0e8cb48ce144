//! Ring ranges of the 160-bit key space, and scanning the records stored in one.
//!
//! The DHT layer keeps each value on the key's root and its leaf-set neighbours, so it asks for
//! "everything between these two node ids" when replicas must be pushed or compared.

use std::ops::Bound;

use redb::ReadOnlyTable;

use super::error::StoreError;
use super::record::{DhtKey, HASH_LEN, ID_LEN, ItemId, Record};

/// A clockwise arc `[from, to)` of the key ring. `to < from` wraps past 2^160 − 1 to 0;
/// `from == to` is the whole ring (what a node alone in the overlay is responsible for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyRange {
    /// First key of the arc (included).
    pub from: DhtKey,
    /// End of the arc (excluded).
    pub to: DhtKey,
}

impl KeyRange {
    /// The whole ring.
    pub const FULL: KeyRange = KeyRange {
        from: DhtKey::MIN,
        to: DhtKey::MIN,
    };

    /// The arc `[from, to)`.
    #[must_use]
    pub fn new(from: DhtKey, to: DhtKey) -> KeyRange {
        KeyRange { from, to }
    }

    /// The arc holding `key` alone.
    #[must_use]
    pub fn single(key: DhtKey) -> KeyRange {
        let mut next = key.0;
        for b in next.iter_mut().rev() {
            let (v, overflow) = b.overflowing_add(1);
            *b = v;
            if !overflow {
                break;
            }
        }
        KeyRange::new(key, DhtKey(next))
    }

    /// Whether `key` lies on the arc.
    #[must_use]
    pub fn contains(&self, key: DhtKey) -> bool {
        match self.from.cmp(&self.to) {
            std::cmp::Ordering::Less => self.from <= key && key < self.to,
            std::cmp::Ordering::Greater => key >= self.from || key < self.to,
            std::cmp::Ordering::Equal => true,
        }
    }

    /// A sort key that puts the arc's keys in ring order from `from` (keys below `from`, past
    /// the wrap, come after the others).
    #[must_use]
    pub(crate) fn position(&self, key: DhtKey) -> (bool, DhtKey) {
        (key < self.from, key)
    }

    /// The arc as linear key intervals in ring order starting at `from`: `(lo, hi)` with `lo`
    /// included and `hi` excluded (`None`: to the top of the key space).
    #[must_use]
    pub fn segments(&self) -> Vec<(DhtKey, Option<DhtKey>)> {
        if self.from < self.to {
            vec![(self.from, Some(self.to))]
        } else if self.to == DhtKey::MIN {
            vec![(self.from, None)]
        } else {
            vec![(self.from, None), (DhtKey::MIN, Some(self.to))]
        }
    }
}

/// The smallest item id with this key.
fn id_floor(key: DhtKey) -> [u8; ID_LEN] {
    let mut out = [0; ID_LEN];
    out[..HASH_LEN].copy_from_slice(&key.0);
    out
}

/// Scans the records (values and tombstones) in `range`, in ring order from `range.from`,
/// skipping those expired at `now_ms` and starting after `after` if given. `visit` returns
/// `false` to stop early; the caller passes its last id back as `after` to continue.
pub(crate) fn scan(
    items: &ReadOnlyTable<&'static [u8], &'static [u8]>,
    now_ms: u64,
    range: KeyRange,
    after: Option<ItemId>,
    mut visit: impl FnMut(Record) -> bool,
) -> Result<(), StoreError> {
    let after_bytes = after.map(ItemId::to_bytes);
    let mut started = after.is_none();
    for (lo, hi) in range.segments() {
        let lo_bytes = id_floor(lo);
        let hi_bytes = hi.map(id_floor);
        let mut lower = Bound::Included(lo_bytes.as_slice());
        if let (false, Some(a), Some(ab)) = (started, after, after_bytes.as_ref()) {
            if a.key < lo || hi.is_some_and(|h| a.key >= h) {
                continue;
            }
            lower = Bound::Excluded(ab.as_slice());
        }
        started = true;
        let upper = hi_bytes
            .as_ref()
            .map_or(Bound::Unbounded, |h| Bound::Excluded(h.as_slice()));
        for entry in items.range::<&[u8]>((lower, upper))? {
            let (k, v) = entry?;
            let rec = Record::decode(ItemId::from_bytes(k.value())?, v.value())?;
            if rec.is_live(now_ms) && !visit(rec) {
                return Ok(());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(b: u8) -> DhtKey {
        DhtKey([b; HASH_LEN])
    }

    #[test]
    fn contains_handles_wrap_and_full_ring() {
        let plain = KeyRange::new(k(10), k(20));
        assert!(plain.contains(k(10)) && plain.contains(k(19)) && !plain.contains(k(20)));
        let wrap = KeyRange::new(k(200), k(5));
        assert!(wrap.contains(k(250)) && wrap.contains(k(0)) && !wrap.contains(k(5)));
        assert!(!wrap.contains(k(100)));
        assert!(KeyRange::FULL.contains(k(77)));
    }

    #[test]
    fn segments_cover_the_arc_in_ring_order() {
        assert_eq!(
            KeyRange::new(k(10), k(20)).segments(),
            vec![(k(10), Some(k(20)))]
        );
        assert_eq!(
            KeyRange::new(k(200), k(5)).segments(),
            vec![(k(200), None), (k(0), Some(k(5)))]
        );
        assert_eq!(KeyRange::FULL.segments(), vec![(k(0), None)]);
    }
}
