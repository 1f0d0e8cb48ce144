//! `scope.watch`: wake-up on changes made through other nodes, cursors without gaps or repeats.

use std::time::Duration;

use super::*;
use crate::dht::{ChangeKind, WatchBatch};

fn watch(
    h: &mut Harness,
    i: usize,
    keys: &[DhtKey],
    cursor: Option<crate::dht::Cursor>,
    secs: u64,
) -> crate::dht::ReqId {
    let keys = keys.to_vec();
    h.call(i, |d, now| {
        d.watch(now, keys, cursor, Duration::from_secs(secs))
    })
}

fn batch(o: Option<Outcome>) -> WatchBatch {
    match o {
        Some(Outcome::Watch(b)) => b,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn watch_wakes_on_a_put_through_another_node_and_resumes_exactly() {
    let mut h = Harness::new(21, 10);
    let (k, other) = (key("feed"), key("elsewhere"));
    let first = watch(&mut h, 2, &[k], None, 0);
    let c0 = batch(h.wait(2, first, Duration::from_secs(1))).cursor;
    h.run_for(Duration::from_secs(1));

    let waiting = watch(&mut h, 2, &[k], Some(c0), 60);
    h.run_for(Duration::from_millis(200));
    assert!(
        h.wait(2, waiting, Duration::ZERO).is_none(),
        "nothing happened yet"
    );
    assert_eq!(put(&mut h, 6, k, b"one", Some(b"s"), 600), Status::Ok);
    let b1 = batch(h.wait(2, waiting, Duration::from_secs(5)));
    assert_eq!(b1.changes.len(), 1);
    assert_eq!(
        b1.changes[0].kind,
        ChangeKind::Put {
            value: b"one".to_vec()
        }
    );

    assert_eq!(put(&mut h, 5, k, b"two", None, 600), Status::Ok);
    assert_eq!(put(&mut h, 4, other, b"noise", None, 600), Status::Ok);
    assert_eq!(put(&mut h, 7, k, b"three", None, 600), Status::Ok);
    assert_eq!(rm(&mut h, 8, k, b"one", b"s"), Status::Ok);
    h.run_for(Duration::from_secs(1));
    let req = watch(&mut h, 2, &[k], Some(b1.cursor), 60);
    let b2 = batch(h.wait(2, req, Duration::from_secs(5)));
    let kinds: Vec<ChangeKind> = b2.changes.iter().map(|c| c.kind.clone()).collect();
    assert_eq!(
        kinds,
        vec![
            ChangeKind::Put {
                value: b"two".to_vec()
            },
            ChangeKind::Put {
                value: b"three".to_vec()
            },
            ChangeKind::Rm {
                value_hash: sha1(b"one")
            },
        ]
    );
    let again = watch(&mut h, 2, &[k], Some(b2.cursor), 0);
    assert!(
        batch(h.wait(2, again, Duration::from_secs(1)))
            .changes
            .is_empty(),
        "no repeats"
    );
    let text = b2.cursor.to_string();
    assert_eq!(text.parse::<crate::dht::Cursor>().unwrap(), b2.cursor);
}

#[test]
fn a_watch_follows_its_key_to_a_new_root() {
    let mut h = Harness::new(22, 10);
    let k = key("moving");
    let watcher = h
        .live()
        .into_iter()
        .find(|&i| !h.closest(k, 1).contains(&i))
        .unwrap();
    let first = watch(&mut h, watcher, &[k], None, 0);
    let c0 = batch(h.wait(watcher, first, Duration::from_secs(1))).cursor;
    h.run_for(Duration::from_secs(1));
    h.crash(h.closest(k, 1)[0]);
    settle(&mut h, 30);
    let waiting = watch(&mut h, watcher, &[k], Some(c0), 60);
    let writer = h.live().into_iter().find(|&i| i != watcher).unwrap();
    assert_eq!(put(&mut h, writer, k, b"after", None, 600), Status::Ok);
    let b = batch(h.wait(watcher, waiting, Duration::from_secs(5)));
    assert_eq!(b.changes.len(), 1);
    assert_eq!(
        b.changes[0].kind,
        ChangeKind::Put {
            value: b"after".to_vec()
        }
    );
}
