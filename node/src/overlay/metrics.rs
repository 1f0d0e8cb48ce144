//! Counters a node keeps about itself, for `/metrics` and the simulator.

/// Buckets of the hop-count histogram: 0, 1, …, 15 and "16 or more".
pub const HOP_BUCKETS: usize = 17;

/// Datagrams dropped, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drops {
    /// Larger than one datagram.
    pub oversized: u64,
    /// Empty or of an unknown protocol version.
    pub version: u64,
    /// Not a valid encoding, or a field over its limit.
    pub malformed: u64,
    /// A signature or identity proof that does not verify.
    pub bad_signature: u64,
    /// A stale stamp, an unknown nonce, an ack for nothing or a duplicate.
    pub replayed: u64,
    /// Unsigned routing state from a sender not verified at that address.
    pub unverified: u64,
}

impl Drops {
    /// All drops together.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.oversized
            + self.version
            + self.malformed
            + self.bad_signature
            + self.replayed
            + self.unverified
    }
}

/// Everything a node counts.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    /// Datagrams received.
    pub datagrams_in: u64,
    /// Datagrams sent.
    pub datagrams_out: u64,
    /// Messages received in well-formed datagrams (each ack of a coalesced ack counts).
    pub messages_in: u64,
    /// Messages sent (each ack of a coalesced ack counts): at least `datagrams_out`, more when
    /// several messages to one peer shared a datagram.
    pub messages_out: u64,
    /// Received datagrams that carried more than one message.
    pub bundles_in: u64,
    /// Sent datagrams that carried more than one message.
    pub bundles_out: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Datagrams dropped, by reason.
    pub dropped: Drops,
    /// Lookups started here.
    pub lookups_started: u64,
    /// Lookups started here that found their root.
    pub lookups_succeeded: u64,
    /// Lookups started here that failed.
    pub lookups_failed: u64,
    /// Routed messages forwarded to a next hop.
    pub forwarded: u64,
    /// Next hops that timed out and were routed around.
    pub reroutes: u64,
    /// Reliable messages retransmitted.
    pub retransmits: u64,
    /// Peers declared failed.
    pub peers_failed: u64,
    /// Signatures made (signed routing state and identity proofs).
    pub signatures_made: u64,
    /// Signatures checked.
    pub signatures_checked: u64,
    /// Hops of the lookups started here that succeeded.
    pub hops: [u64; HOP_BUCKETS],
}

impl Metrics {
    /// Records the hop count of a successful lookup.
    pub fn record_hops(&mut self, hops: u32) {
        let i = usize::try_from(hops)
            .unwrap_or(HOP_BUCKETS)
            .min(HOP_BUCKETS - 1);
        self.hops[i] += 1;
    }
}
