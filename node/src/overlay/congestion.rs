//! A per-peer congestion window for reliable messages over UDP (AIMD, as Bamboo's UDPCC).
//!
//! Each acknowledged message counts as one segment. Slow start doubles the window each round
//! trip until the threshold; a timeout halves the threshold and restarts from one.

/// Congestion state towards one peer.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    cwnd: f32,
    ssthresh: f32,
    in_flight: u32,
}

impl Default for Window {
    fn default() -> Self {
        Self {
            cwnd: 4.0,
            ssthresh: 64.0,
            in_flight: 0,
        }
    }
}

impl Window {
    /// Largest window; beyond it a LAN peer gains nothing and a lost burst costs more.
    const MAX: f32 = 256.0;

    /// True when one more message may be sent now.
    #[must_use]
    pub fn can_send(&self) -> bool {
        f64::from(self.in_flight) < f64::from(self.cwnd.floor())
    }

    /// Records a message put on the wire.
    pub fn on_send(&mut self) {
        self.in_flight += 1;
    }

    /// Records an acknowledgement.
    pub fn on_ack(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.cwnd = if self.cwnd < self.ssthresh {
            self.cwnd + 1.0
        } else {
            self.cwnd + 1.0 / self.cwnd
        }
        .min(Self::MAX);
    }

    /// Records a message given up on (timed out).
    pub fn on_loss(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.ssthresh = (self.cwnd / 2.0).max(2.0);
        self.cwnd = 1.0;
    }

    /// Messages sent and not yet acknowledged or given up on.
    #[must_use]
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// The current window, in messages.
    #[must_use]
    pub fn cwnd(&self) -> f32 {
        self.cwnd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_on_acks_and_halves_on_loss() {
        let mut w = Window::default();
        for _ in 0..4 {
            assert!(w.can_send());
            w.on_send();
        }
        assert!(!w.can_send());
        w.on_ack();
        assert!(w.can_send());
        assert!(w.cwnd() > 4.0);
        w.on_loss();
        assert!((w.cwnd() - 1.0).abs() < f32::EPSILON);
        assert_eq!(w.in_flight(), 2);
        assert!(!w.can_send());
    }
}
