//! A per-peer congestion window for reliable messages over UDP (AIMD, as Bamboo's UDPCC).
//!
//! Each acknowledged message counts as one segment. Slow start doubles the window each round
//! trip until the threshold; a timeout halves the threshold and restarts from one.
//!
//! Timeouts of messages sent before the last cut are one congestion event with it, as in TCP
//! (RFC 5681 §3.1 cuts once per window): a stall of a few tens of milliseconds times out a
//! whole window at once, and cutting once per message would leave the threshold at its floor
//! and the window crawling back one message per round trip for seconds.

use std::time::Instant;

/// Congestion state towards one peer.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    cwnd: f32,
    ssthresh: f32,
    in_flight: u32,
    /// When the window was last cut.
    cut_at: Option<Instant>,
}

impl Default for Window {
    fn default() -> Self {
        Self {
            cwnd: 4.0,
            ssthresh: 64.0,
            in_flight: 0,
            cut_at: None,
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

    /// Records a message given up on (timed out) that was last sent at `sent`; cuts the
    /// window unless an earlier cut already answered the event it belongs to.
    pub fn on_loss(&mut self, sent: Option<Instant>, now: Instant) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if let (Some(sent), Some(cut)) = (sent, self.cut_at)
            && sent <= cut
        {
            return;
        }
        self.ssthresh = (self.cwnd / 2.0).max(2.0);
        self.cwnd = 1.0;
        self.cut_at = Some(now);
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
        #[allow(clippy::disallowed_methods)] // a base for virtual time in a test
        let t0 = Instant::now();
        w.on_loss(Some(t0), t0);
        assert!((w.cwnd() - 1.0).abs() < f32::EPSILON);
        assert_eq!(w.in_flight(), 2);
        assert!(!w.can_send());
    }

    #[test]
    fn a_window_timing_out_at_once_is_one_cut() {
        let mut w = Window::default();
        #[allow(clippy::disallowed_methods)] // a base for virtual time in a test
        let t0 = Instant::now();
        for _ in 0..40 {
            w.on_ack();
        }
        for _ in 0..10 {
            w.on_send();
        }
        let before = w.cwnd();
        let later = t0 + std::time::Duration::from_millis(50);
        for _ in 0..10 {
            w.on_loss(Some(t0), later);
        }
        assert_eq!(w.in_flight(), 0);
        // One cut: the threshold is half the window, not the floor.
        for _ in 0..64 {
            w.on_ack();
        }
        assert!(w.cwnd() >= before / 2.0, "{} < {}", w.cwnd(), before / 2.0);
        // A message sent after the cut and lost is a new event.
        w.on_send();
        let resent = later + std::time::Duration::from_millis(1);
        w.on_loss(Some(resent), resent + std::time::Duration::from_millis(50));
        assert!((w.cwnd() - 1.0).abs() < f32::EPSILON);
    }
}
