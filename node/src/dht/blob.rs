//! Blobs (images up to 8 MiB) as content-addressed chunks.
//!
//! A blob is cut into [`CHUNK_LEN`]-byte data chunks. Manifests list up to [`FANOUT`] child
//! hashes: a level-0 manifest lists data chunks, a level-l manifest lists level-(l − 1)
//! manifests, and the single top manifest's SHA-1 is the blob's hash. Every chunk (data or
//! manifest) is stored under its own SHA-1 as the DHT key, so chunks spread over the whole
//! overlay. A chunk put is routed to its root in one payload (a chunk plus header fits
//! [`MAX_ROUTED_PAYLOAD`](crate::overlay::wire::MAX_ROUTED_PAYLOAD)); the root stores it, copies
//! it directly to the r − 1 replicas and acknowledges. A get fetches the top manifest, then each
//! level's chunks in parallel ([`DhtConfig::blob_parallelism`](super::DhtConfig) in flight),
//! checking every chunk against its hash.

use std::collections::HashMap;
use std::time::Instant;

use super::api::{DhtError, Outcome};
use super::placement::node_id;
use super::wire::Msg;
use super::{Deadline, Dht, ReqId, Sent};
use crate::overlay::NodeInfo;
use crate::store::{HASH_LEN, Hash, sha1};

/// Bytes of blob data per chunk (a chunk put must fit one routed payload).
pub const CHUNK_LEN: usize = 1000;
/// Child hashes per manifest.
pub const FANOUT: usize = 48;
/// Largest blob (`scope.put_blob`'s limit).
pub const MAX_BLOB_LEN: usize = 8 * 1024 * 1024;
/// First bytes of every manifest.
const MAGIC: &[u8; 4] = b"SCB1";
/// Deepest manifest tree accepted (3 levels cover 48^3 chunks, far above 8 MiB).
const MAX_LEVEL: u8 = 3;

/// A blob upload in flight.
#[derive(Debug)]
struct Upload {
    chunks: Vec<(Hash, Vec<u8>)>,
    top: Hash,
    expiry_ms: u64,
    next: usize,
    acked: usize,
}

/// What the chunks of the current download stage are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The top manifest.
    Top,
    /// Manifests of this level.
    Manifests(u8),
    /// Data chunks.
    Data,
}

/// A blob download in flight: one stage (tree level) at a time.
#[derive(Debug)]
struct Download {
    stage: Stage,
    total_len: usize,
    hashes: Vec<Hash>,
    slots: Vec<Option<Vec<u8>>>,
    next: usize,
    filled: usize,
}

/// One chunk request in flight.
#[derive(Debug, Clone, Copy)]
struct ChunkOp {
    req: u64,
    index: usize,
    attempt: u32,
    /// A node answered that it does not hold the chunk (as opposed to not answering): when
    /// the attempts run out, the blob is reported missing rather than the DHT as slow.
    absent: bool,
}

/// Blob transfers in flight.
#[derive(Debug, Default)]
pub(super) struct Blobs {
    uploads: HashMap<u64, Upload>,
    downloads: HashMap<u64, Download>,
    ops: HashMap<u64, ChunkOp>,
}

/// Encodes a manifest.
fn manifest(level: u8, total_len: usize, children: &[Hash]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&u32::try_from(total_len).unwrap_or(u32::MAX).to_be_bytes());
    out.push(level);
    for c in children {
        out.extend_from_slice(c);
    }
    out
}

/// Decodes a manifest: (level, total length, children).
fn parse_manifest(bytes: &[u8]) -> Option<(u8, usize, Vec<Hash>)> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let (len, rest) = rest.split_at_checked(4)?;
    let (&level, rest) = rest.split_first()?;
    if level > MAX_LEVEL || !rest.len().is_multiple_of(HASH_LEN) || rest.is_empty() {
        return None;
    }
    let total = usize::try_from(u32::from_be_bytes(len.try_into().ok()?)).ok()?;
    let children = rest
        .chunks_exact(HASH_LEN)
        .filter_map(|c| c.try_into().ok())
        .collect();
    Some((level, total, children))
}

/// Every chunk of `data` (data chunks, then manifests bottom-up) and the top manifest's hash.
fn split(data: &[u8]) -> (Vec<(Hash, Vec<u8>)>, Hash) {
    let mut chunks: Vec<(Hash, Vec<u8>)> = data
        .chunks(CHUNK_LEN)
        .map(|c| (sha1(c), c.to_vec()))
        .collect();
    if chunks.is_empty() {
        chunks.push((sha1(&[]), Vec::new()));
    }
    let mut level_hashes: Vec<Hash> = chunks.iter().map(|(h, _)| *h).collect();
    let mut level = 0u8;
    loop {
        let manifests: Vec<Vec<u8>> = level_hashes
            .chunks(FANOUT)
            .map(|c| manifest(level, data.len(), c))
            .collect();
        level_hashes = manifests.iter().map(|m| sha1(m)).collect();
        chunks.extend(level_hashes.iter().copied().zip(manifests));
        if level_hashes.len() <= 1 {
            let top = level_hashes.first().copied().unwrap_or_else(|| sha1(&[]));
            return (chunks, top);
        }
        level += 1;
    }
}

impl Dht {
    /// `scope.put_blob`: stores `data` (at most 8 MiB) for `ttl_secs`. Completes with
    /// [`Outcome::PutBlob`] carrying the blob's hash once every chunk is acknowledged.
    pub fn put_blob(&mut self, now: Instant, data: &[u8], ttl_secs: u32) -> ReqId {
        let id = self.fresh_id();
        if data.len() > MAX_BLOB_LEN || ttl_secs == 0 {
            let e = DhtError::Invalid("blob larger than 8 MiB or ttl not positive");
            self.finish(id, Outcome::PutBlob(Err(e)));
            return ReqId(id);
        }
        let (chunks, top) = split(data);
        let ttl_ms = u64::from(ttl_secs.min(604_800)) * 1000;
        let upload = Upload {
            chunks,
            top,
            expiry_ms: self.unix_ms(now).saturating_add(ttl_ms),
            next: 0,
            acked: 0,
        };
        self.blobs.uploads.insert(id, upload);
        self.fill_window(now, id);
        ReqId(id)
    }

    /// `scope.get_blob`: fetches and checks the blob with this hash. Completes with
    /// [`Outcome::GetBlob`].
    pub fn get_blob(&mut self, now: Instant, hash: Hash) -> ReqId {
        let id = self.fresh_id();
        let download = Download {
            stage: Stage::Top,
            total_len: 0,
            hashes: vec![hash],
            slots: vec![None],
            next: 0,
            filled: 0,
        };
        self.blobs.downloads.insert(id, download);
        self.fill_window(now, id);
        ReqId(id)
    }

    /// Starts chunk requests of transfer `req` while fewer than the window are in flight.
    fn fill_window(&mut self, now: Instant, req: u64) {
        let window = self.config.blob_parallelism.max(1);
        loop {
            let in_flight = self.blobs.ops.values().filter(|o| o.req == req).count();
            let index = match (
                self.blobs.uploads.get_mut(&req),
                self.blobs.downloads.get_mut(&req),
            ) {
                (Some(u), _) if u.next < u.chunks.len() => &mut u.next,
                (_, Some(d)) if d.next < d.hashes.len() => &mut d.next,
                _ => return,
            };
            if in_flight >= window {
                return;
            }
            let i = *index;
            *index += 1;
            self.send_chunk_op(
                now,
                ChunkOp {
                    req,
                    index: i,
                    attempt: 1,
                    absent: false,
                },
            );
        }
    }

    /// Sends (or resends) one chunk put or get.
    fn send_chunk_op(&mut self, now: Instant, op: ChunkOp) {
        let token = self.fresh_id();
        let msg = if let Some(u) = self.blobs.uploads.get(&op.req) {
            let Some((hash, bytes)) = u.chunks.get(op.index) else {
                return;
            };
            Msg::ChunkPut {
                token,
                hash: *hash,
                expiry_ms: u.expiry_ms,
                bytes: bytes.clone(),
                copy: false,
            }
        } else if let Some(d) = self.blobs.downloads.get(&op.req) {
            let Some(hash) = d.hashes.get(op.index) else {
                return;
            };
            Msg::ChunkGet { token, hash: *hash }
        } else {
            return;
        };
        let key = match &msg {
            Msg::ChunkPut { hash, .. } | Msg::ChunkGet { hash, .. } => {
                node_id(crate::store::DhtKey(*hash))
            }
            _ => return,
        };
        self.blobs.ops.insert(token, op);
        self.route_to(key, &msg);
        let attempt = op.attempt;
        self.at(
            now + self.config.request_timeout,
            Deadline::Chunk { token, attempt },
        );
    }

    /// A chunk request timed out: retry it, or fail its transfer.
    pub(super) fn on_chunk_timeout(&mut self, now: Instant, token: u64) {
        self.retry_chunk(now, token, false);
    }

    /// Sends chunk request `token` again (possibly to a new root), or fails its transfer once
    /// the attempts are used up: "not found" if some node answered without the chunk.
    fn retry_chunk(&mut self, now: Instant, token: u64, answered_absent: bool) {
        let Some(op) = self.blobs.ops.remove(&token) else {
            return;
        };
        let absent = op.absent || answered_absent;
        if op.attempt >= self.config.attempts {
            let e = if absent {
                DhtError::NotFound
            } else {
                DhtError::Timeout
            };
            self.fail_transfer(op.req, e);
            return;
        }
        let next = ChunkOp {
            attempt: op.attempt + 1,
            absent,
            ..op
        };
        self.send_chunk_op(now, next);
    }

    fn fail_transfer(&mut self, req: u64, e: DhtError) {
        self.blobs.ops.retain(|_, o| o.req != req);
        if self.blobs.uploads.remove(&req).is_some() {
            self.finish(req, Outcome::PutBlob(Err(e)));
        } else if self.blobs.downloads.remove(&req).is_some() {
            self.finish(req, Outcome::GetBlob(Err(e)));
        }
    }

    pub(super) fn on_chunk_msg(&mut self, now: Instant, from: NodeInfo, verified: bool, msg: Msg) {
        let ms = self.unix_ms(now);
        match msg {
            Msg::ChunkPut {
                token,
                hash,
                expiry_ms,
                bytes,
                copy,
            } => {
                if copy && !verified {
                    self.metrics.dropped_unverified += 1;
                    return;
                }
                let ok = self.store.put_chunk(ms, &hash, &bytes, expiry_ms).is_ok();
                if !copy {
                    let ack = Msg::ChunkAck { token, ok };
                    self.send_direct(from, &ack, Sent::Other);
                    if ok {
                        self.copy_chunk(hash, expiry_ms, bytes);
                    }
                }
            }
            Msg::ChunkGet { token, hash } => {
                let bytes = self.store.get_chunk(ms, &hash).ok().flatten();
                self.send_direct(from, &Msg::ChunkReply { token, bytes }, Sent::Other);
            }
            Msg::ChunkAck { token, ok } => self.on_chunk_ack(now, token, ok),
            Msg::ChunkReply { token, bytes } => self.on_chunk_reply(now, token, bytes),
            _ => {}
        }
    }

    /// Root side: copies a stored chunk to the replica set.
    fn copy_chunk(&mut self, hash: Hash, expiry_ms: u64, bytes: Vec<u8>) {
        let msg = chunk_copy(hash, expiry_ms, bytes);
        for t in self.place.replica_targets(crate::store::DhtKey(hash)) {
            self.send_direct(t, &msg, Sent::Other);
        }
    }

    fn on_chunk_ack(&mut self, now: Instant, token: u64, ok: bool) {
        let Some(op) = self.blobs.ops.get(&token).copied() else {
            return;
        };
        if !ok {
            self.blobs.ops.remove(&token);
            self.fail_transfer(op.req, DhtError::Invalid("a chunk was refused"));
            return;
        }
        self.blobs.ops.remove(&token);
        let Some(u) = self.blobs.uploads.get_mut(&op.req) else {
            return;
        };
        u.acked += 1;
        if u.acked == u.chunks.len() {
            let top = u.top;
            self.blobs.uploads.remove(&op.req);
            self.finish(op.req, Outcome::PutBlob(Ok(top)));
        } else {
            self.fill_window(now, op.req);
        }
    }

    fn on_chunk_reply(&mut self, now: Instant, token: u64, bytes: Option<Vec<u8>>) {
        let Some(op) = self.blobs.ops.get(&token).copied() else {
            return;
        };
        let Some(d) = self.blobs.downloads.get_mut(&op.req) else {
            return;
        };
        let good = bytes.filter(|b| d.hashes.get(op.index).is_some_and(|h| sha1(b) == *h));
        let Some(bytes) = good else {
            // Absent or forged here: retry (possibly at a new root, as after churn).
            self.retry_chunk(now, token, true);
            return;
        };
        self.blobs.ops.remove(&token);
        if let Some(slot) = d.slots.get_mut(op.index)
            && slot.is_none()
        {
            *slot = Some(bytes);
            d.filled += 1;
        }
        if d.filled == d.slots.len() {
            self.next_stage(now, op.req);
        } else {
            self.fill_window(now, op.req);
        }
    }

    /// Every chunk of the current stage arrived: descend a level, or assemble the blob.
    fn next_stage(&mut self, now: Instant, req: u64) {
        let Some(d) = self.blobs.downloads.get_mut(&req) else {
            return;
        };
        let slots: Vec<Vec<u8>> = std::mem::take(&mut d.slots).into_iter().flatten().collect();
        if d.stage == Stage::Data {
            let data = slots.concat();
            let ok = data.len() == d.total_len;
            self.blobs.downloads.remove(&req);
            let result = if ok {
                Ok(data)
            } else {
                Err(DhtError::NotFound)
            };
            self.finish(req, Outcome::GetBlob(result));
            return;
        }
        match descend(d.stage, &slots) {
            Some((stage, total_len, hashes)) => {
                d.stage = stage;
                d.total_len = total_len;
                d.slots = vec![None; hashes.len()];
                d.hashes = hashes;
                d.next = 0;
                d.filled = 0;
                self.fill_window(now, req);
            }
            None => self.fail_transfer(req, DhtError::NotFound),
        }
    }
}

/// Parses one stage's manifests: the next stage, the blob length and its chunk hashes.
fn descend(stage: Stage, manifests: &[Vec<u8>]) -> Option<(Stage, usize, Vec<Hash>)> {
    let mut hashes = Vec::new();
    let mut seen: Option<(u8, usize)> = None;
    for m in manifests {
        let (level, total, children) = parse_manifest(m)?;
        let expected = match stage {
            Stage::Manifests(l) => Some(l),
            _ => None,
        };
        if expected.is_some_and(|l| l != level) || seen.is_some_and(|s| s != (level, total)) {
            return None;
        }
        seen = Some((level, total));
        hashes.extend(children);
    }
    let (level, total) = seen?;
    if total > MAX_BLOB_LEN || hashes.len() > MAX_BLOB_LEN / CHUNK_LEN + 1 {
        return None;
    }
    let next = if level == 0 {
        Stage::Data
    } else {
        Stage::Manifests(level - 1)
    };
    Some((next, total, hashes))
}

/// A chunk as a root's (or a repairing peer's) copy to a replica: direct, not acknowledged.
pub(super) fn chunk_copy(hash: Hash, expiry_ms: u64, bytes: Vec<u8>) -> Msg {
    Msg::ChunkPut {
        token: 0,
        hash,
        expiry_ms,
        bytes,
        copy: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_builds_a_tree_whose_top_describes_the_blob() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let (chunks, top) = split(&data);
        let by_hash: HashMap<Hash, Vec<u8>> = chunks.into_iter().collect();
        let mut stage = Stage::Top;
        let mut hashes = vec![top];
        loop {
            let blocks: Vec<Vec<u8>> = hashes.iter().map(|h| by_hash[h].clone()).collect();
            if stage == Stage::Data {
                assert_eq!(blocks.concat(), data);
                break;
            }
            let (next, total, children) = descend(stage, &blocks).unwrap();
            assert_eq!(total, data.len());
            (stage, hashes) = (next, children);
        }
        assert!(parse_manifest(b"SCB1").is_none());
        assert!(parse_manifest(&[0; 100]).is_none());
    }
}
