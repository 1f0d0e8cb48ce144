//! Repair of blob chunks, the same exchange as [`repair`](super::repair) for values: bucket
//! digests of the chunk hashes in the arc two nodes share, then the hashes of differing buckets
//! in self-describing intervals, then only the missing chunks move (as root-to-replica copies).
//! Chunks are immutable, so only presence is compared.

use std::collections::BTreeMap;
use std::time::Instant;

use sha1::{Digest as _, Sha1};

use super::repair::bucket_count;
use super::wire::{MAX_BUCKETS, MAX_CHUNK_HASHES, Msg, WireRange};
use super::{Dht, Sent};
use crate::overlay::NodeInfo;
use crate::store::{Hash, KeyRange};

/// The bucket of a chunk among `n` (a power of two).
fn bucket(hash: &Hash, n: u16) -> u16 {
    u16::from_be_bytes([hash[0], hash[1]]) & n.saturating_sub(1)
}

/// Chunk hashes grouped by bucket, sorted.
fn group(list: Vec<(Hash, u64)>, n: u16) -> BTreeMap<u16, Vec<Hash>> {
    let mut out: BTreeMap<u16, Vec<Hash>> = BTreeMap::new();
    for (h, _) in list {
        out.entry(bucket(&h, n)).or_default().push(h);
    }
    for v in out.values_mut() {
        v.sort_unstable();
    }
    out
}

fn digest_of(hashes: &[Hash]) -> (u32, [u8; 8]) {
    let mut h = Sha1::new();
    for x in hashes {
        h.update(x);
    }
    let full: [u8; 20] = h.finalize().into();
    let mut short = [0u8; 8];
    short.copy_from_slice(&full[..8]);
    (u32::try_from(hashes.len()).unwrap_or(u32::MAX), short)
}

impl Dht {
    /// Sends the chunk digest of `range` to `peer` (part of a repair round).
    pub(super) fn chunk_digest(&mut self, ms: u64, peer: NodeInfo, range: KeyRange) {
        let Ok(list) = self.store.chunks_in_range(ms, range) else {
            return;
        };
        if list.is_empty() {
            return;
        }
        let n = bucket_count(list.len());
        let buckets = group(list, n)
            .iter()
            .map(|(b, v)| {
                let (count, hash) = digest_of(v);
                (*b, count, hash)
            })
            .collect();
        let msg = Msg::ChunkDigest {
            range: range.into(),
            n,
            buckets,
        };
        self.send_direct(peer, &msg, Sent::Other);
    }

    pub(super) fn on_chunk_repair_msg(&mut self, now: Instant, from: NodeInfo, msg: Msg) {
        let ms = self.unix_ms(now);
        match msg {
            Msg::ChunkDigest { range, n, buckets } if n.is_power_of_two() => {
                self.on_chunk_digest(ms, from, (range, n), &buckets);
            }
            Msg::ChunkHave {
                range,
                n,
                bucket: b,
                after,
                upto,
                hashes,
            } if n.is_power_of_two() => {
                let Ok(list) = self.store.chunks_in_range(ms, KeyRange::from(range)) else {
                    return;
                };
                let mine: Vec<Hash> = list
                    .into_iter()
                    .map(|(h, _)| h)
                    .filter(|h| bucket(h, n) == b)
                    .filter(|h| after.is_none_or(|a| *h > a) && upto.is_none_or(|u| *h <= u))
                    .collect();
                let send: Vec<Hash> = mine
                    .iter()
                    .filter(|h| !hashes.contains(h))
                    .copied()
                    .collect();
                self.push_chunks(ms, from, &send);
                let want: Vec<Hash> = hashes.into_iter().filter(|h| !mine.contains(h)).collect();
                for part in want.chunks(MAX_CHUNK_HASHES) {
                    let msg = Msg::ChunkWant {
                        hashes: part.to_vec(),
                    };
                    self.send_direct(from, &msg, Sent::Other);
                }
            }
            Msg::ChunkWant { hashes } => self.push_chunks(ms, from, &hashes),
            _ => self.metrics.dropped_malformed += 1,
        }
    }

    fn on_chunk_digest(
        &mut self,
        ms: u64,
        from: NodeInfo,
        (range, n): (WireRange, u16),
        theirs: &[(u16, u32, [u8; 8])],
    ) {
        if usize::from(n) > MAX_BUCKETS {
            return;
        }
        let Ok(list) = self.store.chunks_in_range(ms, KeyRange::from(range)) else {
            return;
        };
        let mine = group(list, n);
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
            let parts: Vec<&[Hash]> = if my.is_empty() {
                vec![&[]]
            } else {
                my.chunks(MAX_CHUNK_HASHES).collect()
            };
            let last = parts.len() - 1;
            let mut after = None;
            for (i, part) in parts.into_iter().enumerate() {
                let upto = if i == last {
                    None
                } else {
                    part.last().copied()
                };
                let msg = Msg::ChunkHave {
                    range,
                    n,
                    bucket: b,
                    after,
                    upto,
                    hashes: part.to_vec(),
                };
                self.send_direct(from, &msg, Sent::Other);
                after = upto;
            }
        }
    }

    /// Sends these chunks to `to` as replica copies.
    fn push_chunks(&mut self, ms: u64, to: NodeInfo, hashes: &[Hash]) {
        let Ok(list) = self.store.chunks_in_range(ms, KeyRange::FULL) else {
            return;
        };
        let expiry: BTreeMap<Hash, u64> = list.into_iter().collect();
        for h in hashes {
            let (Some(&expiry_ms), Ok(Some(bytes))) = (expiry.get(h), self.store.get_chunk(ms, h))
            else {
                continue;
            };
            let msg = Msg::ChunkPut {
                token: 0,
                hash: *h,
                expiry_ms,
                bytes,
                copy: true,
            };
            self.send_direct(to, &msg, Sent::Other);
        }
    }
}
