//! The RFC 3261 transaction timers: one enum, one fixed table per transaction.

use std::time::Instant;

/// A transaction timer (RFC 3261 §17, Table 4; L and M from RFC 6026), plus the 100 Trying
/// delay of §17.2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// INVITE client: request retransmission, doubling from T1 (unreliable transports only).
    A,
    /// INVITE client: give up waiting for any response after 64·T1.
    B,
    /// INVITE client: no final response within 3 minutes of the last provisional one
    /// (§16.8); reports a timeout once (the TU sends CANCEL), then ends after 64·T1 more.
    C,
    /// INVITE client: absorb retransmitted final responses for 32 s after a non-2xx.
    D,
    /// Non-INVITE client: request retransmission, doubling from T1 up to T2.
    E,
    /// Non-INVITE client: give up waiting for a final response after 64·T1.
    F,
    /// INVITE server: retransmit the non-2xx final response, doubling up to T2.
    G,
    /// INVITE server: give up waiting for the ACK after 64·T1.
    H,
    /// INVITE server: absorb ACK retransmissions for T4 after the ACK.
    I,
    /// Non-INVITE server: absorb request retransmissions for 64·T1 after the final response.
    J,
    /// Non-INVITE client: absorb response retransmissions for T4 after the final response.
    K,
    /// INVITE server (RFC 6026): stay Accepted for 64·T1 after a 2xx, absorbing
    /// retransmitted INVITEs so the TU never sees them as new calls.
    L,
    /// INVITE client (RFC 6026): stay Accepted for 64·T1 after a 2xx, passing further 2xx
    /// (retransmissions, forks) to the TU instead of treating them as strays.
    M,
    /// INVITE server: send 100 Trying if the TU has not answered within 200 ms (§17.2.1).
    Trying,
}

const COUNT: usize = 14;

const ALL: [Timer; COUNT] = [
    Timer::A,
    Timer::B,
    Timer::C,
    Timer::D,
    Timer::E,
    Timer::F,
    Timer::G,
    Timer::H,
    Timer::I,
    Timer::J,
    Timer::K,
    Timer::L,
    Timer::M,
    Timer::Trying,
];

impl Timer {
    fn index(self) -> usize {
        self as usize
    }
}

/// Deadlines of one transaction, plus the deadlines set since the layer last looked, which
/// the layer copies into its global queue.
#[derive(Debug, Default)]
pub(crate) struct TimerTable {
    deadlines: [Option<Instant>; COUNT],
    fresh: Vec<(Instant, Timer)>,
}

impl TimerTable {
    /// Arms (or re-arms) a timer.
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer.index()] = Some(at);
        self.fresh.push((at, timer));
    }

    /// Disarms a timer.
    pub(crate) fn stop(&mut self, timer: Timer) {
        self.deadlines[timer.index()] = None;
    }

    /// Disarms every timer (the transaction ended).
    pub(crate) fn stop_all(&mut self) {
        self.deadlines = [None; COUNT];
    }

    /// The deadline of a timer if armed.
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer.index()]
    }

    /// Every armed timer, for rebuilding the layer's queue.
    pub(crate) fn armed(&self) -> impl Iterator<Item = (Instant, Timer)> + '_ {
        ALL.iter().filter_map(|t| self.get(*t).map(|at| (at, *t)))
    }

    /// Deadlines set since the last call.
    pub(crate) fn take_fresh(&mut self) -> Vec<(Instant, Timer)> {
        std::mem::take(&mut self.fresh)
    }
}
