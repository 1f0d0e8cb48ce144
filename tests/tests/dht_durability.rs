//! Durability across crashes: 16 nodes, 2,000 values. Three nodes (roots of some of the keys)
//! are SIGKILLed at once: every value is still returned, and after repair every key has r = 4
//! live replicas among the survivors (counted with each node's loopback-only
//! `POST /local/counts`). The three restart on their data directories with their old IDs and
//! rejoin. Then all 16 are SIGKILLed and restarted: still every value is there.

// A test fails by panicking: unwrap and expect are the clearest way to say what broke.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::{Rng as _, SeedableRng as _};
use scope_tests::rpc::Rpc;
use scope_tests::{Daemon, poll_until};

const NODES: usize = 16;
const VALUES: usize = 2000;
const REPLICAS: u32 = 4;
const THREADS: usize = 8;
const FLAGS: &[&str] = &["--repair-interval-secs", "5"];

fn start(dir: &Path, boot: &[SocketAddr]) -> Daemon {
    std::fs::create_dir_all(dir).unwrap();
    let d = Daemon::start_with(Some(dir), boot, FLAGS);
    d.wait_joined(Duration::from_secs(30));
    d
}

/// Runs `f` over `items` split across [`THREADS`] threads, each with its own client.
fn parallel<T: Sync>(items: &[T], f: impl Fn(&Rpc, usize, &T) + Sync) {
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let f = &f;
            s.spawn(move || {
                let rpc = Rpc::new();
                for (i, item) in items.iter().enumerate().skip(t).step_by(THREADS) {
                    f(&rpc, i, item);
                }
            });
        }
    });
}

/// Asserts that every (key, value) is returned through some node, retrying each for a while
/// (a get racing the overlay's failure detection may time out once).
fn all_returned(nodes: &[Daemon], data: &[([u8; 20], Vec<u8>)], what: &str) {
    let started = Instant::now();
    parallel(data, |rpc, i, (key, value)| {
        let ok = poll_until(Duration::from_secs(40), Duration::from_millis(200), || {
            let node = &nodes[i % nodes.len()];
            rpc.get(node.gateway, key)
                .is_ok_and(|vals| vals.contains(value))
        });
        assert!(ok, "{what}: value {i} lost");
    });
    eprintln!(
        "{what}: all {} values returned in {:?}",
        data.len(),
        started.elapsed()
    );
}

/// Live copies of each key summed over `nodes`.
fn replica_counts(nodes: &[Daemon], data: &[([u8; 20], Vec<u8>)]) -> Vec<u32> {
    let body: String = data.iter().map(|(k, _)| hex(k) + "\n").collect();
    let mut total = vec![0u32; data.len()];
    for n in nodes {
        let counts: Vec<u32> = ureq::post(format!("http://{}/local/counts", n.gateway))
            .send(body.as_str())
            .ok()
            .and_then(|mut r| r.body_mut().read_to_string().ok())
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        for (t, c) in total.iter_mut().zip(counts) {
            *t += c;
        }
    }
    total
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Index of the node whose ID is closest to `key` on the ring (its root).
fn root_of(ids: &[[u8; 20]], key: &[u8; 20]) -> usize {
    let dist = |id: &[u8; 20]| {
        let a = u128::from_be_bytes(id[..16].try_into().unwrap());
        let b = u128::from_be_bytes(key[..16].try_into().unwrap());
        a.wrapping_sub(b).min(b.wrapping_sub(a))
    };
    (0..ids.len()).min_by_key(|&i| dist(&ids[i])).unwrap()
}

fn parse_id(text: &str) -> [u8; 20] {
    let mut out = [0u8; 20];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

#[test]
fn values_survive_crashes_repair_and_full_restart() {
    let root = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = (0..NODES)
        .map(|i| root.path().join(format!("n{i}")))
        .collect();
    let mut nodes = vec![start(&dirs[0], &[])];
    for dir in &dirs[1..] {
        nodes.push(start(dir, &[nodes[0].overlay]));
    }
    let seed: u64 = rand::rng().random();
    eprintln!("seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let data: Vec<([u8; 20], Vec<u8>)> = (0..VALUES)
        .map(|i| {
            (
                rng.random(),
                format!("value {i} {}", rng.random::<u64>()).into_bytes(),
            )
        })
        .collect();
    let t = Instant::now();
    parallel(&data, |rpc, i, (key, value)| {
        let node = &nodes[i % NODES];
        let ok = poll_until(Duration::from_secs(30), Duration::from_millis(100), || {
            rpc.put(node.gateway, key, value, 3600) == Ok(0)
        });
        assert!(ok, "put {i} never succeeded");
    });
    eprintln!("{VALUES} puts in {:?}", t.elapsed());

    // Kill three nodes at once, each the root of some keys (skip node 0, the bootstrap).
    let ids: Vec<[u8; 20]> = nodes.iter().map(|n| parse_id(&n.id)).collect();
    let victims = [3usize, 8, 13];
    let rooted = data
        .iter()
        .filter(|(k, _)| victims.contains(&root_of(&ids, k)))
        .count();
    assert!(rooted > 0);
    eprintln!("killing nodes {victims:?}, roots of {rooted} keys");
    let mut dead: Vec<Daemon> = Vec::new();
    for &v in victims.iter().rev() {
        let mut d = nodes.remove(v);
        d.kill();
        dead.push(d);
    }
    all_returned(&nodes, &data, "after killing 3");

    let t = Instant::now();
    let mut counts = Vec::new();
    let repaired = poll_until(Duration::from_secs(90), Duration::from_secs(2), || {
        counts = replica_counts(&nodes, &data);
        counts.iter().all(|&c| c >= REPLICAS)
    });
    let min = counts.iter().min().copied().unwrap_or(0);
    let below = counts.iter().filter(|&&c| c < REPLICAS).count();
    eprintln!(
        "replicas after repair ({:?}): min {min}, max {}, keys below {REPLICAS}: {below}",
        t.elapsed(),
        counts.iter().max().copied().unwrap_or(0)
    );
    assert!(
        repaired,
        "{below} keys have fewer than {REPLICAS} live replicas"
    );

    // The killed nodes come back on their data directories with their IDs.
    for d in dead {
        let dir = d.data_dir().to_path_buf();
        let again = start(&dir, &[nodes[0].overlay]);
        assert_eq!(again.id, d.id, "restart changed the node ID");
        nodes.push(again);
    }
    all_returned(&nodes, &data, "after the 3 rejoined");

    // All 16 crash and restart.
    let old_ids: Vec<String> = nodes.iter().map(|n| n.id.clone()).collect();
    let node_dirs: Vec<PathBuf> = nodes.iter().map(|n| n.data_dir().to_path_buf()).collect();
    for n in &mut nodes {
        n.kill();
    }
    drop(nodes);
    let mut nodes = vec![start(&node_dirs[0], &[])];
    for dir in &node_dirs[1..] {
        nodes.push(start(dir, &[nodes[0].overlay]));
    }
    let ids: Vec<String> = nodes.iter().map(|n| n.id.clone()).collect();
    assert_eq!(ids, old_ids);
    all_returned(&nodes, &data, "after all 16 restarted");
}
