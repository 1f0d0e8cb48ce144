//! Cost of replica repair with tens of thousands of values per node. Ignored by default (it
//! takes seconds); run with
//! `cargo test -p scope-node --lib dht::tests::bench -- --ignored --nocapture --test-threads=1`.
//!
//! The harness is single-threaded, so the wall time of driving it is the CPU time of the
//! simulated nodes (all of them together, message handling included).

use std::time::{Duration, Instant};

use super::*;
use crate::dht::DhtConfig;
use crate::dht::harness::{T0, test_config};
use crate::store::{Op, Payload, Record, StoreLimits};

/// Hosts in the bench overlay (with r = 4 each holds about 2/3 of the values).
const HOSTS: usize = 6;

fn record(i: u64, expiry_ms: u64, now_ms: u64) -> Record {
    let value = format!("bench value {i:>90}").into_bytes();
    Record {
        id: ItemId {
            key: key(&format!("bench{i}")),
            secret_hash: ZERO_HASH,
            value_hash: sha1(&value),
        },
        payload: Payload::Value(value),
        expiry_ms,
        arrival_ms: now_ms,
        client: client(1),
        class: crate::store::StorageClass::Durable,
    }
}

/// Stores values `range` on the r closest live hosts (or only on the root with `root_only`),
/// straight into the stores, as if replication had run.
fn load(h: &mut Harness, range: std::ops::Range<u64>, root_only: bool) {
    let ms = h.now_ms();
    let mut per_host: Vec<Vec<Op>> = vec![Vec::new(); h.hosts.len()];
    for i in range {
        let rec = record(i, ms + 3_600_000, ms);
        let holders = h.closest(rec.id.key, if root_only { 1 } else { 4 });
        for host in holders {
            per_host[host].push(Op::Replica(rec.clone()));
        }
    }
    for (host, ops) in per_host.into_iter().enumerate() {
        for part in ops.chunks(5_000) {
            h.hosts[host].dht.store().apply_batch(ms, part).unwrap();
        }
    }
}

/// Runs one repair round on every host and lets the exchange finish; returns the wall time
/// and the records moved.
fn round(h: &mut Harness) -> (Duration, u64) {
    let before: u64 = h.hosts.iter().map(|x| x.dht.metrics().repaired_in).sum();
    #[allow(clippy::disallowed_methods)]
    let t = Instant::now();
    for i in h.live() {
        h.call(i, |d, now| d.repair_round(now));
    }
    h.run_for(Duration::from_secs(5));
    let took = t.elapsed();
    let after: u64 = h.hosts.iter().map(|x| x.dht.metrics().repaired_in).sum();
    (took, after - before)
}

#[test]
#[ignore = "bench: prints figures, takes a while"]
fn repair_round_cost() {
    let config = DhtConfig {
        repair_interval: Duration::from_secs(100_000),
        ..test_config()
    };
    let mut h = Harness::with(21, HOSTS, config, StoreLimits::default());
    let _ = T0;
    #[allow(clippy::disallowed_methods)]
    let t = Instant::now();
    load(&mut h, 0..50_000, false);
    let held: Vec<usize> = h
        .hosts
        .iter()
        .map(|x| {
            x.dht
                .store()
                .records_in_range(h.now_ms(), crate::store::KeyRange::FULL, None, usize::MAX)
                .map_or(0, |v| v.len())
        })
        .collect();
    println!(
        "loaded 50,000 values in {:?}; held per host {held:?}",
        t.elapsed()
    );
    #[allow(clippy::disallowed_methods)]
    let idle = Instant::now();
    h.run_for(Duration::from_secs(5));
    println!("5 s of virtual time without repair: {:?}", idle.elapsed());
    // Warm up (first round after the load), then steady state.
    let (t0, moved0) = round(&mut h);
    println!("first round: {t0:?}, {moved0} records moved");
    for n in 0..3 {
        let (t, moved) = round(&mut h);
        println!("steady round {n}: {t:?} for {HOSTS} hosts, {moved} records moved");
    }
    // Under writes: 1,000 new values on their roots only before each round.
    for n in 0..3 {
        let base = 100_000 + n * 1_000;
        load(&mut h, base..base + 1_000, true);
        let (t, moved) = round(&mut h);
        println!("round after 1,000 root-only writes {n}: {t:?}, {moved} records moved");
    }
}
