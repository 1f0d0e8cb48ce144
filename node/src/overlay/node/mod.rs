//! The overlay node: one sans-IO state machine per super-node.
//!
//! # Method grammar (as quinn-proto's `Connection`)
//! - getters take `&self` ([`Node::id`], [`Node::leaf_set`], …);
//! - `handle_*` feed input: [`Node::handle_datagram`], [`Node::handle_timeout`];
//! - commands change what the node does: [`Node::bootstrap`], [`Node::route`], [`Node::leave`];
//! - `poll_*` drain output: [`Node::poll_transmit`], [`Node::poll_event`], [`Node::poll_timeout`].
//!
//! After every input or command, drain `poll_transmit` and `poll_event` until they return `None`,
//! then sleep until `poll_timeout` (or the next datagram) and call `handle_timeout`. Time is
//! always passed in and must never go backwards; the node never reads a clock, opens a socket or
//! touches a global RNG, so the same code runs on UDP and in the simulator.

mod handlers;
mod maintenance;
mod outbox;
mod peers;
mod reliable;
mod routing;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;

use super::config::Config;
use super::id::NodeId;
use super::identity::Identity;
use super::leaf_set::LeafSet;
use super::metrics::Metrics;
use super::node_info::NodeInfo;
use super::routing_table::RoutingTable;
use super::timer::{Deadline, Deadlines, Timer, TimerTable};
use super::wire::{self, Body, Stamp};

use outbox::Outbox;
use peers::{Peer, PendingPing};
use reliable::Inflight;

/// A datagram to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub dst: SocketAddr,
    /// The encoded datagram.
    pub payload: Vec<u8>,
}

/// Number of a lookup started with [`Node::route`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LookupId(pub u64);

/// Where a lookup ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The key looked up.
    pub key: NodeId,
    /// The node numerically closest to the key, as the overlay found it.
    pub root: NodeInfo,
    /// Overlay hops from the origin to the root.
    pub hops: u32,
    /// The nodes passed through, origin first, root last (capped at 24 entries).
    pub path: Vec<NodeId>,
}

/// Why a lookup failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// No answer within the lookup timeout.
    #[error("lookup of {key} timed out")]
    Timeout {
        /// The key looked up.
        key: NodeId,
    },
    /// The node is not (or no longer) part of an overlay.
    #[error("this node has not joined an overlay")]
    NotJoined,
}

/// Something the application should know about.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The node has joined the overlay: it has its routing state and has announced itself to
    /// its leaf set, so it now takes part in routing (acknowledgements may still be arriving).
    Joined,
    /// A lookup started here finished.
    LookupDone {
        /// Which lookup.
        id: LookupId,
        /// Its result.
        result: Result<Route, LookupError>,
    },
    /// The leaf set changed (a member joined, left or failed).
    LeafSetChanged,
    /// A peer stopped answering and was removed from every table.
    PeerFailed(NodeInfo),
    /// An application payload routed with [`Node::route_payload`] reached this node, its root.
    Deliver {
        /// The key it was routed to.
        key: NodeId,
        /// Who routed it (as it claims; answer with [`Node::send_direct`]).
        origin: NodeInfo,
        /// Overlay hops it took.
        hops: u32,
        /// The payload.
        payload: Vec<u8>,
    },
    /// An application payload sent with [`Node::send_direct`] arrived.
    Direct {
        /// The sender.
        from: NodeInfo,
        /// True when the sender proved its ID at this address (a table member, say); replicas
        /// and other state changes should be accepted only from verified senders.
        verified: bool,
        /// The payload.
        payload: Vec<u8>,
    },
    /// A direct message was never acknowledged; its destination has been declared failed.
    DirectFailed {
        /// The number [`Node::send_direct`] returned.
        id: u64,
        /// Its destination.
        to: NodeInfo,
    },
}

/// Why an application message could not be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The payload is larger than one datagram can carry.
    #[error("payload larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// The node is not part of an overlay yet.
    #[error("this node has not joined an overlay")]
    NotJoined,
}

/// Where the node is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Created, no overlay yet.
    Idle,
    /// Asking seeds to route its join; `leaf_set_received` once the root answered.
    Joining {
        seeds: Vec<SocketAddr>,
        next_seed: usize,
        leaf_set_received: bool,
    },
    /// State built; announcing to the leaf set and waiting for its acknowledgements.
    Announcing,
    /// Part of the overlay.
    Joined,
    /// Left gracefully; ignores everything.
    Left,
}

/// A lookup started here.
#[derive(Clone, Debug)]
struct PendingLookup {
    key: NodeId,
}

/// One overlay node. See the [module documentation](self) for how to drive it.
pub struct Node {
    config: Config,
    identity: Identity,
    me: NodeInfo,
    rng: ChaCha8Rng,
    phase: Phase,
    leaf_set: LeafSet,
    table: RoutingTable,
    peers: HashMap<NodeId, Peer>,
    dead: HashMap<NodeId, Instant>,
    pings: HashMap<u64, PendingPing>,
    verifying: HashSet<NodeId>,
    inflight: HashMap<u64, Inflight>,
    announcing_to: HashSet<NodeId>,
    lookups: HashMap<u64, PendingLookup>,
    seen_lookups: HashSet<(NodeId, u64)>,
    signed_leaf_sets: HashMap<wire::LeafSetKind, (u64, wire::Signed<wire::LeafSetContent>)>,
    seen_order: VecDeque<(NodeId, u64)>,
    next_seq: u64,
    next_lookup: u64,
    stamp_seq: u64,
    /// RTT over all peers: the timeout for peers not measured yet.
    all_peers_rtt: super::rtt::RttEstimator,
    timers: TimerTable,
    deadlines: Deadlines,
    /// Messages sent since `poll_transmit` was last drained, packed when it is called.
    outbox: Outbox,
    /// Datagrams packed and not yet polled.
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    metrics: Metrics,
}

impl Node {
    /// A node with `identity`, reachable at `local_addr` (a wildcard address is replaced by the
    /// address peers report seeing). It does nothing until [`bootstrap`](Self::bootstrap).
    #[must_use]
    pub fn new(config: Config, identity: Identity, local_addr: SocketAddr) -> Self {
        let me = NodeInfo {
            id: identity.node_id(),
            addr: local_addr,
        };
        Self {
            rng: ChaCha8Rng::from_seed(config.rng_seed),
            leaf_set: LeafSet::new(me.id, config.leaf_half),
            table: RoutingTable::new(me.id),
            config,
            identity,
            me,
            phase: Phase::Idle,
            peers: HashMap::new(),
            dead: HashMap::new(),
            pings: HashMap::new(),
            verifying: HashSet::new(),
            inflight: HashMap::new(),
            announcing_to: HashSet::new(),
            lookups: HashMap::new(),
            seen_lookups: HashSet::new(),
            signed_leaf_sets: HashMap::new(),
            seen_order: VecDeque::new(),
            next_seq: 1,
            next_lookup: 1,
            stamp_seq: 0,
            all_peers_rtt: super::rtt::RttEstimator::new(),
            timers: TimerTable::default(),
            deadlines: Deadlines::default(),
            outbox: Outbox::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            metrics: Metrics::default(),
        }
    }

    // ---- getters -------------------------------------------------------------------------

    /// This node's ID.
    #[must_use]
    pub fn id(&self) -> NodeId {
        self.me.id
    }

    /// This node's overlay address (as learned from peers when bound to a wildcard).
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.me.addr
    }

    /// True once the node is part of an overlay.
    #[must_use]
    pub fn is_joined(&self) -> bool {
        self.can_route()
    }

    /// The leaf set.
    #[must_use]
    pub fn leaf_set(&self) -> &LeafSet {
        &self.leaf_set
    }

    /// The routing table.
    #[must_use]
    pub fn routing_table(&self) -> &RoutingTable {
        &self.table
    }

    /// Counters.
    #[must_use]
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Smoothed RTT to every peer measured so far.
    #[must_use]
    pub fn rtt_estimates(&self) -> Vec<(NodeId, Duration)> {
        let mut out: Vec<_> = self
            .peers
            .iter()
            .filter_map(|(id, p)| p.rtt.srtt().map(|r| (*id, r)))
            .collect();
        out.sort();
        out
    }

    // ---- commands ------------------------------------------------------------------------

    /// Joins the overlay through any of `seeds`, trying them in turn; with no seeds, starts a new
    /// overlay of one node.
    pub fn bootstrap(&mut self, now: Instant, seeds: &[SocketAddr]) {
        let seeds: Vec<SocketAddr> = seeds
            .iter()
            .copied()
            .filter(|s| *s != self.me.addr)
            .collect();
        if seeds.is_empty() {
            self.become_joined(now);
            return;
        }
        self.phase = Phase::Joining {
            seeds,
            next_seed: 0,
            leaf_set_received: false,
        };
        self.send_join_request(now);
    }

    /// Looks up the root of `key`; the answer comes as [`Event::LookupDone`].
    pub fn route(&mut self, now: Instant, key: NodeId) -> LookupId {
        let id = self.next_lookup;
        self.next_lookup += 1;
        self.metrics.lookups_started += 1;
        if !self.can_route() {
            self.finish_lookup(id, Err(LookupError::NotJoined));
            return LookupId(id);
        }
        self.lookups.insert(id, PendingLookup { key });
        self.deadlines
            .push(now + self.config.lookup_timeout, Deadline::Lookup(id));
        self.start_lookup(now, key, id);
        LookupId(id)
    }

    /// Leaves gracefully: tells every neighbour (handing over the leaf set so they can close the
    /// gap at once) and stops. Pending lookups fail.
    pub fn leave(&mut self, now: Instant) {
        if self.phase == Phase::Left {
            return;
        }
        self.send_leaving(now);
        self.fail_all_lookups();
        self.phase = Phase::Left;
        self.timers = TimerTable::default();
        self.deadlines = Deadlines::default();
        self.inflight.clear();
        self.pings.clear();
    }

    // ---- input ---------------------------------------------------------------------------

    /// Handles one datagram received from `from`. Anything malformed, unverifiable or replayed is
    /// counted in [`Metrics::dropped`] and otherwise ignored.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        self.metrics.datagrams_in += 1;
        self.metrics.bytes_in += data.len() as u64;
        if self.phase == Phase::Left {
            return;
        }
        match wire::decode(data) {
            Ok(datagram) => self.handle_decoded(now, from, datagram),
            Err(e) => {
                let d = &mut self.metrics.dropped;
                match e {
                    wire::DecodeError::Oversized => d.oversized += 1,
                    wire::DecodeError::Version => d.version += 1,
                    wire::DecodeError::Malformed | wire::DecodeError::OverLimit => d.malformed += 1,
                }
            }
        }
    }

    /// Handles each message of a datagram in turn, exactly as if each had come alone.
    fn handle_decoded(&mut self, now: Instant, from: SocketAddr, datagram: wire::Datagram) {
        if datagram.bodies.len() > 1 {
            self.metrics.bundles_in += 1;
        }
        for msg in datagram.into_messages() {
            self.metrics.messages_in += msg.body.message_count() as u64;
            self.handle_message(now, from, msg);
        }
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.phase == Phase::Left {
            return;
        }
        for timer in self.timers.expired(now) {
            self.on_timer(now, timer);
        }
        while let Some(deadline) = self.deadlines.pop_due(now) {
            match deadline {
                Deadline::Retransmit(seq) => self.on_retransmit_timeout(now, seq),
                Deadline::Ping(nonce) => self.on_ping_timeout(now, nonce),
                Deadline::Lookup(id) => {
                    if let Some(l) = self.lookups.get(&id) {
                        let key = l.key;
                        self.finish_lookup(id, Err(LookupError::Timeout { key }));
                    }
                }
            }
        }
    }

    // ---- output --------------------------------------------------------------------------

    /// The next datagram to send. Messages to one destination sent since the previous drain
    /// share datagrams, so drain this only after feeding every input at hand.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if self.transmits.is_empty() && !self.outbox.is_empty() {
            self.pack_outbox();
        }
        self.transmits.pop_front()
    }

    /// The next event for the application.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.timers.next(), self.deadlines.next()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ---- shared helpers ------------------------------------------------------------------

    fn on_timer(&mut self, now: Instant, timer: Timer) {
        match timer {
            Timer::Probe => self.probe_tick(now),
            Timer::LeafExchange => self.leaf_exchange_tick(now),
            Timer::TableMaintenance => self.table_maintenance_tick(now),
            Timer::JoinRetry => self.join_retry_tick(now),
            Timer::Gc => self.gc_tick(now),
        }
    }

    /// Queues `body` for `dst`; it is encoded and packed with the other messages to `dst` at
    /// the next [`poll_transmit`](Self::poll_transmit).
    fn send(&mut self, dst: SocketAddr, body: Body) {
        self.outbox.push(dst, body);
    }

    /// Signs `content` with a fresh stamp.
    fn sign<T: serde::Serialize>(&mut self, stamp: Stamp, content: T) -> wire::Signed<T> {
        self.metrics.signatures_made += 1;
        wire::Signed::sign(&self.identity, stamp, content)
    }

    fn can_route(&self) -> bool {
        matches!(self.phase, Phase::Joined | Phase::Announcing)
    }

    fn next_stamp(&mut self) -> Stamp {
        self.stamp_seq += 1;
        Stamp {
            epoch: self.config.epoch_ms,
            seq: self.stamp_seq,
        }
    }

    fn finish_lookup(&mut self, id: u64, result: Result<Route, LookupError>) {
        self.lookups.remove(&id);
        match &result {
            Ok(route) => {
                self.metrics.lookups_succeeded += 1;
                self.metrics.record_hops(route.hops);
            }
            Err(_) => self.metrics.lookups_failed += 1,
        }
        self.events.push_back(Event::LookupDone {
            id: LookupId(id),
            result,
        });
    }

    /// Marks the node as taking part in routing: it has its state and has started announcing
    /// itself (its neighbours route to it from the moment they get the announcement).
    fn start_routing(&mut self, now: Instant) {
        self.start_maintenance(now);
        self.events.push_back(Event::Joined);
    }

    fn become_joined(&mut self, now: Instant) {
        let was = std::mem::replace(&mut self.phase, Phase::Joined);
        self.timers.stop(Timer::JoinRetry);
        if !matches!(was, Phase::Joined | Phase::Announcing) {
            self.start_routing(now);
        }
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("id", &self.me.id)
            .field("addr", &self.me.addr)
            .field("phase", &self.phase)
            .field("leaf_set", &self.leaf_set.len())
            .field("table", &self.table.len())
            .finish_non_exhaustive()
    }
}
