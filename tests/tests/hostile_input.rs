//! Garbage on the overlay port is counted and dropped; the daemon keeps serving.

// A test fails by panicking: unwrap and expect are the clearest way to say what broke.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::UdpSocket;
use std::time::Duration;

use rand::{Rng as _, SeedableRng as _};
use scope_tests::{Daemon, poll_until};

/// Sum of `scope_datagrams_dropped_total` over every reason.
fn dropped(d: &Daemon) -> u64 {
    let (_, text) = d.get("/metrics").unwrap();
    text.lines()
        .filter(|l| l.starts_with("scope_datagrams_dropped_total{"))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
        .sum()
}

#[test]
fn random_datagrams_are_dropped_and_counted() {
    let a = Daemon::start(&[]);
    a.wait_joined(Duration::from_secs(10));
    let b = Daemon::start(&[a.overlay]);
    b.wait_joined(Duration::from_secs(10));

    let seed: u64 = rand::rng().random();
    eprintln!("seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let before = dropped(&a);
    let mut sent = 0u64;
    for len in [
        0usize, 1, 2, 7, 64, 600, 1199, 1200, 1201, 1500, 4000, 65_000,
    ] {
        for _ in 0..20 {
            let mut junk = vec![0u8; len];
            rng.fill(&mut junk[..]);
            // Also the plausible case: a current version byte in front of garbage.
            if let Some(first) = junk.first_mut() {
                *first = rng.random_range(0..3);
            }
            sock.send_to(&junk, a.overlay).unwrap();
            sent += 1;
            // Paced, so the kernel's receive buffer never overflows and every datagram
            // reaches the daemon.
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let counted = || dropped(&a) - before;
    assert!(
        poll_until(Duration::from_secs(5), Duration::from_millis(50), || {
            counted() >= sent
        }),
        "dropped {} of {sent} garbage datagrams",
        counted()
    );
    let r = scope_tests::get_json(b.gateway, &format!("/route/{}", a.id)).unwrap();
    assert_eq!(
        r["root"]["id"], a.id,
        "the node stopped routing after garbage"
    );
    assert_eq!(a.status().unwrap()["joined"], true);
}
