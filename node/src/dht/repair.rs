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
//! A round is paced: each partner's digest goes out a window of [`MAX_BUCKETS`] buckets at a
//! time, [`WINDOWS_PER_TICK`] every [`PACE_TICK`], and each window is computed just before it
//! is sent. A node holding a million bindings then spreads a round over about four seconds, at
//! a fraction of a core, instead of stalling its event loop for a large part of one (which
//! under load delayed answers into client retransmissions); and both sides compare a window
//! within about a round trip of each other, so copies still in flight to a replica rarely make
//! a bucket differ.
//!
//! Each `Have` chunk names the interval it covers, so A can tell what B lacks from that chunk
//! alone: no state is kept between messages. A new node closer to some keys is a partner of the
//! old holders as soon as they see it in their leaf sets, so it receives the values it is now
//! responsible for.

use std::collections::{BTreeMap, HashMap, VecDeque};
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
/// Digest windows sent per pacing tick, over all partners.
const WINDOWS_PER_TICK: usize = 1;
/// Time between pacing ticks of a round.
const PACE_TICK: Duration = Duration::from_millis(5);

/// When the next round runs, the bucket bits last used per (kind, arc), and the digests of
/// the round in progress.
#[derive(Debug, Default)]
pub(super) struct Repair {
    generation: u64,
    scheduled: Option<Instant>,
    bits: HashMap<(ItemKind, KeyRange), u8>,
    /// Digests still being sent, front first.
    jobs: VecDeque<DigestJob>,
    /// Number of the pending pacing tick: a new round's ticks supersede an old one's.
    pace: u64,
}

/// One partner's digest of one arc, sent a window at a time.
#[derive(Debug)]
struct DigestJob {
    peer: NodeInfo,
    kind: ItemKind,
    /// A handoff offers what we hold for an arc that is no longer ours; it (like a digest of
    /// chunks) skips windows where we hold nothing, since the partner's own round covers what
    /// it holds there.
    handoff: bool,
    layout: Layout,
    /// First bucket not sent yet.
    next: u32,
    /// Live items counted so far, to fit the next round's bucket size.
    count: usize,
    /// Windows sent so far.
    sent: usize,
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

    /// Starts a round: a digest of each shared arc to its partner, for values and for chunks,
    /// and of each arc to hand off to its new holders. A round still being sent is replaced.
    /// The first windows leave at once, the rest paced (see the module documentation).
    pub fn repair_round(&mut self, now: Instant) {
        let mut arcs = Vec::new();
        for (peer, range) in self.place.repair_partners() {
            arcs.push((peer, range, false));
        }
        // Items held for keys this node no longer replicates go to the nodes that now do.
        for (range, holders) in self.place.handoff_arcs() {
            arcs.extend(holders.into_iter().map(|peer| (peer, range, true)));
        }
        let mut bits = HashMap::new();
        self.repair.jobs.clear();
        for (peer, range, handoff) in arcs {
            for kind in [ItemKind::Values, ItemKind::Chunks] {
                // An arc seen for the first time is cut for everything held: too fine at
                // worst, and refitted to what the round counted on it for the next one.
                let b = *bits.entry((kind, range)).or_insert_with(|| {
                    self.repair
                        .bits
                        .get(&(kind, range))
                        .copied()
                        .unwrap_or_else(|| bits_for(self.store.item_count(kind), TARGET_PER_BUCKET))
                });
                self.repair.jobs.push_back(DigestJob {
                    peer,
                    kind,
                    handoff,
                    layout: Layout::new(range, b),
                    next: 0,
                    count: 0,
                    sent: 0,
                });
            }
        }
        // Arcs no longer shared are forgotten.
        self.repair.bits = bits;
        self.repair.pace += 1;
        self.pace_repair(now, self.repair.pace);
    }

    /// Sends the next [`WINDOWS_PER_TICK`] digest windows of the round in progress and, if
    /// any are left, comes back after [`PACE_TICK`].
    pub(super) fn pace_repair(&mut self, now: Instant, tick: u64) {
        if tick != self.repair.pace {
            return;
        }
        let ms = self.unix_ms(now);
        let mut budget = WINDOWS_PER_TICK;
        while budget > 0 {
            let Some(mut job) = self.repair.jobs.pop_front() else {
                return;
            };
            if self.send_window(ms, &mut job) {
                budget -= 1;
            }
            if job.next < job.layout.buckets() {
                self.repair.jobs.push_front(job);
            } else {
                self.finish_digest(&job);
            }
        }
        if !self.repair.jobs.is_empty() {
            self.repair.pace += 1;
            self.at(now + PACE_TICK, Deadline::RepairPace(self.repair.pace));
        }
    }

    /// Computes and sends the job's next window; false when it was skipped as empty.
    fn send_window(&mut self, ms: u64, job: &mut DigestJob) -> bool {
        let end = job.layout.buckets();
        let start = job.next;
        let stop = start
            .saturating_add(u32::try_from(MAX_BUCKETS).unwrap_or(u32::MAX))
            .min(end);
        job.next = stop;
        let buckets = self
            .store
            .repair_digest_within(job.kind, ms, job.layout, start..stop);
        let count = buckets.iter().map(|d| d.count as usize).sum::<usize>();
        let width = usize::try_from(stop - start).unwrap_or(usize::MAX).max(1);
        if job.sent == 0 && count > width.saturating_mul(TARGET_PER_BUCKET * 4) {
            // The arc filled up since its bits were fitted: buckets this full would make a
            // differing one cost thousands of summaries. Keys are hashes, spread evenly, so
            // the first window tells how many the arc holds; start again cut to fit that.
            let all = usize::try_from(end).unwrap_or(usize::MAX);
            let estimate = count.saturating_mul(all) / width;
            let layout = Layout::new(job.layout.range, bits_for(estimate, TARGET_PER_BUCKET));
            if layout.bits > job.layout.bits {
                job.layout = layout;
                job.next = 0;
                job.count = 0;
                return false;
            }
        }
        job.count += count;
        if buckets.is_empty() && (job.handoff || job.kind == ItemKind::Chunks) {
            return false;
        }
        job.sent += 1;
        self.send_direct(
            job.peer,
            &Msg::Digest {
                kind: job.kind.into(),
                range: job.layout.range.into(),
                bits: job.layout.bits,
                span: (start, stop),
                buckets: buckets
                    .iter()
                    .map(|d| (d.bucket, d.count, d.hash.to_be_bytes()))
                    .collect(),
            },
            Sent::Other,
        );
        true
    }

    /// A digest is all sent: the next round cuts its arc to fit what it counted.
    fn finish_digest(&mut self, job: &DigestJob) {
        if job.kind == ItemKind::Values && job.sent > 0 {
            self.metrics.digests_sent += 1;
        }
        let key = (job.kind, job.layout.range);
        if self.repair.bits.contains_key(&key) {
            self.repair
                .bits
                .insert(key, bits_for(job.count, TARGET_PER_BUCKET));
        }
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
