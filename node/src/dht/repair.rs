//! Replica repair of values and blob chunks alike: after leaf-set changes and periodically,
//! each node compares with every peer that shares part of its arc
//! ([`Placement::repair_partners`](super::placement::Placement)) what both hold there, and
//! moves only the items that differ.
//!
//! ```text
//! A ──Digest(kind, arc, bits, span, buckets)──▶ B   buckets are sub-arcs of the arc by key
//!                                                    position, each (count, XOR of hashes)
//! B ──Have(bucket, (after, upto], summaries)──▶ A    per differing bucket, ring order, chunked
//! A: diff(own summaries in that interval, B's) ──Push / ChunkPut copy──▶ B   what B lacks
//!                                              ──Want(entries)──▶ B          what A lacks
//! B ──Push / ChunkPut copy──▶ A
//! ```
//!
//! Both sides answer from the store's in-memory summary index
//! ([`digest`](crate::store::digest)): a digest comes from cached bucket digests that only a
//! write or an expiry in that bucket invalidates, and a `Have` is compared with the summaries of
//! its bucket's sub-arc alone. So a steady-state round costs O(buckets) per partner and no disk
//! read; only records that actually move are read (by key) from the store.
//!
//! Each `Have` chunk names the interval it covers, so A can tell what B lacks from that chunk
//! alone: no state is kept between messages. A new node closer to some keys is a partner of the
//! old holders as soon as they see it in their leaf sets, so it receives the values it is now
//! responsible for.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use super::wire::{
    MAX_BUCKET_BITS, MAX_BUCKETS, MAX_SUMMARIES, MAX_WANT, Msg, WireEntry, WireKind, WireRange,
    WireSummary,
};
use super::{Deadline, Dht, Sent};
use crate::overlay::NodeInfo;
use crate::store::digest::{bits_for, in_interval};
use crate::store::{Entry, ItemKind, KeyRange, Layout, Op, Summary, diff};

/// Items per bucket the digest aims at: a differing bucket then takes one or two `Have`s,
/// while a digest of an arc of 30,000 items takes 16 to 32 datagrams of 64 buckets (the
/// price, per partner and round, of never rescanning a large bucket).
const TARGET_PER_BUCKET: usize = 24;
/// Bucket bits of a first digest of an arc, before its item count is known.
const FIRST_BITS: u8 = 6;

/// When the next round runs, and the bucket bits last used per (kind, arc).
#[derive(Debug, Default)]
pub(super) struct Repair {
    generation: u64,
    scheduled: Option<Instant>,
    bits: HashMap<(ItemKind, KeyRange), u8>,
}

impl Dht {
    /// Runs a repair round `delay` from now unless one is due sooner.
    pub(super) fn schedule_repair(&mut self, now: Instant, delay: Duration) {
        let at = now + delay;
        if self.repair.scheduled.is_some_and(|s| s <= at) {
            return;
        }
        self.repair.generation += 1;
        self.repair.scheduled = Some(at);
        self.at(at, Deadline::Repair(self.repair.generation));
    }

    pub(super) fn on_repair_timer(&mut self, now: Instant, generation: u64) {
        if generation != self.repair.generation {
            return;
        }
        self.repair.scheduled = None;
        self.repair_round(now);
        self.schedule_repair(now, self.config.repair_interval);
    }

    /// Sends a digest of each shared arc to its partner, for values and for chunks.
    pub fn repair_round(&mut self, now: Instant) {
        let ms = self.unix_ms(now);
        let mut bits = HashMap::new();
        for (peer, range) in self.place.repair_partners() {
            for kind in [ItemKind::Values, ItemKind::Chunks] {
                let b = self.send_digest(ms, peer, kind, range, false);
                bits.insert((kind, range), b);
            }
        }
        // Items held for keys this node no longer replicates go to the nodes that now do.
        for (range, holders) in self.place.handoff_arcs() {
            for kind in [ItemKind::Values, ItemKind::Chunks] {
                for &peer in &holders {
                    let b = self.send_digest(ms, peer, kind, range, true);
                    bits.insert((kind, range), b);
                }
            }
        }
        // Arcs no longer shared are forgotten.
        self.repair.bits = bits;
    }

    /// Sends the digest of `range` to `peer` (as several messages when it has more than
    /// [`MAX_BUCKETS`] non-empty buckets); returns the bits used. An empty digest is sent only
    /// for values of a shared arc (`handoff` false), so the partner offers what it has.
    fn send_digest(
        &mut self,
        ms: u64,
        peer: NodeInfo,
        kind: ItemKind,
        range: KeyRange,
        handoff: bool,
    ) -> u8 {
        let mut bits = self
            .repair
            .bits
            .get(&(kind, range))
            .copied()
            .unwrap_or(FIRST_BITS);
        let mut layout = Layout::new(range, bits);
        let mut buckets = self.store.repair_digest(kind, ms, layout);
        let count: usize = buckets.iter().map(|d| d.count as usize).sum();
        let fit = bits_for(count, TARGET_PER_BUCKET);
        if fit != bits {
            // The arc grew or shrank: re-cut it (both sides cache the new layout from now on).
            bits = fit;
            layout = Layout::new(range, bits);
            buckets = self.store.repair_digest(kind, ms, layout);
        }
        if (handoff || kind == ItemKind::Chunks) && buckets.is_empty() {
            // Nothing to offer; a partner's own digest brings us what it has.
            return bits;
        }
        let end = layout.buckets();
        let parts: Vec<_> = buckets.chunks(MAX_BUCKETS).collect();
        let mut start = 0;
        for (i, part) in parts.iter().enumerate() {
            let stop = parts
                .get(i + 1)
                .and_then(|p| p.first())
                .map_or(end, |d| d.bucket);
            self.send_direct(
                peer,
                &Msg::Digest {
                    kind: kind.into(),
                    range: range.into(),
                    bits: layout.bits,
                    span: (start, stop),
                    buckets: part
                        .iter()
                        .map(|d| (d.bucket, d.count, d.hash.to_be_bytes()))
                        .collect(),
                },
                Sent::Other,
            );
            start = stop;
        }
        if parts.is_empty() {
            let msg = Msg::Digest {
                kind: kind.into(),
                range: range.into(),
                bits: layout.bits,
                span: (0, end),
                buckets: Vec::new(),
            };
            self.send_direct(peer, &msg, Sent::Other);
        }
        if kind == ItemKind::Values {
            self.metrics.digests_sent += 1;
        }
        bits
    }

    pub(super) fn on_repair_msg(&mut self, now: Instant, from: NodeInfo, msg: Msg) {
        let ms = self.unix_ms(now);
        match msg {
            Msg::Digest {
                kind,
                range,
                bits,
                span,
                buckets,
            } => self.on_digest(ms, from, (kind.into(), range, bits), span, &buckets),
            Msg::Have {
                kind,
                range,
                bits,
                bucket,
                after,
                upto,
                items,
            } => self.on_have(
                ms,
                from,
                (kind.into(), range, bits),
                bucket,
                (after, upto),
                items,
            ),
            Msg::Want { kind, entries } => {
                let entries: Vec<Entry> = entries.into_iter().map(Entry::from).collect();
                self.push_items(ms, from, kind.into(), &entries);
            }
            Msg::Push { record } => {
                let rec: crate::store::Record = record.into();
                if self.place.responsible(rec.id.key) {
                    self.stage_repair(now, Op::Replica(rec));
                }
            }
            _ => {}
        }
    }

    /// B's side: compare the initiator's digest of a span of buckets with ours and send our
    /// summaries of each differing bucket.
    fn on_digest(
        &mut self,
        ms: u64,
        from: NodeInfo,
        (kind, range, bits): (ItemKind, WireRange, u8),
        (lo, hi): (u32, u32),
        theirs: &[(u32, u32, [u8; 8])],
    ) {
        let layout = Layout::new(KeyRange::from(range), bits);
        if bits > MAX_BUCKET_BITS || layout.bits != bits || hi > layout.buckets() {
            self.metrics.dropped_malformed += 1;
            return;
        }
        let mine: BTreeMap<u32, (u32, [u8; 8])> = self
            .store
            .repair_digest_within(kind, ms, layout, lo..hi)
            .into_iter()
            .map(|d| (d.bucket, (d.count, d.hash.to_be_bytes())))
            .collect();
        let theirs: BTreeMap<u32, (u32, [u8; 8])> =
            theirs.iter().map(|(b, c, h)| (*b, (*c, *h))).collect();
        let mut differing: Vec<u32> = mine.keys().chain(theirs.keys()).copied().collect();
        differing.sort_unstable();
        differing.dedup();
        for b in differing {
            if mine.get(&b) == theirs.get(&b) {
                continue;
            }
            let Some(arc) = layout.arc(b) else {
                continue;
            };
            let my = self.store.repair_summaries(kind, ms, arc);
            self.send_have(from, (kind, range, bits), b, &my);
        }
    }

    /// Sends one bucket's summaries in chunks, each naming the interval it covers.
    fn send_have(
        &mut self,
        to: NodeInfo,
        (kind, range, bits): (ItemKind, WireRange, u8),
        bucket: u32,
        my: &[Summary],
    ) {
        let chunks: Vec<&[Summary]> = if my.is_empty() {
            vec![&[]]
        } else {
            my.chunks(MAX_SUMMARIES).collect()
        };
        let last = chunks.len() - 1;
        let mut after: Option<WireEntry> = None;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let upto = if i == last {
                None
            } else {
                chunk.last().map(|s| WireEntry::from(s.entry))
            };
            let msg = Msg::Have {
                kind: kind.into(),
                range,
                bits,
                bucket,
                after,
                upto,
                items: chunk.iter().map(|s| WireSummary::from(*s)).collect(),
            };
            self.send_direct(to, &msg, Sent::Other);
            after = upto;
        }
    }

    /// A's side: compare one chunk of B's summaries with ours in the same interval of the
    /// same bucket (only that bucket's sub-arc is read).
    fn on_have(
        &mut self,
        ms: u64,
        from: NodeInfo,
        (kind, range, bits): (ItemKind, WireRange, u8),
        bucket: u32,
        (after, upto): (Option<WireEntry>, Option<WireEntry>),
        items: Vec<WireSummary>,
    ) {
        let layout = Layout::new(KeyRange::from(range), bits);
        let arc = layout.arc(bucket).filter(|_| layout.bits == bits);
        let Some(arc) = arc else {
            self.metrics.dropped_malformed += 1;
            return;
        };
        let (after, upto) = (after.map(Entry::from), upto.map(Entry::from));
        let local: Vec<Summary> = self
            .store
            .repair_summaries(kind, ms, arc)
            .into_iter()
            .filter(|s| in_interval(arc.from, &s.entry, after.as_ref(), upto.as_ref()))
            .collect();
        // Summaries outside the bucket's sub-arc are not ours to compare: ignore them.
        let remote: Vec<Summary> = items
            .into_iter()
            .map(Summary::from)
            .filter(|s| arc.contains(s.entry.key))
            .collect();
        let mut d = diff(&local, &remote);
        self.push_items(ms, from, kind, &d.send);
        // In a handoff the arc is not ours: do not fetch what we would not keep.
        d.fetch.retain(|e| self.place.responsible(e.key));
        for part in d.fetch.chunks(MAX_WANT) {
            let msg = Msg::Want {
                kind: WireKind::from(kind),
                entries: part.iter().map(|e| WireEntry::from(*e)).collect(),
            };
            self.send_direct(from, &msg, Sent::Other);
        }
    }

    /// Sends these items to `to`: values as [`Msg::Push`], chunks as root-to-replica copies.
    fn push_items(&mut self, ms: u64, to: NodeInfo, kind: ItemKind, entries: &[Entry]) {
        match kind {
            ItemKind::Values => {
                let Ok(records) = self.store.records_for(ms, entries) else {
                    return;
                };
                for rec in records {
                    self.metrics.repaired_out += 1;
                    let msg = Msg::Push { record: rec.into() };
                    self.send_direct(to, &msg, Sent::Other);
                }
            }
            ItemKind::Chunks => {
                for e in entries {
                    let hash = e.key.0;
                    let (Some(expiry_ms), Ok(Some(bytes))) = (
                        self.store.chunk_expiry(ms, &hash),
                        self.store.get_chunk(ms, &hash),
                    ) else {
                        continue;
                    };
                    let msg = super::blob::chunk_copy(hash, expiry_ms, bytes);
                    self.send_direct(to, &msg, Sent::Other);
                }
            }
        }
    }
}
