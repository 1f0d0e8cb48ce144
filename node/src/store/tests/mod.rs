//! Scenario tests of the store, one file per concern, with shared helpers here.

mod chunks;
mod crash;
mod model;
mod persistence;
mod replication;
mod robustness;
mod soft;
mod throughput;
mod values;

use std::net::{IpAddr, Ipv4Addr};

use super::{DhtKey, PutRequest, RemoveRequest, StorageClass, Store, StoreLimits, sha1};

/// A start time far from zero, so `now - x` never underflows in tests.
pub(super) const T0: u64 = 1_700_000_000_000;

/// An in-memory store with default limits.
pub(super) fn store() -> Store {
    Store::in_memory(StoreLimits::default()).unwrap()
}

/// A key made of one repeated byte.
pub(super) fn key(b: u8) -> DhtKey {
    DhtKey([b; 20])
}

/// Client address 10.0.0.n.
pub(super) fn ip(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))
}

/// A put of `value` under `k`, removable with `secret` if given.
pub(super) fn put_req(
    k: DhtKey,
    value: &[u8],
    secret: Option<&[u8]>,
    ttl: i64,
    client: IpAddr,
) -> PutRequest {
    PutRequest {
        key: k,
        value: value.to_vec(),
        secret_hash: secret.map(sha1),
        ttl_secs: ttl,
        client,
        class: StorageClass::Durable,
    }
}

/// An rm of `value` under `k` with `secret`.
pub(super) fn rm_req(k: DhtKey, value: &[u8], secret: &[u8], ttl: i64) -> RemoveRequest {
    RemoveRequest {
        key: k,
        value_hash: sha1(value),
        secret: secret.to_vec(),
        ttl_secs: ttl,
        client: ip(200),
        class: StorageClass::Durable,
    }
}

/// Every value of `k` at `now`, paging with `maxvals` until the placemark is empty.
pub(super) fn get_all(s: &Store, now: u64, k: DhtKey, maxvals: usize) -> Vec<Vec<u8>> {
    let (mut out, mut pm) = (Vec::new(), Vec::new());
    for _ in 0..10_000 {
        let page = s.get(now, k, maxvals, &pm).unwrap();
        assert!(page.values.len() <= maxvals.max(1));
        out.extend(page.values);
        if page.placemark.is_empty() {
            return out;
        }
        pm = page.placemark;
    }
    panic!("paging did not terminate");
}
