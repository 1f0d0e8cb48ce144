//! DHT requests in flight and the short cache of recent lookups.
//!
//! Every request gets a [`DhtId`] and a deadline, so a runtime that never answers cannot
//! pin a REGISTER or a call: at the deadline the waiter is failed as if the DHT had said
//! [`DhtError::Timeout`](super::DhtError::Timeout).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sip::Request;
use crate::sip::registrar::{Binding, BindingOp};
use crate::sip::transaction::TransactionId;

use super::io::{DhtId, Output};

/// Identifies a [`super::fork::Fork`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ForkId(pub(crate) u64);

/// Who waits for a DHT answer.
#[derive(Debug)]
pub(crate) enum Waiter {
    /// A REGISTER waiting for the stored bindings.
    RegisterLookup {
        /// Its server transaction.
        server: TransactionId,
        /// The REGISTER.
        request: Box<Request>,
    },
    /// A REGISTER waiting for its changes to be stored.
    RegisterStore {
        /// Its server transaction.
        server: TransactionId,
        /// The REGISTER.
        request: Box<Request>,
        /// Bindings after the change, for the 200 OK and the cache.
        bindings: Vec<Binding>,
        /// How long the lookup took (zero when the plan was made on a guess).
        lookup: Duration,
        /// Whether the plan was made on a guess of the stored bindings, which the DHT may
        /// find stale.
        guessed: bool,
    },
    /// A routed request waiting for the target's bindings.
    Route(ForkId),
}

/// A DHT request in flight.
#[derive(Debug)]
pub(crate) struct Pending {
    /// Who waits.
    pub(crate) waiter: Waiter,
    /// The DHT key asked about.
    pub(crate) key: [u8; 20],
    /// When the runtime started it (when it was asked, until the runtime says).
    pub(crate) asked_at: Instant,
}

/// All DHT requests in flight, their deadlines and the outputs not yet polled.
#[derive(Debug, Default)]
pub(crate) struct DhtTable {
    pending: HashMap<DhtId, Pending>,
    deadlines: BinaryHeap<Reverse<(Instant, DhtId)>>,
    outputs: VecDeque<Output>,
    next: u64,
}

impl DhtTable {
    fn insert(&mut self, now: Instant, timeout: Duration, key: [u8; 20], waiter: Waiter) -> DhtId {
        self.next += 1;
        let id = DhtId(self.next);
        self.pending.insert(
            id,
            Pending {
                waiter,
                key,
                asked_at: now,
            },
        );
        self.deadlines.push(Reverse((now + timeout, id)));
        id
    }

    /// Asks for the bindings under `key`.
    pub(crate) fn lookup(
        &mut self,
        now: Instant,
        timeout: Duration,
        key: [u8; 20],
        waiter: Waiter,
    ) -> DhtId {
        let id = self.insert(now, timeout, key, waiter);
        self.outputs.push_back(Output::Lookup { id, key });
        id
    }

    /// Asks for `ops` to be applied under `key`; with `expect`, only if those are the
    /// bindings stored there.
    pub(crate) fn store(
        &mut self,
        now: Instant,
        timeout: Duration,
        key: [u8; 20],
        expect: Option<Vec<Binding>>,
        ops: Vec<BindingOp>,
        waiter: Waiter,
    ) -> DhtId {
        let id = self.insert(now, timeout, key, waiter);
        self.outputs.push_back(Output::Store {
            id,
            key,
            expect,
            ops,
        });
        id
    }

    /// Notes when the runtime actually started request `id`, which may be later than when it
    /// was asked (the runtime sends queued messages first, or waits for a free slot).
    pub(crate) fn started(&mut self, id: DhtId, at: Instant) {
        if let Some(p) = self.pending.get_mut(&id) {
            p.asked_at = p.asked_at.max(at);
        }
    }

    /// Takes the request an answer is for; `None` for unknown or expired ids.
    pub(crate) fn take(&mut self, id: DhtId) -> Option<Pending> {
        self.pending.remove(&id)
    }

    /// Takes every request whose deadline passed.
    pub(crate) fn expired(&mut self, now: Instant) -> Vec<Pending> {
        let mut out = Vec::new();
        while let Some(Reverse((at, id))) = self.deadlines.peek().copied() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            out.extend(self.pending.remove(&id));
        }
        if self.pending.is_empty() {
            self.deadlines.clear();
        }
        out
    }

    /// The next deadline, if any request is in flight.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if self.pending.is_empty() {
            return None;
        }
        self.deadlines.peek().map(|Reverse((at, _))| *at)
    }

    /// The next request for the runtime.
    pub(crate) fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Requests in flight.
    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }
}

/// AORs the lookup cache holds at most.
pub(crate) const CACHE_CAP: usize = 65_536;
/// AORs whose bindings the register views hold at most.
pub(crate) const VIEWS_CAP: usize = 65_536;

/// Bindings remembered per AOR until a deadline, at most `cap` AORs. The proxy keeps two:
///
/// - the **lookup cache**: recent non-empty lookup results, reused for a short TTL so a burst
///   of calls to one user costs one DHT lookup;
/// - the **register views**: the bindings this registrar last stored under each AOR, as it
///   believes the DHT holds them until the last of them expires, which a REGISTER plans on
///   first (an AOR with no view is guessed to have none, right for every first registration).
///   A view is never trusted: the store carries it as its condition and the DHT's root applies
///   the plan only if its bindings are still exactly those, else the REGISTER reads them and
///   plans again. So a device refreshing through the same super-node, and every device
///   registering for the first time, costs one DHT round trip instead of two.
///
/// An empty set is never kept: for the cache, so a user who just registered elsewhere is
/// found at once; for the views, because "none" is the default guess anyway.
#[derive(Debug)]
pub(crate) struct BindingMemo {
    /// Shared: the lookup cache and the register views often hold the same set.
    entries: HashMap<[u8; 20], (Instant, Arc<[Binding]>)>,
    cap: usize,
}

impl BindingMemo {
    /// An empty memo of at most `cap` AORs.
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            entries: HashMap::new(),
            cap,
        }
    }

    /// AORs with remembered bindings (fresh or not yet purged).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The remembered bindings, if fresh.
    pub(crate) fn get(&self, now: Instant, key: &[u8; 20]) -> Option<&[Binding]> {
        self.entries
            .get(key)
            .filter(|(until, _)| *until > now)
            .map(|(_, b)| &b[..])
    }

    /// Remembers `bindings` under `key` until `until`; an empty set forgets the key. When
    /// full, expired entries are dropped, and everything if that freed under a quarter: only a
    /// cache or guesses are lost, and each full scan frees room for many inserts (a memo that
    /// refills faster than it expires would otherwise be scanned on every insert).
    pub(crate) fn insert(
        &mut self,
        until: Instant,
        now: Instant,
        key: [u8; 20],
        bindings: Arc<[Binding]>,
    ) {
        if bindings.is_empty() {
            self.entries.remove(&key);
            return;
        }
        if self.entries.len() >= self.cap && !self.entries.contains_key(&key) {
            self.entries.retain(|_, (u, _)| *u > now);
            if self.entries.len() >= self.cap - self.cap / 4 {
                self.entries.clear();
            }
        }
        self.entries.insert(key, (until, bindings));
    }

    /// Forgets `key` (its view proved stale).
    pub(crate) fn forget(&mut self, key: &[u8; 20]) {
        self.entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn one() -> Vec<Binding> {
        vec![Binding {
            contact: "sip:a@192.0.2.1".into(),
            expires_at: 0,
            call_id: "c".into(),
            cseq: 1,
            instance: None,
            reg_id: None,
        }]
    }

    #[test]
    fn a_full_memo_frees_a_quarter_or_more_per_scan() {
        #[allow(clippy::disallowed_methods)] // a base for virtual time in a test
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut memo = BindingMemo::new(8);
        // Half expire at t0 + 1 s, half live long.
        for k in 0..8u8 {
            let until = if k < 4 { t0 + s(1) } else { t0 + s(100) };
            memo.insert(until, t0, [k; 20], one().into());
        }
        memo.insert(t0 + s(100), t0 + s(2), [8; 20], one().into());
        assert_eq!(memo.len(), 5, "the expired half made room");
        assert!(memo.get(t0 + s(2), &[7; 20]).is_some());
        // Full of live entries, one expiring: dropping one would leave the memo full for the
        // next insert, so everything goes.
        for k in 9..12u8 {
            let until = if k == 11 { t0 + s(3) } else { t0 + s(100) };
            memo.insert(until, t0 + s(2), [k; 20], one().into());
        }
        assert_eq!(memo.len(), 8);
        memo.insert(t0 + s(100), t0 + s(3), [12; 20], one().into());
        assert_eq!(memo.len(), 1);
        assert!(memo.get(t0 + s(3), &[12; 20]).is_some());
    }
}
