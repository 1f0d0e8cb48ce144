//! `/metrics` in the Prometheus text exposition format (version 0.0.4).
//!
//! Written by hand: a dozen series do not justify a metrics crate, and the format is a few
//! lines of `# HELP`, `# TYPE` and `name{labels} value`.

use std::fmt::Write as _;

use crate::overlay::metrics::HOP_BUCKETS;
use crate::runtime::Status;

/// Renders a [`Status`] as Prometheus text.
#[must_use]
pub fn render(s: &Status) -> String {
    let mut out = String::with_capacity(4096);
    let m = &s.metrics;
    let counters = [
        (
            "scope_datagrams_in_total",
            "Overlay datagrams received.",
            m.datagrams_in,
        ),
        (
            "scope_datagrams_out_total",
            "Overlay datagrams sent.",
            m.datagrams_out,
        ),
        (
            "scope_messages_in_total",
            "Overlay messages received (several may share a datagram).",
            m.messages_in,
        ),
        (
            "scope_messages_out_total",
            "Overlay messages sent (several may share a datagram).",
            m.messages_out,
        ),
        (
            "scope_bundles_in_total",
            "Overlay datagrams received that carried several messages.",
            m.bundles_in,
        ),
        (
            "scope_bundles_out_total",
            "Overlay datagrams sent that carried several messages.",
            m.bundles_out,
        ),
        (
            "scope_bytes_in_total",
            "Overlay bytes received.",
            m.bytes_in,
        ),
        ("scope_bytes_out_total", "Overlay bytes sent.", m.bytes_out),
        (
            "scope_lookups_started_total",
            "Lookups started here.",
            m.lookups_started,
        ),
        (
            "scope_lookups_succeeded_total",
            "Lookups started here that found their root.",
            m.lookups_succeeded,
        ),
        (
            "scope_lookups_failed_total",
            "Lookups started here that failed.",
            m.lookups_failed,
        ),
        (
            "scope_forwarded_total",
            "Routed messages forwarded to a next hop.",
            m.forwarded,
        ),
        (
            "scope_reroutes_total",
            "Next hops that timed out and were routed around.",
            m.reroutes,
        ),
        (
            "scope_retransmits_total",
            "Reliable overlay messages retransmitted.",
            m.retransmits,
        ),
        (
            "scope_peers_failed_total",
            "Peers declared failed.",
            m.peers_failed,
        ),
    ];
    for (name, help, value) in counters {
        series(&mut out, name, help, "counter", &[("", value.to_string())]);
    }
    dropped(&mut out, s);
    hops(&mut out, s);
    gauges(&mut out, s);
    rtts(&mut out, s);
    out
}

/// One metric family: HELP, TYPE and its samples (`labels` is the `{…}` part, possibly empty).
fn series(out: &mut String, name: &str, help: &str, kind: &str, samples: &[(&str, String)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

fn dropped(out: &mut String, s: &Status) {
    let d = &s.metrics.dropped;
    let reasons = [
        ("oversized", d.oversized),
        ("version", d.version),
        ("malformed", d.malformed),
        ("bad_signature", d.bad_signature),
        ("replayed", d.replayed),
        ("unverified", d.unverified),
    ];
    let labels: Vec<String> = reasons
        .iter()
        .map(|(r, _)| format!("{{reason=\"{r}\"}}"))
        .collect();
    let samples: Vec<(&str, String)> = labels
        .iter()
        .zip(reasons)
        .map(|(l, (_, v))| (l.as_str(), v.to_string()))
        .collect();
    series(
        out,
        "scope_datagrams_dropped_total",
        "Overlay datagrams dropped, by reason.",
        "counter",
        &samples,
    );
}

/// The hop histogram. The overlay counts exact hops 0..=15 and "16 or more"; the sum counts the
/// last bucket as 16, which only matters in an overlay far larger than 16^16 nodes.
fn hops(out: &mut String, s: &Status) {
    let name = "scope_lookup_hops";
    let _ = writeln!(
        out,
        "# HELP {name} Overlay hops of the lookups started here that succeeded."
    );
    let _ = writeln!(out, "# TYPE {name} histogram");
    let mut cumulative = 0u64;
    let mut sum = 0u64;
    for (hops, count) in s.metrics.hops.iter().enumerate().take(HOP_BUCKETS - 1) {
        cumulative += count;
        sum += count * hops as u64;
        let _ = writeln!(out, "{name}_bucket{{le=\"{hops}\"}} {cumulative}");
    }
    let last = s.metrics.hops.get(HOP_BUCKETS - 1).copied().unwrap_or(0);
    cumulative += last;
    sum += last * (HOP_BUCKETS as u64 - 1);
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
    let _ = writeln!(out, "{name}_sum {sum}");
    let _ = writeln!(out, "{name}_count {cumulative}");
}

fn gauges(out: &mut String, s: &Status) {
    let gauges = [
        (
            "scope_leaf_set_size",
            "Leaf-set members.",
            s.leaf_set.len().to_string(),
        ),
        (
            "scope_routing_table_entries",
            "Occupied routing-table slots.",
            s.routing_table_entries.to_string(),
        ),
        (
            "scope_joined",
            "1 once the node is part of an overlay.",
            u8::from(s.joined).to_string(),
        ),
        (
            "scope_uptime_seconds",
            "Seconds since the node started.",
            s.uptime.as_secs_f64().to_string(),
        ),
    ];
    for (name, help, value) in gauges {
        series(out, name, help, "gauge", &[("", value)]);
    }
}

fn rtts(out: &mut String, s: &Status) {
    let labels: Vec<String> = s
        .rtt_estimates
        .iter()
        .map(|(id, _)| format!("{{peer=\"{id}\"}}"))
        .collect();
    let samples: Vec<(&str, String)> = labels
        .iter()
        .zip(&s.rtt_estimates)
        .map(|(l, (_, rtt))| (l.as_str(), rtt.as_secs_f64().to_string()))
        .collect();
    series(
        out,
        "scope_rtt_seconds",
        "Smoothed round-trip time to each measured peer.",
        "gauge",
        &samples,
    );
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::overlay::{Metrics, NodeId};

    #[test]
    fn renders_every_family_with_cumulative_buckets() {
        let mut metrics = Metrics::default();
        metrics.record_hops(1);
        metrics.record_hops(2);
        metrics.record_hops(40);
        metrics.dropped.malformed = 3;
        let s = Status {
            node_id: NodeId::ZERO,
            overlay_addr: "127.0.0.1:1".parse().unwrap(),
            joined: true,
            leaf_set: vec![],
            routing_table_entries: 5,
            metrics,
            rtt_estimates: vec![(NodeId::ZERO, Duration::from_millis(3))],
            uptime: Duration::from_secs(7),
            store: crate::store::StoreStats::default(),
        };
        let text = render(&s);
        assert!(text.contains("scope_datagrams_dropped_total{reason=\"malformed\"} 3\n"));
        assert!(text.contains("scope_lookup_hops_bucket{le=\"1\"} 1\n"));
        assert!(text.contains("scope_lookup_hops_bucket{le=\"15\"} 2\n"));
        assert!(text.contains("scope_lookup_hops_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("scope_lookup_hops_sum 19\n"));
        assert!(text.contains("scope_routing_table_entries 5\n"));
        assert!(text.contains(&format!(
            "scope_rtt_seconds{{peer=\"{}\"}} 0.003\n",
            NodeId::ZERO
        )));
    }
}
