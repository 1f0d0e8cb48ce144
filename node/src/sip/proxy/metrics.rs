//! Counters the runtime exports on `/metrics`, and DHT wait times per transaction.
//!
//! The proxy knows when it asked the DHT and when the answer came, so it records those
//! waits itself: a benchmark can then split REGISTER time and session-setup delay into the
//! DHT share and the rest without instrumenting the runtime.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::sip::Method;

/// How many per-transaction [`DhtTiming`] records are kept until drained.
pub const TIMING_LOG: usize = 4096;

/// Count, sum and maximum of a set of durations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DurationStats {
    /// Number of samples.
    pub count: u64,
    /// Sum of the samples.
    pub total: Duration,
    /// Largest sample.
    pub max: Duration,
}

impl DurationStats {
    /// Adds one sample.
    pub fn record(&mut self, d: Duration) {
        self.count += 1;
        self.total += d;
        self.max = self.max.max(d);
    }

    /// The mean, zero without samples.
    #[must_use]
    pub fn mean(&self) -> Duration {
        u32::try_from(self.count)
            .ok()
            .filter(|c| *c > 0)
            .map_or(Duration::ZERO, |c| self.total / c)
    }
}

/// What the DHT cost one transaction: one record per REGISTER or routed request that asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhtTiming {
    /// The request's Call-ID, to join with a benchmark's own timings.
    pub call_id: String,
    /// The request method.
    pub method: Method,
    /// Time from asking for the bindings to the answer (zero on a cache hit).
    pub lookup: Duration,
    /// Time from asking for the store to its completion (REGISTER only).
    pub store: Duration,
    /// The bindings came from the local cache.
    pub cached: bool,
}

/// SIP counters of one proxy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Requests received, by method (retransmissions absorbed by transactions excluded).
    pub requests: BTreeMap<String, u64>,
    /// Responses received from downstream, by class: index 0 is 1xx, 5 is 6xx.
    pub responses_received: [u64; 6],
    /// Responses sent upstream (generated or relayed), by class.
    pub responses_sent: [u64; 6],
    /// Inputs that did not parse (answered 400/413/505 or dropped).
    pub parse_errors: u64,
    /// DHT requests that failed or were not answered in time.
    pub dht_failures: u64,
    /// REGISTERs dropped unanswered while the DHT was behind (see
    /// [`super::ProxyConfig::shed_after`]); each comes back as the phone's retransmission.
    pub shed: u64,
    /// REGISTERs whose plan on the registrar's view of the bindings the DHT found stale, so
    /// that they read the bindings and planned again.
    pub register_stale_views: u64,
    /// Routed requests whose bindings came from the local cache.
    pub cache_hits: u64,
    /// DHT lookup wait per REGISTER.
    pub register_lookup: DurationStats,
    /// DHT store wait per REGISTER.
    pub register_store: DurationStats,
    /// DHT lookup wait per out-of-dialog INVITE (cache hits count as zero).
    pub invite_lookup: DurationStats,
    /// Per-transaction records, oldest first, at most [`TIMING_LOG`].
    pub(crate) timings: VecDeque<DhtTiming>,
}

impl Metrics {
    /// Counts a received request.
    pub(crate) fn request(&mut self, method: &Method) {
        // Looked up first: the name is copied only the first time a method is seen.
        match self.requests.get_mut(method.as_str()) {
            Some(n) => *n += 1,
            None => {
                self.requests.insert(method.as_str().to_owned(), 1);
            }
        }
    }

    /// Counts a response received from downstream.
    pub(crate) fn received(&mut self, status: u16) {
        if let Some(c) = class_slot(status) {
            self.responses_received[c] += 1;
        }
    }

    /// Counts a response sent upstream.
    pub(crate) fn sent(&mut self, status: u16) {
        if let Some(c) = class_slot(status) {
            self.responses_sent[c] += 1;
        }
    }

    /// Keeps a per-transaction record, dropping the oldest beyond [`TIMING_LOG`].
    pub(crate) fn timing(&mut self, t: DhtTiming) {
        if self.timings.len() >= TIMING_LOG {
            self.timings.pop_front();
        }
        self.timings.push_back(t);
    }
}

/// Index of a status code's class in the by-class arrays.
fn class_slot(status: u16) -> Option<usize> {
    let class = usize::from(status / 100);
    (1..=6).contains(&class).then(|| class - 1)
}
