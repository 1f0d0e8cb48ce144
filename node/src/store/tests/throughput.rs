//! Rough durable-write throughput on the real file system: one fsync per put versus group
//! commit. Ignored by default (timing, touches disk); run with
//! `cargo test -p scope-node store::tests::throughput -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use super::persistence::temp_dir;
use super::*;
use crate::store::Op;

/// Puts per second over `n` puts taking `elapsed`.
fn rate(n: u32, elapsed: Duration) -> f64 {
    f64::from(n) / elapsed.as_secs_f64()
}

#[test]
#[ignore = "timing measurement, run by hand"]
#[allow(
    clippy::disallowed_methods,
    reason = "a benchmark reads the real clock"
)]
fn durable_put_rate_single_vs_batch() {
    let dir = temp_dir("throughput");
    let s = Store::open(dir.join("store.redb"), StoreLimits::default()).unwrap();
    let start = Instant::now();
    for i in 0..200u32 {
        s.put(T0, &put_req(key(1), &i.to_be_bytes(), None, 600, ip(1)))
            .unwrap();
    }
    let single = rate(200, start.elapsed());
    let start = Instant::now();
    for b in 0..20u32 {
        let ops: Vec<Op> = (0..500u32)
            .map(|i| {
                Op::Put(put_req(
                    key(2),
                    &(b * 500 + i).to_be_bytes(),
                    None,
                    600,
                    ip(1),
                ))
            })
            .collect();
        s.apply_batch(T0, &ops).unwrap();
    }
    let batched = rate(10_000, start.elapsed());
    println!("durable puts/s: one commit each {single:.0}, batches of 500 {batched:.0}");
    drop(s);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
#[ignore = "timing measurement, run by hand"]
#[allow(
    clippy::disallowed_methods,
    reason = "a benchmark reads the real clock"
)]
fn soft_write_cost_with_a_million_items() {
    // What a SIP registrar's binding costs each replica: soft puts of ~200-byte values under
    // distinct keys, batched as the DHT commits them, into a table that already holds 1 M.
    let s = Store::in_memory(StoreLimits {
        capacity_bytes: 4 << 30,
        ..StoreLimits::default()
    })
    .unwrap();
    let value = |i: u32| {
        let mut v = format!("<sip:u{i:07}@127.0.0.1:5999;transport=UDP>;expires=3600").into_bytes();
        v.resize(200, b' ');
        v
    };
    let soft_put = |i: u32| {
        let mut k = [0u8; 20];
        k[..4].copy_from_slice(&i.to_be_bytes());
        k[4..8].copy_from_slice(&i.wrapping_mul(2_654_435_761).to_be_bytes());
        Op::Put(PutRequest {
            class: StorageClass::Soft,
            ..put_req(DhtKey(sha1(&k)), &value(i), Some(b"s"), 3600, ip(1))
        })
    };
    let fill = 1_000_000u32;
    for b in 0..fill / 1000 {
        let ops: Vec<Op> = (b * 1000..(b + 1) * 1000).map(soft_put).collect();
        s.apply_batch(T0, &ops).unwrap();
    }
    let n = 200_000u32;
    let ops: Vec<Vec<Op>> = (0..n / 20)
        .map(|b| (fill + b * 20..fill + (b + 1) * 20).map(soft_put).collect())
        .collect();
    let start = Instant::now();
    for batch in &ops {
        s.apply_batch(T0, batch).unwrap();
    }
    let put_ns = start.elapsed().as_nanos() as f64 / f64::from(n);
    let start = Instant::now();
    for i in 0..n {
        let Op::Put(req) = soft_put(i) else { continue };
        s.value_set(T0, req.key).unwrap();
    }
    let check_ns = start.elapsed().as_nanos() as f64 / f64::from(n);
    println!("soft put {put_ns:.0} ns, value-set check {check_ns:.0} ns (1 M items held)");
}
