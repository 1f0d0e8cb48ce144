//! A deterministic test harness: N hosts, each an overlay [`Node`] plus a [`Dht`], over the
//! simulator's emulated links in virtual time. It drives them exactly as the runtime does
//! (input → [`Dht::pump`] → transmits, events, next wake-up), so tests need no sockets.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;

use super::{Dht, DhtConfig, DhtEvent, Outcome, ReqId};
use crate::overlay::{Config, Event, Identity, Node, NodeId, NodeInfo};
use crate::sim::network::{LinkModel, Position, host_addr, host_index};
use crate::store::{DhtKey, ItemId, Store, StoreLimits};

/// Unix time (ms) at the start of every run.
pub const T0: u64 = 1_700_000_000_000;

enum Action {
    Deliver {
        to: usize,
        from: usize,
        payload: Vec<u8>,
    },
    Wake {
        host: usize,
    },
}

/// One simulated super-node.
pub struct Host {
    /// The overlay node.
    pub node: Node,
    /// Its DHT.
    pub dht: Dht,
    /// False once crashed.
    pub alive: bool,
    /// True once the overlay reported `Joined`.
    pub joined: bool,
    position: Position,
    wake: Option<Instant>,
    /// Finished requests not yet collected by a test.
    pub(super) done: HashMap<ReqId, Outcome>,
}

/// The simulated world.
pub struct Harness {
    start: Instant,
    now: Instant,
    rng: ChaCha8Rng,
    links: LinkModel,
    /// The hosts, by index.
    pub hosts: Vec<Host>,
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    actions: HashMap<u64, Action>,
    seq: u64,
    config: DhtConfig,
    limits: StoreLimits,
}

/// Test settings: short periods so repair and refresh happen within seconds of virtual time.
pub fn test_config() -> DhtConfig {
    DhtConfig {
        request_timeout: Duration::from_secs(2),
        repair_interval: Duration::from_secs(10),
        repair_delay: Duration::from_secs(1),
        watch_refresh: Duration::from_secs(5),
        subscription_ttl: Duration::from_secs(20),
        ..DhtConfig::default()
    }
}

/// Client address 10.9.0.n.
pub fn client(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 9, 0, n))
}

impl Harness {
    /// `n` hosts joined through host 0, settled for 20 s of virtual time.
    pub fn new(seed: u64, n: usize) -> Harness {
        Harness::with(seed, n, test_config(), StoreLimits::default())
    }

    /// Like [`Harness::new`] with explicit DHT settings and store limits.
    pub fn with(seed: u64, n: usize, config: DhtConfig, limits: StoreLimits) -> Harness {
        // Virtual time is an offset from one arbitrary instant.
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        let mut h = Harness {
            start,
            now: start,
            rng: ChaCha8Rng::seed_from_u64(seed),
            links: LinkModel::default(),
            hosts: Vec::new(),
            heap: BinaryHeap::new(),
            actions: HashMap::new(),
            seq: 0,
            config,
            limits,
        };
        for i in 0..n {
            h.spawn((i > 0).then_some(0));
            h.run_for(Duration::from_millis(500));
        }
        h.run_for(Duration::from_secs(20));
        h
    }

    /// Virtual now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Unix ms now.
    pub fn now_ms(&self) -> u64 {
        T0 + u64::try_from((self.now - self.start).as_millis()).unwrap_or(0)
    }

    /// Adds a host joining through `seed` (or a new overlay).
    pub fn spawn(&mut self, seed: Option<usize>) -> usize {
        let i = self.hosts.len();
        let identity = Identity::from_random(&mut self.rng);
        let mut config = Config::default();
        rand::Rng::fill(&mut self.rng, &mut config.rng_seed);
        config.epoch_ms = self.now_ms();
        let mut node = Node::new(config, identity, host_addr(i));
        let me = NodeInfo {
            id: node.id(),
            addr: host_addr(i),
        };
        let store = Store::in_memory(self.limits.clone()).unwrap();
        let dht = Dht::new(self.config.clone(), store, me, self.now, self.now_ms());
        node.bootstrap(
            self.now,
            &seed.map(host_addr).into_iter().collect::<Vec<_>>(),
        );
        self.hosts.push(Host {
            node,
            dht,
            alive: true,
            joined: false,
            position: Position::random(&mut self.rng),
            wake: None,
            done: HashMap::new(),
        });
        self.after_input(i);
        i
    }

    /// Stops driving host `i` (a crash: no goodbye).
    pub fn crash(&mut self, i: usize) {
        self.hosts[i].alive = false;
    }

    /// Calls `f` on host `i`'s DHT at the current time, then drives its output.
    pub fn call<R>(&mut self, i: usize, f: impl FnOnce(&mut Dht, Instant) -> R) -> R {
        let now = self.now;
        let r = f(&mut self.hosts[i].dht, now);
        self.after_input(i);
        r
    }

    /// Runs until host `i` finished `req` (or `limit` of virtual time passed).
    pub fn wait(&mut self, i: usize, req: ReqId, limit: Duration) -> Option<Outcome> {
        let until = self.now() + limit;
        while self.now < until {
            if let Some(o) = self.hosts[i].done.remove(&req) {
                return Some(o);
            }
            self.run_for(Duration::from_millis(2));
        }
        self.hosts[i].done.remove(&req)
    }

    /// Runs a request on host `i` to completion (panics after 30 s of virtual time).
    pub fn run(&mut self, i: usize, f: impl FnOnce(&mut Dht, Instant) -> ReqId) -> Outcome {
        let req = self.call(i, f);
        self.wait(i, req, Duration::from_secs(30))
            .expect("request did not finish")
    }

    /// Live hosts, by index.
    pub fn live(&self) -> Vec<usize> {
        (0..self.hosts.len())
            .filter(|&i| self.hosts[i].alive)
            .collect()
    }

    /// The `r` live hosts closest to `key`.
    pub fn closest(&self, key: DhtKey, r: usize) -> Vec<usize> {
        let k = NodeId(key.0);
        let mut live = self.live();
        live.sort_by(|&a, &b| k.closer(&self.hosts[a].node.id(), &self.hosts[b].node.id()));
        live.truncate(r);
        live
    }

    /// Live hosts holding `id` as a live record.
    pub fn holders(&self, id: ItemId) -> Vec<usize> {
        let ms = self.now_ms();
        self.live()
            .into_iter()
            .filter(|&i| {
                self.hosts[i]
                    .dht
                    .store()
                    .records(ms, &[id])
                    .is_ok_and(|r| !r.is_empty())
            })
            .collect()
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        while let Some(Reverse((at, seq))) = self.heap.peek().copied() {
            if at > until {
                break;
            }
            self.heap.pop();
            self.now = at;
            if let Some(action) = self.actions.remove(&seq) {
                self.perform(action);
            }
        }
        self.now = self.now.max(until);
    }

    fn perform(&mut self, action: Action) {
        let now = self.now;
        match action {
            Action::Deliver { to, from, payload } => {
                if !self.hosts[to].alive {
                    return;
                }
                self.hosts[to]
                    .node
                    .handle_datagram(now, host_addr(from), &payload);
                self.after_input(to);
            }
            Action::Wake { host } => {
                let h = &mut self.hosts[host];
                if !h.alive || h.wake != Some(now) {
                    return;
                }
                h.wake = None;
                h.node.handle_timeout(now);
                h.dht.handle_timeout(now);
                self.after_input(host);
            }
        }
    }

    fn schedule(&mut self, at: Instant, action: Action) {
        self.seq += 1;
        self.actions.insert(self.seq, action);
        self.heap.push(Reverse((at, self.seq)));
    }

    /// The runtime's drive step: pump, then transmits, results and the next wake-up.
    fn after_input(&mut self, i: usize) {
        let now = self.now;
        let h = &mut self.hosts[i];
        let mut joined = false;
        h.dht
            .pump(now, &mut h.node, |ev| joined |= ev == Event::Joined);
        h.joined |= joined;
        while let Some(DhtEvent::Done { req, result }) = h.dht.poll_event() {
            h.done.insert(req, result);
        }
        while let Some(t) = self.hosts[i].node.poll_transmit() {
            let Some(to) = host_index(t.dst).filter(|&to| to < self.hosts.len()) else {
                continue;
            };
            let delay = self
                .links
                .delay(self.hosts[i].position, self.hosts[to].position);
            let action = Action::Deliver {
                to,
                from: i,
                payload: t.payload,
            };
            self.schedule(now + delay, action);
        }
        let h = &self.hosts[i];
        let next = match (h.node.poll_timeout(), h.dht.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if next.is_some() && next != h.wake {
            self.hosts[i].wake = next;
            if let Some(at) = next {
                self.schedule(at.max(now), Action::Wake { host: i });
            }
        }
    }
}
