//! The DHT layer: OpenDHT's put / get / rm with r replicas, replica repair, change
//! notifications for `scope.watch`, and content-addressed blobs, on top of the overlay and the
//! store. Sans-IO like the overlay: no sockets, no clock, no threads.
//!
//! # Where things live
//!
//! A value lives on the root of its key (the live node numerically closest to it) and on the
//! r − 1 nodes next closest among the root's leaf set ([`placement`]). A `get` is routed to the
//! root in one payload and answered directly with one page. A put (a value of up to 1,024 bytes
//! does not fit a routed payload with its header) first looks up the root, then goes to it
//! directly; the root commits it, copies it to the replicas and answers once at least one replica
//! has committed too (`write.rs`). Replicas are repaired after leaf-set changes and periodically by
//! exchanging bucket digests of the arcs two nodes share (`repair.rs`, values and chunks alike).
//! Watches subscribe at the keys' roots and keep a local change log with a cursor (`watch.rs`);
//! blobs are content-addressed chunks under a manifest tree (`blob.rs`). Wire format: [`wire`].
//!
//! # Restart
//!
//! All durable state is in the [`Store`]; open it on the same data directory and pass it to
//! [`Dht::new`]. Requests in flight, subscriptions and the change log are soft state: origins
//! retry, watchers renew within [`DhtConfig::watch_refresh`], and a cursor from before the restart
//! resumes from the oldest change kept.
//!
//! # Method grammar (as the overlay's `Node`)
//! - client requests return a [`ReqId`] at once; the result comes later as [`DhtEvent::Done`]:
//!   [`Dht::put`], [`Dht::rm`], [`Dht::get`], [`Dht::watch`], [`Dht::put_blob`], [`Dht::get_blob`];
//! - `handle_*` feed input: [`Dht::handle_overlay_event`], [`Dht::handle_timeout`], plus
//!   [`Dht::update_leaf_set`], [`Dht::lookup_started`] and [`Dht::direct_sent`] (the ids the
//!   overlay returned for commands);
//! - `poll_*` drain output: [`Dht::poll_command`], [`Dht::poll_event`], [`Dht::poll_timeout`].
//!
//! # Drive loop
//!
//! The runtime task owns one `Node` and one `Dht` and, after every input to either:
//!
//! ```text
//! loop {
//!     feed one input: a datagram (node.handle_datagram), a due timer (node.handle_timeout and
//!     dht.handle_timeout), or a client request (dht.put / get / …)
//!     dht.pump(now, &mut node, |other_event| …)   // shuttles until both are quiet
//!     send node.poll_transmit() datagrams; hand dht.poll_event() results to the gateway
//!     sleep until min(node.poll_timeout(), dht.poll_timeout()) or the next input
//! }
//! ```
//!
//! [`Dht::pump`] does the shuttling: overlay events go to the DHT, DHT commands go to the node,
//! until neither has anything more. Store writes staged while handling one step's inputs are
//! committed together in one group commit ([`Store::apply_batch`]) when output is first polled,
//! so nothing that depends on a write (an acknowledgement) leaves before the write is durable.
//! Time never goes backwards; the DHT maps `Instant`s to unix milliseconds (the store's time)
//! from the pair given to [`Dht::new`].

mod api;
mod blob;
mod config;
mod get;
pub mod placement;
mod repair;
mod watch;
pub mod wire;
mod write;

#[cfg(test)]
mod harness;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::Instant;

pub use api::{
    Change, ChangeKind, Cursor, DhtCommand, DhtError, DhtEvent, GetReq, LookupTag, Outcome, PutReq,
    ReqId, RmReq, SendTag, Status, UpdateOp, UpdateReq, Updated, WatchBatch,
};
pub use config::DhtConfig;

use crate::overlay::leaf_set::LeafSet;
use crate::overlay::{Event, LookupId, Node, NodeId, NodeInfo, SendError};
use crate::store::Store;
use placement::Placement;
use wire::Msg;

/// Direct messages whose possible failure is remembered (a few seconds of a busy root's sends).
const MAX_TRACKED_DIRECTS: usize = 65_536;

/// Counters, for `/status` and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DhtMetrics {
    /// Payloads that did not decode (garbage, wrong version, over a limit).
    pub dropped_malformed: u64,
    /// Replica and repair messages from senders the overlay had not verified.
    pub dropped_unverified: u64,
    /// Group commits made.
    pub commits: u64,
    /// Store operations committed in them.
    pub committed_ops: u64,
    /// Records received through repair and stored.
    pub repaired_in: u64,
    /// Records sent through repair.
    pub repaired_out: u64,
    /// Repair digests sent.
    pub digests_sent: u64,
    /// Messages we could not encode or the overlay refused to send.
    pub send_errors: u64,
}

/// Periodic and per-request deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Deadline {
    /// Attempt `attempt` of client request `req` ran out.
    Request { req: u64, attempt: u32 },
    /// Attempt `attempt` of a blob chunk request ran out.
    Chunk { token: u64, attempt: u32 },
    /// A long-poll watch ran out.
    Watch(u64),
    /// Run a repair round (generation number, so a rescheduled round supersedes).
    Repair(u64),
    /// Send the next digest windows of the round in progress (tick number).
    RepairPace(u64),
    /// Purge expired records.
    Purge,
    /// Refresh watch subscriptions at the roots.
    Resubscribe,
}

/// What an overlay direct-message id stands for, so a failure can be attributed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// A client write sent to a root (request number).
    Write(u64),
    /// A copy sent to a replica (replication token).
    Replica(u64),
    /// Nothing to do if it fails.
    Other,
}

/// The DHT state machine of one node. See the [module documentation](self).
pub struct Dht {
    config: DhtConfig,
    store: Store,
    place: Placement,
    /// An `Instant` and the unix time in ms at that instant.
    clock: (Instant, u64),
    next_id: u64,
    /// Labels of commands whose overlay ids are not known yet.
    send_tags: HashMap<u64, Sent>,
    lookup_tags: HashMap<u64, u64>,
    /// Overlay ids → what they were (only those whose failure matters), oldest first in
    /// `direct_order` so the map stays bounded: the overlay reports a failure within seconds.
    directs: HashMap<u64, Sent>,
    direct_order: VecDeque<u64>,
    lookups: HashMap<LookupId, u64>,
    writes: write::Writes,
    repair: repair::Repair,
    watch: watch::Watch,
    blobs: blob::Blobs,
    deadlines: BinaryHeap<Reverse<(Instant, Deadline)>>,
    commands: VecDeque<DhtCommand>,
    events: VecDeque<DhtEvent>,
    metrics: DhtMetrics,
}

impl std::fmt::Debug for Dht {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dht")
            .field("me", &self.place.me())
            .field("metrics", &self.metrics)
            .finish_non_exhaustive()
    }
}

impl Dht {
    /// A DHT for the node `me` over `store`. `now` and `now_unix_ms` are the same moment on the
    /// monotonic and the wall clock; stored expiry times are unix milliseconds derived from them.
    #[must_use]
    pub fn new(
        config: DhtConfig,
        store: Store,
        me: NodeInfo,
        now: Instant,
        now_unix_ms: u64,
    ) -> Dht {
        let place = Placement::new(me, LeafSet::new(me.id, 1), config.replicas);
        let mut dht = Dht {
            place,
            store,
            clock: (now, now_unix_ms),
            next_id: 1,
            send_tags: HashMap::new(),
            lookup_tags: HashMap::new(),
            directs: HashMap::new(),
            direct_order: VecDeque::new(),
            lookups: HashMap::new(),
            writes: write::Writes::default(),
            repair: repair::Repair::default(),
            watch: watch::Watch::new(now_unix_ms),
            blobs: blob::Blobs::default(),
            deadlines: BinaryHeap::new(),
            commands: VecDeque::new(),
            events: VecDeque::new(),
            metrics: DhtMetrics::default(),
            config,
        };
        dht.at(now + dht.config.purge_interval, Deadline::Purge);
        dht.at(now + dht.config.watch_refresh, Deadline::Resubscribe);
        dht.schedule_repair(now, dht.config.repair_interval);
        dht
    }

    // ---- getters -------------------------------------------------------------------------

    /// The store (shared read access for `/status` and tests).
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Counters.
    #[must_use]
    pub fn metrics(&self) -> &DhtMetrics {
        &self.metrics
    }

    /// The current placement (who holds which keys, as this node sees it).
    #[must_use]
    pub fn placement(&self) -> &Placement {
        &self.place
    }

    // ---- input ---------------------------------------------------------------------------

    /// Takes a new snapshot of the leaf set and schedules a repair round soon. Call it when the
    /// node reports `Joined` or `LeafSetChanged` ([`Dht::pump`] does).
    pub fn update_leaf_set(&mut self, now: Instant, leaf: &LeafSet) {
        self.place = Placement::new(self.place.me(), leaf.clone(), self.config.replicas);
        self.schedule_repair(now, self.config.repair_delay);
    }

    /// Offers an overlay event. Returns false when it is not the DHT's (lookups it did not
    /// start, `Joined`, …), so the caller can use it elsewhere.
    pub fn handle_overlay_event(&mut self, now: Instant, event: &Event) -> bool {
        match event {
            Event::Deliver {
                origin, payload, ..
            } => self.on_payload(now, *origin, true, payload, true),
            Event::Direct {
                from,
                verified,
                payload,
            } => self.on_payload(now, *from, *verified, payload, false),
            Event::DirectFailed { id, .. } => {
                if let Some(sent) = self.directs.remove(id) {
                    self.on_send_failed(now, sent);
                }
            }
            Event::LookupDone { id, result } => {
                let Some(req) = self.lookups.remove(id) else {
                    return false;
                };
                self.on_lookup_done(now, req, result.as_ref().ok().map(|r| r.root));
            }
            Event::PeerFailed(_) => self.schedule_repair(now, self.config.repair_delay),
            _ => return false,
        }
        true
    }

    /// The overlay's lookup id for a [`DhtCommand::Lookup`] just applied.
    pub fn lookup_started(&mut self, tag: LookupTag, id: LookupId) {
        if let Some(req) = self.lookup_tags.remove(&tag.0) {
            self.lookups.insert(id, req);
        }
    }

    /// The overlay's answer to a [`DhtCommand::SendDirect`] just applied.
    pub fn direct_sent(&mut self, now: Instant, tag: SendTag, result: Result<u64, SendError>) {
        let Some(sent) = self.send_tags.remove(&tag.0) else {
            return;
        };
        match result {
            Ok(0) => {}
            Ok(_) if sent == Sent::Other => {}
            Ok(id) => {
                self.directs.insert(id, sent);
                self.direct_order.push_back(id);
                if self.direct_order.len() > MAX_TRACKED_DIRECTS
                    && let Some(old) = self.direct_order.pop_front()
                {
                    self.directs.remove(&old);
                }
            }
            Err(_) => {
                self.metrics.send_errors += 1;
                self.on_send_failed(now, sent);
            }
        }
    }

    /// Runs every deadline due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        // A commit held back by `commit_delay` becomes due here; the next poll runs it.
        self.writes.tick(now);
        while let Some(Reverse((at, d))) = self.deadlines.peek().copied() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            match d {
                Deadline::Request { req, attempt } => self.on_request_timeout(now, req, attempt),
                Deadline::Chunk { token, .. } => self.on_chunk_timeout(now, token),
                Deadline::Watch(req) => self.on_watch_timeout(req),
                Deadline::Repair(generation) => self.on_repair_timer(now, generation),
                Deadline::RepairPace(tick) => self.pace_repair(now, tick),
                Deadline::Purge => self.on_purge(now),
                Deadline::Resubscribe => self.on_resubscribe(now),
            }
        }
    }

    // ---- output --------------------------------------------------------------------------

    /// The next command for the overlay node. Commits staged store writes first.
    #[must_use]
    pub fn poll_command(&mut self) -> Option<DhtCommand> {
        self.flush();
        self.commands.pop_front()
    }

    /// The next finished request. Commits staged store writes first.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<DhtEvent> {
        self.flush();
        self.events.pop_front()
    }

    /// When [`Dht::handle_timeout`] must be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let next = self.deadlines.peek().map(|Reverse((at, _))| *at);
        match (next, self.writes.commit_due(self.config.commit_delay)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Shuttles between `node` and this DHT until both are quiet: overlay events in (leaf-set
    /// snapshots taken on `Joined` / `LeafSetChanged`), DHT commands out. Events that are not
    /// the DHT's go to `other`. Bounded, so a bug cannot spin forever.
    pub fn pump(&mut self, now: Instant, node: &mut Node, mut other: impl FnMut(Event)) {
        for _ in 0..10_000 {
            let mut idle = true;
            while let Some(ev) = node.poll_event() {
                idle = false;
                if matches!(
                    ev,
                    Event::Joined | Event::LeafSetChanged | Event::PeerFailed(_)
                ) {
                    self.update_leaf_set(now, node.leaf_set());
                }
                if !self.handle_overlay_event(now, &ev) {
                    other(ev);
                }
            }
            while let Some(cmd) = self.poll_command() {
                idle = false;
                self.apply(now, node, cmd);
            }
            if idle {
                return;
            }
        }
    }

    /// Applies one command to the node and reports the ids it returned.
    fn apply(&mut self, now: Instant, node: &mut Node, cmd: DhtCommand) {
        match cmd {
            DhtCommand::RoutePayload { key, bytes } => {
                if node.route_payload(now, key, bytes).is_err() {
                    self.metrics.send_errors += 1;
                }
            }
            DhtCommand::SendDirect { to, bytes, tag } => {
                let r = node.send_direct(now, to, bytes);
                self.direct_sent(now, tag, r);
            }
            DhtCommand::SendDatagram { to, bytes } => {
                if node.send_datagram(to, bytes).is_err() {
                    self.metrics.send_errors += 1;
                }
            }
            DhtCommand::Lookup { key, tag } => {
                let id = node.route(now, key);
                self.lookup_started(tag, id);
            }
        }
    }

    // ---- shared helpers ------------------------------------------------------------------

    /// Unix milliseconds at `now`.
    fn unix_ms(&self, now: Instant) -> u64 {
        let (base, ms) = self.clock;
        let d = now.saturating_duration_since(base).as_millis();
        ms.saturating_add(u64::try_from(d).unwrap_or(u64::MAX))
    }

    fn fresh_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn at(&mut self, when: Instant, d: Deadline) {
        self.deadlines.push(Reverse((when, d)));
    }

    fn finish(&mut self, req: u64, result: Outcome) {
        self.events.push_back(DhtEvent::Done {
            req: ReqId(req),
            result,
        });
    }

    /// Queues `msg` for `to`; `sent` says what a delivery failure means.
    fn send_direct(&mut self, to: NodeInfo, msg: &Msg, sent: Sent) {
        let Ok(bytes) = wire::encode(msg) else {
            self.metrics.send_errors += 1;
            return;
        };
        self.send_encoded(to, bytes, sent);
    }

    /// Queues a message already encoded with [`wire::encode`] to be sent straight to `to`.
    fn send_encoded(&mut self, to: NodeInfo, bytes: Vec<u8>, sent: Sent) {
        let tag = self.fresh_id();
        self.send_tags.insert(tag, sent);
        self.commands.push_back(DhtCommand::SendDirect {
            to,
            bytes,
            tag: SendTag(tag),
        });
    }

    /// Queues a message encoded with [`wire::encode`] to be sent straight to `to`,
    /// unacknowledged (see [`Node::send_datagram`]).
    fn send_encoded_datagram(&mut self, to: NodeInfo, bytes: Vec<u8>) {
        self.commands
            .push_back(DhtCommand::SendDatagram { to, bytes });
    }

    /// Queues `msg` to be routed to `key`'s root.
    fn route_to(&mut self, key: NodeId, msg: &Msg) {
        match wire::encode(msg) {
            Ok(bytes) => self
                .commands
                .push_back(DhtCommand::RoutePayload { key, bytes }),
            Err(_) => self.metrics.send_errors += 1,
        }
    }

    /// Queues a lookup of `key` on behalf of request `req`.
    fn lookup(&mut self, key: NodeId, req: u64) {
        let tag = self.fresh_id();
        self.lookup_tags.insert(tag, req);
        self.commands.push_back(DhtCommand::Lookup {
            key,
            tag: LookupTag(tag),
        });
    }

    /// Decodes an application payload and dispatches it.
    fn on_payload(
        &mut self,
        now: Instant,
        from: NodeInfo,
        verified: bool,
        bytes: &[u8],
        routed: bool,
    ) {
        let msg = match wire::decode(bytes) {
            Ok(m) => m,
            Err(_) => {
                self.metrics.dropped_malformed += 1;
                return;
            }
        };
        if routed != msg.is_routed() {
            self.metrics.dropped_malformed += 1;
            return;
        }
        self.dispatch(now, from, verified, msg);
    }

    fn dispatch(&mut self, now: Instant, from: NodeInfo, verified: bool, msg: Msg) {
        let peer_msg = matches!(
            msg,
            Msg::Replicate { .. }
                | Msg::Digest { .. }
                | Msg::Have { .. }
                | Msg::Want { .. }
                | Msg::Push { .. }
        );
        if peer_msg && !verified {
            self.metrics.dropped_unverified += 1;
            return;
        }
        match msg {
            Msg::Get { .. }
            | Msg::Write { .. }
            | Msg::Replicate { .. }
            | Msg::ReplicaAck { .. } => {
                self.on_root_msg(now, from, msg);
            }
            Msg::GetReply { .. } | Msg::WriteReply { .. } => self.on_origin_msg(now, msg),
            Msg::Digest { .. } | Msg::Have { .. } | Msg::Want { .. } | Msg::Push { .. } => {
                self.on_repair_msg(now, from, msg);
            }
            Msg::Subscribe { .. } | Msg::Notify { .. } => self.on_watch_msg(now, from, msg),
            Msg::ChunkPut { .. }
            | Msg::ChunkAck { .. }
            | Msg::ChunkGet { .. }
            | Msg::ChunkReply { .. } => self.on_chunk_msg(now, from, verified, msg),
        }
    }

    fn on_send_failed(&mut self, now: Instant, sent: Sent) {
        match sent {
            Sent::Write(req) => self.on_write_unreachable(now, req),
            Sent::Replica(token) => self.on_replica_failed(token),
            Sent::Other => {}
        }
    }

    fn on_purge(&mut self, now: Instant) {
        let _ = self.store.purge_expired(self.unix_ms(now));
        self.at(now + self.config.purge_interval, Deadline::Purge);
    }
}
