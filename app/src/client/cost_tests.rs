//! The key scheme's promise: no user action costs DHT operations that grow with the number of
//! users. Each action is measured on a network of 5 users and of 60, with a cold cache.

use std::sync::Arc;

use super::profile::ProfileUpdate;
use super::search::Index;
use super::test_support::user;
use super::{Client, ManualClock, MemoryDht};

/// DHT operations each action cost: (post text, feed page 1, people by rare interest,
/// content search by rare word).
async fn costs(users: usize) -> [u64; 4] {
    let dht = Arc::new(MemoryDht::new());
    let net = Client::new(dht.clone(), None).with_clock(Arc::new(ManualClock::new(1)));
    let alice = user(&net, "alice").await;
    alice.create_community("Expo", "").await.unwrap();
    for i in 0..users {
        let other = user(&net, &format!("user{i}")).await;
        let interests = vec!["common".to_owned(), format!("rare{i}")];
        let update = ProfileUpdate {
            interests: Some(interests),
            ..ProfileUpdate::default()
        };
        other.set_profile(update).await.unwrap();
        other
            .post_text(&format!("common words and unique{i}"))
            .await
            .unwrap();
        other.join("expo").await.unwrap();
    }
    alice.follow("user0").await.unwrap();
    alice.follow("user1").await.unwrap();
    alice.post_news("expo", "hello").await.unwrap();
    let cold = || {
        let me = alice.me().unwrap().clone();
        Client::new(dht.clone(), Some(me)).with_clock(Arc::new(ManualClock::new(10)))
    };
    let measure = |before: u64| dht.ops() - before;
    let mut out = [0; 4];
    let before = dht.ops();
    cold().post_text("a new post about things").await.unwrap();
    out[0] = measure(before);
    let before = dht.ops();
    assert!(!cold().feed(1).await.unwrap().is_empty());
    out[1] = measure(before);
    let before = dht.ops();
    assert_eq!(
        cold().search(Index::Interest, "rare3").await.unwrap().len(),
        1
    );
    out[2] = measure(before);
    let before = dht.ops();
    assert_eq!(
        cold()
            .search(Index::Content, "unique4")
            .await
            .unwrap()
            .len(),
        1
    );
    out[3] = measure(before);
    out
}

#[tokio::test]
async fn user_actions_cost_the_same_with_5_or_60_users() {
    let small = costs(5).await;
    let large = costs(60).await;
    println!("ops (post text, feed, people --interest, search content): {large:?}");
    assert_eq!(
        small, large,
        "ops (post, feed, people, content) grew with users"
    );
    assert!(large.iter().all(|&ops| ops <= 12), "{large:?}");
}
