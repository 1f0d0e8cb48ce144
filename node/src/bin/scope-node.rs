//! `scope-node`: the headless SCOPE super-node daemon.
//!
//! Runs one overlay node on a UDP socket, serves the HTTP gateway and the SIP proxy/registrar
//! (UDP and TCP) next to it, advertises the first two
//! over mDNS, and leaves the overlay gracefully on SIGINT/SIGTERM. Startup problems (a bad flag,
//! a port in use, an unusable data directory) print one line on stderr and exit with code 2.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use scope_node::dht::DhtConfig;
use scope_node::discovery::Mdns;
use scope_node::gateway::Limits;
use scope_node::http::{self, DaemonInfo, Gateway, Rpc, ServeLimits};
use scope_node::overlay::NodeId;
use scope_node::runtime::{self, NodeHandle, identity_file};
use scope_node::sip_runtime::{self, DhtLocation, SipConfig, SipHandle};
use scope_node::store::{Store, StoreLimits};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Exit code for every problem found before the node runs (as clap uses for bad flags).
const EXIT_USAGE: u8 = 2;
/// How long to listen for other super-nodes on the LAN before starting a new overlay.
const MDNS_BROWSE: Duration = Duration::from_secs(2);
/// Budget for leaving the overlay after a signal; the whole shutdown stays under 5 s.
const LEAVE_BUDGET: Duration = Duration::from_secs(2);
/// Budget for open HTTP connections to finish after a signal.
const HTTP_DRAIN_BUDGET: Duration = Duration::from_secs(1);

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
    #[arg(long, value_name = "MS", default_value_t = 500, hide = true)]
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
}

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Everything started by [`start`], stopped by [`stop`].
struct Running {
    node: NodeHandle,
    driver: JoinHandle<()>,
    server: JoinHandle<()>,
    stop_server: oneshot::Sender<()>,
    mdns: Option<Mdns>,
    sip: SipHandle,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    init_logging(cli.log_format);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
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
    let mut running = match start(cli).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("scope-node: error: {e:#}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    tokio::select! {
        signal = signals.recv() => {
            tracing::info!(signal, "shutting down");
            stop(running).await;
            ExitCode::SUCCESS
        }
        r = &mut running.driver => {
            tracing::error!(?r, "the overlay driver stopped unexpectedly");
            ExitCode::FAILURE
        }
    }
}

async fn start(cli: Cli) -> anyhow::Result<Running> {
    let data_dir = data_dir(cli.data_dir.clone())?;
    let identity = identity_file::load_or_create(&data_dir).context("node key")?;
    let id = identity.node_id();
    let socket = runtime::bind(cli.overlay_addr).await?;
    let listener = tokio::net::TcpListener::bind(cli.gateway_addr)
        .await
        .with_context(|| format!("cannot bind gateway TCP socket {}", cli.gateway_addr))?;
    let sip_sockets = sip_runtime::bind(cli.sip_addr).await?;
    let overlay_addr = socket.local_addr().context("overlay socket")?;
    let gateway_addr = listener.local_addr().context("gateway socket")?;
    let sip_addr = sip_sockets.local_addr();

    let mdns = if cli.no_mdns { None } else { start_mdns() };
    let mut seeds = cli.bootstrap.clone();
    if seeds.is_empty() {
        seeds = discover_seeds(mdns.as_ref(), id);
    }
    let config = runtime::live_config().context("OS random number generator")?;
    let store = open_store(&data_dir, &cli)?;
    let dht_config = DhtConfig {
        repair_interval: Duration::from_secs(cli.repair_interval_secs.max(1)),
        commit_delay: Duration::from_micros(cli.commit_delay_us.min(1_000_000)),
        ..DhtConfig::default()
    };
    let (node, driver) =
        runtime::spawn_with_store(config, identity, socket, &seeds, store, dht_config)?;
    if let Some(m) = &mdns
        && let Err(e) = m.advertise(id, overlay_addr, gateway_addr)
    {
        tracing::warn!(error = %e, "cannot advertise over mDNS; running without it");
    }

    let sip = start_sip(sip_sockets, cli.sip_domain, cli.sip_t1_ms, &node)?;
    let info = Arc::new(DaemonInfo {
        gateway_addr,
        sip_addr: Some(sip_addr),
    });
    let app = http::router(Gateway {
        node: node.clone(),
        info,
        sip: Some(sip.clone()),
    })
    .merge(http::rpc_router(Rpc {
        node: node.clone(),
        limits: Limits::default(),
    }));
    let serve_limits = ServeLimits {
        max_connections: cli.max_connections.max(1),
        header_timeout: Duration::from_secs(cli.http_timeout_secs.max(1)),
    };
    let (server, stop_server) = serve(listener, app, serve_limits);
    tracing::info!(%id, data_dir = %data_dir.display(), seeds = seeds.len(), "started");
    println!(
        "scope-node {id} overlay udp://{overlay_addr} gateway http://{gateway_addr} sip {sip_addr}"
    );
    Ok(Running {
        node,
        driver,
        server,
        stop_server,
        mdns,
        sip,
    })
}

/// Starts the SIP proxy/registrar on its bound sockets.
///
/// Its location service is the DHT, so a user registered at any super-node is found from
/// every other; the node also advertises itself in the P2PSIP service list while it runs.
fn start_sip(
    sockets: sip_runtime::SipSockets,
    domain: String,
    t1_ms: u64,
    node: &runtime::NodeHandle,
) -> anyhow::Result<SipHandle> {
    anyhow::ensure!(
        (1..=60_000).contains(&t1_ms),
        "--sip-t1-ms must be between 1 and 60000"
    );
    let local = sip_runtime::advertised_addr(sockets.local_addr());
    let mut config = SipConfig::new(local);
    config.proxy.registrar.domain = domain;
    if local.port() == 5060 {
        // A URI naming this host without a port means port 5060: this node too.
        config
            .proxy
            .registrar
            .super_nodes
            .push(local.ip().to_string());
    }
    config.proxy.transaction.t1 = Duration::from_millis(t1_ms);
    config.proxy.rng_seed = runtime::os_random().context("OS random number generator")?;
    let location = DhtLocation::new(node.clone());
    tokio::spawn(advertise_sip(location.clone(), local));
    let (handle, _task) = sip_runtime::spawn(config, sockets, Arc::new(location));
    Ok(handle)
}

/// Keeps this node in the P2PSIP service list until the process ends. (A graceful leave takes
/// the whole node out of the overlay; the advertisement then expires with its TTL.)
async fn advertise_sip(directory: DhtLocation, sip_addr: std::net::SocketAddr) {
    let (_keep, leave) = tokio::sync::watch::channel(false);
    sip_runtime::service_list::advertise(&directory, sip_addr, leave).await;
}

/// Serves `app` on `listener` until the returned sender fires (or is dropped).
fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    limits: ServeLimits,
) -> (JoinHandle<()>, oneshot::Sender<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(http::serve(listener, app, limits, async {
        let _ = stopped.await;
    }));
    (server, stop)
}

/// Opens (or creates) `<data-dir>/store.redb` with the limits from the flags.
fn open_store(data_dir: &std::path::Path, cli: &Cli) -> anyhow::Result<Store> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let limits = StoreLimits {
        capacity_bytes: cli.store_capacity_mb.saturating_mul(1 << 20),
        client_floor_bytes: cli.client_floor_kb.saturating_mul(1 << 10),
        ..StoreLimits::default()
    };
    let path = data_dir.join("store.redb");
    Store::open(&path, limits).with_context(|| format!("cannot open store {}", path.display()))
}

fn data_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(dir);
    }
    directories::ProjectDirs::from("org", "SCOPE", "scope-node")
        .map(|d| d.data_dir().to_path_buf())
        .context("no home directory to keep the node key in; pass --data-dir")
}

fn start_mdns() -> Option<Mdns> {
    match Mdns::start() {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(error = %e, "mDNS unavailable; running without it");
            None
        }
    }
}

/// Super-nodes found on the LAN; none (or no mDNS) means this node starts a new overlay.
fn discover_seeds(mdns: Option<&Mdns>, me: NodeId) -> Vec<SocketAddr> {
    let Some(mdns) = mdns else {
        return Vec::new();
    };
    let found = tokio::task::block_in_place(|| mdns.find_overlay_peers(me, MDNS_BROWSE));
    match found {
        Ok(seeds) => {
            tracing::info!(?seeds, "super-nodes found by mDNS");
            seeds
        }
        Err(e) => {
            tracing::warn!(error = %e, "mDNS browse failed; starting a new overlay");
            Vec::new()
        }
    }
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

/// Leaves the overlay, stops the gateway and withdraws the mDNS records, each within a budget
/// so the process exits well inside 5 s.
async fn stop(running: Running) {
    let Running {
        node,
        driver,
        server,
        stop_server,
        mdns,
        sip,
    } = running;
    sip.shutdown().await;
    if tokio::time::timeout(LEAVE_BUDGET, node.leave())
        .await
        .is_err()
    {
        tracing::warn!("leaving took too long; exiting anyway");
    }
    let _ = stop_server.send(());
    if tokio::time::timeout(HTTP_DRAIN_BUDGET, server)
        .await
        .is_err()
    {
        tracing::warn!("open HTTP connections did not close in time; dropping them");
    }
    driver.abort();
    if let Some(m) = mdns {
        m.shutdown();
    }
}
