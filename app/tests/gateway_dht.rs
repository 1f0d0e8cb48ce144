//! `GatewayDht` over real HTTP against real super-nodes: the codec round trip, paging, blobs,
//! watch, and silent failover when the preferred super-node goes away.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use whatsup::client::dht::{Dht as _, sha1};
use whatsup::client::{Client, GatewayDht, Identity};

#[tokio::test]
async fn gateway_dht_speaks_xmlrpc_and_fails_over() {
    let mut overlay = tokio::task::spawn_blocking(|| support::Overlay::start("failover", 2))
        .await
        .unwrap();
    let (first, second) = (overlay.url(0), overlay.url(1));
    let dead = "http://127.0.0.1:9/RPC2".to_owned();
    let dht = Arc::new(GatewayDht::new(vec![first.clone(), dead, second.clone()]).unwrap());
    let key = sha1(b"colors");
    for i in 0..30u8 {
        dht.put(key, vec![i; 100], 60).await.unwrap();
    }
    assert_eq!(dht.get_all(key).await.unwrap().len(), 30);
    let hash = dht.put_blob(vec![1; 100_000], 60).await.unwrap();
    assert_eq!(dht.get_blob(hash).await.unwrap().unwrap().len(), 100_000);
    assert_eq!(dht.get_blob([0; 20]).await.unwrap(), None);
    let watched = dht.watch(&[key], "", 0).await.unwrap();
    assert!(watched.changes.is_empty());

    // The preferred gateway dies: the next call goes elsewhere, quickly and without error.
    let mut overlay = tokio::task::spawn_blocking(move || {
        overlay.stop(0);
        overlay
    })
    .await
    .unwrap();
    let started = Instant::now();
    assert_eq!(dht.get_all(key).await.unwrap().len(), 30);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(dht.preferred().as_deref(), Some(second.as_str()));

    // The social layer works end to end over HTTP.
    let alice = Client::new(dht.clone(), Some(Identity::from_seed("alice", [1; 32])));
    alice.claim_username().await.unwrap();
    let bob = Client::new(dht, Some(Identity::from_seed("bob", [2; 32])));
    bob.claim_username().await.unwrap();
    bob.send_message("alice", "over http").await.unwrap();
    assert_eq!(alice.inbox().await.unwrap()[0].text, "over http");
    tokio::task::spawn_blocking(move || overlay.stop(1))
        .await
        .unwrap();
}
