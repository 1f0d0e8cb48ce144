//! Round-trip time estimation and retransmission timeouts (Jacobson/Karels, RFC 6298).

use std::time::Duration;

/// Smoothed RTT and its variation for one peer, and the timeout derived from them.
#[derive(Clone, Copy, Debug)]
pub struct RttEstimator {
    srtt: Option<Duration>,
    rttvar: Duration,
    backoff: u32,
}

impl Default for RttEstimator {
    fn default() -> Self {
        Self::new()
    }
}

impl RttEstimator {
    /// An estimator with no sample yet.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            srtt: None,
            rttvar: Duration::ZERO,
            backoff: 0,
        }
    }

    /// Feeds one RTT sample (only from messages that were not retransmitted: Karn's rule).
    pub fn sample(&mut self, rtt: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(rtt);
                self.rttvar = rtt / 2;
            }
            Some(srtt) => {
                let err = srtt.abs_diff(rtt);
                self.rttvar = (self.rttvar * 3 + err) / 4;
                self.srtt = Some((srtt * 7 + rtt) / 8);
            }
        }
        self.backoff = 0;
    }

    /// Doubles the timeout after a loss, until the next sample, up to eight times the base.
    /// The cap matters more than in TCP: these timeouts also decide how fast a crashed peer is
    /// noticed, and a peer that missed three probes in a row is gone, not congested.
    pub fn back_off(&mut self) {
        self.backoff = (self.backoff + 1).min(Self::MAX_BACKOFF);
    }

    const MAX_BACKOFF: u32 = 3;

    /// The smoothed RTT, once measured. Proximity neighbour selection compares these.
    #[must_use]
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// The retransmission timeout: SRTT + 4·RTTVAR, clamped, doubled per back-off.
    #[must_use]
    pub fn rto(&self, initial: Duration, min: Duration, max: Duration) -> Duration {
        let base = self.srtt.map_or(initial, |s| s + self.rttvar * 4);
        (base.max(min) * (1 << self.backoff)).min(max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn converges_and_backs_off() {
        let mut e = RttEstimator::new();
        assert_eq!(e.rto(500 * MS, 10 * MS, 4000 * MS), 500 * MS);
        for _ in 0..50 {
            e.sample(20 * MS);
        }
        let rto = e.rto(500 * MS, 10 * MS, 4000 * MS);
        assert!(rto >= 20 * MS && rto < 30 * MS, "{rto:?}");
        e.back_off();
        assert!(e.rto(500 * MS, 10 * MS, 4000 * MS) >= 2 * rto - MS);
        assert_eq!(e.rto(500 * MS, 100 * MS, 4000 * MS), 200 * MS);
    }
}
