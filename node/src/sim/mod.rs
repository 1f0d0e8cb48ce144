//! A deterministic simulator that drives the real overlay code ([`crate::overlay::Node`]) in
//! virtual time over an emulated network (seeded latency and loss), so a thousand-node overlay
//! with churn runs in seconds and replays exactly from its seed.
//!
//! The engine is an event heap ordered by (time, sequence): datagram deliveries and node
//! wake-ups. Every drive loop is bounded by a virtual deadline.

pub mod network;
pub mod scenario;

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::time::{Duration, Instant};

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

use crate::overlay::{Config, Event, Identity, LookupId, Node, NodeId, Route};
use network::{LinkModel, Position, host_addr, host_index};

/// What happens at a point in virtual time.
#[derive(Debug)]
enum Action {
    /// A datagram arrives at host `to`.
    Deliver {
        to: usize,
        from: usize,
        payload: Vec<u8>,
    },
    /// Host `host` asked to be woken at this time.
    Wake { host: usize },
}

/// One simulated host.
struct Host {
    node: Node,
    position: Position,
    alive: bool,
    joined: bool,
    /// The wake-up currently in the heap, to skip stale ones.
    wake: Option<Instant>,
}

/// A finished lookup as the simulator saw it.
#[derive(Clone, Debug)]
pub struct LookupOutcome {
    /// Host that started it.
    pub host: usize,
    /// Result reported by the node.
    pub result: Result<Route, crate::overlay::LookupError>,
    /// Whether the reported root was the live node closest to the key when it finished.
    pub correct_root: bool,
    /// Why the root was wrong, when it was.
    pub miss: Option<Miss>,
    /// Virtual time from start to finish.
    pub latency: Duration,
}

/// How a lookup that returned a root missed the right one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Miss {
    /// The reported root had crashed by the time the answer arrived.
    RootDead,
    /// The right root had joined within the last 10 s.
    RootNew,
    /// Anything else: a routing error.
    Other,
}

/// The simulated world.
pub struct Sim {
    start: Instant,
    now: Instant,
    rng: ChaCha8Rng,
    links: LinkModel,
    hosts: Vec<Host>,
    heap: BinaryHeap<Reverse<(Instant, u64, usize)>>,
    actions: HashMap<usize, Action>,
    next_action: usize,
    seq: u64,
    live: BTreeSet<NodeId>,
    joined_at: HashMap<NodeId, Instant>,
    started: HashMap<(usize, LookupId), Instant>,
    config: Config,
    /// Log every wrong root with what the two nodes knew of each other (for debugging routing).
    pub explain_misses: bool,
    /// Lookups finished, in order.
    pub outcomes: Vec<LookupOutcome>,
    /// Datagrams handed to the network.
    pub datagrams: u64,
    /// Datagrams the network dropped.
    pub lost: u64,
}

impl Sim {
    /// A world with no hosts yet. `config` is the template for every node (its RNG seed and
    /// epoch are replaced per node).
    #[must_use]
    pub fn new(seed: u64, links: LinkModel, config: Config) -> Self {
        // Virtual time is an offset from one arbitrary instant; only differences are used.
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        Self {
            start,
            now: start,
            rng: ChaCha8Rng::seed_from_u64(seed),
            links,
            hosts: Vec::new(),
            heap: BinaryHeap::new(),
            actions: HashMap::new(),
            next_action: 0,
            seq: 0,
            live: BTreeSet::new(),
            joined_at: HashMap::new(),
            started: HashMap::new(),
            config,
            outcomes: Vec::new(),
            explain_misses: false,
            datagrams: 0,
            lost: 0,
        }
    }

    /// Virtual time elapsed.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Number of hosts ever created.
    #[must_use]
    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    /// Live hosts that finished joining.
    #[must_use]
    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    /// Indices of live, joined hosts.
    #[must_use]
    pub fn live_hosts(&self) -> Vec<usize> {
        (0..self.hosts.len())
            .filter(|&i| self.hosts[i].alive && self.hosts[i].joined)
            .collect()
    }

    /// The node of host `i`.
    #[must_use]
    pub fn node(&self, i: usize) -> Option<&Node> {
        self.hosts.get(i).map(|h| &h.node)
    }

    /// Whether host `i` is alive and joined.
    #[must_use]
    pub fn is_live(&self, i: usize) -> bool {
        self.hosts.get(i).is_some_and(|h| h.alive && h.joined)
    }

    /// Live, joined hosts whose leaf set is not exactly their `half` nearest live, joined nodes on
    /// each side. Zero means every leaf set is right.
    #[must_use]
    pub fn wrong_leaf_sets(&self) -> usize {
        let ring: Vec<NodeId> = self.live.iter().copied().collect();
        let n = ring.len();
        self.hosts
            .iter()
            .filter(|h| h.alive && h.joined)
            .filter(|h| {
                let me = h.node.id();
                let half = h.node.leaf_set().half().min(n.saturating_sub(1));
                let Ok(pos) = ring.binary_search(&me) else {
                    return true;
                };
                let want_cw: Vec<NodeId> = (1..=half).map(|k| ring[(pos + k) % n]).collect();
                let want_ccw: Vec<NodeId> = (1..=half).map(|k| ring[(pos + n - k) % n]).collect();
                let cw: Vec<NodeId> = h
                    .node
                    .leaf_set()
                    .successors()
                    .iter()
                    .map(|x| x.id)
                    .collect();
                let ccw: Vec<NodeId> = h
                    .node
                    .leaf_set()
                    .predecessors()
                    .iter()
                    .map(|x| x.id)
                    .collect();
                cw != want_cw || ccw != want_ccw
            })
            .count()
    }

    /// Signatures made and checked by all hosts together.
    #[must_use]
    pub fn signature_totals(&self) -> (u64, u64) {
        self.hosts.iter().fold((0, 0), |(m, c), h| {
            let x = h.node.metrics();
            (m + x.signatures_made, c + x.signatures_checked)
        })
    }

    /// Creates a host and starts its join through `seed` (or a new overlay with no seed).
    pub fn spawn(&mut self, seed: Option<usize>) -> usize {
        let index = self.hosts.len();
        let identity = Identity::from_random(&mut self.rng);
        let mut config = self.config.clone();
        self.rng.fill(&mut config.rng_seed);
        config.epoch_ms = u64::try_from(self.elapsed().as_millis()).unwrap_or(u64::MAX) + 1;
        let mut node = Node::new(config, identity, host_addr(index));
        let seeds: Vec<_> = seed.map(host_addr).into_iter().collect();
        node.bootstrap(self.now, &seeds);
        let position = Position::random(&mut self.rng);
        self.hosts.push(Host {
            node,
            position,
            alive: true,
            joined: false,
            wake: None,
        });
        self.after_input(index);
        index
    }

    /// Crashes host `i` (no goodbye).
    pub fn crash(&mut self, i: usize) {
        if let Some(h) = self.hosts.get_mut(i) {
            h.alive = false;
            self.live.remove(&h.node.id());
        }
    }

    /// Host `i` leaves gracefully.
    pub fn leave(&mut self, i: usize) {
        if let Some(h) = self.hosts.get_mut(i) {
            h.node.leave(self.now);
            self.live.remove(&h.node.id());
        }
        self.after_input(i);
        if let Some(h) = self.hosts.get_mut(i) {
            h.alive = false;
        }
    }

    /// Starts a lookup of `key` at host `i`.
    pub fn lookup(&mut self, i: usize, key: NodeId) -> Option<LookupId> {
        let now = self.now;
        let id = self.hosts.get_mut(i)?.node.route(now, key);
        self.started.insert((i, id), now);
        self.after_input(i);
        Some(id)
    }

    /// A key drawn from the simulation's RNG.
    pub fn random_key(&mut self) -> NodeId {
        let mut k = [0u8; 20];
        self.rng.fill(&mut k);
        NodeId(k)
    }

    /// A random number in `0..n`, from the simulation's RNG.
    pub fn random_below(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n.max(1))
    }

    /// A uniform random float in [0, 1), from the simulation's RNG.
    pub fn random_unit(&mut self) -> f64 {
        self.rng.random()
    }

    /// The live, joined node closest to `key`: the correct root.
    #[must_use]
    pub fn true_root(&self, key: &NodeId) -> Option<NodeId> {
        let after = self
            .live
            .range(key..)
            .next()
            .or_else(|| self.live.iter().next());
        let before = self
            .live
            .range(..key)
            .next_back()
            .or_else(|| self.live.iter().next_back());
        match (after, before) {
            (Some(a), Some(b)) => Some(if key.closer(a, b).is_le() { *a } else { *b }),
            (a, b) => a.or(b).copied(),
        }
    }

    /// Runs until virtual time `until` (or until nothing is left to do).
    pub fn run_until(&mut self, until: Instant) {
        while let Some(Reverse((at, _, _))) = self.heap.peek() {
            if *at > until {
                break;
            }
            let Some(Reverse((at, _, slot))) = self.heap.pop() else {
                break;
            };
            self.now = at;
            if let Some(action) = self.actions.remove(&slot) {
                self.perform(action);
            }
        }
        self.now = self.now.max(until);
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    fn perform(&mut self, action: Action) {
        match action {
            Action::Deliver { to, from, payload } => {
                let now = self.now;
                let Some(h) = self.hosts.get_mut(to).filter(|h| h.alive) else {
                    return;
                };
                h.node.handle_datagram(now, host_addr(from), &payload);
                self.after_input(to);
            }
            Action::Wake { host } => {
                let now = self.now;
                let Some(h) = self.hosts.get_mut(host).filter(|h| h.alive) else {
                    return;
                };
                if h.wake != Some(now) {
                    return;
                }
                h.wake = None;
                h.node.handle_timeout(now);
                self.after_input(host);
            }
        }
    }

    fn schedule(&mut self, at: Instant, action: Action) {
        let slot = self.next_action;
        self.next_action += 1;
        self.seq += 1;
        self.actions.insert(slot, action);
        self.heap.push(Reverse((at, self.seq, slot)));
    }

    /// Drains a node's output after any input: datagrams onto the network, events into the
    /// record, and its next wake-up into the heap.
    fn after_input(&mut self, i: usize) {
        while let Some(t) = self.hosts[i].node.poll_transmit() {
            self.datagrams += 1;
            let Some(to) = host_index(t.dst).filter(|&to| to < self.hosts.len()) else {
                continue;
            };
            if self.links.lost(&mut self.rng) {
                self.lost += 1;
                continue;
            }
            let delay = self
                .links
                .delay(self.hosts[i].position, self.hosts[to].position);
            self.schedule(
                self.now + delay,
                Action::Deliver {
                    to,
                    from: i,
                    payload: t.payload,
                },
            );
        }
        while let Some(ev) = self.hosts[i].node.poll_event() {
            self.on_event(i, ev);
        }
        let next = self.hosts[i].node.poll_timeout();
        if next.is_some() && next != self.hosts[i].wake {
            self.hosts[i].wake = next;
            if let Some(at) = next {
                self.schedule(at.max(self.now), Action::Wake { host: i });
            }
        }
    }

    fn classify(&self, route: &Route) -> Option<Miss> {
        let truth = self.true_root(&route.key)?;
        if truth == route.root.id {
            return None;
        }
        if !self.live.contains(&route.root.id) {
            return Some(Miss::RootDead);
        }
        let recent = self
            .joined_at
            .get(&truth)
            .is_some_and(|t| self.now.saturating_duration_since(*t) < Duration::from_secs(10));
        if !recent && self.explain_misses {
            let host = self.hosts.iter().find(|h| h.node.id() == route.root.id);
            let truth_host = self.hosts.iter().find(|h| h.node.id() == truth);
            let knows = host.is_some_and(|h| h.node.leaf_set().contains(&truth));
            let truth_knows =
                truth_host.is_some_and(|h| h.node.leaf_set().contains(&route.root.id));
            let age = self
                .joined_at
                .get(&truth)
                .map(|t| self.now.saturating_duration_since(*t));
            let rage = self
                .joined_at
                .get(&route.root.id)
                .map(|t| self.now.saturating_duration_since(*t));
            tracing::warn!(
                key = ?route.key, got = ?route.root.id, truth = ?truth, ?age, ?rage, knows,
                truth_knows, path = ?route.path, t = ?self.elapsed(),
                "lookup ended at the wrong root"
            );
        }
        Some(if recent { Miss::RootNew } else { Miss::Other })
    }

    fn on_event(&mut self, i: usize, ev: Event) {
        match ev {
            Event::Joined => {
                let h = &mut self.hosts[i];
                if h.alive {
                    h.joined = true;
                    self.live.insert(h.node.id());
                    self.joined_at.insert(h.node.id(), self.now);
                }
            }
            Event::LookupDone { id, result } => {
                let started = self.started.remove(&(i, id)).unwrap_or(self.now);
                let miss = result.as_ref().ok().and_then(|route| self.classify(route));
                self.outcomes.push(LookupOutcome {
                    host: i,
                    correct_root: result.is_ok() && miss.is_none(),
                    result,
                    miss,
                    latency: self.now - started,
                });
            }
            _ => {}
        }
    }
}
