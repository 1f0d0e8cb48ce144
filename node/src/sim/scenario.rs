//! The standard experiment: build an overlay of N nodes, let it settle, then run M lookups from
//! random live nodes to random keys, optionally under churn, and report the figures.

use std::time::Duration;

use serde::Serialize;

use super::network::LinkModel;
use super::{Miss, Sim};
use crate::overlay::Config;

/// What to simulate.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Overlay size.
    pub nodes: usize,
    /// Lookups to run.
    pub lookups: usize,
    /// Seed of everything random.
    pub seed: u64,
    /// Median session length under churn; `None` = a stable network.
    pub churn_median_session: Option<Duration>,
    /// Datagram loss probability.
    pub loss: f64,
    /// How long the lookup phase lasts (lookups are spread evenly over it).
    pub lookup_phase: Duration,
    /// Node settings.
    pub config: Config,
    /// Log each wrong root (see [`Sim::explain_misses`]).
    pub explain_misses: bool,
}

impl Scenario {
    /// A scenario with the simulator's defaults for `nodes` and `lookups`.
    #[must_use]
    pub fn new(nodes: usize, lookups: usize, seed: u64) -> Self {
        let config = Config {
            probe_interval: Duration::from_secs(5),
            leaf_exchange_interval: Duration::from_secs(20),
            table_maintenance_interval: Duration::from_secs(30),
            ..Config::default()
        };
        Self {
            nodes,
            lookups,
            seed,
            churn_median_session: None,
            loss: 0.0,
            lookup_phase: Duration::from_secs(60),
            config,
            explain_misses: false,
        }
    }
}

/// Figures of one run (the simulator's JSON line).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Overlay size.
    pub nodes: usize,
    /// Lookups started.
    pub lookups: usize,
    /// Mean overlay hops of successful lookups.
    pub mean_hops: f64,
    /// 99th percentile of hops.
    pub p99_hops: u32,
    /// Most hops of any lookup.
    pub max_hops: u32,
    /// Lookups that returned a root.
    pub success_rate: f64,
    /// Lookups that returned the live node closest to the key.
    pub correct_root_rate: f64,
    /// log16(N) + 0.5: the hop target.
    pub hop_target: f64,
    /// Mean lookup latency in virtual milliseconds.
    pub mean_latency_ms: f64,
    /// Wrong roots that had crashed by the time the answer arrived.
    pub miss_root_dead: usize,
    /// Wrong roots where the right root had joined within 10 s.
    pub miss_root_new: usize,
    /// Other wrong roots.
    pub miss_other: usize,
    /// Live nodes whose leaf set was not exactly right 60 s after the lookup phase (and churn)
    /// ended.
    pub wrong_leaf_sets_after: usize,
    /// Nodes that crashed during the run.
    pub crashes: usize,
    /// Nodes that joined to replace them.
    pub replacements: usize,
    /// Virtual seconds simulated.
    pub sim_seconds: f64,
    /// Wall-clock seconds taken.
    pub wall_seconds: f64,
    /// Peak resident memory of the process.
    pub peak_rss_mb: f64,
    /// Datagrams sent in the whole run.
    pub datagrams: u64,
    /// Maintenance datagrams per node per second, over the lookup phase.
    pub datagrams_per_node_s: f64,
    /// Signatures made by all nodes.
    pub signatures_made: u64,
    /// Signatures checked by all nodes.
    pub signatures_checked: u64,
    /// Datagrams lost by the emulated network.
    pub lost: u64,
    /// Seed used.
    pub seed: u64,
    /// Datagram loss probability.
    pub loss: f64,
    /// Median session length (0 = stable).
    pub churn_median_session_s: f64,
}

/// Runs `scenario`; `progress` receives a line now and then.
pub fn run(scenario: &Scenario, mut progress: impl FnMut(&str)) -> Report {
    let links = LinkModel {
        loss: scenario.loss,
        ..LinkModel::default()
    };
    let mut sim = Sim::new(scenario.seed, links, scenario.config.clone());
    sim.explain_misses = scenario.explain_misses;
    build(&mut sim, scenario.nodes, &mut progress);
    sim.run_for(Duration::from_secs(30));
    progress(&format!(
        "built: {} of {} nodes joined at t={:.0}s",
        sim.live_count(),
        scenario.nodes,
        sim.elapsed().as_secs_f64()
    ));
    let datagrams_before = sim.datagrams;
    let phase_start = sim.elapsed();
    let (crashes, replacements) = lookup_phase(&mut sim, scenario, &mut progress);
    let phase_len = (sim.elapsed() - phase_start).as_secs_f64().max(1e-9);
    let per_node_s =
        (sim.datagrams - datagrams_before) as f64 / phase_len / scenario.nodes.max(1) as f64;
    // Churn has stopped: give repair a minute, then every leaf set must be exact.
    sim.run_for(Duration::from_secs(60));
    let wrong = sim.wrong_leaf_sets();
    progress(&format!("60 s after churn: {wrong} wrong leaf sets"));
    let mut report = summarise(&sim, scenario, crashes, replacements, per_node_s);
    report.wrong_leaf_sets_after = wrong;
    report
}

/// Joins `n` nodes, each through a random node that already joined, at a steady rate.
fn build(sim: &mut Sim, n: usize, progress: &mut impl FnMut(&str)) {
    if n == 0 {
        return;
    }
    sim.spawn(None);
    sim.run_for(Duration::from_millis(10));
    let rate = (n as f64 / 50.0).max(10.0);
    let gap = Duration::from_secs_f64(1.0 / rate);
    for i in 1..n {
        let live = sim.live_hosts();
        let seed = if live.is_empty() {
            0
        } else {
            live[sim.random_below(live.len())]
        };
        sim.spawn(Some(seed));
        sim.run_for(gap);
        if i % 1000 == 0 {
            progress(&format!("joining: {i}/{n}, {} joined", sim.live_count()));
        }
    }
    // Let the last joins finish.
    let deadline = sim.elapsed() + Duration::from_secs(120);
    while sim.live_count() < n && sim.elapsed() < deadline {
        sim.run_for(Duration::from_secs(1));
    }
}

/// Runs the lookups, spread over the phase, with churn if asked. Returns (crashes, joins).
fn lookup_phase(sim: &mut Sim, sc: &Scenario, progress: &mut impl FnMut(&str)) -> (usize, usize) {
    let step = Duration::from_millis(100);
    let steps = (sc.lookup_phase.as_millis() / step.as_millis()).max(1);
    let steps = usize::try_from(steps).unwrap_or(usize::MAX);
    let mean_session = sc
        .churn_median_session
        .map(|m| m.as_secs_f64() / std::f64::consts::LN_2);
    let (mut crashes, mut joins, mut started) = (0, 0, 0);
    for s in 0..steps {
        if let Some(mean) = mean_session {
            let p = step.as_secs_f64() / mean;
            for host in sim.live_hosts() {
                if sim.random_unit() < p {
                    sim.crash(host);
                    crashes += 1;
                    let live = sim.live_hosts();
                    if !live.is_empty() {
                        let seed = live[sim.random_below(live.len())];
                        sim.spawn(Some(seed));
                        joins += 1;
                    }
                }
            }
        }
        let target = sc.lookups * (s + 1) / steps;
        while started < target {
            let live = sim.live_hosts();
            if live.is_empty() {
                break;
            }
            let from = live[sim.random_below(live.len())];
            let key = sim.random_key();
            sim.lookup(from, key);
            started += 1;
        }
        sim.run_for(step);
        if s % 100 == 99 {
            progress(&format!(
                "lookups: {started}/{}, t={:.0}s, {} live, {crashes} crashed",
                sc.lookups,
                sim.elapsed().as_secs_f64(),
                sim.live_count()
            ));
        }
    }
    (crashes, joins)
}

fn summarise(
    sim: &Sim,
    sc: &Scenario,
    crashes: usize,
    replacements: usize,
    per_node_s: f64,
) -> Report {
    let mut hops: Vec<u32> = sim
        .outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().ok().map(|r| r.hops))
        .collect();
    hops.sort_unstable();
    let total = sc.lookups.max(1) as f64;
    let ok = hops.len();
    let correct = sim.outcomes.iter().filter(|o| o.correct_root).count();
    let mean_hops = if ok == 0 {
        0.0
    } else {
        hops.iter().map(|&h| f64::from(h)).sum::<f64>() / ok as f64
    };
    let p99 = percentile(&hops, 0.99);
    Report {
        nodes: sc.nodes,
        lookups: sc.lookups,
        mean_hops,
        p99_hops: p99,
        max_hops: hops.last().copied().unwrap_or(0),
        success_rate: ok as f64 / total,
        correct_root_rate: correct as f64 / total,
        hop_target: (sc.nodes.max(1) as f64).log(16.0) + 0.5,
        mean_latency_ms: mean_latency_ms(sim),
        wrong_leaf_sets_after: 0,
        miss_root_dead: count_miss(sim, Miss::RootDead),
        miss_root_new: count_miss(sim, Miss::RootNew),
        miss_other: count_miss(sim, Miss::Other),
        crashes,
        replacements,
        sim_seconds: sim.elapsed().as_secs_f64(),
        wall_seconds: 0.0,
        peak_rss_mb: 0.0,
        datagrams: sim.datagrams,
        datagrams_per_node_s: per_node_s,
        lost: sim.lost,
        signatures_made: sim.signature_totals().0,
        signatures_checked: sim.signature_totals().1,
        seed: sc.seed,
        loss: sc.loss,
        churn_median_session_s: sc.churn_median_session.map_or(0.0, |d| d.as_secs_f64()),
    }
}

fn count_miss(sim: &Sim, kind: Miss) -> usize {
    sim.outcomes.iter().filter(|o| o.miss == Some(kind)).count()
}

fn mean_latency_ms(sim: &Sim) -> f64 {
    let ok: Vec<f64> = sim
        .outcomes
        .iter()
        .filter(|o| o.result.is_ok())
        .map(|o| o.latency.as_secs_f64() * 1000.0)
        .collect();
    if ok.is_empty() {
        0.0
    } else {
        ok.iter().sum::<f64>() / ok.len() as f64
    }
}

fn percentile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round();
    let i = usize::try_from(i as u64).unwrap_or(0).min(sorted.len() - 1);
    sorted[i]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small stable overlay: every lookup reaches the true root, in few hops.
    #[test]
    fn stable_overlay_finds_every_root() {
        let sc = Scenario::new(60, 600, 7);
        let r = run(&sc, |_| {});
        assert_eq!(r.correct_root_rate, 1.0, "{r:?}");
        assert!(r.mean_hops <= r.hop_target, "{r:?}");
    }

    /// Crashes and joins, then quiet: every leaf set heals to exactly right, and lookups under
    /// churn keep finding the right root.
    #[test]
    fn leaf_sets_heal_after_churn() {
        let mut sc = Scenario::new(120, 1200, 11);
        sc.churn_median_session = Some(Duration::from_secs(120));
        sc.loss = 0.01;
        sc.lookup_phase = Duration::from_secs(120);
        let r = run(&sc, |_| {});
        assert!(r.crashes > 20, "{r:?}");
        assert_eq!(r.wrong_leaf_sets_after, 0, "{r:?}");
        assert!(r.correct_root_rate >= 0.99, "{r:?}");
    }

    /// A node that leaves gracefully is dropped by its neighbours at once, with no timeout.
    #[test]
    fn graceful_leave_is_immediate() {
        let sc = Scenario::new(40, 0, 5);
        let mut sim = Sim::new(sc.seed, LinkModel::default(), sc.config.clone());
        build(&mut sim, 40, &mut |_| {});
        sim.run_for(Duration::from_secs(20));
        assert_eq!(sim.wrong_leaf_sets(), 0);
        let leaving = sim.live_hosts()[7];
        sim.leave(leaving);
        // Well under one probe interval: only the leave message can have done this.
        sim.run_for(Duration::from_millis(500));
        assert_eq!(sim.wrong_leaf_sets(), 0);
    }

    /// The same seed gives the same run.
    #[test]
    fn runs_replay_from_their_seed() {
        let sc = Scenario::new(30, 100, 3);
        let a = run(&sc, |_| {});
        let b = run(&sc, |_| {});
        assert_eq!(
            (a.datagrams, a.mean_hops, a.lost),
            (b.datagrams, b.mean_hops, b.lost)
        );
    }
}
