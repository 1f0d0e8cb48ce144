//! `scope-sim`: runs the real overlay code for N simulated nodes in virtual time and prints the
//! routing figures as one JSON line (progress goes to stderr).

use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use scope_node::sim::scenario::{self, Scenario};

/// Deterministic simulator of a SCOPE overlay.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Number of overlay nodes.
    #[arg(long, default_value_t = 1000)]
    nodes: usize,
    /// Number of lookups to run once the overlay is built.
    #[arg(long, default_value_t = 10_000)]
    lookups: usize,
    /// Seed of every random choice (same seed, same run).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Median session length in seconds under churn; 0 = a stable network.
    #[arg(long, default_value_t = 0.0)]
    churn_median_session_s: f64,
    /// Probability that a datagram is lost, 0 to 1 (0.01 = 1 %).
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Virtual seconds the lookup phase lasts (default: 600 under churn, else lookups/1000, at
    /// least 10).
    #[arg(long)]
    duration_s: Option<f64>,
    /// Leaf-set members per side.
    #[arg(long, default_value_t = 8)]
    leaf_half: usize,
    /// Log every lookup that ends at a wrong root, with what the nodes knew (to stderr).
    #[arg(long)]
    explain_misses: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!((0.0..1.0).contains(&args.loss), "--loss must be in [0, 1)");
    anyhow::ensure!(
        args.churn_median_session_s >= 0.0,
        "--churn-median-session-s must be ≥ 0"
    );
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let mut sc = Scenario::new(args.nodes, args.lookups, args.seed);
    sc.explain_misses = args.explain_misses;
    sc.loss = args.loss;
    sc.config.leaf_half = args.leaf_half;
    sc.config
        .validate()
        .map_err(anyhow::Error::msg)
        .context("invalid overlay settings")?;
    if args.churn_median_session_s > 0.0 {
        sc.churn_median_session = Some(Duration::from_secs_f64(args.churn_median_session_s));
    }
    let default_phase = if sc.churn_median_session.is_some() {
        600.0
    } else {
        (args.lookups as f64 / 1000.0).max(10.0)
    };
    sc.lookup_phase = Duration::from_secs_f64(args.duration_s.unwrap_or(default_phase));

    #[allow(clippy::disallowed_methods)] // wall time of the run itself, reported, not simulated
    let wall = std::time::Instant::now();
    let mut report = scenario::run(&sc, |line| eprintln!("scope-sim: {line}"));
    report.wall_seconds = wall.elapsed().as_secs_f64();
    report.peak_rss_mb = peak_rss_mb();
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// Peak resident set size (VmHWM) of this process, in MiB; 0 where /proc is unavailable.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
