//! `dht_bench`: figures for issue 4, printed one per line.
//!
//! 1. gets/s and p50/p99 through one super-node of an 8-node overlay, 64 keep-alive clients;
//!    then the same for puts;
//! 2. memory per million stored values (store file size and RSS of an in-process store);
//! 3. sequential put and get latency on a 32-node overlay;
//! 4. if `dhtnode` is installed, the OpenDHT anchor (`/work/shared/anchors/dht/run.sh`, run
//!    from a copy) in the same run.
//!
//! Run with a release daemon: `cargo build --release -p scope-node -p scope-tests --bin
//! dht_bench && SCOPE_NODE_BIN=target/release/scope-node target/release/dht_bench`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use rand::Rng as _;
use scope_node::store::{DhtKey, Op, PutRequest, Store, StoreLimits};
use scope_tests::rpc::Rpc;
use scope_tests::start_overlay;

const CLIENTS: usize = 64;
const PHASE: Duration = Duration::from_secs(10);
const PRELOAD: usize = 2000;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let values: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    throughput()?;
    memory(values)?;
    latency_32()?;
    opendht()?;
    Ok(())
}

/// Phase 1: 64 clients against node 0 of an 8-node overlay.
fn throughput() -> anyhow::Result<()> {
    let nodes = start_overlay(8, &[]);
    let gw = nodes[0].gateway;
    let rpc = Rpc::new();
    let keys: Vec<[u8; 20]> = (0..PRELOAD).map(|_| rand::rng().random()).collect();
    for (i, k) in keys.iter().enumerate() {
        let status = rpc.put(gw, k, &[7u8; 100], 3600);
        if status != Ok(0) {
            bail!("preload put {i}: {status:?}");
        }
    }
    let gets = run_clients(gw, |rpc, rng| {
        let k = keys[rng.random_range(0..keys.len())];
        rpc.get(gw, &k).is_ok_and(|v| !v.is_empty())
    });
    report("8 nodes, 64 clients, get", &gets);
    let puts = run_clients(gw, |rpc, rng| {
        let k: [u8; 20] = rng.random();
        rpc.put(gw, &k, &[9u8; 100], 3600) == Ok(0)
    });
    report("8 nodes, 64 clients, put (100 B)", &puts);
    let rss = rss_kib(nodes[0].pid()).unwrap_or(0);
    println!("node 0 RSS after the run: {:.1} MiB", rss as f64 / 1024.0);
    Ok(())
}

/// Latencies (µs) of successful calls and the failure count over one phase.
struct Phase {
    lat_us: Vec<u64>,
    failed: usize,
    took: Duration,
}

fn run_clients(
    _gw: SocketAddr,
    op: impl Fn(&Rpc, &mut rand::rngs::ThreadRng) -> bool + Sync,
) -> Phase {
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let results: Vec<(Vec<u64>, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let (op, stop) = (&op, &stop);
                s.spawn(move || {
                    let (rpc, mut rng) = (Rpc::new(), rand::rng());
                    let (mut lat, mut failed) = (Vec::new(), 0);
                    while !stop.load(Ordering::Relaxed) {
                        let t = Instant::now();
                        if op(&rpc, &mut rng) {
                            lat.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
                        } else {
                            failed += 1;
                        }
                    }
                    (lat, failed)
                })
            })
            .collect();
        std::thread::sleep(PHASE);
        stop.store(true, Ordering::Relaxed);
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let took = started.elapsed();
    let mut lat_us: Vec<u64> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
    lat_us.sort_unstable();
    Phase {
        lat_us,
        failed: results.iter().map(|r| r.1).sum(),
        took,
    }
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

fn report(what: &str, p: &Phase) {
    println!(
        "{what}: {:.0} ops/s, p50 {:.2} ms, p99 {:.2} ms ({} ok, {} failed, {:.1} s)",
        p.lat_us.len() as f64 / p.took.as_secs_f64(),
        pct(&p.lat_us, 0.50),
        pct(&p.lat_us, 0.99),
        p.lat_us.len(),
        p.failed,
        p.took.as_secs_f64()
    );
}

/// Phase 2: `n` 100-byte values in an in-process store, in batches of 10,000.
fn memory(n: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store.redb");
    let before = rss_kib(std::process::id()).unwrap_or(0);
    let limits = StoreLimits {
        capacity_bytes: 1 << 40,
        client_floor_bytes: 1 << 40,
        ..StoreLimits::default()
    };
    let store = Store::open(&path, limits)?;
    let now_ms = scope_node::runtime::wall_clock_ms();
    let client = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let t = Instant::now();
    let mut rng = rand::rng();
    for start in (0..n).step_by(10_000) {
        let ops: Vec<Op> = (start..n.min(start + 10_000))
            .map(|_| {
                Op::Put(PutRequest {
                    key: DhtKey(rng.random()),
                    value: vec![1u8; 100],
                    secret_hash: None,
                    ttl_secs: 604_800,
                    client,
                })
            })
            .collect();
        store.apply_batch(now_ms, &ops)?;
    }
    let stats = store.stats()?;
    let file = std::fs::metadata(&path)?.len();
    let after = rss_kib(std::process::id()).unwrap_or(0);
    let per_m = 1_000_000.0 / stats.values.max(1) as f64;
    println!(
        "store: {} values of 100 B in {:.1} s; file {:.1} MiB ({:.1} MiB per million), RSS +{:.1} MiB ({:.1} MiB per million)",
        stats.values,
        t.elapsed().as_secs_f64(),
        file as f64 / 1048576.0,
        file as f64 / 1048576.0 * per_m,
        after.saturating_sub(before) as f64 / 1024.0,
        after.saturating_sub(before) as f64 / 1024.0 * per_m
    );
    Ok(())
}

/// Phase 3: one client, sequential puts then gets, each through a different node of 32.
fn latency_32() -> anyhow::Result<()> {
    let nodes = start_overlay(32, &[]);
    std::thread::sleep(Duration::from_secs(3));
    let rpc = Rpc::new();
    let keys: Vec<[u8; 20]> = (0..500).map(|_| rand::rng().random()).collect();
    let mut put = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let t = Instant::now();
        if rpc.put(nodes[i % 32].gateway, k, &[5u8; 100], 3600) == Ok(0) {
            put.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
        }
    }
    let mut get = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let t = Instant::now();
        if rpc
            .get(nodes[(i + 7) % 32].gateway, k)
            .is_ok_and(|v| !v.is_empty())
        {
            get.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
        }
    }
    for (what, mut v) in [("put", put), ("get (other node)", get)] {
        v.sort_unstable();
        println!(
            "32 nodes, sequential {what}: {}/500 ok, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms",
            v.len(),
            pct(&v, 0.5),
            pct(&v, 0.9),
            pct(&v, 0.99)
        );
    }
    Ok(())
}

/// Phase 4: the OpenDHT anchor, from a copy of its directory, if `dhtnode` is installed.
fn opendht() -> anyhow::Result<()> {
    let anchor = Path::new("/work/shared/anchors/dht");
    let installed = Command::new("sh")
        .args(["-c", "command -v dhtnode"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed || !anchor.exists() {
        println!("OpenDHT: dhtnode not installed; skipped");
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    for f in ["run.sh", "bench.py"] {
        std::fs::copy(anchor.join(f), dir.path().join(f)).with_context(|| f.to_string())?;
    }
    let out = Command::new("bash")
        .arg(dir.path().join("run.sh"))
        .env("OUT", dir.path().join("results.json"))
        .output()?;
    println!("OpenDHT (dhtnode, 32 nodes, anchors/dht/run.sh):");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    Ok(())
}

/// Resident set size of process `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
