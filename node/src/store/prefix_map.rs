//! The ordered map behind a [`SummaryIndex`](super::digest::SummaryIndex): entry → `meta`
//! word, split by key prefix into many small B-trees.
//!
//! # Why split
//!
//! Every store write on every replica updates the index. As one `BTreeMap` of ~1 M entries
//! (~60 MB, 6–7 levels) an insert cost up to ~1.6 µs on a loaded replica, a cache miss per
//! level once the upper levels no longer stay cached, and was a quarter of its CPU. Keys are
//! SHA-1 values, so their first bits spread them evenly over small B-trees: an insert is one
//! access to a small top array and a 1–2 level tree (on a test machine at 1 M entries, ~0.4 µs
//! per insert instead of ~0.7, ~0.27 µs per lookup instead of ~0.5). Each bucket is still a
//! B-tree, so skew (a popular key with 100 k fingerprints, or short keys left-padded with
//! zeros) stays O(log n) in its bucket, where a sorted vector would move half of it per insert.
//!
//! # Why the split grows
//!
//! Each non-empty bucket costs at least one tree node (~400 B) and a step of every scan, so a
//! fixed 2^14 buckets would cost an index of 10 k entries three times its own size and make its
//! scans step through a bucket per entry or two. The map starts as one bucket and doubles the
//! buckets (each splits in two with `split_off`) whenever it holds more than [`GROW_AT`]
//! entries per bucket, up to 2^[`MAX_BITS`]: 384 KiB of buckets per index, two-level buckets
//! of ~60 entries at 1 M entries, and one bucket per digest bucket of a full-ring digest at the
//! most bucket bits. The last doubling, at 512 Ki entries, took ~10 ms, once. The map never
//! shrinks: after a purge the buckets stay (empty ones allocate nothing and are skipped through
//! the bitmap below), so it never splits and merges back and forth around a threshold.
//!
//! # Order and ranges
//!
//! Buckets hold consecutive runs of the key order, so a range walks the buckets from its lower
//! bound's prefix to its upper bound's, bounded inside the first and last bucket and whole in
//! between. A bitmap of non-empty buckets lets a walk over an emptied index skip empty buckets
//! 64 at a time.

use std::collections::BTreeMap;
use std::collections::btree_map;
use std::ops::Bound;

use super::digest::Entry;
use super::record::{DhtKey, HASH_LEN};

/// Most key bits that choose a bucket.
const MAX_BITS: u32 = 14;
/// Entries per bucket above which the buckets double.
const GROW_AT: usize = 64;

/// The first 16 bits of `key`.
fn prefix16(key: &DhtKey) -> u32 {
    u32::from(u16::from_be_bytes([key.0[0], key.0[1]]))
}

/// The smallest key whose first `bits` bits are `bucket`.
fn first_key(bucket: usize, bits: u32) -> DhtKey {
    let mut k = [0u8; HASH_LEN];
    let top = u16::try_from(bucket << (16 - bits)).unwrap_or(u16::MAX);
    k[..2].copy_from_slice(&top.to_be_bytes());
    DhtKey(k)
}

/// An ordered map from [`Entry`] to `meta` word, split by key prefix (see the module doc).
#[derive(Debug, Default)]
pub(super) struct PrefixMap {
    /// `2^bits` trees once anything was inserted, bucket `b` holding the keys whose first
    /// `bits` bits are `b`; empty before.
    buckets: Vec<BTreeMap<Entry, u64>>,
    /// Key bits that choose a bucket.
    bits: u32,
    /// Bit `b % 64` of word `b / 64` is set when bucket `b` is not empty.
    nonempty: Vec<u64>,
    /// Entries held.
    len: usize,
}

impl PrefixMap {
    /// Entries held.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is held.
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bucket of `key`.
    fn bucket_of(&self, key: &DhtKey) -> usize {
        (prefix16(key) >> (16 - self.bits)) as usize
    }

    /// Marks bucket `b` empty or not in the bitmap.
    fn mark(&mut self, b: usize, nonempty: bool) {
        if let Some(w) = self.nonempty.get_mut(b / 64) {
            if nonempty {
                *w |= 1 << (b % 64);
            } else {
                *w &= !(1 << (b % 64));
            }
        }
    }

    /// Sets `entry` to `meta`, returning the previous word.
    pub(super) fn insert(&mut self, entry: Entry, meta: u64) -> Option<u64> {
        if self.buckets.is_empty() {
            self.buckets.push(BTreeMap::new());
            self.nonempty = vec![0];
        }
        let b = self.bucket_of(&entry.key);
        let old = self.buckets.get_mut(b)?.insert(entry, meta);
        if old.is_none() {
            self.len += 1;
            self.mark(b, true);
            self.grow_if_due();
        }
        old
    }

    /// Doubles the buckets if they hold more than [`GROW_AT`] entries each, and may.
    fn grow_if_due(&mut self) {
        if self.len > GROW_AT * self.buckets.len() && self.bits < MAX_BITS {
            self.grow();
        }
    }

    /// Doubles the buckets: each splits at the first key of its upper half.
    fn grow(&mut self) {
        let bits = self.bits + 1;
        let mut buckets = Vec::with_capacity(self.buckets.len() * 2);
        for (b, mut low) in std::mem::take(&mut self.buckets).into_iter().enumerate() {
            let high = low.split_off(&Entry::new(first_key(2 * b + 1, bits), 0));
            buckets.push(low);
            buckets.push(high);
        }
        self.bits = bits;
        self.buckets = buckets;
        self.nonempty = vec![0; self.buckets.len().div_ceil(64)];
        for b in 0..self.buckets.len() {
            let nonempty = self.buckets.get(b).is_some_and(|t| !t.is_empty());
            self.mark(b, nonempty);
        }
    }

    /// Removes `entry`, returning its word.
    pub(super) fn remove(&mut self, entry: &Entry) -> Option<u64> {
        let b = self.bucket_of(&entry.key);
        let tree = self.buckets.get_mut(b)?;
        let old = tree.remove(entry)?;
        let emptied = tree.is_empty();
        self.len -= 1;
        if emptied {
            self.mark(b, false);
        }
        Some(old)
    }

    /// The word of `entry`.
    pub(super) fn get(&self, entry: &Entry) -> Option<u64> {
        self.buckets
            .get(self.bucket_of(&entry.key))?
            .get(entry)
            .copied()
    }

    /// The entries between `lower` and `upper` in order, lazily. Bounds that admit nothing
    /// (the lower above the upper) give nothing.
    pub(super) fn range(&self, lower: Bound<Entry>, upper: Bound<Entry>) -> Range<'_> {
        let first = match lower {
            Bound::Included(e) | Bound::Excluded(e) => self.bucket_of(&e.key),
            Bound::Unbounded => 0,
        };
        let last = match upper {
            Bound::Included(e) | Bound::Excluded(e) => self.bucket_of(&e.key),
            Bound::Unbounded => self.buckets.len().saturating_sub(1),
        };
        let admits = match (lower, upper) {
            (Bound::Included(a), Bound::Included(b)) => a <= b,
            // `BTreeMap::range` panics on (Excluded(a), Excluded(a)); a == b admits nothing
            // with either bound excluded anyway.
            (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b))
            | (Bound::Excluded(a), Bound::Included(b)) => a < b,
            (Bound::Unbounded, _) | (_, Bound::Unbounded) => true,
        };
        Range {
            map: self,
            lower,
            upper,
            first,
            last,
            next: if admits { first } else { usize::MAX },
            inner: None,
        }
    }

    /// The first non-empty bucket in `from..=to`.
    fn next_nonempty(&self, from: usize, to: usize) -> Option<usize> {
        if from > to {
            return None;
        }
        let mut w = from / 64;
        let mut word = self.nonempty.get(w)? & (u64::MAX << (from % 64));
        loop {
            if word != 0 {
                let b = w * 64 + word.trailing_zeros() as usize;
                return (b <= to).then_some(b);
            }
            w += 1;
            if w > to / 64 {
                return None;
            }
            word = *self.nonempty.get(w)?;
        }
    }
}

/// An ordered walk over a [`PrefixMap`] between two bounds.
pub(super) struct Range<'a> {
    map: &'a PrefixMap,
    lower: Bound<Entry>,
    upper: Bound<Entry>,
    /// The bucket of the lower bound (the only one the lower bound applies in).
    first: usize,
    /// The bucket of the upper bound (the last one walked).
    last: usize,
    /// The next bucket to look at.
    next: usize,
    /// The walk inside the current bucket.
    inner: Option<btree_map::Range<'a, Entry, u64>>,
}

impl<'a> Range<'a> {
    /// The walk inside the next non-empty bucket, bounded if it is the first or the last.
    fn next_bucket(&mut self) -> Option<btree_map::Range<'a, Entry, u64>> {
        let b = self.map.next_nonempty(self.next, self.last)?;
        self.next = b.saturating_add(1);
        let lower = if b == self.first {
            self.lower
        } else {
            Bound::Unbounded
        };
        let upper = if b == self.last {
            self.upper
        } else {
            Bound::Unbounded
        };
        Some(self.map.buckets.get(b)?.range((lower, upper)))
    }
}

impl<'a> Iterator for Range<'a> {
    type Item = (&'a Entry, u64);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((e, m)) = self.inner.as_mut().and_then(Iterator::next) {
                return Some((e, *m));
            }
            self.inner = Some(self.next_bucket()?);
        }
    }

    /// Bucket by bucket, each with the tree's own loop: full scans (digests) take this path.
    fn fold<B, F: FnMut(B, Self::Item) -> B>(mut self, init: B, mut f: F) -> B {
        let mut step = |acc, (e, m): (&'a Entry, &'a u64)| f(acc, (e, *m));
        let mut acc = init;
        if let Some(walk) = self.inner.take() {
            acc = walk.fold(acc, &mut step);
        }
        while let Some(walk) = self.next_bucket() {
            acc = walk.fold(acc, &mut step);
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Bound::{Excluded, Included, Unbounded};
    use proptest::prelude::*;

    /// An empty map already split into `2^bits` buckets.
    fn with_bits(bits: u32) -> PrefixMap {
        let mut map = PrefixMap::default();
        map.buckets.push(BTreeMap::new());
        map.nonempty = vec![0];
        while map.bits < bits {
            map.grow();
        }
        map
    }

    /// A key whose first two bytes are `hi` and whose last byte is `lo`.
    fn key(hi: u16, lo: u8) -> DhtKey {
        let mut k = [0u8; HASH_LEN];
        k[..2].copy_from_slice(&hi.to_be_bytes());
        k[HASH_LEN - 1] = lo;
        DhtKey(k)
    }

    fn e(hi: u16, lo: u8, fp: u64) -> Entry {
        Entry::new(key(hi, lo), fp)
    }

    /// A uniformly spread entry from a SplitMix64 state.
    fn spread(state: &mut u64) -> Entry {
        let mut next = || {
            *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let mut k = [0u8; HASH_LEN];
        k[..8].copy_from_slice(&next().to_be_bytes());
        k[8..16].copy_from_slice(&next().to_be_bytes());
        Entry::new(DhtKey(k), next())
    }

    /// What a plain `BTreeMap` holds between two bounds (filtered, so inverted bounds are
    /// simply empty instead of a panic).
    fn model_range(
        model: &BTreeMap<Entry, u64>,
        lower: Bound<Entry>,
        upper: Bound<Entry>,
    ) -> Vec<(Entry, u64)> {
        use std::ops::RangeBounds;
        model
            .iter()
            .filter(|(x, _)| (lower, upper).contains(*x))
            .map(|(x, m)| (*x, *m))
            .collect()
    }

    fn got(map: &PrefixMap, lower: Bound<Entry>, upper: Bound<Entry>) -> Vec<(Entry, u64)> {
        map.range(lower, upper).map(|(x, m)| (*x, m)).collect()
    }

    /// The buckets are `2^bits`, each holds only keys of its prefix, and the bitmap marks
    /// exactly the non-empty ones.
    fn check_layout(map: &PrefixMap) {
        if map.buckets.is_empty() {
            return;
        }
        assert_eq!(map.buckets.len(), 1 << map.bits);
        assert_eq!(
            map.buckets.iter().map(BTreeMap::len).sum::<usize>(),
            map.len
        );
        for (b, tree) in map.buckets.iter().enumerate() {
            assert!(tree.keys().all(|x| map.bucket_of(&x.key) == b));
            let bit = map.nonempty[b / 64] >> (b % 64) & 1 == 1;
            assert_eq!(bit, !tree.is_empty(), "bucket {b}");
        }
    }

    #[test]
    fn an_empty_map_has_nothing_anywhere() {
        for mut map in [PrefixMap::default(), with_bits(MAX_BITS)] {
            assert!(map.is_empty());
            assert_eq!(map.len(), 0);
            assert_eq!(map.get(&e(0, 0, 0)), None);
            assert_eq!(map.remove(&e(0, 0, 0)), None);
            assert!(got(&map, Unbounded, Unbounded).is_empty());
            assert!(got(&map, Included(e(5, 0, 0)), Excluded(e(9, 0, 0))).is_empty());
            // Emptied again after an insert: still nothing to list.
            map.insert(e(7, 1, 1), 3);
            assert_eq!(map.remove(&e(7, 1, 1)), Some(3));
            assert!(map.is_empty());
            assert!(got(&map, Unbounded, Unbounded).is_empty());
            assert!(map.nonempty.iter().all(|w| *w == 0));
        }
        assert!(
            PrefixMap::default().buckets.is_empty(),
            "nothing allocated until the first insert"
        );
    }

    #[test]
    fn keys_at_the_ends_and_at_prefix_boundaries_keep_their_order() {
        let min = Entry::new(DhtKey::MIN, 0);
        let max = Entry::new(DhtKey::MAX, u64::MAX);
        // At 14 bits, 0x0003.. ends bucket 0 and 0x0004.. starts bucket 1; 0x00ff.. and
        // 0x0100.. are buckets 63 and 64, in two bitmap words; 0x7fff.. and 0x8000.. are the
        // two halves at any number of bits.
        let mut all = vec![
            min,
            max,
            e(0x0003, 0xff, 9),
            e(0x0004, 0, 0),
            e(0x00ff, 0xff, 1),
            e(0x0100, 0, 1),
            e(0x7fff, 0xff, u64::MAX),
            e(0x8000, 0, 0),
            e(0xfffb, 0xff, 0),
            e(0xfffc, 0, 0),
        ];
        for bits in [0, 1, 7, MAX_BITS] {
            let mut map = with_bits(bits);
            for (i, x) in all.iter().enumerate() {
                assert_eq!(map.insert(*x, i as u64), None);
            }
            check_layout(&map);
            all.sort();
            let listed: Vec<Entry> = map.range(Unbounded, Unbounded).map(|(x, _)| *x).collect();
            assert_eq!(listed, all);
            assert_eq!(map.len(), all.len());
            assert_eq!(map.bucket_of(&DhtKey::MIN), 0);
            assert_eq!(map.bucket_of(&DhtKey::MAX), (1 << bits) - 1);
            // Ranges that end exactly at a prefix boundary.
            let upto_1 = got(&map, Unbounded, Excluded(e(0x0004, 0, 0)));
            assert_eq!(upto_1.len(), 2);
            let from_1 = got(&map, Included(e(0x0004, 0, 0)), Excluded(e(0x0100, 0, 1)));
            assert_eq!(
                from_1.iter().map(|(x, _)| *x).collect::<Vec<_>>(),
                [e(0x0004, 0, 0), e(0x00ff, 0xff, 1)]
            );
            let halves = got(&map, Included(e(0x7fff, 0, 0)), Included(e(0x8000, 0, 0)));
            assert_eq!(halves.len(), 2);
            assert_eq!(got(&map, Included(max), Unbounded).len(), 1);
            assert_eq!(got(&map, Excluded(max), Unbounded).len(), 0);
            assert_eq!(got(&map, Unbounded, Included(min)).len(), 1);
            assert_eq!(got(&map, Unbounded, Excluded(min)).len(), 0);
        }
    }

    #[test]
    fn inverted_or_empty_bounds_give_nothing() {
        let mut map = with_bits(MAX_BITS);
        for hi in [0u16, 4, 8, 0x8000] {
            map.insert(e(hi, 1, 1), 0);
        }
        let a = e(4, 1, 1);
        assert_eq!(got(&map, Included(a), Included(a)).len(), 1);
        assert!(got(&map, Excluded(a), Excluded(a)).is_empty());
        assert!(got(&map, Included(a), Excluded(a)).is_empty());
        assert!(got(&map, Excluded(a), Included(a)).is_empty());
        assert!(got(&map, Included(e(0x8000, 0, 0)), Included(e(8, 0, 0))).is_empty());
        assert!(got(&map, Included(e(8, 2, 0)), Included(e(8, 0, 0))).is_empty());
    }

    #[test]
    fn one_key_with_many_fingerprints_stays_ordered_and_removable() {
        let mut map = PrefixMap::default();
        let hot = key(0x1234, 7);
        for fp in (0..5_000u64).rev() {
            map.insert(Entry::new(hot, fp * 3), fp);
        }
        map.insert(e(0x1234, 6, u64::MAX), 1);
        map.insert(e(0x1234, 8, 0), 1);
        assert_eq!(map.len(), 5_002);
        check_layout(&map);
        let inside = got(
            &map,
            Excluded(Entry::new(hot, 30)),
            Included(Entry::new(hot, 60)),
        );
        assert_eq!(
            inside.iter().map(|(x, _)| x.fp()).collect::<Vec<_>>(),
            [33, 36, 39, 42, 45, 48, 51, 54, 57, 60]
        );
        let all_of_hot = got(
            &map,
            Included(Entry::new(hot, 0)),
            Included(Entry::new(hot, u64::MAX)),
        );
        assert_eq!(all_of_hot.len(), 5_000);
        for fp in 0..5_000u64 {
            assert_eq!(map.remove(&Entry::new(hot, fp * 3)), Some(fp));
        }
        assert_eq!(map.len(), 2);
        assert_eq!(got(&map, Unbounded, Unbounded).len(), 2);
        check_layout(&map);
    }

    #[test]
    fn grows_with_its_entries_up_to_the_most_bits() {
        let mut map = PrefixMap::default();
        let mut model = BTreeMap::new();
        let mut state = 1;
        for i in 0..10_000u64 {
            let x = spread(&mut state);
            map.insert(x, i);
            model.insert(x, i);
            assert!(map.len() <= GROW_AT * map.buckets.len());
        }
        // 10,000 entries: more than 64 per bucket at 128 buckets, fewer at 256.
        assert_eq!(map.bits, 8);
        check_layout(&map);
        assert_eq!(
            got(&map, Unbounded, Unbounded),
            model_range(&model, Unbounded, Unbounded)
        );
        // Removing nearly everything keeps the buckets (and the order).
        let keep: Vec<Entry> = model.keys().step_by(1_000).copied().collect();
        for x in model.keys().filter(|x| !keep.contains(x)) {
            assert!(map.remove(x).is_some());
        }
        assert_eq!(map.bits, 8);
        assert_eq!(
            map.range(Unbounded, Unbounded)
                .map(|(x, _)| *x)
                .collect::<Vec<_>>(),
            keep
        );
        check_layout(&map);
        // Past the threshold a map splits, but not beyond the most bits (`len` forced: a
        // million entries would slow the suite down).
        for bits in [MAX_BITS - 1, MAX_BITS] {
            let mut big = with_bits(bits);
            big.len = GROW_AT * big.buckets.len() + 1;
            big.grow_if_due();
            assert_eq!(big.bits, MAX_BITS);
        }
    }

    /// A key in one of a few runs of neighbouring buckets (at both ends of the key space, in
    /// the middle, across two bitmap words at 14 bits, and at the quarter boundary of a few
    /// bits), so ranges often start and end inside one bucket or neighbouring ones.
    fn arb_entry() -> impl Strategy<Value = Entry> {
        (
            prop_oneof![
                0u16..12,
                0x00f8u16..0x0108,
                0x3ffcu16..0x4004,
                0x7ff8u16..0x8008,
                0xfff4u16..=0xffff
            ],
            0u8..4,
            0u64..4,
        )
            .prop_map(|(hi, lo, fp)| {
                let fp = if fp == 3 { u64::MAX } else { fp };
                e(hi, lo, fp)
            })
    }

    fn arb_bound() -> impl Strategy<Value = Bound<Entry>> {
        prop_oneof![
            arb_entry().prop_map(Included),
            arb_entry().prop_map(Excluded),
            Just(Unbounded),
        ]
    }

    #[derive(Debug, Clone)]
    enum Op {
        Set(Entry, u64),
        Remove(Entry),
        Range(Bound<Entry>, Bound<Entry>),
    }

    fn arb_op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (arb_entry(), any::<u64>()).prop_map(|(x, m)| Op::Set(x, m)),
            2 => arb_entry().prop_map(Op::Remove),
            1 => (arb_bound(), arb_bound()).prop_map(|(l, u)| Op::Range(l, u)),
        ]
    }

    proptest! {
        /// The split map behaves as one `BTreeMap` through inserts, overwrites, removals,
        /// growth and ranges with every kind of bound, whatever its number of buckets.
        #[test]
        fn behaves_as_one_btreemap(
            bits in prop_oneof![0u32..=3, Just(7u32), Just(MAX_BITS)],
            background in prop_oneof![Just(0usize), 0usize..300, Just(2_100usize)],
            seed in any::<u64>(),
            ops in proptest::collection::vec(arb_op(), 1..300),
        ) {
            let mut map = with_bits(bits);
            let mut model: BTreeMap<Entry, u64> = BTreeMap::new();
            // Spread entries first, so the map grows and ranges cross filled buckets.
            let mut state = seed;
            for i in 0..background {
                let x = spread(&mut state);
                map.insert(x, i as u64);
                model.insert(x, i as u64);
            }
            for op in ops {
                match op {
                    Op::Set(x, m) => prop_assert_eq!(map.insert(x, m), model.insert(x, m)),
                    Op::Remove(x) => prop_assert_eq!(map.remove(&x), model.remove(&x)),
                    Op::Range(l, u) => {
                        let want = model_range(&model, l, u);
                        prop_assert_eq!(got(&map, l, u), want.clone());
                        // The same through `fold`, from the start and after a first `next`.
                        let push = |mut v: Vec<(Entry, u64)>, (x, m): (&Entry, u64)| {
                            v.push((*x, m));
                            v
                        };
                        prop_assert_eq!(map.range(l, u).fold(Vec::new(), push), want.clone());
                        let mut walk = map.range(l, u);
                        let head: Vec<(Entry, u64)> = walk.next().map(|(x, m)| (*x, m)).into_iter().collect();
                        prop_assert_eq!([head, walk.fold(Vec::new(), push)].concat(), want);
                    }
                }
                prop_assert_eq!(map.len(), model.len());
                prop_assert_eq!(map.is_empty(), model.is_empty());
            }
            for (x, m) in &model {
                prop_assert_eq!(map.get(x), Some(*m));
            }
            prop_assert_eq!(got(&map, Unbounded, Unbounded), model_range(&model, Unbounded, Unbounded));
            check_layout(&map);
        }
    }
}
