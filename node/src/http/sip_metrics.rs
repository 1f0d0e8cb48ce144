//! SIP counters in `/metrics` and the `sip` object of `/status`.

use std::fmt::Write as _;

use serde::Serialize;

use crate::sip::proxy::{DhtTiming, DurationStats};
use crate::sip_runtime::SipStatus;

/// Response classes in the order of the proxy's by-class arrays.
const CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "6xx"];

/// The `sip` object of `/status`.
#[derive(Debug, Serialize)]
pub(super) struct SipBody {
    transactions: usize,
    forks: usize,
    dht_pending: usize,
    bindings_cached: usize,
    tcp_connections: usize,
    /// The SIP super-nodes whose addresses count as the overlay, this one first: every live
    /// one, from the P2PSIP service list, and those that left it within a day.
    super_nodes: Vec<std::net::SocketAddr>,
    requests: u64,
    parse_errors: u64,
    dht_failures: u64,
    /// Where bindings live: always the DHT in a super-node.
    location: &'static str,
}

impl SipBody {
    pub(super) fn new(s: &SipStatus) -> Self {
        Self {
            transactions: s.transactions,
            forks: s.forks,
            dht_pending: s.dht_pending,
            bindings_cached: s.bindings_cached,
            tcp_connections: s.tcp_connections,
            super_nodes: s.super_nodes.clone(),
            requests: s.metrics.requests.values().sum(),
            parse_errors: s.metrics.parse_errors,
            dht_failures: s.metrics.dht_failures,
            location: "dht",
        }
    }
}

/// One record of `GET /sip/dht-timings`.
#[derive(Debug, Serialize)]
pub(super) struct TimingBody {
    call_id: String,
    method: String,
    lookup_us: u64,
    store_us: u64,
    cached: bool,
}

/// The body of `GET /sip/dht-timings`.
pub(super) fn timings_json(timings: &[DhtTiming]) -> Vec<TimingBody> {
    let us = |d: std::time::Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    timings
        .iter()
        .map(|t| TimingBody {
            call_id: t.call_id.clone(),
            method: t.method.as_str().to_owned(),
            lookup_us: us(t.lookup),
            store_us: us(t.store),
            cached: t.cached,
        })
        .collect()
}

/// Appends the SIP series to a Prometheus text body.
pub(super) fn render(out: &mut String, s: &SipStatus) {
    let m = &s.metrics;
    family(
        out,
        "scope_sip_requests_total",
        "SIP requests received, by method.",
        "counter",
    );
    for (method, n) in &m.requests {
        let _ = writeln!(
            out,
            "scope_sip_requests_total{{method=\"{}\"}} {n}",
            escape(method)
        );
    }
    let by_class = [
        (
            "scope_sip_responses_received_total",
            "SIP responses received from downstream, by class.",
            &m.responses_received,
        ),
        (
            "scope_sip_responses_sent_total",
            "SIP responses sent upstream, by class.",
            &m.responses_sent,
        ),
    ];
    for (name, help, counts) in by_class {
        family(out, name, help, "counter");
        for (class, n) in CLASSES.iter().zip(counts.iter()) {
            let _ = writeln!(out, "{name}{{class=\"{class}\"}} {n}");
        }
    }
    let plain = [
        (
            "scope_sip_parse_errors_total",
            "SIP inputs that did not parse.",
            "counter",
            m.parse_errors,
        ),
        (
            "scope_sip_dht_failures_total",
            "Location requests that failed or timed out.",
            "counter",
            m.dht_failures,
        ),
        (
            "scope_sip_shed_total",
            "REGISTERs over UDP dropped unanswered while the DHT was behind (the phone retransmits).",
            "counter",
            m.shed,
        ),
        (
            "scope_sip_register_stale_views_total",
            "REGISTERs planned on a view of the bindings the DHT found stale (then read).",
            "counter",
            m.register_stale_views,
        ),
        (
            "scope_sip_cache_hits_total",
            "Routed requests served from the binding cache.",
            "counter",
            m.cache_hits,
        ),
        (
            "scope_sip_tcp_send_drops_total",
            "SIP messages dropped on TCP (full queue, no connection).",
            "counter",
            s.tcp_send_drops,
        ),
        (
            "scope_sip_transactions",
            "Live SIP transactions.",
            "gauge",
            count(s.transactions),
        ),
        (
            "scope_sip_forks",
            "Proxied requests in progress.",
            "gauge",
            count(s.forks),
        ),
        (
            "scope_sip_dht_pending",
            "Location requests waiting for an answer.",
            "gauge",
            count(s.dht_pending),
        ),
        (
            "scope_sip_bindings_cached",
            "AORs with cached bindings.",
            "gauge",
            count(s.bindings_cached),
        ),
        (
            "scope_sip_tcp_connections",
            "Open SIP TCP connections.",
            "gauge",
            count(s.tcp_connections),
        ),
        (
            "scope_sip_super_nodes",
            "SIP super-nodes, this one included, whose addresses count as the overlay.",
            "gauge",
            count(s.super_nodes.len()),
        ),
    ];
    for (name, help, kind, v) in plain {
        family(out, name, help, kind);
        let _ = writeln!(out, "{name} {v}");
    }
    let dht = [
        ("register_lookup", &m.register_lookup),
        ("register_store", &m.register_store),
        ("invite_lookup", &m.invite_lookup),
    ];
    durations(out, &dht);
}

/// A metric family of per-operation DHT waits: name, help, kind, and the value it shows.
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&DurationStats) -> String,
);

/// DHT wait per REGISTER and per INVITE: operation count and total seconds as counters
/// (their ratio is the mean), plus the longest wait as a gauge.
fn durations(out: &mut String, stats: &[(&str, &DurationStats)]) {
    let families: [Family; 3] = [
        (
            "scope_sip_dht_waits_total",
            "Location requests waited for, per operation.",
            "counter",
            |d| d.count.to_string(),
        ),
        (
            "scope_sip_dht_seconds_total",
            "Time spent waiting for the location service, per operation.",
            "counter",
            |d| d.total.as_secs_f64().to_string(),
        ),
        (
            "scope_sip_dht_max_seconds",
            "Longest location wait, per operation.",
            "gauge",
            |d| d.max.as_secs_f64().to_string(),
        ),
    ];
    for (name, help, kind, value) in families {
        family(out, name, help, kind);
        for (op, d) in stats {
            let _ = writeln!(out, "{name}{{op=\"{op}\"}} {}", value(d));
        }
    }
}

fn family(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Method names are tokens, but an extension method could in principle carry a quote.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_sip_families() {
        let mut metrics = crate::sip::proxy::Metrics::default();
        metrics.requests.insert("INVITE".into(), 3);
        metrics.responses_sent[1] = 2;
        let s = SipStatus {
            local: "127.0.0.1:5060".parse().unwrap(),
            transactions: 1,
            forks: 0,
            dht_pending: 0,
            bindings_cached: 4,
            tcp_connections: 0,
            tcp_send_drops: 0,
            super_nodes: ["127.0.0.1:5060", "10.0.0.2:5060", "10.0.0.3:5070"]
                .iter()
                .map(|a| a.parse().unwrap())
                .collect(),
            metrics,
            uptime: std::time::Duration::ZERO,
        };
        let mut out = String::new();
        render(&mut out, &s);
        assert!(out.contains("scope_sip_requests_total{method=\"INVITE\"} 3"));
        assert!(out.contains("scope_sip_responses_sent_total{class=\"2xx\"} 2"));
        assert!(out.contains("scope_sip_dht_waits_total{op=\"invite_lookup\"} 0"));
        assert!(out.contains("scope_sip_bindings_cached 4"));
        assert!(out.contains("scope_sip_super_nodes 3"));
    }
}
