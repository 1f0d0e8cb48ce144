//! Blobs: chunked, replicated, fetched in parallel through another node.

use std::time::Duration;

use super::*;

#[test]
fn a_blob_put_via_one_node_comes_back_via_another() {
    let mut h = Harness::new(41, 8);
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 253) as u8).collect();
    let put = h.call(1, |d, now| d.put_blob(now, &data, 3600));
    let hash = match h.wait(1, put, Duration::from_secs(60)) {
        Some(Outcome::PutBlob(Ok(hash))) => hash,
        other => panic!("unexpected {other:?}"),
    };
    let get = h.call(6, |d, now| d.get_blob(now, hash));
    match h.wait(6, get, Duration::from_secs(60)) {
        Some(Outcome::GetBlob(Ok(bytes))) => assert!(bytes == data),
        other => panic!("unexpected {other:?}"),
    }
    // A blob no one stored is "not found" (the roots answer), not "try again".
    let missing = h.call(3, |d, now| d.get_blob(now, [9; 20]));
    assert!(matches!(
        h.wait(3, missing, Duration::from_secs(60)),
        Some(Outcome::GetBlob(Err(crate::dht::DhtError::NotFound)))
    ));
}

#[test]
fn blob_chunks_survive_a_crashed_root_and_are_repaired() {
    let mut h = Harness::new(42, 10);
    let data: Vec<u8> = (0..20_000u32).map(|i| (i % 241) as u8).collect();
    let put = h.call(2, |d, now| d.put_blob(now, &data, 3600));
    let Some(Outcome::PutBlob(Ok(hash))) = h.wait(2, put, Duration::from_secs(60)) else {
        panic!("blob put failed");
    };
    let top = DhtKey(hash);
    let root = h.closest(top, 1)[0];
    h.crash(root);
    settle(&mut h, 40);
    let ms = h.now_ms();
    for c in h.closest(top, 4) {
        let held = h.hosts[c].dht.store().get_chunk(ms, &hash).unwrap();
        assert!(held.is_some(), "host {c} lacks the top manifest");
    }
    let reader = h.live().into_iter().find(|&i| i != 2).unwrap();
    let get = h.call(reader, |d, now| d.get_blob(now, hash));
    match h.wait(reader, get, Duration::from_secs(60)) {
        Some(Outcome::GetBlob(Ok(bytes))) => assert!(bytes == data),
        other => panic!("unexpected {other:?}"),
    }
}
