//! `scope-node`: the headless SCOPE super-node daemon.
//!
//! Runs one overlay node on a UDP socket, serves the HTTP gateway and the SIP proxy/registrar
//! (UDP and TCP) next to it, advertises the first two
//! over mDNS, and leaves the overlay gracefully on SIGINT/SIGTERM. Startup problems (a bad flag,
//! a port in use, an unusable data directory) print one line on stderr and exit with code 2.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use scope_node::supernode::{self, SuperNode, SuperNodeConfig};

/// mimalloc rather than glibc's malloc: the node's work is many small, short-lived
/// allocations (messages, buffers), where glibc spent 15 % of the SIP node's CPU. Built
/// without transparent huge pages (`no_thp`): huge-page compaction for its arenas stalled the
/// node for up to 50 ms (REGISTER p99 6 ms instead of 0.8 ms at 1,000/s).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code for every problem found before the node runs (as clap uses for bad flags).
const EXIT_USAGE: u8 = 2;
/// A SCOPE super-node: Pastry overlay, HTTP gateway and SIP proxy/registrar.
#[derive(Debug, Parser)]
#[command(name = "scope-node", version, about)]
struct Cli {
    /// Where the node keeps its secret key (so a restart keeps its ID) and, later, its data.
    /// Default: the platform's data directory (e.g. ~/.local/share/scope-node).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// UDP address of the overlay socket.
    #[arg(long, value_name = "IP:PORT", default_value = "0.0.0.0:3630")]
    overlay_addr: SocketAddr,

    /// TCP address of the HTTP (later XML-RPC) gateway. It listens on every interface by
    /// default because a super-node serves the phones and laptops of its LAN, which find it
    /// by mDNS; use 127.0.0.1:5851 to serve this machine only.
    #[arg(long, value_name = "IP:PORT", default_value = "0.0.0.0:5851")]
    gateway_addr: SocketAddr,

    /// SIP proxy/registrar address (UDP and TCP on the same port; port 0 picks one).
    #[arg(long, value_name = "IP:PORT", default_value = "0.0.0.0:5060")]
    sip_addr: SocketAddr,

    /// The overlay's SIP domain: users register as sip:NAME@DOMAIN.
    #[arg(long, value_name = "DOMAIN", default_value = "scope")]
    sip_domain: String,

    /// SIP timer T1 in milliseconds (RFC 3261: 500). Timer B/F, which turns a silent device
    /// into 408, is 64 x T1; tests lower it to see that within seconds.
    #[arg(long, value_name = "MS", default_value_t = 500, hide = true,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    sip_t1_ms: u64,

    /// Overlay address of a node to join through (repeatable). With none, the node looks for
    /// super-nodes on the LAN by mDNS, and starts a new overlay if it finds none.
    #[arg(long, value_name = "IP:PORT")]
    bootstrap: Vec<SocketAddr>,

    /// Neither advertise this node nor look for others by mDNS.
    #[arg(long)]
    no_mdns: bool,

    /// Total storage of this node for DHT values, tombstones and blob chunks, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    store_capacity_mb: u64,

    /// Fair-share floor: every client may store at least this many KiB here, however many
    /// clients share the node (still bounded by the capacity).
    #[arg(long, value_name = "KIB", default_value_t = 64)]
    client_floor_kb: u64,

    /// Most concurrent HTTP connections on the gateway; more are closed at once.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_connections: usize,

    /// Seconds an HTTP connection may stay idle or take to send a request's headers.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    http_timeout_secs: u64,

    /// Period of the DHT's background replica repair round, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    repair_interval_secs: u64,

    /// Adaptive group commit of the DHT store: under load, a durable commit waits until this
    /// many microseconds have passed since the previous one, so many writes share its fsync.
    /// An idle node commits at once. 0 commits every batch of inputs immediately.
    #[arg(long, value_name = "US", default_value_t = 2000, hide = true)]
    commit_delay_us: u64,

    /// Log format on stderr (the filter comes from RUST_LOG, default `info`).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    /// Worker threads of the node's async runtime (default: one per core). Several nodes
    /// sharing few cores run best with one each: fewer cross-thread wakeups per request.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
}

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    init_logging(cli.log_format);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cli.threads {
        builder.worker_threads(usize::from(n));
    }
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("scope-node: error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let code = rt.block_on(run(cli));
    rt.shutdown_timeout(Duration::from_millis(500));
    code
}

/// Clap's errors span several lines (message, tip, usage); we print the first one only, so a
/// script sees one clear line. `--help` and `--version` keep clap's own output.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    eprintln!("scope-node: error: {first} (see --help)");
    ExitCode::from(EXIT_USAGE)
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn run(cli: Cli) -> ExitCode {
    // Installed before anything slow (mDNS browsing), so a signal during startup also leads to
    // a clean exit rather than the default action.
    let mut signals = Signals::install();
    let mut node = match start(cli).await {
        Ok(n) => n,
        Err(e) => {
            eprintln!("scope-node: error: {e:#}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    tokio::select! {
        signal = signals.recv() => {
            tracing::info!(signal, "shutting down");
            node.stop().await;
            ExitCode::SUCCESS
        }
        r = node.driver_stopped() => {
            tracing::error!(?r, "the overlay driver stopped unexpectedly");
            ExitCode::FAILURE
        }
    }
}

async fn start(cli: Cli) -> anyhow::Result<SuperNode> {
    let data_dir = match cli.data_dir {
        Some(dir) => dir,
        None => supernode::default_data_dir()
            .context("no home directory to keep the node key in; pass --data-dir")?,
    };
    let config = SuperNodeConfig {
        data_dir,
        overlay_addr: cli.overlay_addr,
        gateway_addr: cli.gateway_addr,
        sip_addr: Some(cli.sip_addr),
        sip_domain: cli.sip_domain,
        sip_t1: Duration::from_millis(cli.sip_t1_ms),
        bootstrap: cli.bootstrap,
        mdns: !cli.no_mdns,
        store_capacity_bytes: cli.store_capacity_mb.saturating_mul(1 << 20),
        client_floor_bytes: cli.client_floor_kb.saturating_mul(1 << 10),
        max_connections: cli.max_connections,
        http_timeout: Duration::from_secs(cli.http_timeout_secs),
        repair_interval: Duration::from_secs(cli.repair_interval_secs),
        commit_delay: Duration::from_micros(cli.commit_delay_us.min(1_000_000)),
    };
    let node = SuperNode::start(config).await?;
    let sip = node
        .sip_addr
        .map_or_else(|| "off".to_owned(), |a| a.to_string());
    println!(
        "scope-node {} overlay udp://{} gateway http://{} sip {sip}",
        node.node_id, node.overlay_addr, node.gateway_addr
    );
    Ok(node)
}

/// The signals that stop the daemon: SIGINT (Ctrl-C) and, on Unix, SIGTERM.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Starts catching the signals now (their default action would kill the process).
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let catch = |kind, name| {
                signal(kind)
                    .map_err(|e| tracing::warn!(error = %e, "cannot catch {name}"))
                    .ok()
            };
            Self {
                term: catch(SignalKind::terminate(), "SIGTERM"),
                int: catch(SignalKind::interrupt(), "SIGINT"),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves on the first stop signal, naming it.
    async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            let term = async {
                match &mut self.term {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            let int = async {
                match &mut self.int {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = term => "SIGTERM",
                _ = int => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}
