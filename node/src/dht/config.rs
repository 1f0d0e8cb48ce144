//! Tunables of the DHT layer.

use std::time::Duration;

/// Settings of one [`Dht`](super::Dht). Defaults suit a LAN overlay; tests shorten the periods.
#[derive(Debug, Clone)]
pub struct DhtConfig {
    /// Copies of every value: the root and r − 1 leaf-set neighbours (Bamboo: 4). Must not
    /// exceed the leaf set's members per side, or repair cannot see every holder.
    pub replicas: usize,
    /// How long one attempt of a client request may take before it is retried.
    pub request_timeout: Duration,
    /// Attempts per client request (a redirect or an unreachable root uses one up); after the
    /// last one a write answers "try again" and a get fails with a timeout.
    pub attempts: u32,
    /// Period of the repair round in steady state.
    pub repair_interval: Duration,
    /// Delay of the repair round after a leaf-set change (lets several changes settle into one).
    pub repair_delay: Duration,
    /// Period of the purge of expired records from disk.
    pub purge_interval: Duration,
    /// Period at which watch subscriptions are renewed at the keys' (possibly new) roots.
    pub watch_refresh: Duration,
    /// How long a root keeps a subscription that is not renewed.
    pub subscription_ttl: Duration,
    /// How long a key stays subscribed after the last watch that named it.
    pub watch_interest: Duration,
    /// Changes kept in the local change log for cursors to resume from.
    pub change_log_len: usize,
    /// Chunk requests of one blob get in flight at once.
    pub blob_parallelism: usize,
    /// Adaptive group commit: after a commit, the next one waits until this long has passed,
    /// so under load many writes share one durable commit (its fsync and page writes) instead
    /// of each paying for its own. A write staged when the last commit is older than this is
    /// committed at once, so an idle node adds no delay. Zero commits every step's writes at
    /// once.
    pub commit_delay: Duration,
    /// Staged writes that trigger a commit without waiting for [`DhtConfig::commit_delay`].
    pub commit_batch: usize,
}

impl Default for DhtConfig {
    fn default() -> Self {
        DhtConfig {
            replicas: crate::overlay::REPLICAS,
            request_timeout: Duration::from_secs(4),
            attempts: 3,
            repair_interval: Duration::from_secs(60),
            repair_delay: Duration::from_secs(2),
            purge_interval: Duration::from_secs(60),
            watch_refresh: Duration::from_secs(30),
            subscription_ttl: Duration::from_secs(95),
            watch_interest: Duration::from_secs(600),
            change_log_len: 4096,
            blob_parallelism: 16,
            commit_delay: Duration::ZERO,
            commit_batch: 1024,
        }
    }
}
