//! The task that owns one [`Node`], its [`Dht`] and the UDP socket.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use super::alarm::Alarm;
use super::{Command, DhtOp, RouteError, Status, now, wall_clock_ms};
use crate::dht::{Dht, DhtConfig, DhtEvent, GetReq, Outcome, ReqId};
use crate::overlay::{Config, Event, Identity, LookupError, LookupId, Node, NodeInfo, Route};
use crate::store::{DhtKey, Store};

/// Receive buffer size. Overlay datagrams are at most 1,200 bytes; a larger one still arrives
/// larger than that (truncated here) and the node counts it as oversized.
const RECV_BUF: usize = 2048;

/// After a receive error, wait this long before the next receive, so a socket that keeps
/// failing cannot spin a core.
const RECV_ERROR_PAUSE: Duration = Duration::from_millis(10);

/// Most datagrams or commands taken in one step before pumping. Taking every input already
/// waiting lets the DHT stage many client writes and commit them with one fsync (group
/// commit); the bound keeps timers and replies from starving under a flood.
const BATCH: usize = 256;

/// Most values counted per key by [`Command::LocalCounts`] (pages of the store's `get`).
const COUNT_PAGES: usize = 64;

/// What woke the driver up; [`Driver::wait`] returns it and [`Driver::handle`] takes it.
#[derive(Debug)]
pub enum Wake {
    /// A datagram (or a receive error).
    Datagram(std::io::Result<(usize, SocketAddr)>),
    /// The node's or the DHT's timer is due.
    Timeout,
    /// A command, or `None` when every handle is gone.
    Command(Option<Command>),
}

/// Owns a [`Node`], its [`Dht`] and its UDP socket and feeds them; see the
/// [module documentation](super).
#[derive(Debug)]
pub struct Driver {
    node: Node,
    dht: Dht,
    socket: UdpSocket,
    commands: mpsc::Receiver<Command>,
    pending: HashMap<LookupId, oneshot::Sender<Result<Route, RouteError>>>,
    requests: HashMap<ReqId, oneshot::Sender<Outcome>>,
    /// Requests of the task hosting this driver (see [`Driver::get_hosted`]) …
    hosted: HashSet<ReqId>,
    /// … and those finished, until [`Driver::take_hosted`] hands them over.
    hosted_done: Vec<(ReqId, Outcome)>,
    alarm: Alarm,
    started: Instant,
}

impl Driver {
    pub(super) fn new(
        config: Config,
        identity: Identity,
        socket: UdpSocket,
        addr: SocketAddr,
        commands: mpsc::Receiver<Command>,
        (store, dht_config): (Store, DhtConfig),
    ) -> Self {
        let node = Node::new(config, identity, addr);
        // The Instant and the wall clock read together: the DHT derives stored expiry times
        // (unix ms) from this pair.
        let (t, ms) = (now(), wall_clock_ms());
        let me = NodeInfo {
            id: node.id(),
            addr: node.local_addr(),
        };
        let mut dht = Dht::new(dht_config, store, me, t, ms);
        dht.set_defer_durable(true);
        Self {
            node,
            dht,
            socket,
            commands,
            pending: HashMap::new(),
            requests: HashMap::new(),
            hosted: HashSet::new(),
            hosted_done: Vec::new(),
            alarm: Alarm::new(),
            started: t,
        }
    }

    /// Joins through `seeds` (none: a new overlay) and runs until the node leaves.
    pub async fn run(mut self, seeds: Vec<SocketAddr>) {
        self.bootstrap(&seeds);
        self.serve().await;
    }

    /// Starts joining through `seeds` (none: a new overlay). A host calls this once, before
    /// its first [`Driver::wait`].
    pub fn bootstrap(&mut self, seeds: &[SocketAddr]) {
        self.node.bootstrap(now(), seeds);
    }

    /// Runs an already bootstrapped driver on its own until the node leaves: what a host does
    /// with the overlay once it stops hosting it.
    pub async fn serve(mut self) {
        let mut buf = Self::recv_buffer();
        loop {
            self.flush().await;
            let wake = self.wait(&mut buf).await;
            if self.handle(wake, &mut buf).await {
                return;
            }
        }
    }

    /// A receive buffer of the size [`Driver::wait`] and [`Driver::handle`] expect.
    #[must_use]
    pub fn recv_buffer() -> Vec<u8> {
        vec![0u8; RECV_BUF]
    }

    /// Handles what [`Driver::wait`] returned, plus every datagram and command already queued
    /// behind it; true when the node has left (or every handle is gone) and the driver is done.
    pub async fn handle(&mut self, wake: Wake, buf: &mut [u8]) -> bool {
        match wake {
            Wake::Datagram(Ok((len, from))) => {
                let data = buf.get(..len).unwrap_or_default();
                self.node.handle_datagram(now(), from, data);
                self.drain_socket(buf);
                // Requests queued meanwhile join the same round, so their writes share
                // one group commit.
                self.drain_commands().await
            }
            Wake::Datagram(Err(e)) => {
                // ICMP errors (port unreachable from a dead peer) surface here on some
                // systems; the overlay notices dead peers by itself.
                tracing::debug!(error = %e, "overlay socket receive error");
                tokio::time::sleep(RECV_ERROR_PAUSE).await;
                false
            }
            Wake::Timeout => {
                let t = now();
                self.node.handle_timeout(t);
                self.dht.handle_timeout(t);
                false
            }
            Wake::Command(Some(cmd)) => {
                if self.command(cmd).await || self.drain_commands().await {
                    return true;
                }
                self.drain_socket(buf);
                false
            }
            Wake::Command(None) => {
                self.leave().await;
                true
            }
        }
    }

    /// Starts a get for a host task (see [`Driver::take_hosted`]): no channel and no other
    /// task between the caller and the DHT.
    pub fn get_hosted(&mut self, req: GetReq) -> ReqId {
        let id = self.dht.get(now(), req);
        self.hosted.insert(id);
        id
    }

    /// Lets the DHT and the node exchange what they have queued and returns the host's
    /// requests that finished, oldest first. Channel requests finished meanwhile are answered
    /// here too; their datagrams leave at the next [`Driver::flush`].
    pub fn take_hosted(&mut self) -> Vec<(ReqId, Outcome)> {
        self.pump();
        std::mem::take(&mut self.hosted_done)
    }

    /// Feeds every datagram already waiting (up to [`BATCH`]) without awaiting.
    fn drain_socket(&mut self, buf: &mut [u8]) {
        for _ in 0..BATCH {
            match self.socket.try_recv_from(buf) {
                Ok((len, from)) => {
                    let data = buf.get(..len).unwrap_or_default();
                    self.node.handle_datagram(now(), from, data);
                }
                Err(_) => return,
            }
        }
    }

    /// Handles every command already queued (up to [`BATCH`]); true when the driver must stop.
    async fn drain_commands(&mut self) -> bool {
        for _ in 0..BATCH {
            match self.commands.try_recv() {
                Ok(cmd) => {
                    if self.command(cmd).await {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }

    /// Waits for the next input. The futures borrow the socket and the channel only here, so
    /// the caller can use `self` freely afterwards. `buf` must be [`Driver::recv_buffer`]
    /// sized.
    pub async fn wait(&mut self, buf: &mut [u8]) -> Wake {
        let deadline = match (self.node.poll_timeout(), self.dht.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        tokio::select! {
            r = self.socket.recv_from(buf) => Wake::Datagram(r),
            () = self.alarm.at(deadline) => Wake::Timeout,
            c = self.commands.recv() => Wake::Command(c),
        }
    }

    /// Handles one command; returns true when the driver must stop.
    async fn command(&mut self, cmd: Command) -> bool {
        match cmd {
            Command::Route { key, reply } => {
                let id = self.node.route(now(), key);
                self.pending.insert(id, reply);
            }
            Command::Status { reply } => {
                let _ = reply.send(self.status());
            }
            Command::Dht { op, reply } => {
                let req = self.start(op);
                self.requests.insert(req, reply);
            }
            Command::LocalCounts { keys, reply } => {
                let _ = reply.send(self.local_counts(&keys));
            }
            Command::Leave { reply } => {
                self.leave().await;
                let _ = reply.send(());
                return true;
            }
        }
        false
    }

    /// Starts a DHT request; its outcome comes out of `dht.poll_event` later.
    fn start(&mut self, op: DhtOp) -> ReqId {
        let t = now();
        match op {
            DhtOp::Put(req, client) => self.dht.put(t, req, client),
            DhtOp::Rm(req, client) => self.dht.rm(t, req, client),
            DhtOp::Update(req, client) => self.dht.update(t, req, client),
            DhtOp::Get(req) => self.dht.get(t, req),
            DhtOp::Watch {
                keys,
                cursor,
                timeout,
            } => self.dht.watch(t, keys, cursor, timeout),
            DhtOp::PutBlob { data, ttl_secs } => self.dht.put_blob(t, &data, ttl_secs),
            DhtOp::GetBlob(hash) => self.dht.get_blob(t, hash),
        }
    }

    /// Live values this node holds under each key, read straight from the store.
    fn local_counts(&self, keys: &[DhtKey]) -> Vec<u32> {
        let ms = wall_clock_ms();
        let store = self.dht.store();
        keys.iter()
            .map(|key| {
                let (mut n, mut mark) = (0u32, Vec::new());
                for _ in 0..COUNT_PAGES {
                    let Ok(page) = store.get(ms, *key, usize::from(u16::MAX), &mark) else {
                        break;
                    };
                    n += u32::try_from(page.values.len()).unwrap_or(u32::MAX);
                    if page.placemark.is_empty() {
                        break;
                    }
                    mark = page.placemark;
                }
                n
            })
            .collect()
    }

    async fn leave(&mut self) {
        tracing::info!(id = %self.node.id(), "leaving the overlay");
        self.node.leave(now());
        self.flush().await;
    }

    /// Shuttles between node and DHT, dispatches every event and finished request, and sends
    /// every queued datagram; then commits staged durable writes and does the same again.
    ///
    /// Durable commits come last (the DHT defers them, see [`Dht::commit_durable`]): one waits
    /// for an fsync, and hop acknowledgements, pongs and answers held behind it would make
    /// peers retransmit and, under load, suspect this node of having failed. Soft writes
    /// commit while pumping, so a root's acknowledgement of a request and its answer leave in
    /// one datagram. Before sending, the driver yields once if a request finished, so the task
    /// waiting for it (a SIP proxy routing a call) runs before this step's acknowledgements go
    /// out; no acknowledgement leaves before its write is durable either way.
    pub async fn flush(&mut self) {
        let finished = self.pump();
        if finished {
            tokio::task::yield_now().await;
        }
        self.send_transmits().await;
        if self.dht.durable_staged() {
            self.dht.commit_durable();
            self.pump();
            self.send_transmits().await;
        }
    }

    /// Pumps the DHT and dispatches what came out; true when a request finished.
    fn pump(&mut self) -> bool {
        let mut others = Vec::new();
        self.dht.pump(now(), &mut self.node, |ev| others.push(ev));
        for event in others {
            self.event(event);
        }
        let mut finished = false;
        while let Some(DhtEvent::Done { req, result }) = self.dht.poll_event() {
            if let Some(reply) = self.requests.remove(&req) {
                finished = true;
                // The asker may have hung up; nothing to do then.
                let _ = reply.send(result);
            } else if self.hosted.remove(&req) {
                self.hosted_done.push((req, result));
            }
        }
        finished
    }

    /// Sends every datagram the node has queued.
    async fn send_transmits(&mut self) {
        while let Some(t) = self.node.poll_transmit() {
            if let Err(e) = self.socket.send_to(&t.payload, t.dst).await {
                // A send can fail for one destination (unreachable network, full buffer); the
                // overlay's retransmissions and failure detection cover the loss.
                tracing::debug!(dst = %t.dst, error = %e, "overlay send failed");
            }
        }
    }

    /// Events the DHT did not take: lookups for `/route`, and log lines.
    fn event(&mut self, event: Event) {
        match event {
            Event::Joined => tracing::info!(id = %self.node.id(), "joined the overlay"),
            Event::LookupDone { id, result } => {
                let result = result.map_err(|e| match e {
                    LookupError::Timeout { .. } => RouteError::Timeout,
                    LookupError::NotJoined => RouteError::NotJoined,
                });
                if let Some(reply) = self.pending.remove(&id) {
                    // The asker may have gone away (HTTP client hung up); nothing to do then.
                    let _ = reply.send(result);
                }
            }
            Event::LeafSetChanged => {
                tracing::debug!(size = self.node.leaf_set().len(), "leaf set changed");
            }
            Event::PeerFailed(peer) => {
                tracing::info!(peer = %peer.id.short(), addr = %peer.addr, "peer failed");
            }
            other => tracing::debug!(?other, "overlay event with no consumer"),
        }
    }

    fn status(&self) -> Status {
        Status {
            node_id: self.node.id(),
            overlay_addr: self.node.local_addr(),
            joined: self.node.is_joined(),
            leaf_set: self.node.leaf_set().members().copied().collect(),
            routing_table_entries: self.node.routing_table().len(),
            metrics: self.node.metrics().clone(),
            rtt_estimates: self.node.rtt_estimates(),
            uptime: now().saturating_duration_since(self.started),
            store: self.dht.store().stats().unwrap_or_default(),
        }
    }
}
