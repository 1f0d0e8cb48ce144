//! A whole super-node, started and stopped as one: the overlay with its DHT store, the HTTP
//! gateway (status, metrics, XML-RPC), the SIP proxy/registrar and the mDNS advertisement.
//!
//! The `scope-node` daemon and the desktop app's "Serve as super-node" both start exactly this,
//! so the node a user turns on in the app is the node an operator runs headless.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::dht::DhtConfig;
use crate::discovery::Mdns;
use crate::gateway::Limits;
use crate::http::{self, DaemonInfo, Gateway, Rpc, ServeLimits};
use crate::overlay::NodeId;
use crate::runtime::{self, NodeHandle, identity_file};
use crate::sip_runtime::{self, DhtLocation, SipConfig, SipHandle};
use crate::store::{Store, StoreLimits};

/// How long to listen for other super-nodes on the LAN before starting a new overlay.
const MDNS_BROWSE: Duration = Duration::from_secs(2);
/// Budget for leaving the overlay; the whole stop stays under 5 s.
const LEAVE_BUDGET: Duration = Duration::from_secs(2);
/// Budget for open HTTP connections to finish.
const HTTP_DRAIN_BUDGET: Duration = Duration::from_secs(1);

/// Everything a super-node needs to start; the daemon's flags map onto it one to one.
#[derive(Debug, Clone)]
pub struct SuperNodeConfig {
    /// Where the node keeps its key (so a restart keeps its ID) and its store.
    pub data_dir: PathBuf,
    /// UDP address of the overlay socket.
    pub overlay_addr: SocketAddr,
    /// TCP address of the HTTP gateway.
    pub gateway_addr: SocketAddr,
    /// SIP proxy/registrar address (UDP and TCP); `None` runs no SIP service.
    pub sip_addr: Option<SocketAddr>,
    /// The overlay's SIP domain: users register as `sip:NAME@DOMAIN`.
    pub sip_domain: String,
    /// SIP timer T1 (RFC 3261: 500 ms).
    pub sip_t1: Duration,
    /// Overlay addresses to join through; empty means: browse mDNS, else start a new overlay.
    pub bootstrap: Vec<SocketAddr>,
    /// Advertise this node and look for others by mDNS.
    pub mdns: bool,
    /// Total storage for values, tombstones and blob chunks, in bytes.
    pub store_capacity_bytes: u64,
    /// Fair-share floor per client, in bytes.
    pub client_floor_bytes: u64,
    /// Most concurrent HTTP connections.
    pub max_connections: usize,
    /// How long an HTTP connection may stay idle or take to send its headers.
    pub http_timeout: Duration,
    /// Period of the DHT's background replica repair.
    pub repair_interval: Duration,
    /// Adaptive group commit: under load, a durable commit waits this long after the previous
    /// one so many writes share its fsync (an idle node commits at once).
    pub commit_delay: Duration,
}

impl SuperNodeConfig {
    /// The daemon's defaults, keeping data in `data_dir`.
    #[must_use]
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            overlay_addr: SocketAddr::from(([0, 0, 0, 0], 3630)),
            gateway_addr: SocketAddr::from(([0, 0, 0, 0], 5851)),
            sip_addr: Some(SocketAddr::from(([0, 0, 0, 0], 5060))),
            sip_domain: "scope".to_owned(),
            sip_t1: Duration::from_millis(500),
            bootstrap: Vec::new(),
            mdns: true,
            store_capacity_bytes: 1 << 30,
            client_floor_bytes: 64 << 10,
            max_connections: 1024,
            http_timeout: Duration::from_secs(30),
            repair_interval: Duration::from_secs(60),
            commit_delay: Duration::from_millis(2),
        }
    }
}

/// Why a super-node could not start. Each names what failed and where, in one line.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A configuration value out of range.
    #[error("{0}")]
    Config(String),
    /// The data directory cannot be created.
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The node key cannot be read or written.
    #[error("node key: {0}")]
    Identity(#[from] identity_file::IdentityFileError),
    /// The overlay socket or the runtime could not start.
    #[error(transparent)]
    Runtime(#[from] runtime::RuntimeError),
    /// The gateway's TCP socket cannot be bound.
    #[error("cannot bind gateway TCP socket {addr}: {source}")]
    Gateway {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The SIP sockets cannot be bound.
    #[error(transparent)]
    Sip(#[from] sip_runtime::SipError),
    /// The store cannot be opened.
    #[error("cannot open store {path}: {source}")]
    Store {
        /// The store file.
        path: PathBuf,
        /// Why.
        source: crate::store::StoreError,
    },
    /// The OS random number generator failed.
    #[error("OS random number generator: {0}")]
    Random(String),
    /// A bound socket has no local address (should not happen).
    #[error("socket address: {0}")]
    Socket(std::io::Error),
}

/// A running super-node.
pub struct SuperNode {
    /// The node's ID.
    pub node_id: NodeId,
    /// The bound overlay address.
    pub overlay_addr: SocketAddr,
    /// The bound gateway address.
    pub gateway_addr: SocketAddr,
    /// The bound SIP address, if SIP runs.
    pub sip_addr: Option<SocketAddr>,
    /// True if the node is advertised by mDNS.
    pub advertised: bool,
    /// How many seeds it joined through (0: it started a new overlay).
    pub seeds: usize,
    node: NodeHandle,
    driver: JoinHandle<()>,
    server: JoinHandle<()>,
    stop_server: oneshot::Sender<()>,
    mdns: Option<Mdns>,
    sip: Option<SipHandle>,
}

impl std::fmt::Debug for SuperNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SuperNode")
            .field("node_id", &self.node_id)
            .field("overlay_addr", &self.overlay_addr)
            .field("gateway_addr", &self.gateway_addr)
            .field("sip_addr", &self.sip_addr)
            .finish_non_exhaustive()
    }
}

impl SuperNode {
    /// Binds every socket, joins (or starts) the overlay and starts serving. Must run inside a
    /// multi-threaded tokio runtime (mDNS browsing blocks one worker for up to 2 s).
    pub async fn start(config: SuperNodeConfig) -> Result<SuperNode, StartError> {
        if !(1..=60_000).contains(&config.sip_t1.as_millis()) {
            return Err(StartError::Config(
                "SIP T1 must be between 1 and 60000 ms".into(),
            ));
        }
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        let identity = identity_file::load_or_create(&config.data_dir)?;
        let id = identity.node_id();
        let socket = runtime::bind(config.overlay_addr).await?;
        let listener = tokio::net::TcpListener::bind(config.gateway_addr)
            .await
            .map_err(|source| StartError::Gateway {
                addr: config.gateway_addr,
                source,
            })?;
        let sip_sockets = match config.sip_addr {
            Some(addr) => Some(sip_runtime::bind(addr).await?),
            None => None,
        };
        let overlay_addr = socket.local_addr().map_err(StartError::Socket)?;
        let gateway_addr = listener.local_addr().map_err(StartError::Socket)?;
        let sip_addr = sip_sockets
            .as_ref()
            .map(sip_runtime::SipSockets::local_addr);

        let mdns = if config.mdns { start_mdns() } else { None };
        let mut seeds = config.bootstrap.clone();
        if seeds.is_empty() {
            seeds = discover_seeds(mdns.as_ref(), id);
        }
        let live = runtime::live_config().map_err(|e| StartError::Random(e.to_string()))?;
        let store = open_store(&config)?;
        let dht_config = DhtConfig {
            repair_interval: config.repair_interval.max(Duration::from_secs(1)),
            commit_delay: config.commit_delay,
            ..DhtConfig::default()
        };
        let (node, overlay) = runtime::prepare(live, identity, socket, store, dht_config)?;
        let advertised = match &mdns {
            Some(m) => match m.advertise(id, overlay_addr, gateway_addr) {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot advertise over mDNS; running without it");
                    false
                }
            },
            None => false,
        };
        let (driver, sip) = match sip_sockets {
            Some(sockets) => {
                let (driver, sip) = start_sip(sockets, &config, &node, overlay, &seeds)?;
                (driver, Some(sip))
            }
            None => (tokio::spawn(overlay.run(seeds.clone())), None),
        };
        let info = Arc::new(DaemonInfo {
            gateway_addr,
            sip_addr,
        });
        let app = http::router(Gateway {
            node: node.clone(),
            info,
            sip: sip.clone(),
        })
        .merge(http::rpc_router(Rpc {
            node: node.clone(),
            limits: Limits::default(),
        }));
        let limits = ServeLimits {
            max_connections: config.max_connections.max(1),
            header_timeout: config.http_timeout.max(Duration::from_secs(1)),
        };
        let (stop_server, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(http::serve(listener, app, limits, async {
            let _ = stopped.await;
        }));
        tracing::info!(%id, data_dir = %config.data_dir.display(), seeds = seeds.len(), "started");
        Ok(SuperNode {
            node_id: id,
            overlay_addr,
            gateway_addr,
            sip_addr,
            advertised,
            seeds: seeds.len(),
            node,
            driver,
            server,
            stop_server,
            mdns,
            sip,
        })
    }

    /// A handle to the overlay and its DHT (status, route, put/get), usable from any runtime.
    #[must_use]
    pub fn handle(&self) -> NodeHandle {
        self.node.clone()
    }

    /// Resolves if the overlay driver stops on its own, which only a bug makes happen.
    pub async fn driver_stopped(&mut self) -> Result<(), tokio::task::JoinError> {
        (&mut self.driver).await
    }

    /// Stops SIP, leaves the overlay gracefully (its keys go to its neighbours), stops the
    /// gateway and withdraws the mDNS records, each within a budget: well under 5 s in all.
    pub async fn stop(self) {
        let SuperNode {
            node,
            driver,
            server,
            stop_server,
            mdns,
            sip,
            ..
        } = self;
        if let Some(sip) = sip {
            sip.shutdown().await;
        }
        if tokio::time::timeout(LEAVE_BUDGET, node.leave())
            .await
            .is_err()
        {
            tracing::warn!("leaving took too long; stopping anyway");
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
}

/// Starts the SIP proxy/registrar on its bound sockets, and the overlay's `driver` (bootstrapping
/// through `seeds`) beside it or inside its task; returns the task running the overlay.
///
/// Its location service is the DHT, so a user registered at any super-node is found from
/// every other; the node also advertises itself in the P2PSIP service list while it runs.
fn start_sip(
    sockets: sip_runtime::SipSockets,
    config: &SuperNodeConfig,
    node: &NodeHandle,
    driver: runtime::Driver,
    seeds: &[SocketAddr],
) -> Result<(JoinHandle<()>, SipHandle), StartError> {
    let local = sip_runtime::advertised_addr(sockets.local_addr());
    let mut sip = SipConfig::new(local);
    sip.proxy.registrar.domain.clone_from(&config.sip_domain);
    sip.proxy.transaction.t1 = config.sip_t1;
    sip.proxy.rng_seed = runtime::os_random().map_err(|e| StartError::Random(e.to_string()))?;
    let location = DhtLocation::new(node.clone());
    tokio::spawn(advertise_sip(location.clone(), local));
    let directory = location.clone();
    // With cores to spare (the default: a worker per core) the proxy gets a thread of its own
    // and runs beside the DHT: under load each keeps a core busy. A node held to one thread
    // runs both in one task, where a lookup needs neither a cross-thread wakeup (measured: a
    // DHT lookup seen from the proxy 100–160 µs on one thread, 140–200 µs across two on the
    // 2-core machine) nor a hand-over between tasks (see `sip_runtime::hosted`).
    let location = Arc::new(location);
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    let (driver, handle) = if workers >= 2 {
        let handle = sip_runtime::spawn_on_own_thread(sip, sockets, location)?.0;
        (tokio::spawn(driver.run(seeds.to_vec())), handle)
    } else {
        let (handle, task) = sip_runtime::spawn_hosting(sip, sockets, location, driver, seeds);
        (task, handle)
    };
    tokio::spawn(follow_sip_super_nodes(directory, handle.clone()));
    Ok((driver, handle))
}

/// Keeps the proxy told which other SIP super-nodes the service list holds (or held within a
/// day), so that a URI naming any of them counts as the overlay; ends with the SIP runtime.
async fn follow_sip_super_nodes(directory: DhtLocation, sip: SipHandle) {
    sip_runtime::service_list::follow(&directory, |peers| {
        let sip = sip.clone();
        async move { sip.set_super_nodes(peers).await }
    })
    .await;
}

/// Keeps this node in the P2PSIP service list while the runtime runs. (A graceful leave takes
/// the whole node out of the overlay; the advertisement then expires with its TTL.)
async fn advertise_sip(directory: DhtLocation, sip_addr: SocketAddr) {
    let (_keep, leave) = tokio::sync::watch::channel(false);
    sip_runtime::service_list::advertise(&directory, sip_addr, leave).await;
}

/// Opens (or creates) `<data-dir>/store.redb`.
fn open_store(config: &SuperNodeConfig) -> Result<Store, StartError> {
    let limits = StoreLimits {
        capacity_bytes: config.store_capacity_bytes,
        client_floor_bytes: config.client_floor_bytes,
        ..StoreLimits::default()
    };
    let path = config.data_dir.join("store.redb");
    Store::open(&path, limits).map_err(|source| StartError::Store {
        path: path.clone(),
        source,
    })
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

/// The platform's data directory for a super-node (e.g. `~/.local/share/scope-node`).
#[must_use]
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("org", "SCOPE", "scope-node").map(|d| d.data_dir().to_path_buf())
}
