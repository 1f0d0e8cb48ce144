//! Scenario tests of the DHT over the in-crate harness, one file per concern.

mod basic;
mod bench;
mod blobs;
mod replicas;
mod robustness;
mod update;
mod watch;

use std::time::Duration;

use super::harness::{Harness, client};
use super::{GetReq, Outcome, PutReq, RmReq, Status};
use crate::store::{DhtKey, ItemId, ValueDetails, ZERO_HASH, sha1};

/// The key made from a name.
fn key(name: &str) -> DhtKey {
    DhtKey(sha1(name.as_bytes()))
}

/// Puts `value` under `k` via host `i`; removable with `secret` if given.
fn put(
    h: &mut Harness,
    i: usize,
    k: DhtKey,
    value: &[u8],
    secret: Option<&[u8]>,
    ttl: u32,
) -> Status {
    let req = PutReq {
        key: k,
        value: value.to_vec(),
        secret_hash: secret.map(sha1),
        ttl_secs: ttl,
        class: crate::store::StorageClass::Durable,
    };
    put_as(h, i, req, 1)
}

/// Puts on behalf of client 10.9.0.`c`.
fn put_as(h: &mut Harness, i: usize, req: PutReq, c: u8) -> Status {
    match h.run(i, |d, now| d.put(now, req, client(c))) {
        Outcome::Write(Ok(s)) => s,
        other => panic!("unexpected {other:?}"),
    }
}

/// Removes `value` under `k` via host `i` with `secret`.
fn rm(h: &mut Harness, i: usize, k: DhtKey, value: &[u8], secret: &[u8]) -> Status {
    let req = RmReq {
        key: k,
        value_hash: sha1(value),
        secret: secret.to_vec(),
        ttl_secs: 3600,
        class: crate::store::StorageClass::Durable,
    };
    match h.run(i, |d, now| d.rm(now, req, client(1))) {
        Outcome::Write(Ok(s)) => s,
        other => panic!("unexpected {other:?}"),
    }
}

/// One page of `k` via host `i`.
fn get_page(
    h: &mut Harness,
    i: usize,
    k: DhtKey,
    maxvals: u16,
    placemark: Vec<u8>,
) -> (Vec<ValueDetails>, Vec<u8>) {
    let req = GetReq {
        key: k,
        maxvals,
        placemark,
    };
    match h.run(i, |d, now| d.get(now, req)) {
        Outcome::Get(Ok(p)) => (p.values, p.placemark),
        other => panic!("unexpected {other:?}"),
    }
}

/// Every value of `k` via host `i`, following placemarks, sorted.
fn get_all(h: &mut Harness, i: usize, k: DhtKey) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut placemark = Vec::new();
    for _ in 0..100 {
        let (values, next) = get_page(h, i, k, 10, placemark);
        out.extend(values.into_iter().map(|v| v.value));
        if next.is_empty() {
            break;
        }
        placemark = next;
    }
    out.sort();
    out
}

/// The identity of a plain put.
fn plain_id(k: DhtKey, value: &[u8]) -> ItemId {
    ItemId {
        key: k,
        secret_hash: ZERO_HASH,
        value_hash: sha1(value),
    }
}

/// Lets repair and failure detection run.
fn settle(h: &mut Harness, secs: u64) {
    h.run_for(Duration::from_secs(secs));
}
