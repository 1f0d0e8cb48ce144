//! The SIP proxy/registrar of a super-node, sans-IO, with the DHT as location service.
//!
//! [`Proxy`] owns a [`TransactionLayer`] and acts as its transaction user: it registers
//! users (REGISTER → DHT lookup, [`plan_register`](crate::sip::registrar::plan_register),
//! DHT store, 200 OK), and proxies every other request statefully (RFC 3261 §16). It never
//! touches a socket, a clock or the DHT: the runtime hands in bytes, `now` and DHT answers,
//! and drains transmits, DHT requests and the next deadline.
//!
//! # Method grammar (as in quinn-proto)
//!
//! - getters (`&self`): [`Proxy::metrics`], [`Proxy::transactions_active`], ...;
//! - input: [`Proxy::handle_bytes`], [`Proxy::handle_lookup`], [`Proxy::handle_store_done`],
//!   [`Proxy::handle_timeout`], [`Proxy::handle_connection_closed`];
//! - output (`#[must_use]`): [`Proxy::poll_transmit`], [`Proxy::poll_output`],
//!   [`Proxy::poll_timeout`].
//!
//! # Drive loop
//!
//! ```text
//! let mut proxy = Proxy::new(config, now, unix_seconds_now);
//! loop {
//!     wait for: a datagram / TCP frame, a DHT answer, or proxy.poll_timeout();
//!     proxy.handle_bytes(now, &bytes, source, Link::Udp)      // or Link::Tcp(Some(conn))
//!       | proxy.handle_lookup(now, id, Ok(bindings))           // answers Output::Lookup
//!       | proxy.handle_store_done(now, id, Ok(()))             // answers Output::Store
//!       | proxy.handle_timeout(now);
//!     while let Some(t) = proxy.poll_transmit() { send t.contents to t.destination over t.link }
//!     while let Some(o) = proxy.poll_output() { start the DHT get/put; answer it later by id }
//!     // then sleep until proxy.poll_timeout() (recompute after every input)
//! }
//! ```
//! `now` must never go backwards. DHT answers may come in any order and much later: many
//! REGISTERs and calls wait concurrently, each keyed by its [`DhtId`]. An answer after the
//! proxy gave up ([`ProxyConfig::dht_timeout`]) is ignored.
//!
//! # Routing decisions
//!
//! - REGISTER whose Request-URI is the overlay (`--sip-domain` or a super-node address):
//!   the registrar. Any other request first loses a top Route naming this proxy.
//! - With a Route left: forwarded to it (loose routing), Request-URI untouched.
//! - Request-URI in the overlay with a user: the AOR's bindings (cache, else DHT lookup),
//!   then parallel forking to every contact with Via, Record-Route (dialog-creating
//!   requests only) and Max-Forwards−1. No binding: 404. No usable contact: 480.
//! - Request-URI an IP literal elsewhere: forwarded there. A foreign host *name*: 404,
//!   because the core resolves no DNS names (the issue allows 403/404; we chose 404).
//! - OPTIONS to the overlay without a user part, or with Max-Forwards 0: 200 with
//!   Allow/Accept from this proxy. Max-Forwards 0 otherwise: 483.
//! - ACK for a 2xx (no transaction matches): forwarded statelessly along the route; ACK for
//!   a non-2xx is absorbed by the transaction layer hop by hop.
//! - Responses: best response per §16.7 (2xx at once, 6xx cancels the others, else the
//!   lowest class after all branches end); Timer B/F gives a branch 408, Timer C 480 and a
//!   CANCEL. Responses no transaction claims travel upstream by Via, statelessly.
//! - The caller's CANCEL: 200, CANCEL on every branch that has answered provisionally
//!   (the others are cancelled when they do), 487 to the INVITE at once.

mod dht;
mod fork;
mod forward;
mod io;
mod metrics;
mod outcome;
mod registrar_flow;
mod route;
mod stateless;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;

pub use io::{ConnectionId, DhtError, DhtId, Link, Output, Stored, Transmit};
pub use metrics::{DhtTiming, DurationStats, Metrics, TIMING_LOG};

/// What the runtime answered a DHT request with.
enum Answer {
    /// A lookup's bindings.
    Bindings(Vec<Binding>),
    /// How a store ended.
    Stored(Stored),
}

use self::dht::{BindingMemo, CACHE_CAP, DhtTable, ForkId, VIEWS_CAP, Waiter};
use self::fork::Fork;
use super::Method;
use super::error::ParseError;
use super::registrar::{Binding, RegistrarConfig};
use super::transaction::{self, Event, TransactionId, TransactionLayer, Transport};

/// Settings of one proxy/registrar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// Overlay domain, super-node addresses and expiry bounds.
    pub registrar: RegistrarConfig,
    /// This proxy's SIP address, written into Via and Record-Route (must be reachable).
    pub local: SocketAddr,
    /// Transaction timers (T1, T2, T4, Timer C).
    pub transaction: transaction::Config,
    /// How long a lookup result is reused for routing.
    pub cache_ttl: Duration,
    /// How long to wait for a DHT answer before failing the request (503).
    pub dht_timeout: Duration,
    /// While the oldest location request waiting for the DHT has waited this long (see
    /// [`Proxy::handle_location_backlog`]), new REGISTERs over UDP are dropped unanswered:
    /// the phone's retransmission 0.5–4 s later is the retry, by when the backlog has
    /// drained. Under a registration storm the proxy then serves at the DHT's capacity with
    /// the excess delayed, where answering each 503 would fail it, and queueing it would make
    /// every request wait until none could finish in time.
    pub shed_after: Duration,
    /// Seed of the RNG for branches and tags, so simulations replay exactly.
    pub rng_seed: [u8; 32],
}

impl ProxyConfig {
    /// Defaults for a proxy at `local`: domain `scope`, RFC timers, 2 s cache, 5 s DHT wait.
    #[must_use]
    pub fn new(local: SocketAddr) -> Self {
        Self {
            registrar: RegistrarConfig::default(),
            local,
            transaction: transaction::Config::default(),
            cache_ttl: Duration::from_secs(2),
            dht_timeout: Duration::from_secs(5),
            shed_after: Duration::from_millis(200),
            rng_seed: [7; 32],
        }
    }
}

/// What a client transaction is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Branch `usize` of a fork.
    Branch(ForkId, usize),
    /// A CANCEL we sent; its responses need no action.
    Cancel,
}

/// The proxy/registrar state machine; see the module doc for the drive loop.
#[derive(Debug)]
pub struct Proxy {
    config: ProxyConfig,
    layer: TransactionLayer,
    rng: ChaCha8Rng,
    /// `(now, unix seconds)` given at creation: wall-clock time for binding expiry.
    epoch: (Instant, u64),
    dht: DhtTable,
    /// Recent lookup results, for routing (see [`BindingMemo`]).
    cache: BindingMemo,
    /// What this registrar last stored per AOR, for planning REGISTERs (see [`BindingMemo`]).
    views: BindingMemo,
    forks: HashMap<ForkId, Fork>,
    by_server: HashMap<TransactionId, ForkId>,
    roles: HashMap<TransactionId, Role>,
    conns: HashMap<SocketAddr, ConnectionId>,
    metrics: Metrics,
    next_fork: u64,
    /// How long the oldest location request the runtime has queued has waited.
    location_backlog: Duration,
    /// The registrar's `super_nodes` as configured (this node's own addresses included);
    /// [`Proxy::handle_super_nodes`] adds the other super-nodes to a copy of it.
    configured_super_nodes: Vec<String>,
    /// Other SIP super-nodes whose addresses count as the overlay.
    peers: Vec<SocketAddr>,
}

/// Most other super-nodes whose addresses count as the overlay: every REGISTER compares its
/// AOR's host with each.
pub const MAX_SUPER_NODES: usize = 256;

impl Proxy {
    /// A proxy; `now_unix` is the wall-clock time (Unix seconds) at `now`, from which the
    /// binding expiry times stored in the DHT are derived.
    #[must_use]
    pub fn new(mut config: ProxyConfig, now: Instant, now_unix: u64) -> Self {
        for own in route::host_names(config.local) {
            if !config.registrar.super_nodes.contains(&own) {
                config.registrar.super_nodes.push(own);
            }
        }
        Self {
            configured_super_nodes: config.registrar.super_nodes.clone(),
            peers: Vec::new(),
            layer: TransactionLayer::new(config.transaction),
            rng: ChaCha8Rng::from_seed(config.rng_seed),
            epoch: (now, now_unix),
            config,
            dht: DhtTable::default(),
            cache: BindingMemo::new(CACHE_CAP),
            views: BindingMemo::new(VIEWS_CAP),
            forks: HashMap::new(),
            by_server: HashMap::new(),
            roles: HashMap::new(),
            conns: HashMap::new(),
            metrics: Metrics::default(),
            next_fork: 0,
            location_backlog: Duration::ZERO,
        }
    }

    /// The counters for `/metrics`.
    #[must_use]
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Live SIP transactions (server and client).
    #[must_use]
    pub fn transactions_active(&self) -> usize {
        self.layer.len()
    }

    /// Proxied requests still in progress.
    #[must_use]
    pub fn forks_active(&self) -> usize {
        self.forks.len()
    }

    /// AORs whose lookup results are cached for routing (for `/status`).
    #[must_use]
    pub fn cached_aors(&self) -> usize {
        self.cache.len()
    }

    /// DHT requests waiting for an answer.
    #[must_use]
    pub fn dht_pending(&self) -> usize {
        self.dht.len()
    }

    /// Takes the per-transaction DHT timings recorded so far (oldest first).
    pub fn take_dht_timings(&mut self) -> Vec<DhtTiming> {
        self.metrics.timings.drain(..).collect()
    }

    /// One datagram, or one TCP frame cut by [`crate::sip::frame_stream`], from `source`.
    ///
    /// Unparseable requests are answered 400/413/505 when they carry a usable Via and are
    /// dropped otherwise; the error is counted and returned for logging.
    pub fn handle_bytes(
        &mut self,
        now: Instant,
        bytes: &[u8],
        source: SocketAddr,
        link: Link,
    ) -> Result<(), ParseError> {
        if let Link::Tcp(Some(conn)) = link {
            self.conns.insert(source, conn);
        }
        if link == Link::Udp && self.shedding() && self.sheds(bytes, source) {
            return Ok(());
        }
        let result = self
            .layer
            .handle_bytes(now, bytes, source, link.transport());
        if result.is_err() {
            self.metrics.parse_errors += 1;
        }
        self.pump(now);
        result
    }

    /// The runtime closed a TCP connection; later sends to its peer open a new one.
    pub fn handle_connection_closed(&mut self, conn: ConnectionId) {
        self.conns.retain(|_, c| *c != conn);
    }

    /// The runtime started DHT request `id` at `at`. Optional: it makes the DHT timings
    /// (`/sip/dht-timings`, the per-REGISTER and per-INVITE figures) count the DHT's own time
    /// from then on, not the time the runtime spent sending what was queued before it.
    pub fn handle_dht_started(&mut self, id: DhtId, at: Instant) {
        self.dht.started(id, at);
    }

    /// How long the oldest location request the runtime holds back (waiting for a slot, not
    /// yet started) has waited; zero when none waits. Optional: a runtime that never calls it
    /// never sheds load (see [`ProxyConfig::shed_after`]).
    pub fn handle_location_backlog(&mut self, waited: Duration) {
        self.location_backlog = waited;
    }

    /// The other SIP super-nodes (the runtime reads them from the P2PSIP service list and
    /// keeps those that left it for a while): a URI naming any of them names the overlay, as
    /// one naming this node or the domain does, so a phone set up with any super-node's address
    /// as its domain is found, and registers, through every super-node, also once that one is
    /// gone. Replaces the previous list; at most [`MAX_SUPER_NODES`] are taken, unspecified
    /// addresses skipped.
    pub fn handle_super_nodes(&mut self, peers: &[SocketAddr]) {
        let mut names = self.configured_super_nodes.clone();
        let mut taken: Vec<SocketAddr> = Vec::new();
        for peer in peers {
            if taken.len() == MAX_SUPER_NODES {
                break;
            }
            if peer.ip().is_unspecified() || *peer == self.config.local || taken.contains(peer) {
                continue;
            }
            taken.push(*peer);
            for name in route::host_names(*peer) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        self.peers = taken;
        self.config.registrar.super_nodes = names;
    }

    /// The SIP super-nodes whose addresses count as the overlay: this one first, then those
    /// given to [`Proxy::handle_super_nodes`].
    #[must_use]
    pub fn super_nodes(&self) -> Vec<SocketAddr> {
        std::iter::once(self.config.local)
            .chain(self.peers.iter().copied())
            .collect()
    }

    /// True while new REGISTERs over UDP are dropped (see [`ProxyConfig::shed_after`]).
    fn shedding(&self) -> bool {
        self.location_backlog >= self.config.shed_after
    }

    /// Drops (and counts) a new REGISTER while shedding, before it is parsed: under a storm
    /// most arrivals are dropped, and each would otherwise cost a parse and a transaction.
    /// Retransmissions of REGISTERs already taken in go on to their transactions.
    fn sheds(&mut self, bytes: &[u8], source: SocketAddr) -> bool {
        let register = super::skip_crlf(bytes).starts_with(b"REGISTER ");
        if !register || self.layer.is_retransmission(bytes, source) {
            return false;
        }
        self.metrics.request(&Method::Register);
        self.metrics.shed += 1;
        true
    }

    /// The answer to [`Output::Lookup`] `id`: the decoded bindings, or why none came.
    pub fn handle_lookup(
        &mut self,
        now: Instant,
        id: DhtId,
        result: Result<Vec<Binding>, DhtError>,
    ) {
        if let Some(pending) = self.dht.take(id) {
            self.dht_answered(now, pending, result.map(Answer::Bindings));
        }
    }

    /// The answer to [`Output::Store`] `id`.
    pub fn handle_store_done(&mut self, now: Instant, id: DhtId, result: Result<Stored, DhtError>) {
        if let Some(pending) = self.dht.take(id) {
            self.dht_answered(now, pending, result.map(Answer::Stored));
        }
    }

    /// Fires transaction timers and gives up on DHT requests past their deadline.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.layer.handle_timeout(now);
        self.pump(now);
        for pending in self.dht.expired(now) {
            self.dht_answered(now, pending, Err(DhtError::Timeout));
        }
    }

    /// Routes a DHT answer to what its waiter expects; an answer of the wrong kind (bindings
    /// for a store, a store result for a lookup) counts as a failure rather than being lost.
    fn dht_answered(
        &mut self,
        now: Instant,
        pending: dht::Pending,
        result: Result<Answer, DhtError>,
    ) {
        let wrong = || DhtError::Failed("answer of the wrong kind".to_owned());
        if let Waiter::RegisterStore { .. } = pending.waiter {
            let result = result.and_then(|a| match a {
                Answer::Stored(s) => Ok(s),
                Answer::Bindings(_) => Err(wrong()),
            });
            self.store_answered(now, pending, result);
        } else {
            let result = result.and_then(|a| match a {
                Answer::Bindings(b) => Ok(b),
                Answer::Stored(_) => Err(wrong()),
            });
            self.lookup_answered(now, pending, result);
        }
        self.pump(now);
    }

    /// The next message to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let t = self.layer.poll_transmit()?;
        let link = match t.transport {
            Transport::Udp => Link::Udp,
            Transport::Tcp | Transport::Tls => Link::Tcp(self.conns.get(&t.destination).copied()),
        };
        Some(Transmit {
            destination: t.destination,
            link,
            contents: t.contents,
        })
    }

    /// The next DHT request to start.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.dht.poll_output()
    }

    /// When [`Proxy::handle_timeout`] must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.layer.poll_timeout(), self.dht.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Wall-clock seconds at `now`.
    fn now_unix(&self, now: Instant) -> u64 {
        self.epoch.1 + now.saturating_duration_since(self.epoch.0).as_secs()
    }

    /// Handles every event the transaction layer has queued, including those the handling
    /// itself causes.
    fn pump(&mut self, now: Instant) {
        while let Some(event) = self.layer.poll_event() {
            match event {
                Event::Request {
                    id,
                    request,
                    source,
                    ..
                } => self.on_request(now, id, request, source),
                Event::Cancel {
                    id,
                    target,
                    request,
                } => self.on_cancel(now, id, target, &request),
                Event::Ack { request, .. } => self.forward_ack(now, request),
                Event::Response { id, response } => self.on_branch_response(now, id, response),
                Event::StrayResponse { response, .. } => self.relay_stray(response),
                Event::Timeout { id } => self.on_branch_timeout(now, id),
                Event::Terminated { id } => self.on_terminated(now, id),
            }
        }
    }
}
