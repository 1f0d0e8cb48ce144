//! All of a node's timers: a fixed table of periodic timers and a heap of per-message deadlines.
//!
//! Periodic work (probing, gossip, table maintenance, join retry) lives in one [`Timer`] enum with
//! one slot each, as quinn-proto keeps its timers. Per-message deadlines (retransmissions, ping and
//! lookup timeouts) live in a min-heap; a deadline whose message is already settled is skipped
//! when it comes due, so nothing needs cancelling.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// The node's periodic timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Ping leaf-set members not heard from lately.
    Probe = 0,
    /// Push the leaf set to a random member.
    LeafExchange = 1,
    /// Refresh one routing-table row.
    TableMaintenance = 2,
    /// Retry a join that got no reply.
    JoinRetry = 3,
    /// Forget peers that no table needs any more.
    Gc = 4,
}

impl Timer {
    const COUNT: usize = 5;
    const ALL: [Self; Self::COUNT] = [
        Self::Probe,
        Self::LeafExchange,
        Self::TableMaintenance,
        Self::JoinRetry,
        Self::Gc,
    ];
}

/// One slot per [`Timer`].
#[derive(Clone, Debug, Default)]
pub struct TimerTable {
    slots: [Option<Instant>; Timer::COUNT],
}

impl TimerTable {
    /// Arms `timer` to fire at `at` (replacing any earlier setting).
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.slots[timer as usize] = Some(at);
    }

    /// Disarms `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.slots[timer as usize] = None;
    }

    /// The earliest armed timer's deadline.
    #[must_use]
    pub fn next(&self) -> Option<Instant> {
        self.slots.iter().flatten().min().copied()
    }

    /// Disarms and returns every timer due at `now`.
    pub fn expired(&mut self, now: Instant) -> Vec<Timer> {
        Timer::ALL
            .into_iter()
            .filter(|t| {
                let slot = &mut self.slots[*t as usize];
                if slot.is_some_and(|at| at <= now) {
                    *slot = None;
                    true
                } else {
                    false
                }
            })
            .collect()
    }
}

/// What a per-message deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Deadline {
    /// A reliable message with this sequence number is unacknowledged.
    Retransmit(u64),
    /// A ping with this nonce is unanswered.
    Ping(u64),
    /// A lookup started here with this number has not finished.
    Lookup(u64),
}

/// Min-heap of deadlines, ordered by time and then insertion order (deterministic).
#[derive(Debug, Default)]
pub struct Deadlines {
    heap: BinaryHeap<Reverse<(Instant, u64, Deadline)>>,
    counter: u64,
}

impl Deadlines {
    /// Adds a deadline.
    pub fn push(&mut self, at: Instant, what: Deadline) {
        self.counter += 1;
        self.heap.push(Reverse((at, self.counter, what)));
    }

    /// The earliest deadline.
    #[must_use]
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Removes and returns the earliest deadline if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<Deadline> {
        if self.next()? <= now {
            self.heap.pop().map(|Reverse((_, _, d))| d)
        } else {
            None
        }
    }

    /// Deadlines pending (settled ones included until they come due).
    #[must_use]
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when none is pending.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn table_and_heap_fire_in_order() {
        #[allow(clippy::disallowed_methods)] // a base for virtual time in a test
        let t0 = Instant::now();
        let mut table = TimerTable::default();
        table.set(Timer::Gc, t0 + Duration::from_secs(2));
        table.set(Timer::Probe, t0 + Duration::from_secs(1));
        assert_eq!(table.next(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(
            table.expired(t0 + Duration::from_secs(1)),
            vec![Timer::Probe]
        );
        assert_eq!(table.next(), Some(t0 + Duration::from_secs(2)));

        let mut heap = Deadlines::default();
        heap.push(t0 + Duration::from_secs(3), Deadline::Ping(1));
        heap.push(t0 + Duration::from_secs(1), Deadline::Lookup(2));
        assert_eq!(heap.pop_due(t0), None);
        assert_eq!(
            heap.pop_due(t0 + Duration::from_secs(5)),
            Some(Deadline::Lookup(2))
        );
        assert_eq!(
            heap.pop_due(t0 + Duration::from_secs(5)),
            Some(Deadline::Ping(1))
        );
        assert!(heap.is_empty());
    }
}
