//! What the node knows about each peer, how second-hand peers are verified before they enter a
//! table, and how a silent peer is declared failed.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::RngCore as _;

use super::super::congestion::Window;
use super::super::id::NodeId;
use super::super::identity::Proof;
use super::super::node_info::NodeInfo;
use super::super::rtt::RttEstimator;
use super::super::timer::Deadline;
use super::super::wire::{Body, Stamp, pong_proof_bytes};
use super::{Event, Node, Phase};

/// Sequence numbers remembered per peer to recognise a retransmitted reliable message.
const RECENT: usize = 8;
/// A signed message more than this many signatures older than the newest seen from its sender
/// is a replay. (Within the window, an exact repeat is one too; a window rather than a strict
/// order lets a signed leaf set be reused for several receivers and tolerates reordering.)
const STAMP_WINDOW: u64 = 256;

/// State kept per peer, whether or not it is in a table.
#[derive(Debug)]
pub(super) struct Peer {
    pub addr: SocketAddr,
    /// Set once the peer proved it owns its ID at `addr`.
    pub verified: bool,
    pub rtt: RttEstimator,
    pub window: Window,
    /// Reliable messages waiting for room in the congestion window.
    pub queue: VecDeque<u64>,
    pub last_heard: Option<Instant>,
    /// Timed out recently; routed around until a ping settles it.
    pub suspect: bool,
    /// Newest stamp of a signed message from this peer.
    pub max_stamp: Option<Stamp>,
    recent_stamps: [Option<Stamp>; RECENT],
    recent_stamp_pos: usize,
    /// The peer's decompressed public key, once one of its signatures verified.
    pub key: Option<ed25519_dalek::VerifyingKey>,
    recent: [u64; RECENT],
    recent_pos: usize,
}

impl Peer {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            verified: false,
            rtt: RttEstimator::new(),
            window: Window::default(),
            queue: VecDeque::new(),
            last_heard: None,
            suspect: false,
            max_stamp: None,
            recent_stamps: [None; RECENT],
            recent_stamp_pos: 0,
            key: None,
            recent: [0; RECENT],
            recent_pos: 0,
        }
    }

    /// Records reliable `seq` as received; false when it was already seen (a retransmission).
    pub fn first_time(&mut self, seq: u64) -> bool {
        if self.recent.contains(&seq) {
            return false;
        }
        self.recent[self.recent_pos] = seq;
        self.recent_pos = (self.recent_pos + 1) % RECENT;
        true
    }

    /// False when a signed message with `stamp` would be a replay.
    pub fn would_accept_stamp(&self, stamp: Stamp) -> bool {
        if self.recent_stamps.contains(&Some(stamp)) {
            return false;
        }
        self.max_stamp.is_none_or(|max| {
            stamp.epoch > max.epoch
                || (stamp.epoch == max.epoch && stamp.seq.saturating_add(STAMP_WINDOW) > max.seq)
        })
    }

    /// Records the stamp of a verified signed message; false when it is a replay.
    pub fn fresh_stamp(&mut self, stamp: Stamp) -> bool {
        if !self.would_accept_stamp(stamp) {
            return false;
        }
        self.max_stamp = self.max_stamp.max(Some(stamp));
        self.recent_stamps[self.recent_stamp_pos] = Some(stamp);
        self.recent_stamp_pos = (self.recent_stamp_pos + 1) % RECENT;
        true
    }
}

/// Why a ping was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PingPurpose {
    /// Identity challenge for a peer learned second-hand; also measures its RTT.
    Verify,
    /// Is this table member still alive?
    Liveness,
}

/// A ping awaiting its pong.
#[derive(Clone, Copy, Debug)]
pub(super) struct PendingPing {
    pub target: NodeInfo,
    pub sent: Instant,
    pub purpose: PingPurpose,
    pub tries: u32,
}

impl Node {
    pub(super) fn peer_mut(&mut self, info: NodeInfo) -> &mut Peer {
        self.peers
            .entry(info.id)
            .or_insert_with(|| Peer::new(info.addr))
    }

    pub(super) fn rto(&self, id: &NodeId) -> Duration {
        let c = &self.config;
        self.peers.get(id).map_or(c.initial_rto, |p| {
            p.rtt.rto(c.initial_rto, c.min_rto, c.max_rto)
        })
    }

    fn is_dead(&self, now: Instant, id: &NodeId) -> bool {
        self.dead.get(id).is_some_and(|until| *until > now)
    }

    /// Sends a ping with a fresh nonce; its timeout comes from the peer's RTO.
    pub(super) fn send_ping(
        &mut self,
        now: Instant,
        target: NodeInfo,
        purpose: PingPurpose,
        tries: u32,
    ) {
        let nonce = self.rng.next_u64();
        let rto = self.rto(&target.id);
        self.pings.insert(
            nonce,
            PendingPing {
                target,
                sent: now,
                purpose,
                tries,
            },
        );
        self.deadlines.push(now + rto, Deadline::Ping(nonce));
        let prove = purpose == PingPurpose::Verify;
        self.send(target.addr, Body::Ping { nonce, prove });
    }

    pub(super) fn on_ping_timeout(&mut self, now: Instant, nonce: u64) {
        let Some(ping) = self.pings.remove(&nonce) else {
            return;
        };
        if let Some(p) = self.peers.get_mut(&ping.target.id) {
            p.rtt.back_off();
        }
        if ping.tries < self.config.max_retries {
            self.send_ping(now, ping.target, ping.purpose, ping.tries + 1);
            return;
        }
        match ping.purpose {
            PingPurpose::Verify => {
                self.verifying.remove(&ping.target.id);
                self.dead
                    .insert(ping.target.id, now + self.config.dead_memory);
                self.check_join_progress(now);
            }
            PingPurpose::Liveness => self.declare_failed(now, ping.target.id),
        }
    }

    pub(super) fn on_pong(
        &mut self,
        now: Instant,
        from: SocketAddr,
        sender: NodeId,
        nonce: u64,
        observed: SocketAddr,
        proof: Option<Proof>,
    ) {
        let Some(ping) = self.pings.get(&nonce).copied() else {
            self.metrics.dropped.replayed += 1;
            return;
        };
        if ping.target.addr != from || ping.target.id != sender {
            self.metrics.dropped.replayed += 1;
            return;
        }
        if ping.purpose == PingPurpose::Verify {
            let ok = proof.is_some_and(|p| {
                self.verify_from(ping.target, &p, &pong_proof_bytes(&sender, nonce))
            });
            if !ok {
                self.metrics.dropped.bad_signature += 1;
                return;
            }
        }
        self.pings.remove(&nonce);
        self.learn_own_address(observed);
        let rtt = now.saturating_duration_since(ping.sent);
        let peer = self.peer_mut(ping.target);
        if ping.tries == 0 {
            peer.rtt.sample(rtt);
        }
        peer.last_heard = Some(now);
        peer.suspect = false;
        let srtt = peer.rtt.srtt().unwrap_or(rtt);
        self.table.set_rtt(&sender, srtt);
        if ping.purpose == PingPurpose::Verify {
            self.verifying.remove(&sender);
            self.mark_verified(now, ping.target);
            // Learned second-hand: it may not know us, so a new leaf gets an announcement.
            self.insert_verified(now, ping.target, true);
            self.check_join_progress(now);
        }
    }

    /// A node bound to a wildcard address learns the address its peers see.
    fn learn_own_address(&mut self, observed: SocketAddr) {
        if self.me.addr.ip().is_unspecified() && observed.port() == self.me.addr.port() {
            self.me.addr = observed;
        }
    }

    /// Records that `info` proved its identity (by a signature) at its address.
    pub(super) fn mark_verified(&mut self, now: Instant, info: NodeInfo) {
        self.dead.remove(&info.id);
        let peer = self.peer_mut(info);
        if peer.addr != info.addr {
            // The node moved (restarted elsewhere); start over with what we know of it.
            *peer = Peer::new(info.addr);
        }
        peer.verified = true;
        peer.last_heard = Some(now);
        peer.suspect = false;
    }

    /// Considers a node learned from someone else: if it would improve a table, challenge it
    /// first; it enters only once it proved its identity.
    pub(super) fn consider_candidate(&mut self, now: Instant, info: NodeInfo, measure: bool) {
        if info.id == self.me.id || self.is_dead(now, &info.id) || self.verifying.contains(&info.id)
        {
            return;
        }
        if self
            .peers
            .get(&info.id)
            .is_some_and(|p| p.verified && p.addr == info.addr)
        {
            self.insert_verified(now, info, true);
            return;
        }
        let for_leaves = self.leaf_set.would_accept(&info.id);
        let for_table = match self.table.slot_occupant(&info.id) {
            None => true,
            Some(e) => measure && e.node.id != info.id,
        };
        if for_leaves || for_table {
            self.verifying.insert(info.id);
            self.peer_mut(info);
            self.send_ping(now, info, PingPurpose::Verify, 0);
        }
    }

    /// Puts a verified node into the leaf set and routing table where it belongs. A new leaf
    /// learned second-hand is told about us, since it may not know we exist.
    pub(super) fn insert_verified(&mut self, now: Instant, info: NodeInfo, second_hand: bool) {
        if info.id == self.me.id {
            return;
        }
        let rtt = self.peers.get(&info.id).and_then(|p| p.rtt.srtt());
        if self.leaf_set.insert(info) {
            self.events.push_back(Event::LeafSetChanged);
            if second_hand && matches!(self.phase, Phase::Joined | Phase::Announcing) {
                self.send_announce(now, info);
            }
        }
        self.table.insert(info, rtt);
    }

    /// Removes a peer that stopped answering from every table, reroutes what was queued for it
    /// and starts repairing the leaf set and the routing-table slot it leaves empty.
    pub(super) fn declare_failed(&mut self, now: Instant, id: NodeId) {
        let addr = self
            .peers
            .remove(&id)
            .map(|p| p.addr)
            .or_else(|| self.leaf_set.members().find(|n| n.id == id).map(|n| n.addr))
            .or_else(|| self.table.slot_occupant(&id).map(|e| e.node.addr));
        let Some(addr) = addr else {
            return;
        };
        let info = NodeInfo { id, addr };
        self.dead.insert(id, now + self.config.dead_memory);
        self.metrics.peers_failed += 1;
        let side = self.leaf_set.farthest_on_side_of(&id);
        let in_leaves = self.leaf_set.remove(&id);
        let slot = self.table.remove(&id);
        self.announcing_to.remove(&id);
        self.fail_inflight_to(now, id);
        self.events.push_back(Event::PeerFailed(info));
        if in_leaves {
            self.events.push_back(Event::LeafSetChanged);
            if let Some(far) = side
                .filter(|f| f.id != id)
                .or_else(|| self.leaf_set.farthest_on_side_of(&id))
            {
                self.send_leaf_set(now, far.addr, super::super::wire::LeafSetKind::Push);
            }
        }
        if let Some((row, _)) = slot {
            self.request_row_from_peer_in(now, row);
        }
        self.check_join_progress(now);
    }

    /// Marks a peer whose hop timed out as suspect and pings it to settle the question.
    pub(super) fn suspect(&mut self, now: Instant, info: NodeInfo) {
        let Some(peer) = self.peers.get_mut(&info.id) else {
            return;
        };
        if peer.suspect {
            return;
        }
        peer.suspect = true;
        let already = self
            .pings
            .values()
            .any(|p| p.target.id == info.id && p.purpose == PingPurpose::Liveness);
        if !already {
            self.send_ping(now, info, PingPurpose::Liveness, 1);
        }
    }

    pub(super) fn is_suspect(&self, id: &NodeId) -> bool {
        self.peers.get(id).is_some_and(|p| p.suspect)
    }

    /// Checks and records the stamp of a signed message; false for a replay.
    pub(super) fn fresh_stamp(&mut self, info: NodeInfo, stamp: Stamp) -> bool {
        self.peer_mut(info).fresh_stamp(stamp)
    }

    /// Verifies `proof` over `message` as made by `info`, using (and filling) the peer's cached
    /// public key.
    pub(super) fn verify_from(&mut self, info: NodeInfo, proof: &Proof, message: &[u8]) -> bool {
        let cached = self.peers.get(&info.id).and_then(|p| p.key);
        let key = match cached {
            Some(k) if k.as_bytes() == &proof.public_key => k,
            _ => match proof.key_of(&info.id) {
                Some(k) => k,
                None => return false,
            },
        };
        self.metrics.signatures_checked += 1;
        if !proof.verify_with(&key, message) {
            return false;
        }
        self.peer_mut(info).key = Some(key);
        true
    }
}
