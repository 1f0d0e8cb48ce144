//! Replica repair: after leaf-set changes and periodically, each node compares with every peer
//! that shares part of its arc ([`Placement::repair_partners`](super::placement::Placement))
//! what both hold there, and moves only the records that differ.
//!
//! ```text
//! A ──Digest(arc, n, buckets)──▶ B       n buckets by value hash, each (count, SHA-1 prefix)
//! B ──Have(bucket, (after, upto], summaries)──▶ A    per differing bucket, sorted, in chunks
//! A: diff(own summaries in that id interval, B's) ──Push(record)──▶ B   for what B lacks
//!                                                  ──Want(ids)──▶ B    for what A lacks
//! B ──Push(record)──▶ A
//! ```
//!
//! Each `Have` chunk names the id interval it covers, so A can tell what B lacks from that chunk
//! alone: no state is kept between messages. Steady state costs one small digest per partner
//! per round. A new node closer to some keys is a partner of the old holders as soon as they
//! see it in their leaf sets, so it receives the values it is now responsible for.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sha1::{Digest as _, Sha1};

use super::wire::{MAX_BUCKETS, MAX_SUMMARIES, MAX_WANT, Msg, WireId, WireRange, WireSummary};
use super::{Deadline, Dht, Sent};
use crate::overlay::NodeInfo;
use crate::store::{ItemId, ItemSummary, KeyRange, Op, diff};

/// Summaries per bucket the digest aims at (so one bucket's summaries fit one `Have`).
const TARGET_PER_BUCKET: usize = 8;

/// When the next round runs.
#[derive(Debug, Default)]
pub(super) struct Repair {
    generation: u64,
    scheduled: Option<Instant>,
}

/// The bucket of an item among `n` (a power of two): the top bits of its value hash.
fn bucket(id: &ItemId, n: u16) -> u16 {
    u16::from_be_bytes([id.value_hash[0], id.value_hash[1]]) & n.saturating_sub(1)
}

/// Bucket count for `count` records.
pub(super) fn bucket_count(count: usize) -> u16 {
    let n = count.div_ceil(TARGET_PER_BUCKET).next_power_of_two();
    u16::try_from(n.clamp(1, MAX_BUCKETS)).unwrap_or(1)
}

/// Summaries grouped by bucket, each sorted by id.
fn group(items: Vec<ItemSummary>, n: u16) -> BTreeMap<u16, Vec<ItemSummary>> {
    let mut out: BTreeMap<u16, Vec<ItemSummary>> = BTreeMap::new();
    for s in items {
        out.entry(bucket(&s.id, n)).or_default().push(s);
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

/// (count, SHA-1 prefix) of one bucket.
fn digest_of(items: &[ItemSummary]) -> (u32, [u8; 8]) {
    let mut h = Sha1::new();
    for s in items {
        h.update(s.id.to_bytes());
        h.update(s.expiry_ms.to_be_bytes());
        h.update([u8::from(s.tombstone)]);
    }
    let full: [u8; 20] = h.finalize().into();
    let mut short = [0u8; 8];
    short.copy_from_slice(&full[..8]);
    (u32::try_from(items.len()).unwrap_or(u32::MAX), short)
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

    /// Sends a digest of each shared arc to its partner.
    pub fn repair_round(&mut self, now: Instant) {
        let ms = self.unix_ms(now);
        for (peer, range) in self.place.repair_partners() {
            let Ok(items) = self.store.summaries(ms, range, None) else {
                continue;
            };
            let n = bucket_count(items.len());
            let buckets = group(items, n)
                .iter()
                .map(|(b, v)| {
                    let (count, hash) = digest_of(v);
                    (*b, count, hash)
                })
                .collect();
            let msg = Msg::Digest {
                range: range.into(),
                n,
                buckets,
            };
            self.metrics.digests_sent += 1;
            self.send_direct(peer, &msg, Sent::Other);
            self.chunk_digest(ms, peer, range);
        }
    }

    pub(super) fn on_repair_msg(&mut self, now: Instant, from: NodeInfo, msg: Msg) {
        let ms = self.unix_ms(now);
        match msg {
            Msg::Digest { range, n, buckets } => self.on_digest(ms, from, range, n, &buckets),
            Msg::Have {
                range,
                n,
                bucket,
                after,
                upto,
                items,
            } => self.on_have(ms, from, (range, n, bucket), (after, upto), items),
            Msg::Want { ids } => {
                let ids: Vec<ItemId> = ids.into_iter().map(ItemId::from).collect();
                self.push_records(ms, from, &ids);
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

    /// B's side: compare the initiator's digest with ours and list the differing buckets.
    fn on_digest(
        &mut self,
        ms: u64,
        from: NodeInfo,
        range: WireRange,
        n: u16,
        theirs: &[(u16, u32, [u8; 8])],
    ) {
        if !n.is_power_of_two() || usize::from(n) > MAX_BUCKETS {
            self.metrics.dropped_malformed += 1;
            return;
        }
        let Ok(items) = self.store.summaries(ms, KeyRange::from(range), None) else {
            return;
        };
        let mine = group(items, n);
        let theirs: BTreeMap<u16, (u32, [u8; 8])> =
            theirs.iter().map(|(b, c, h)| (*b, (*c, *h))).collect();
        let mut differing: Vec<u16> = mine.keys().chain(theirs.keys()).copied().collect();
        differing.sort_unstable();
        differing.dedup();
        let empty = Vec::new();
        for b in differing {
            let my = mine.get(&b).unwrap_or(&empty);
            if !my.is_empty() && theirs.get(&b) == Some(&digest_of(my)) {
                continue;
            }
            self.send_have(from, range, n, b, my);
        }
    }

    /// Sends one bucket's summaries in chunks, each naming the id interval it covers.
    fn send_have(&mut self, to: NodeInfo, range: WireRange, n: u16, b: u16, my: &[ItemSummary]) {
        let chunks: Vec<&[ItemSummary]> = if my.is_empty() {
            vec![&[]]
        } else {
            my.chunks(MAX_SUMMARIES).collect()
        };
        let last = chunks.len() - 1;
        let mut after: Option<WireId> = None;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let upto = if i == last {
                None
            } else {
                chunk.last().map(|s| WireId::from(s.id))
            };
            let msg = Msg::Have {
                range,
                n,
                bucket: b,
                after,
                upto,
                items: chunk.iter().map(|s| WireSummary::from(*s)).collect(),
            };
            self.send_direct(to, &msg, Sent::Other);
            after = upto;
        }
    }

    /// A's side: compare one chunk of B's summaries with ours in the same interval.
    fn on_have(
        &mut self,
        ms: u64,
        from: NodeInfo,
        (range, n, b): (WireRange, u16, u16),
        (after, upto): (Option<WireId>, Option<WireId>),
        items: Vec<WireSummary>,
    ) {
        if !n.is_power_of_two() || usize::from(n) > MAX_BUCKETS {
            self.metrics.dropped_malformed += 1;
            return;
        }
        let Ok(all) = self.store.summaries(ms, KeyRange::from(range), None) else {
            return;
        };
        let (after, upto) = (after.map(ItemId::from), upto.map(ItemId::from));
        let local: Vec<ItemSummary> = all
            .into_iter()
            .filter(|s| bucket(&s.id, n) == b)
            .filter(|s| after.is_none_or(|a| s.id > a) && upto.is_none_or(|u| s.id <= u))
            .collect();
        let remote: Vec<ItemSummary> = items.into_iter().map(ItemSummary::from).collect();
        let d = diff(&local, &remote);
        self.push_records(ms, from, &d.send);
        for ids in d.fetch.chunks(MAX_WANT) {
            let ids = ids.iter().map(|i| WireId::from(*i)).collect();
            self.send_direct(from, &Msg::Want { ids }, Sent::Other);
        }
    }

    fn push_records(&mut self, ms: u64, to: NodeInfo, ids: &[ItemId]) {
        let Ok(records) = self.store.records(ms, ids) else {
            return;
        };
        for rec in records {
            self.metrics.repaired_out += 1;
            let msg = Msg::Push { record: rec.into() };
            self.send_direct(to, &msg, Sent::Other);
        }
    }
}
