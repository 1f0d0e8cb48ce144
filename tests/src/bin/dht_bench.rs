//! `dht_bench`: figures for issue 4, printed one per line.
//!
//! 1. gets/s and p50/p99 through one super-node of an 8-node overlay, 64 keep-alive clients;
//!    then the same for puts;
//! 2. memory per million stored values (store file size and RSS of an in-process store);
//! 3. sequential put and get latency on a 32-node overlay;
//! 4. if `dhtnode` is installed, the OpenDHT anchor (`/work/shared/anchors/dht/run.sh`, run
//!    from a copy) in the same run.
//!
//! `dht_bench throughput` runs phase 1 only (for profiling).
//!
//! Run with a release daemon: `cargo build --release -p scope-node -p scope-tests --bin
//! dht_bench && SCOPE_NODE_BIN=target/release/scope-node target/release/dht_bench`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use rand::Rng as _;
use scope_node::store::{DhtKey, Op, PutRequest, StorageClass, Store, StoreLimits};
use scope_tests::load::{self, LoadResult};
use scope_tests::rpc::Rpc;
use scope_tests::start_overlay;

use scope_node::gateway::opendht::{Get, Key, Put, Ttl};
use scope_node::gateway::{Request, Response};

const CLIENTS: usize = 64;
const PHASE: Duration = Duration::from_secs(10);
const PRELOAD: usize = 2000;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("throughput") {
        return throughput();
    }
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
    let pids: Vec<u32> = nodes.iter().map(scope_tests::Daemon::pid).collect();
    let cpu = Cpu::start(&pids);
    let keys = std::sync::Arc::new(keys);
    let pick = keys.clone();
    let gets = load::run(
        gw,
        CLIENTS,
        PHASE,
        move |_, _| get_request(&pick[rand::rng().random_range(0..pick.len())]),
        |r| matches!(r, Response::Get(g) if !g.values.is_empty()),
    )?;
    report("8 nodes, 64 clients, get", &gets);
    cpu.report(gets.lat_us.len());
    let cpu = Cpu::start(&pids);
    let puts = load::run(
        gw,
        CLIENTS,
        PHASE,
        |_, _| put_request(&rand::rng().random::<[u8; 20]>()),
        |r| matches!(r, Response::Status(s) if s.code() == 0),
    )?;
    report("8 nodes, 64 clients, put (100 B)", &puts);
    cpu.report(puts.lat_us.len());
    let rss = rss_kib(nodes[0].pid()).unwrap_or(0);
    println!("node 0 RSS after the run: {:.1} MiB", rss as f64 / 1024.0);
    Ok(())
}

/// `get(key, maxvals 100)`.
fn get_request(key: &[u8; 20]) -> Request {
    Request::Get(Get {
        key: Key::new(key.to_vec()).unwrap_or_else(|_| unreachable!("20-byte key")),
        maxvals: 100,
        placemark: Vec::new(),
        application: "dht_bench".into(),
    })
}

/// `put(key, 100 B, ttl 3600)`.
fn put_request(key: &[u8; 20]) -> Request {
    Request::Put(Put {
        key: Key::new(key.to_vec()).unwrap_or_else(|_| unreachable!("20-byte key")),
        value: vec![9u8; 100],
        ttl: Ttl::from_wire(3600).unwrap_or_else(|_| unreachable!("valid ttl")),
        application: "dht_bench".into(),
    })
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

fn report(what: &str, p: &LoadResult) {
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
                    class: StorageClass::Durable,
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
/// CPU time (user + system) spent by the nodes and by this client over one phase, so the
/// cost per operation can be read even when other work shares the machine.
struct Cpu {
    pids: Vec<u32>,
    nodes: Vec<u64>,
    client: u64,
}

impl Cpu {
    fn start(pids: &[u32]) -> Cpu {
        Cpu {
            pids: pids.to_vec(),
            nodes: pids.iter().map(|p| cpu_ticks(*p).unwrap_or(0)).collect(),
            client: cpu_ticks(std::process::id()).unwrap_or(0),
        }
    }

    /// Prints µs of CPU per operation: the gateway node, the other nodes, and the client.
    fn report(&self, ops: usize) {
        let tick_us = 1_000_000.0 / 100.0;
        let per_op = |ticks: u64| ticks as f64 * tick_us / ops.max(1) as f64;
        let spent: Vec<u64> = self
            .pids
            .iter()
            .zip(&self.nodes)
            .map(|(p, before)| cpu_ticks(*p).unwrap_or(*before).saturating_sub(*before))
            .collect();
        let others: u64 = spent.iter().skip(1).sum();
        let client = cpu_ticks(std::process::id())
            .unwrap_or(self.client)
            .saturating_sub(self.client);
        let gateway = spent.first().copied().unwrap_or(0);
        println!(
            "  CPU per op: gateway node {:.0} µs (one node alone on 2 cores: {:.0} ops/s), other 7 nodes {:.0} µs, 64 clients {:.0} µs",
            per_op(gateway),
            2_000_000.0 / per_op(gateway).max(1.0),
            per_op(others),
            per_op(client)
        );
    }
}

/// utime + stime of a process, in clock ticks (100 per second on Linux).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = text.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
