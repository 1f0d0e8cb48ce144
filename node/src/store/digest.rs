//! What the store holds, summarised in memory, and digests of key arcs built from that summary,
//! so two replicas find what differs without reading or decoding a single record from disk.
//!
//! # Why in memory
//!
//! Replica repair compares, every round and with every partner, the arc of the ring two nodes
//! share. Scanning and decoding every record of the arc in redb each time cost most of a
//! loaded node's CPU. Instead the store keeps a [`SummaryIndex`] per kind of item (values and
//! tombstones; blob chunks): one small [`Entry`] → expiry word per item, updated with every
//! committed write and purge, and rebuilt from the tables once when the store opens.
//!
//! # Buckets are sub-arcs
//!
//! A digest splits an arc `[from, to)` into at most `2^bits` buckets by the position of the key
//! *within the arc* ([`Layout`]), so every bucket is itself a contiguous sub-arc: answering for
//! one differing bucket reads only that sub-arc. A bucket's digest is (count, XOR of a 64-bit
//! hash of each live summary), which does not depend on order. Digests are cached per layout and
//! a write only invalidates the bucket holding its key, as does the first expiry in a bucket
//! (`valid_until`); so a steady-state round costs O(buckets), not O(records).
//!
//! # The exchange built on it
//!
//! 1. Both sides compute [`SummaryIndex::digest`] of the same arc with the same bits.
//! 2. For a bucket whose digest differs, one side lists its [`Summary`]s of that sub-arc
//!    ([`SummaryIndex::summaries`]) in ring order; the other compares them with its own with
//!    [`diff`], which says what to send and what to fetch.
//!
//! A summary is (entry, expiry, tombstone?), so a TTL extension or a removal known to one side
//! only shows as a difference too. Expired items are left out on both sides.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Bound;

use super::prefix_map::PrefixMap;
use super::record::{DhtKey, HASH_LEN, Hash, ItemId, be_u64};
use super::ring::KeyRange;

/// Flag bit of a summary's `meta` word: the item is a tombstone. The other bits are the
/// expiry (unix ms), so comparing two `meta` words applies the store's rule for one identity:
/// a tombstone beats a value, then the later expiry wins.
pub const TOMBSTONE: u64 = 1 << 63;
/// Most bucket bits a digest may use (16,384 buckets, 384 KiB of cached cells): bounds the
/// memory of one cached digest. Under a steady stream of writes, a repair round finds buckets
/// that differ only by copies still in flight, and each costs its items' summaries: at 4,096
/// buckets an arc of 1 M bindings had ~250 items (11 datagrams) per bucket, at 16,384 ~60 (3).
pub const MAX_BUCKET_BITS: u8 = 14;
/// Cached digests kept (partners and handoff arcs × two kinds × both directions, with room);
/// the least recently used is dropped beyond this.
const MAX_CACHES: usize = 64;

/// Which items an index or a repair exchange is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// Values and tombstones.
    Values,
    /// Blob chunks (keyed by their hash, never tombstones).
    Chunks,
}

/// The compact identity of an item in the summary index and in repair messages: its key and a
/// 64-bit fingerprint of the rest of its identity (secret hash and value hash). 28 bytes with
/// no padding, so the index stays small; items under one key are few, so a fingerprint finds
/// the full identity with one short read of that key's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Entry {
    /// The DHT key (a chunk's hash for chunks).
    pub key: DhtKey,
    /// Fingerprint, big-endian so the byte order is the numeric order.
    fp: [u8; 8],
}

impl Entry {
    /// An entry from its parts.
    #[must_use]
    pub fn new(key: DhtKey, fp: u64) -> Entry {
        Entry {
            key,
            fp: fp.to_be_bytes(),
        }
    }

    /// The entry of a value or tombstone.
    #[must_use]
    pub fn of_item(id: &ItemId) -> Entry {
        Entry::new(id.key, fingerprint(id))
    }

    /// The entry of a blob chunk.
    #[must_use]
    pub fn of_chunk(hash: &Hash) -> Entry {
        Entry::new(DhtKey(*hash), 0)
    }

    /// The fingerprint.
    #[must_use]
    pub fn fp(&self) -> u64 {
        u64::from_be_bytes(self.fp)
    }

    /// Whether `id` is the item this entry names.
    #[must_use]
    pub fn matches(&self, id: &ItemId) -> bool {
        id.key == self.key && fingerprint(id) == self.fp()
    }
}

/// Fingerprint of an item's secret and value hashes (both SHA-1 outputs, so their prefixes are
/// already uniform; one is rotated so swapping them does not collide).
#[must_use]
pub fn fingerprint(id: &ItemId) -> u64 {
    be_u64(&id.secret_hash[..8]).rotate_left(1) ^ be_u64(&id.value_hash[..8])
}

/// What a replica exchanges about one item instead of the item itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Summary {
    /// The item.
    pub entry: Entry,
    /// Expiry in unix ms, with [`TOMBSTONE`] set for a tombstone.
    pub meta: u64,
}

impl Summary {
    /// Its expiry, unix ms.
    #[must_use]
    pub fn expiry_ms(&self) -> u64 {
        self.meta & !TOMBSTONE
    }

    /// Whether it is a tombstone.
    #[must_use]
    pub fn tombstone(&self) -> bool {
        self.meta & TOMBSTONE != 0
    }
}

/// The `meta` word of an item.
#[must_use]
pub fn meta(expiry_ms: u64, tombstone: bool) -> u64 {
    (expiry_ms & !TOMBSTONE) | if tombstone { TOMBSTONE } else { 0 }
}

/// Whether an item with this `meta` word is live at `now_ms`.
fn live(meta: u64, now_ms: u64) -> bool {
    now_ms < meta & !TOMBSTONE
}

// ---- 160-bit arithmetic on keys ------------------------------------------------------------

/// `a - b` modulo 2^160.
fn sub(a: &[u8; HASH_LEN], b: &[u8; HASH_LEN]) -> [u8; HASH_LEN] {
    let mut out = [0u8; HASH_LEN];
    let mut borrow = 0i16;
    for i in (0..HASH_LEN).rev() {
        let d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        out[i] = d.rem_euclid(256) as u8;
    }
    out
}

/// `a + b` modulo 2^160.
fn add(a: &[u8; HASH_LEN], b: &[u8; HASH_LEN]) -> [u8; HASH_LEN] {
    let mut out = [0u8; HASH_LEN];
    let mut carry = 0u16;
    for i in (0..HASH_LEN).rev() {
        let s = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = (s & 0xff) as u8;
        carry = s >> 8;
    }
    out
}

/// Bit `i` (0 = least significant) of a big-endian 160-bit number.
fn bit(x: &[u8; HASH_LEN], i: u32) -> u32 {
    let Ok(i) = usize::try_from(i) else { return 0 };
    if i >= HASH_LEN * 8 {
        return 0;
    }
    u32::from((x[HASH_LEN - 1 - i / 8] >> (i % 8)) & 1)
}

/// Number of significant bits of a 160-bit number.
fn bit_len(x: &[u8; HASH_LEN]) -> u32 {
    (0..HASH_LEN as u32 * 8)
        .rev()
        .find(|&i| bit(x, i) == 1)
        .map_or(0, |i| i + 1)
}

/// `bits` bits of `x` starting at bit `shift`: `(x >> shift) mod 2^bits`.
fn extract(x: &[u8; HASH_LEN], shift: u32, bits: u8) -> u32 {
    (0..u32::from(bits)).fold(0, |acc, j| acc | (bit(x, shift + j) << j))
}

/// `v << shift` as a 160-bit number (bits beyond 160 dropped).
fn place(v: u32, shift: u32) -> [u8; HASH_LEN] {
    let mut out = [0u8; HASH_LEN];
    for j in 0..32 {
        let Ok(i) = usize::try_from(shift + j) else {
            break;
        };
        if (v >> j) & 1 == 1 && i < HASH_LEN * 8 {
            out[HASH_LEN - 1 - i / 8] |= 1 << (i % 8);
        }
    }
    out
}

/// Orders two entries by ring position clockwise from `origin` (then fingerprint): the order
/// summaries of an arc starting at `origin` are listed in.
#[must_use]
pub fn ring_cmp(origin: DhtKey, a: &Entry, b: &Entry) -> Ordering {
    (sub(&a.key.0, &origin.0), a.fp).cmp(&(sub(&b.key.0, &origin.0), b.fp))
}

/// Whether `e` lies in the interval `(after, upto]` of ring order from `origin` (open ends
/// when `None`).
#[must_use]
pub fn in_interval(origin: DhtKey, e: &Entry, after: Option<&Entry>, upto: Option<&Entry>) -> bool {
    after.is_none_or(|a| ring_cmp(origin, e, a) == Ordering::Greater)
        && upto.is_none_or(|u| ring_cmp(origin, e, u) != Ordering::Greater)
}

/// How an arc is cut into buckets: by the top `bits` significant bits of a key's offset from
/// the arc's start, so each bucket is a contiguous sub-arc and both sides of an exchange cut the
/// same arc the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The arc.
    pub range: KeyRange,
    /// Bucket bits actually used (the requested bits, clamped to the arc's width).
    pub bits: u8,
    /// Offset bits below the bucket number.
    shift: u32,
    /// The last non-empty bucket number (buckets above it lie past the arc's end).
    last: u32,
}

impl Layout {
    /// The layout of `range` with up to `bits` bucket bits (clamped to [`MAX_BUCKET_BITS`]
    /// and to the arc's width, identically on every node).
    #[must_use]
    pub fn new(range: KeyRange, bits: u8) -> Layout {
        // Largest offset on the arc: (to − from − 1) mod 2^160, all ones for the full ring.
        let mut one = [0u8; HASH_LEN];
        one[HASH_LEN - 1] = 1;
        let top = sub(&sub(&range.to.0, &range.from.0), &one);
        let len = bit_len(&top);
        let bits = bits
            .min(MAX_BUCKET_BITS)
            .min(u8::try_from(len).unwrap_or(u8::MAX));
        let shift = len - u32::from(bits);
        Layout {
            range,
            bits,
            shift,
            last: extract(&top, shift, bits),
        }
    }

    /// Number of buckets (bucket numbers are `0..buckets()`).
    #[must_use]
    pub fn buckets(&self) -> u32 {
        self.last + 1
    }

    /// The bucket of `key`, if it lies on the arc.
    #[must_use]
    pub fn bucket(&self, key: DhtKey) -> Option<u32> {
        self.range
            .contains(key)
            .then(|| extract(&sub(&key.0, &self.range.from.0), self.shift, self.bits))
    }

    /// The sub-arc of bucket `b`, if it is a bucket of this layout.
    #[must_use]
    pub fn arc(&self, b: u32) -> Option<KeyRange> {
        if b > self.last {
            return None;
        }
        let from = &self.range.from.0;
        let start = DhtKey(add(from, &place(b, self.shift)));
        let end = if b == self.last {
            self.range.to
        } else {
            DhtKey(add(from, &place(b + 1, self.shift)))
        };
        Some(KeyRange::new(start, end))
    }
}

/// Bucket bits for an arc holding about `count` items, aiming at `per_bucket` per bucket.
#[must_use]
pub fn bits_for(count: usize, per_bucket: usize) -> u8 {
    let buckets = count.div_ceil(per_bucket.max(1)).max(1).next_power_of_two();
    u8::try_from(buckets.trailing_zeros())
        .unwrap_or(MAX_BUCKET_BITS)
        .min(MAX_BUCKET_BITS)
}

/// The digest of one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketDigest {
    /// Bucket number.
    pub bucket: u32,
    /// Live items in it.
    pub count: u32,
    /// XOR of the items' summary hashes.
    pub hash: u64,
}

/// A cached bucket: its digest and until when no expiry can change it.
#[derive(Debug, Clone, Copy)]
struct Cell {
    count: u32,
    hash: u64,
    /// The earliest expiry among its live items (`u64::MAX` if none).
    valid_until: u64,
}

/// The cached digest of one layout; `None` cells are recomputed on the next use.
#[derive(Debug)]
struct Cache {
    layout: Layout,
    cells: Vec<Option<Cell>>,
    /// Cells that are `Some`: under a steady stream of writes every cell is soon invalid, and
    /// then a write need not even find its bucket here.
    valid: usize,
    used: u64,
}

/// One summary's contribution to its bucket's hash (SplitMix64 steps over its words: cheap, and
/// fixed, so every node computes the same).
fn summary_hash(e: &Entry, meta: u64) -> u64 {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    let k = &e.key.0;
    let words = [
        be_u64(&k[0..8]),
        be_u64(&k[8..16]),
        be_u64(&k[16..20]),
        e.fp(),
        meta,
    ];
    words.iter().fold(0, |h, w| mix(h ^ w))
}

/// The in-memory summary of one kind of stored item: entry → `meta` word, for every item in
/// the tables (expired ones too, until purged; reads filter them), plus cached digests. The
/// map is split by key prefix into small B-trees ([`PrefixMap`]): every write on every replica
/// updates it, and one B-tree of a million entries cost a cache miss per level of 6–7.
#[derive(Debug, Default)]
pub struct SummaryIndex {
    map: PrefixMap,
    caches: Vec<Cache>,
    uses: u64,
}

impl SummaryIndex {
    /// Items held (including expired ones not purged yet).
    #[must_use]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether nothing is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Records that `entry` now has `meta` (`None`: it is gone), invalidating the cached
    /// bucket that holds it.
    pub fn set(&mut self, entry: Entry, meta: Option<u64>) {
        match meta {
            Some(m) => {
                self.map.insert(entry, m);
            }
            None => {
                self.map.remove(&entry);
            }
        }
        for c in self.caches.iter_mut().filter(|c| c.valid > 0) {
            if let Some(cell) = c
                .layout
                .bucket(entry.key)
                .and_then(|b| c.cells.get_mut(usize::try_from(b).ok()?))
                && cell.take().is_some()
            {
                c.valid -= 1;
            }
        }
    }

    /// The `meta` word of `entry`, if held and live at `now_ms`.
    #[must_use]
    pub fn get(&self, now_ms: u64, entry: &Entry) -> Option<u64> {
        self.map.get(entry).filter(|m| live(*m, now_ms))
    }

    /// Calls `f` for every item on `arc` in ring order from its start (expired ones too).
    fn visit(map: &PrefixMap, arc: KeyRange, mut f: impl FnMut(&Entry, u64)) {
        for (lo, hi) in arc.segments() {
            let lower = Bound::Included(Entry::new(lo, 0));
            let upper = hi.map_or(Bound::Unbounded, |h| Bound::Excluded(Entry::new(h, 0)));
            map.range(lower, upper).for_each(|(e, m)| f(e, m));
        }
    }

    /// The distinct keys of the items between `lower` and `upper`, in key order (expired
    /// items not purged yet included); bounds that admit no key (the lower above the upper)
    /// give none.
    pub(crate) fn keys_in(
        &self,
        lower: Bound<DhtKey>,
        upper: Bound<DhtKey>,
    ) -> impl Iterator<Item = DhtKey> + '_ {
        // A key's entries run from (key, 0) to (key, u64::MAX).
        let lower = match lower {
            Bound::Included(k) => Bound::Included(Entry::new(k, 0)),
            Bound::Excluded(k) => Bound::Excluded(Entry::new(k, u64::MAX)),
            Bound::Unbounded => Bound::Unbounded,
        };
        let upper = match upper {
            Bound::Included(k) => Bound::Included(Entry::new(k, u64::MAX)),
            Bound::Excluded(k) => Bound::Excluded(Entry::new(k, 0)),
            Bound::Unbounded => Bound::Unbounded,
        };
        // The previous entry is kept by reference: a copy of its key kept in the closure cost
        // a stalled reload from the stack per key.
        let mut last: Option<&Entry> = None;
        self.map
            .range(lower, upper)
            .filter(move |&(e, _)| last.replace(e).is_none_or(|l| l.key != e.key))
            .map(|(e, _)| e.key)
    }

    /// The live summaries on `arc`, in ring order from its start.
    #[must_use]
    pub fn summaries(&self, now_ms: u64, arc: KeyRange) -> Vec<Summary> {
        let mut out = Vec::new();
        Self::visit(&self.map, arc, |e, m| {
            if live(m, now_ms) {
                out.push(Summary { entry: *e, meta: m });
            }
        });
        out
    }

    /// The digest of every non-empty bucket of `layout` at `now_ms`, in bucket order. Buckets
    /// untouched since the last call for this layout (and with nothing expired since) come from
    /// the cache.
    pub fn digest(&mut self, now_ms: u64, layout: Layout) -> Vec<BucketDigest> {
        self.digest_within(now_ms, layout, 0..layout.buckets())
    }

    /// [`SummaryIndex::digest`] of the buckets in `span` only: a partner's digest arrives in
    /// parts of a few dozen buckets, and each part is compared with just those.
    pub fn digest_within(
        &mut self,
        now_ms: u64,
        layout: Layout,
        span: std::ops::Range<u32>,
    ) -> Vec<BucketDigest> {
        self.uses += 1;
        let i = match self.caches.iter().position(|c| c.layout == layout) {
            Some(i) => i,
            None => {
                if self.caches.len() >= MAX_CACHES
                    && let Some(lru) = (0..self.caches.len()).min_by_key(|&i| self.caches[i].used)
                {
                    self.caches.swap_remove(lru);
                }
                let n = usize::try_from(layout.buckets()).unwrap_or(0);
                self.caches.push(Cache {
                    layout,
                    cells: vec![None; n],
                    valid: 0,
                    used: 0,
                });
                self.caches.len() - 1
            }
        };
        let (map, cache) = (&self.map, &mut self.caches[i]);
        cache.used = self.uses;
        let mut out = Vec::new();
        let from = usize::try_from(span.start).unwrap_or(usize::MAX);
        let len = usize::try_from(span.end.saturating_sub(span.start)).unwrap_or(0);
        let slots = cache.cells.iter_mut().skip(from).take(len);
        for (b, slot) in (span.start..).zip(slots) {
            let cell = match *slot {
                Some(c) if now_ms < c.valid_until => c,
                _ => {
                    let c = compute(map, now_ms, layout.arc(b));
                    if slot.replace(c).is_none() {
                        cache.valid += 1;
                    }
                    c
                }
            };
            if cell.count > 0 {
                out.push(BucketDigest {
                    bucket: b,
                    count: cell.count,
                    hash: cell.hash,
                });
            }
        }
        out
    }
}

/// A bucket's digest from scratch.
fn compute(map: &PrefixMap, now_ms: u64, arc: Option<KeyRange>) -> Cell {
    let mut cell = Cell {
        count: 0,
        hash: 0,
        valid_until: u64::MAX,
    };
    if let Some(arc) = arc {
        SummaryIndex::visit(map, arc, |e, m| {
            if live(m, now_ms) {
                cell.count = cell.count.saturating_add(1);
                cell.hash ^= summary_hash(e, m);
                cell.valid_until = cell.valid_until.min(m & !TOMBSTONE);
            }
        });
    }
    cell
}

/// What to move after comparing summaries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SummaryDiff {
    /// Items the local side should send: missing remotely, or newer here.
    pub send: Vec<Entry>,
    /// Items the local side should fetch: missing here, or newer remotely.
    pub fetch: Vec<Entry>,
}

/// Compares local and remote summaries of the same interval. For one identity a tombstone
/// beats a value and otherwise the later expiry wins, which is the rule the store applies on
/// insert (it is the order of the `meta` words).
#[must_use]
pub fn diff(local: &[Summary], remote: &[Summary]) -> SummaryDiff {
    let mut theirs: BTreeMap<Entry, u64> = remote.iter().map(|s| (s.entry, s.meta)).collect();
    let mut out = SummaryDiff::default();
    for mine in local {
        match theirs.remove(&mine.entry) {
            None => out.send.push(mine.entry),
            Some(t) => match mine.meta.cmp(&t) {
                Ordering::Greater => out.send.push(mine.entry),
                Ordering::Less => out.fetch.push(mine.entry),
                Ordering::Equal => {}
            },
        }
    }
    out.fetch.extend(theirs.into_keys());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::ops::RangeBounds;

    fn k(b: u8) -> DhtKey {
        DhtKey([b; HASH_LEN])
    }

    fn e(b: u8, fp: u64) -> Entry {
        Entry::new(k(b), fp)
    }

    /// The digest of `layout` computed from a plain list, no index, no cache.
    fn scratch(items: &BTreeMap<Entry, u64>, now: u64, layout: Layout) -> Vec<BucketDigest> {
        let mut out: BTreeMap<u32, BucketDigest> = BTreeMap::new();
        for (en, m) in items {
            let Some(b) = layout.bucket(en.key) else {
                continue;
            };
            if !live(*m, now) {
                continue;
            }
            let d = out.entry(b).or_insert(BucketDigest {
                bucket: b,
                count: 0,
                hash: 0,
            });
            d.count += 1;
            d.hash ^= summary_hash(en, *m);
        }
        out.into_values().collect()
    }

    #[test]
    fn layout_buckets_are_contiguous_sub_arcs_covering_the_arc() {
        for (from, to) in [(10u8, 200u8), (200, 30), (0, 0), (77, 77), (5, 6)] {
            let range = KeyRange::new(k(from), k(to));
            for bits in [0u8, 1, 3, 6, 12] {
                let l = Layout::new(range, bits);
                let mut prev = None;
                for x in 0..=255u8 {
                    // Walk the ring from `from` and check bucket numbers never decrease.
                    let key = k(from.wrapping_add(x));
                    let Some(b) = l.bucket(key) else {
                        assert!(!range.contains(key));
                        continue;
                    };
                    assert!(b < l.buckets());
                    let arc = l.arc(b).unwrap();
                    assert!(
                        arc.contains(key),
                        "{from}-{to} bits {bits} key {x} bucket {b}"
                    );
                    if let Some(p) = prev {
                        assert!(b >= p, "buckets follow ring order");
                    }
                    prev = Some(b);
                }
            }
        }
    }

    #[test]
    fn layout_uses_the_arcs_width_not_the_whole_key_space() {
        // A narrow arc still gets its buckets, and buckets past its end do not exist.
        let l = Layout::new(KeyRange::new(k(10), k(11)), 4);
        assert_eq!(l.bits, 4);
        assert!(l.buckets() > 8 && l.buckets() <= 16);
        let full = Layout::new(KeyRange::FULL, 3);
        assert_eq!(full.buckets(), 8);
        assert_eq!(full.bucket(DhtKey::MAX), Some(7));
        assert_eq!(full.arc(7).unwrap().to, DhtKey::MIN);
        // A one-key arc has one bucket whatever the bits.
        let mut a = [0u8; HASH_LEN];
        a[HASH_LEN - 1] = 1;
        let tiny = Layout::new(KeyRange::new(DhtKey::MIN, DhtKey(a)), 8);
        assert_eq!((tiny.bits, tiny.buckets()), (0, 1));
    }

    #[test]
    fn keys_in_lists_each_key_once_within_its_bounds() {
        let mut idx = SummaryIndex::default();
        for (b, fp) in [
            (1u8, 0u64),
            (1, u64::MAX),
            (2, 5),
            (3, 0),
            (3, 9),
            (4, u64::MAX),
        ] {
            idx.set(e(b, fp), Some(meta(1_000, false)));
        }
        let keys = |lo, hi| -> Vec<u8> { idx.keys_in(lo, hi).map(|k| k.0[0]).collect() };
        use Bound::{Excluded, Included, Unbounded};
        assert_eq!(keys(Unbounded, Unbounded), [1, 2, 3, 4]);
        assert_eq!(keys(Included(k(1)), Excluded(k(3))), [1, 2]);
        assert_eq!(keys(Excluded(k(1)), Included(k(3))), [2, 3]);
        assert_eq!(keys(Included(k(4)), Unbounded), [4]);
        assert_eq!(keys(Excluded(k(4)), Unbounded), Vec::<u8>::new());
    }

    #[test]
    fn wrap_around_arc_lists_in_ring_order() {
        let mut idx = SummaryIndex::default();
        for b in [250u8, 3, 255, 1, 100] {
            idx.set(e(b, 0), Some(meta(1_000, false)));
        }
        let got: Vec<u8> = idx
            .summaries(0, KeyRange::new(k(240), k(50)))
            .iter()
            .map(|s| s.entry.key.0[0])
            .collect();
        assert_eq!(got, vec![250, 255, 1, 3]);
        let mut sorted = idx.summaries(0, KeyRange::new(k(240), k(50)));
        sorted.sort_by(|a, b| ring_cmp(k(240), &a.entry, &b.entry));
        assert_eq!(sorted, idx.summaries(0, KeyRange::new(k(240), k(50))));
        assert!(in_interval(
            k(240),
            &e(1, 0),
            Some(&e(255, 0)),
            Some(&e(3, 0))
        ));
        assert!(!in_interval(k(240), &e(250, 0), Some(&e(255, 0)), None));
    }

    #[test]
    fn expiry_and_tombstones_show_in_digests() {
        let range = KeyRange::new(k(0), k(200));
        let layout = Layout::new(range, 2);
        let mut a = SummaryIndex::default();
        a.set(e(10, 1), Some(meta(1_000, false)));
        a.set(e(20, 1), Some(meta(5_000, false)));
        let before = a.digest(0, layout);
        assert_eq!(before.iter().map(|d| d.count).sum::<u32>(), 2);
        // The first item expires: the cached bucket is recomputed without it.
        let later = a.digest(1_000, layout);
        assert_eq!(later.iter().map(|d| d.count).sum::<u32>(), 1);
        // A tombstone with the same expiry differs from the value.
        let mut b = SummaryIndex::default();
        b.set(e(20, 1), Some(meta(5_000, true)));
        assert_ne!(b.digest(1_000, layout), later);
        let d = diff(&a.summaries(1_000, range), &b.summaries(1_000, range));
        assert_eq!((d.send.len(), d.fetch.len()), (0, 1), "the tombstone wins");
    }

    #[test]
    fn diff_prefers_tombstones_then_later_expiry() {
        let s = |b, exp, t| Summary {
            entry: e(b, 0),
            meta: meta(exp, t),
        };
        let local = [s(1, 10, false), s(2, 50, false), s(3, 10, false)];
        let remote = [
            s(1, 10, false),
            s(2, 40, false),
            s(3, 5, true),
            s(4, 1, false),
        ];
        let d = diff(&local, &remote);
        assert_eq!(d.send, vec![e(2, 0)]);
        assert_eq!(d.fetch, vec![e(3, 0), e(4, 0)]);
    }

    #[test]
    fn fingerprints_tell_items_of_one_key_apart() {
        let id = |s: u8, v: u8| ItemId {
            key: k(1),
            secret_hash: [s; HASH_LEN],
            value_hash: [v; HASH_LEN],
        };
        assert_ne!(Entry::of_item(&id(1, 2)), Entry::of_item(&id(2, 1)));
        assert!(Entry::of_item(&id(3, 4)).matches(&id(3, 4)));
        assert!(!Entry::of_item(&id(3, 4)).matches(&id(3, 5)));
    }

    /// A key whose first two bytes are `hi` (which choose its bucket in the index) and whose
    /// last byte is `lo`.
    fn kk(hi: u16, lo: u8) -> DhtKey {
        let mut b = [0u8; HASH_LEN];
        b[..2].copy_from_slice(&hi.to_be_bytes());
        b[HASH_LEN - 1] = lo;
        DhtKey(b)
    }

    #[test]
    fn an_empty_index_answers_nothing() {
        let mut idx = SummaryIndex::default();
        assert!(idx.is_empty());
        assert_eq!(idx.get(0, &e(1, 1)), None);
        assert!(idx.summaries(0, KeyRange::FULL).is_empty());
        assert!(idx.summaries(0, KeyRange::new(k(200), k(10))).is_empty());
        assert_eq!(idx.keys_in(Bound::Unbounded, Bound::Unbounded).count(), 0);
        assert!(idx.digest(0, Layout::new(KeyRange::FULL, 14)).is_empty());
        idx.set(e(1, 1), None);
        assert_eq!(idx.len(), 0);
    }

    #[test]
    fn arcs_and_bounds_across_prefix_boundaries() {
        use Bound::{Excluded, Included, Unbounded};
        let mut idx = SummaryIndex::default();
        // The ends of the key space, neighbouring prefixes (0x0003.. and 0x0004.. are in two
        // buckets once the index splits by 14 bits) and a key holding many fingerprints at the
        // start of the upper half (the first split), enough entries to split the index.
        let keys = [
            DhtKey::MIN,
            kk(0x0003, 0xff),
            kk(0x0004, 0),
            kk(0x0004, 1),
            kk(0x8000, 5),
            kk(0xfffb, 0xff),
            kk(0xfffc, 0),
            DhtKey::MAX,
        ];
        for key in keys {
            idx.set(Entry::new(key, 0), Some(meta(1_000, false)));
        }
        for fp in 1..=1_000 {
            idx.set(
                Entry::new(kk(0x8000, 5), fp),
                Some(meta(1_000, fp % 2 == 0)),
            );
        }
        assert_eq!(idx.len(), keys.len() + 1_000);
        let listed = |lo, hi| -> Vec<DhtKey> { idx.keys_in(lo, hi).collect() };
        assert_eq!(listed(Unbounded, Unbounded), keys);
        assert_eq!(
            listed(Excluded(DhtKey::MIN), Excluded(DhtKey::MAX)),
            keys[1..7]
        );
        assert_eq!(
            listed(Included(kk(0x0003, 0xff)), Excluded(kk(0x0004, 1))),
            keys[1..3]
        );
        assert_eq!(
            listed(Excluded(kk(0x0003, 0xff)), Included(kk(0x0004, 1))),
            keys[2..4]
        );
        assert_eq!(
            listed(Included(kk(0x8000, 5)), Included(kk(0x8000, 5))),
            keys[4..5]
        );
        assert_eq!(listed(Excluded(kk(0x8000, 5)), Unbounded), keys[5..]);
        assert_eq!(listed(Unbounded, Excluded(kk(0x8000, 5))), keys[..4]);
        assert!(listed(Excluded(DhtKey::MAX), Unbounded).is_empty());
        assert!(listed(Unbounded, Excluded(DhtKey::MIN)).is_empty());
        // Arcs starting and ending inside a bucket, and wrapping past 0.
        let on = |from, to| -> Vec<DhtKey> {
            let mut ks: Vec<DhtKey> = idx
                .summaries(0, KeyRange::new(from, to))
                .iter()
                .map(|s| s.entry.key)
                .collect();
            ks.dedup();
            ks
        };
        assert_eq!(
            on(kk(0xfffb, 0xff), kk(0x0004, 1)),
            [keys[5], keys[6], keys[7], keys[0], keys[1], keys[2]]
        );
        assert_eq!(on(DhtKey::MAX, DhtKey::MIN), [DhtKey::MAX]);
        assert_eq!(
            on(kk(0x0004, 1), kk(0x0004, 1)),
            [&keys[3..], &keys[..3]].concat()
        );
        assert_eq!(on(kk(0x0004, 1), kk(0x8000, 6)), keys[3..5]);
        assert_eq!(
            idx.summaries(0, KeyRange::single(kk(0x8000, 5))).len(),
            1_001
        );
        let full = idx.digest(0, Layout::new(KeyRange::FULL, 14));
        assert_eq!(full.iter().map(|d| d.count).sum::<u32>(), 1_008);
        // Removing the many fingerprints leaves the key's first entry.
        for fp in 1..=1_000 {
            idx.set(Entry::new(kk(0x8000, 5), fp), None);
        }
        assert_eq!(idx.summaries(0, KeyRange::single(kk(0x8000, 5))).len(), 1);
    }

    /// Keys clustered around prefix boundaries, the middle and both ends of the key space.
    fn arb_key() -> impl Strategy<Value = DhtKey> {
        (
            prop_oneof![0u16..12, 0x7ffcu16..0x8004, 0xfff4u16..=0xffff],
            prop_oneof![Just(0u8), Just(0xff), any::<u8>()],
        )
            .prop_map(|(hi, lo)| kk(hi, lo))
    }

    proptest! {
        /// Cached, incrementally invalidated digests equal digests computed from scratch,
        /// through inserts, extensions, tombstones, deletions and time passing.
        #[test]
        fn incremental_digest_equals_recomputation(
            ops in proptest::collection::vec((any::<u8>(), 0u64..4, 0u64..20, any::<bool>(), any::<bool>()), 1..200),
            from in any::<u8>(),
            to in any::<u8>(),
            bits in 0u8..6,
        ) {
            let layout = Layout::new(KeyRange::new(k(from), k(to)), bits);
            let mut idx = SummaryIndex::default();
            let mut model: BTreeMap<Entry, u64> = BTreeMap::new();
            let mut now = 0;
            for (i, (key, fp, exp, tomb, remove)) in ops.into_iter().enumerate() {
                let en = e(key, fp);
                if remove {
                    idx.set(en, None);
                    model.remove(&en);
                } else {
                    let m = meta(now + exp, tomb);
                    idx.set(en, Some(m));
                    model.insert(en, m);
                }
                if i % 7 == 0 {
                    now += 3;
                    prop_assert_eq!(idx.digest(now, layout), scratch(&model, now, layout));
                } else if i % 7 == 3 {
                    // A part of the buckets, as a partner's digest arrives.
                    let span = (key as u32 % 4)..(key as u32 % 4 + 3);
                    let part: Vec<_> = scratch(&model, now, layout)
                        .into_iter()
                        .filter(|d| span.contains(&d.bucket))
                        .collect();
                    prop_assert_eq!(idx.digest_within(now, layout, span), part);
                }
            }
            prop_assert_eq!(idx.digest(now, layout), scratch(&model, now, layout));
        }
    }

    proptest! {
        /// Arcs (wrapping or not, whole ring when `from == to`) and key bounds list what a
        /// plain ordered map filtered by them holds, in ring order from the arc's start.
        #[test]
        fn arcs_and_key_bounds_match_a_plain_map(
            ops in proptest::collection::vec((arb_key(), 0u64..3, any::<bool>()), 1..150),
            arcs in proptest::collection::vec((arb_key(), arb_key()), 1..8),
            bounds in proptest::collection::vec((arb_key(), arb_key(), 0u8..3, 0u8..3), 1..8),
        ) {
            let mut idx = SummaryIndex::default();
            let mut model: BTreeMap<Entry, u64> = BTreeMap::new();
            for (key, fp, remove) in ops {
                let en = Entry::new(key, fp);
                if remove {
                    idx.set(en, None);
                    model.remove(&en);
                } else {
                    idx.set(en, Some(meta(10 + fp, false)));
                    model.insert(en, meta(10 + fp, false));
                }
            }
            prop_assert_eq!(idx.len(), model.len());
            let now = 11;
            for (from, to) in arcs {
                let arc = KeyRange::new(from, to);
                let mut want: Vec<Summary> = model
                    .iter()
                    .filter(|(en, m)| arc.contains(en.key) && live(**m, now))
                    .map(|(en, m)| Summary { entry: *en, meta: *m })
                    .collect();
                want.sort_by(|a, b| ring_cmp(from, &a.entry, &b.entry));
                prop_assert_eq!(idx.summaries(now, arc), want);
            }
            let bound = |key, kind| match kind {
                0 => Bound::Included(key),
                1 => Bound::Excluded(key),
                _ => Bound::Unbounded,
            };
            for (lo, hi, lk, hk) in bounds {
                let (lower, upper) = (bound(lo, lk), bound(hi, hk));
                let mut want: Vec<DhtKey> = model
                    .keys()
                    .map(|en| en.key)
                    .filter(|key| (lower, upper).contains(key))
                    .collect();
                want.dedup();
                let got: Vec<DhtKey> = idx.keys_in(lower, upper).collect();
                prop_assert_eq!(got, want);
            }
        }
    }

    /// Memory per item of the index (run with `--ignored --nocapture`, alone: it reads RSS).
    #[test]
    #[ignore = "measures process memory"]
    fn index_memory_per_million() {
        fn rss_kib() -> u64 {
            std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find(|l| l.starts_with("VmRSS:"))
                        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
                })
                .unwrap_or(0)
        }
        let before = rss_kib();
        let mut idx = SummaryIndex::default();
        for i in 0u32..1_000_000 {
            let id = ItemId {
                key: DhtKey(super::super::record::sha1(&i.to_be_bytes())),
                secret_hash: [0; HASH_LEN],
                value_hash: super::super::record::sha1(&i.to_le_bytes()),
            };
            idx.set(Entry::of_item(&id), Some(meta(u64::from(i), false)));
        }
        let after = rss_kib();
        println!(
            "summary index: {} items, RSS +{} MiB ({} B per item)",
            idx.len(),
            (after - before) / 1024,
            (after - before) * 1024 / 1_000_000
        );
    }
}
