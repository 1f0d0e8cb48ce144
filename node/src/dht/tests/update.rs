//! Guarded updates: several writes under one key, applied by the root only while the key's
//! value set matches the writer's view.

use super::*;
use crate::dht::{UpdateOp, UpdateReq, Updated};
use crate::store::{StorageClass, value_set_digest};

fn put_op(value: &[u8], secret: &[u8]) -> UpdateOp {
    UpdateOp::Put {
        value: value.to_vec(),
        secret_hash: Some(sha1(secret)),
        ttl_secs: 600,
    }
}

fn rm_op(value: &[u8], secret: &[u8]) -> UpdateOp {
    UpdateOp::Rm {
        value_hash: sha1(value),
        secret: secret.to_vec(),
        ttl_secs: 600,
    }
}

/// The guard of a view holding exactly `values`.
fn guard(values: &[&[u8]]) -> Option<crate::store::Hash> {
    Some(value_set_digest(values.iter().map(|v| sha1(v))))
}

fn update(
    h: &mut Harness,
    i: usize,
    k: DhtKey,
    guard: Option<crate::store::Hash>,
    ops: Vec<UpdateOp>,
) -> Updated {
    let req = UpdateReq {
        key: k,
        guard,
        ops,
        class: StorageClass::Soft,
    };
    match h.run(i, |d, now| d.update(now, req, client(1))) {
        Outcome::Update(Ok(u)) => u,
        other => panic!("unexpected {other:?}"),
    }
}

/// The values a stale answer carried, sorted.
fn stale_values(u: Updated) -> Vec<Vec<u8>> {
    match u {
        Updated::Stale(Some(values)) => sorted(values),
        other => panic!("expected a stale answer with values, got {other:?}"),
    }
}

fn sorted(mut v: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    v.sort();
    v
}

#[test]
fn an_update_applies_when_its_view_holds_and_is_stale_otherwise() {
    let mut h = Harness::new(21, 10);
    let k = key("sip:alice@scope");
    // An empty view of an empty key holds: both writes land together.
    let ops = vec![put_op(b"phone", b"s1"), put_op(b"laptop", b"s2")];
    assert_eq!(
        update(&mut h, 2, k, guard(&[]), ops),
        Updated::Done(Status::Ok)
    );
    let both = sorted(vec![b"phone".to_vec(), b"laptop".to_vec()]);
    assert_eq!(sorted(get_all(&mut h, 7, k)), both);
    // A view that missed a value is stale, and nothing is written.
    let stale = update(
        &mut h,
        5,
        k,
        guard(&[b"phone"]),
        vec![put_op(b"tablet", b"s3")],
    );
    // The stale answer carries what is there, so the writer can plan again without a read.
    assert_eq!(stale_values(stale), both);
    assert_eq!(sorted(get_all(&mut h, 7, k)), both);
    // The right view replaces one value by another in one message.
    let ops = vec![rm_op(b"phone", b"s1"), put_op(b"phone-2", b"s1")];
    let view: &[&[u8]] = &[b"laptop", b"phone"];
    assert_eq!(
        update(&mut h, 5, k, guard(view), ops),
        Updated::Done(Status::Ok)
    );
    let after = sorted(vec![b"phone-2".to_vec(), b"laptop".to_vec()]);
    assert_eq!(sorted(get_all(&mut h, 3, k)), after);
    // No guard: applied whatever the key holds.
    let ops = vec![rm_op(b"laptop", b"s2")];
    assert_eq!(update(&mut h, 9, k, None, ops), Updated::Done(Status::Ok));
    assert_eq!(get_all(&mut h, 1, k), vec![b"phone-2".to_vec()]);
    // Durable values under the key are part of the view too.
    assert_eq!(put(&mut h, 4, k, b"note", None, 600), Status::Ok);
    let stale = update(&mut h, 4, k, guard(&[b"phone-2"]), Vec::new());
    assert_eq!(
        stale_values(stale),
        sorted(vec![b"phone-2".to_vec(), b"note".to_vec()])
    );
    let view: &[&[u8]] = &[b"phone-2", b"note"];
    assert_eq!(
        update(&mut h, 4, k, guard(view), Vec::new()),
        Updated::Done(Status::Ok)
    );
}

#[test]
fn a_stale_answer_leaves_out_values_that_do_not_fit_one_datagram() {
    let mut h = Harness::new(23, 10);
    let k = key("sip:carol@scope");
    assert_eq!(put(&mut h, 2, k, &[1u8; 1000], None, 600), Status::Ok);
    assert_eq!(put(&mut h, 3, k, &[2u8; 1000], None, 600), Status::Ok);
    // Two kilobytes of values cannot ride in one answer: the writer is told to read.
    let stale = update(&mut h, 6, k, guard(&[]), vec![put_op(b"x", b"s3")]);
    assert_eq!(stale, Updated::Stale(None));
    assert_eq!(get_all(&mut h, 6, k).len(), 2, "nothing written");
}

#[test]
fn updated_values_reach_every_replica() {
    let mut h = Harness::new(22, 12);
    let k = key("sip:bob@scope");
    let ops = vec![put_op(b"desk", b"s")];
    assert_eq!(
        update(&mut h, 1, k, guard(&[]), ops),
        Updated::Done(Status::Ok)
    );
    h.run_for(std::time::Duration::from_secs(2));
    let id = crate::store::ItemId {
        key: k,
        secret_hash: sha1(b"s"),
        value_hash: sha1(b"desk"),
    };
    let mut holders = h.holders(id);
    holders.sort_unstable();
    let mut want = h.closest(k, crate::dht::DhtConfig::default().replicas);
    want.sort_unstable();
    assert_eq!(holders, want);
}

#[test]
fn oversized_or_overlong_updates_are_refused_at_the_origin() {
    let mut h = Harness::new(23, 4);
    let k = key("big");
    let too_large: Vec<UpdateOp> = (0..3u8).map(|i| put_op(&[i; 1000], b"s")).collect();
    let too_many: Vec<UpdateOp> = (0..9u8).map(|i| put_op(&[i], b"s")).collect();
    for ops in [too_large, too_many] {
        let req = UpdateReq {
            key: k,
            guard: None,
            ops,
            class: StorageClass::Soft,
        };
        let out = h.run(0, |d, now| d.update(now, req, client(1)));
        assert!(matches!(
            out,
            Outcome::Update(Err(crate::dht::DhtError::Invalid(_)))
        ));
    }
    assert!(get_all(&mut h, 1, k).is_empty());
}
