//! Shared helpers for the unit tests: a memory DHT, a manual clock and claimed users.

use std::sync::Arc;

use super::{Client, Identity, ManualClock, MemoryDht};

/// A read-only client on a fresh memory DHT with a manual clock at 2026-01-01.
pub fn network() -> Client {
    Client::new(Arc::new(MemoryDht::new()), None)
        .with_clock(Arc::new(ManualClock::new(1_767_225_600_000)))
}

/// The same network as a user with a fixed key, already claimed.
pub async fn user(net: &Client, name: &str) -> Client {
    let seed = super::dht::sha1(name.as_bytes());
    let mut bytes = [0u8; 32];
    bytes[..20].copy_from_slice(&seed);
    let client = net.as_user(Identity::from_seed(name, bytes));
    client.claim_username().await.expect("claim");
    client
}
