//! 24 daemons on 127.0.0.1 form one overlay: every node routes 200 random keys to the same
//! root, the live node numerically closest to each key; after 6 of them are killed with
//! SIGKILL, the 18 survivors agree again (on the right roots) within 30 s.

// A test fails by panicking: unwrap and expect are the clearest way to say what broke.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::{Rng as _, SeedableRng as _};
use scope_node::overlay::NodeId;
use scope_tests::{Daemon, get_json};

const NODES: usize = 24;
const KILLED: usize = 6;
const KEYS: usize = 200;
/// HTTP client threads for the lookups (the daemons answer concurrently).
const CLIENT_THREADS: usize = 12;
/// How long the overlay may take to heal after the kills (the bound).
const HEAL: Duration = Duration::from_secs(30);
/// No grace for the first check: each node has joined (announced itself to its leaf set)
/// before the next starts, so the very first round of lookups must already be right.
const SETTLE: Duration = Duration::ZERO;

#[test]
fn roots_agree_before_and_after_six_nodes_crash() {
    let seed: u64 = rand::rng().random();
    eprintln!("seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);

    let mut nodes = start_overlay(&mut rng);
    let keys: Vec<NodeId> = (0..KEYS).map(|_| NodeId(rng.random())).collect();
    let took = converge(&nodes, &keys, SETTLE, "after all joined");
    eprintln!("{NODES} nodes agree on all {KEYS} roots {took:?} after the last join");

    let mut victims = sample(&mut rng, NODES, KILLED).into_vec();
    victims.sort_unstable_by(|a, b| b.cmp(a));
    let killed_at = Instant::now();
    let mut dead = Vec::new();
    for i in victims {
        let mut d = nodes.remove(i);
        eprintln!("SIGKILL node {} ({})", d.id, d.overlay);
        d.kill();
        dead.push(d.id.clone());
    }
    let took = converge(&nodes, &keys, HEAL, "after the kills");
    eprintln!(
        "{} survivors agree on all roots {took:?} after the kills",
        nodes.len()
    );
    let healed = scope_tests::poll_until(
        HEAL.saturating_sub(killed_at.elapsed()),
        Duration::from_millis(200),
        || nodes.iter().all(|n| !lists_any(n, &dead)),
    );
    assert!(
        healed,
        "a survivor still lists a killed node in its leaf set after {HEAL:?}"
    );
    eprintln!(
        "no leaf set lists a killed node {:?} after the kills",
        killed_at.elapsed()
    );
}

/// True if `node`'s leaf set (per `/status`) names any of `ids`, or its status is unreadable.
fn lists_any(node: &Daemon, ids: &[String]) -> bool {
    let Ok(status) = node.status() else {
        return true;
    };
    let members = status["leaf_set"].as_array().cloned().unwrap_or_default();
    members
        .iter()
        .any(|m| ids.iter().any(|id| m["id"].as_str() == Some(id.as_str())))
}

/// Starts the first node alone, then each next one through a random earlier one, waiting for
/// each to join before starting the next.
fn start_overlay(rng: &mut StdRng) -> Vec<Daemon> {
    let started = Instant::now();
    let mut nodes: Vec<Daemon> = Vec::with_capacity(NODES);
    for i in 0..NODES {
        let seeds = if i == 0 {
            vec![]
        } else {
            vec![nodes[rng.random_range(0..i)].overlay]
        };
        let d = Daemon::start(&seeds);
        d.wait_joined(Duration::from_secs(20));
        nodes.push(d);
    }
    eprintln!("{NODES} nodes joined in {:?}", started.elapsed());
    nodes
}

/// Repeats the full check until it passes, failing the test with the last problems found if
/// it has not passed within `limit`. Returns how long it took.
fn converge(nodes: &[Daemon], keys: &[NodeId], limit: Duration, when: &str) -> Duration {
    let start = Instant::now();
    let mut round = 0;
    loop {
        round += 1;
        let (problems, mut latencies) = check_roots(nodes, keys);
        latencies.sort_unstable();
        let pct = |p: usize| {
            latencies
                .get(latencies.len() * p / 100)
                .copied()
                .unwrap_or_default()
        };
        eprintln!(
            "{when}: round {round}: {} lookups, latency p50 {:?} p99 {:?} max {:?}, {} over 1 s",
            latencies.len(),
            pct(50),
            pct(99),
            latencies.last().copied().unwrap_or_default(),
            latencies
                .iter()
                .filter(|l| **l > Duration::from_secs(1))
                .count()
        );
        if problems.is_empty() {
            return start.elapsed();
        }
        eprintln!(
            "{when}: round {round} at {:?}: {} wrong answers, e.g. {:?}",
            start.elapsed(),
            problems.len(),
            &problems[..problems.len().min(5)]
        );
        assert!(
            start.elapsed() < limit,
            "{when}: roots still wrong after {limit:?}: {} wrong answers, first: {:#?}",
            problems.len(),
            &problems[..problems.len().min(20)]
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Asks every node for the root of every key (concurrently) and lists every answer that is
/// not the live node numerically closest to the key, with the latency of every lookup.
fn check_roots(nodes: &[Daemon], keys: &[NodeId]) -> (Vec<String>, Vec<Duration>) {
    let ids: Vec<NodeId> = nodes
        .iter()
        .map(|d| d.id.parse().expect("daemon ID"))
        .collect();
    let expected: Vec<NodeId> = keys.iter().map(|k| closest(k, &ids)).collect();
    let next = AtomicUsize::new(0);
    let problems = Mutex::new(BTreeMap::new());
    let latencies = Mutex::new(Vec::with_capacity(nodes.len() * keys.len()));
    std::thread::scope(|s| {
        for _ in 0..CLIENT_THREADS {
            s.spawn(|| {
                loop {
                    let job = next.fetch_add(1, AtomicOrdering::Relaxed);
                    if job >= nodes.len() * keys.len() {
                        break;
                    }
                    let (n, k) = (job / keys.len(), job % keys.len());
                    let asked = Instant::now();
                    let answer = route(&nodes[n], &keys[k]);
                    latencies.lock().unwrap().push(asked.elapsed());
                    if answer.as_deref() != Ok(expected[k].to_string().as_str()) {
                        let msg = format!(
                            "node {} key {}: expected {}, got {answer:?}",
                            nodes[n].id.get(..8).unwrap_or("?"),
                            keys[k],
                            expected[k]
                        );
                        problems.lock().unwrap().insert(job, msg);
                    }
                }
            });
        }
    });
    let problems = problems.into_inner().unwrap().into_values().collect();
    (problems, latencies.into_inner().unwrap())
}

/// The root a node names for `key`, or why it named none.
fn route(node: &Daemon, key: &NodeId) -> Result<String, String> {
    let v = get_json(node.gateway, &format!("/route/{key}"))?;
    v["root"]["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no root in {v}"))
}

/// The node numerically closest to `key` (ring distance; ties to the smaller ID).
fn closest(key: &NodeId, ids: &[NodeId]) -> NodeId {
    *ids.iter()
        .min_by(|a, b| match key.closer(a, b) {
            Ordering::Equal => a.cmp(b),
            o => o,
        })
        .expect("at least one node")
}
