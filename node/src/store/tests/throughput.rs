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
