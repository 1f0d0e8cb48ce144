//! Put, get, paging, TTL, removal and fair share across nodes.

use std::time::Duration;

use super::*;
use crate::dht::DhtConfig;
use crate::store::StoreLimits;

#[test]
fn put_via_one_node_get_via_another() {
    let mut h = Harness::new(1, 10);
    let k = key("colors");
    assert_eq!(put(&mut h, 3, k, b"red", None, 600), Status::Ok);
    assert_eq!(get_all(&mut h, 7, k), vec![b"red".to_vec()]);
    assert_eq!(get_all(&mut h, 3, k), vec![b"red".to_vec()]);
    assert!(get_all(&mut h, 5, key("absent")).is_empty());
}

#[test]
fn several_values_come_back_in_pages() {
    let mut h = Harness::new(2, 8);
    let k = key("many");
    let mut want = Vec::new();
    for n in 0..12u8 {
        let v = vec![n; 300];
        assert_eq!(
            put(&mut h, usize::from(n) % 8, k, &v, None, 600),
            Status::Ok
        );
        want.push(v);
    }
    let (first, placemark) = get_page(&mut h, 1, k, 10, Vec::new());
    assert!(first.len() < 12, "pages are capped at about 1 KB");
    assert!(!placemark.is_empty());
    want.sort();
    assert_eq!(get_all(&mut h, 6, k), want);
}

#[test]
fn same_put_again_extends_the_ttl() {
    let mut h = Harness::new(3, 8);
    let k = key("ttl");
    assert_eq!(put(&mut h, 1, k, b"v", Some(b"s"), 10), Status::Ok);
    assert_eq!(put(&mut h, 2, k, b"v", Some(b"s"), 500), Status::Ok);
    let (page, _) = get_page(&mut h, 4, k, 10, Vec::new());
    assert_eq!(page.len(), 1);
    assert!(page[0].ttl_remaining_secs > 400);
    assert_eq!(page[0].hash_alg, "SHA");
    assert_eq!(page[0].secret_hash, Some(sha1(b"s")));
}

#[test]
fn expired_values_are_not_returned() {
    let mut h = Harness::new(4, 8);
    let k = key("short");
    assert_eq!(put(&mut h, 1, k, b"brief", None, 2), Status::Ok);
    assert_eq!(get_all(&mut h, 5, k).len(), 1);
    h.run_for(Duration::from_secs(3));
    assert!(get_all(&mut h, 5, k).is_empty());
}

#[test]
fn rm_needs_the_right_secret() {
    let mut h = Harness::new(5, 8);
    let k = key("removable");
    assert_eq!(put(&mut h, 1, k, b"v", Some(b"secret"), 600), Status::Ok);
    assert_eq!(rm(&mut h, 2, k, b"v", b"wrong"), Status::Ok);
    assert_eq!(get_all(&mut h, 3, k), vec![b"v".to_vec()]);
    assert_eq!(rm(&mut h, 4, k, b"v", b"secret"), Status::Ok);
    assert!(get_all(&mut h, 6, k).is_empty());
    // A plain put can never be removed.
    assert_eq!(put(&mut h, 1, k, b"plain", None, 600), Status::Ok);
    assert_eq!(rm(&mut h, 2, k, b"plain", b""), Status::Ok);
    assert_eq!(get_all(&mut h, 3, k), vec![b"plain".to_vec()]);
}

#[test]
fn a_flooding_client_gets_status_1_while_another_still_puts() {
    let limits = StoreLimits {
        capacity_bytes: 40_000,
        client_floor_bytes: 1_000,
        ..StoreLimits::default()
    };
    let mut h = Harness::with(
        6,
        8,
        DhtConfig {
            ..super::super::harness::test_config()
        },
        limits,
    );
    let k = key("flood");
    let mut refused = false;
    for n in 0..40u32 {
        let req = PutReq {
            key: k,
            value: n.to_be_bytes().repeat(250),
            secret_hash: None,
            ttl_secs: 600,
            class: crate::store::StorageClass::Durable,
        };
        if put_as(&mut h, 2, req, 66) == Status::OverCapacity {
            refused = true;
            break;
        }
    }
    assert!(refused, "the flooder must be refused");
    let req = PutReq {
        key: k,
        value: b"polite".to_vec(),
        secret_hash: None,
        ttl_secs: 600,
        class: crate::store::StorageClass::Durable,
    };
    assert_eq!(put_as(&mut h, 5, req, 7), Status::Ok);
}

#[test]
fn a_one_node_overlay_stores_locally() {
    let mut h = Harness::new(7, 1);
    let k = key("alone");
    assert_eq!(put(&mut h, 0, k, b"solo", None, 60), Status::Ok);
    assert_eq!(get_all(&mut h, 0, k), vec![b"solo".to_vec()]);
}

#[test]
fn deferred_durable_writes_wait_for_commit_durable_and_soft_ones_do_not() {
    let mut h = Harness::new(9, 1);
    h.call(0, |d, _| d.set_defer_durable(true));
    let durable = PutReq {
        key: key("disk"),
        value: b"d".to_vec(),
        secret_hash: None,
        ttl_secs: 600,
        class: crate::store::StorageClass::Durable,
    };
    let soft = PutReq {
        key: key("memory"),
        class: crate::store::StorageClass::Soft,
        ..durable.clone()
    };
    let d = h.call(0, |dht, now| dht.put(now, durable, client(1)));
    let s = h.call(0, |dht, now| dht.put(now, soft, client(1)));
    assert_eq!(
        h.wait(0, s, Duration::from_secs(1)),
        Some(Outcome::Write(Ok(Status::Ok)))
    );
    assert_eq!(
        h.wait(0, d, Duration::from_secs(1)),
        None,
        "not committed yet"
    );
    assert!(h.call(0, |dht, _| dht.durable_staged()));
    h.call(0, |dht, _| dht.commit_durable());
    assert_eq!(
        h.wait(0, d, Duration::from_secs(1)),
        Some(Outcome::Write(Ok(Status::Ok)))
    );
    assert!(!h.call(0, |dht, _| dht.durable_staged()));
    assert_eq!(get_all(&mut h, 0, key("disk")), vec![b"d".to_vec()]);
}
