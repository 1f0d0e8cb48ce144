//! Tunables of one overlay node.

use std::time::Duration;

/// Largest number of leaf-set members on each side: a signed leaf set must fit one datagram.
pub const MAX_LEAF_HALF: usize = 10;

/// Settings of one [`Node`](super::Node). Defaults suit a LAN of laptops (Bamboo's settings,
/// shortened where a LAN allows).
#[derive(Clone, Debug)]
pub struct Config {
    /// Leaf-set members on each side of the node (Pastry's L/2).
    pub leaf_half: usize,
    /// How often each leaf-set member must be heard from; one that is silent for this long gets
    /// a ping. Sets how fast a crashed neighbour is noticed.
    pub probe_interval: Duration,
    /// How often the node pushes its leaf set to one random member (push-pull gossip), which
    /// makes leaf sets converge after churn.
    pub leaf_exchange_interval: Duration,
    /// How often one routing-table row is refreshed from a peer in that row (Pastry's periodic
    /// routing-table maintenance; also how proximity improves over time).
    pub table_maintenance_interval: Duration,
    /// How long a lookup may take before it is reported as failed.
    pub lookup_timeout: Duration,
    /// How long to wait for a join reply before asking the next seed.
    pub join_retry: Duration,
    /// Retransmissions of a message with a single possible destination (pings, lookup replies,
    /// announcements) before that destination is declared failed.
    pub max_retries: u32,
    /// Retransmission timeout used before a peer's RTT has been measured.
    pub initial_rto: Duration,
    /// Floor of the RTT-based timeout: below it, a busy host's scheduling noise would look like
    /// loss.
    pub min_rto: Duration,
    /// Ceiling of the RTT-based timeout, backoff included.
    pub max_rto: Duration,
    /// A node that failed is not re-learned from third parties for this long (stale gossip would
    /// otherwise keep resurrecting it); the node itself can always come back by announcing.
    pub dead_memory: Duration,
    /// Reliable messages queued for one peer beyond its congestion window.
    pub max_queue_per_peer: usize,
    /// Seed of the node's random number generator (nonces, gossip partners).
    pub rng_seed: [u8; 32],
    /// Wall-clock time at start, in milliseconds since the Unix epoch. Signed state messages
    /// carry (epoch, sequence) so a restarted node's new messages are newer than its old ones
    /// and a replayed message is recognised.
    pub epoch_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            leaf_half: 8,
            probe_interval: Duration::from_secs(2),
            leaf_exchange_interval: Duration::from_secs(5),
            table_maintenance_interval: Duration::from_secs(20),
            lookup_timeout: Duration::from_secs(10),
            join_retry: Duration::from_secs(3),
            max_retries: 3,
            initial_rto: Duration::from_millis(500),
            min_rto: Duration::from_millis(50),
            max_rto: Duration::from_secs(4),
            dead_memory: Duration::from_secs(60),
            max_queue_per_peer: 512,
            rng_seed: [0; 32],
            epoch_ms: 0,
        }
    }
}

impl Config {
    /// Checks that the settings can work; returns what is wrong otherwise.
    ///
    /// # Errors
    /// A description of the first setting out of range.
    pub fn validate(&self) -> Result<(), String> {
        if self.leaf_half == 0 || self.leaf_half > MAX_LEAF_HALF {
            return Err(format!("leaf_half must be 1..={MAX_LEAF_HALF}"));
        }
        if self.min_rto > self.max_rto || self.initial_rto > self.max_rto {
            return Err("min_rto and initial_rto must not exceed max_rto".into());
        }
        if self.probe_interval.is_zero() || self.leaf_exchange_interval.is_zero() {
            return Err("maintenance intervals must be positive".into());
        }
        Ok(())
    }
}
