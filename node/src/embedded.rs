//! A super-node embedded in another program (the What's UP desktop app's "Serve as super-node").
//!
//! It starts exactly what the `scope-node` binary starts — the overlay runtime, the HTTP
//! gateway and the mDNS advertisement — but on its own named thread with its own tokio runtime,
//! so the host program's event loop never shares a scheduler with the overlay, and stopping it
//! (a graceful leave that hands the node's keys to its neighbours) never blocks the host's UI.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::discovery::Mdns;
use crate::http::{self, DaemonInfo, Gateway};
use crate::overlay::NodeId;
use crate::runtime::{self, NodeHandle, identity_file};

/// How long to look for other super-nodes by mDNS before starting a new overlay.
const MDNS_BROWSE: Duration = Duration::from_secs(2);
/// Budget for the graceful leave, as the daemon uses.
const LEAVE_BUDGET: Duration = Duration::from_secs(2);
/// Budget for open HTTP connections to finish.
const HTTP_DRAIN_BUDGET: Duration = Duration::from_secs(1);

/// What to start.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    /// Where the node keeps its key (so it keeps its ID across restarts).
    pub data_dir: PathBuf,
    /// UDP address of the overlay socket.
    pub overlay_addr: SocketAddr,
    /// TCP address of the HTTP gateway.
    pub gateway_addr: SocketAddr,
    /// SIP address shown in `/status`.
    pub sip_addr: Option<SocketAddr>,
    /// Overlay addresses to join through; empty means: browse mDNS, else start a new overlay.
    pub bootstrap: Vec<SocketAddr>,
    /// Advertise and browse by mDNS.
    pub mdns: bool,
}

/// A running embedded super-node. Dropping it without [`EmbeddedNode::stop`] stops it too,
/// but without waiting for the leave to finish.
#[derive(Debug)]
pub struct EmbeddedNode {
    /// The node's ID.
    pub node_id: NodeId,
    /// The bound overlay address.
    pub overlay_addr: SocketAddr,
    /// The bound gateway address.
    pub gateway_addr: SocketAddr,
    /// True if the node is advertised by mDNS.
    pub advertised: bool,
    handle: NodeHandle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Facts known once the node has started, sent from its thread back to the caller.
struct Started {
    node_id: NodeId,
    overlay_addr: SocketAddr,
    gateway_addr: SocketAddr,
    advertised: bool,
    handle: NodeHandle,
}

impl EmbeddedNode {
    /// Starts the node on its own thread and waits until its sockets are bound (or it failed).
    pub fn start(config: EmbeddedConfig) -> anyhow::Result<EmbeddedNode> {
        let (ready_tx, ready_rx) = std_mpsc::channel::<anyhow::Result<Started>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("scope-embedded-node".into())
            .spawn(move || run_thread(config, ready_tx, stop_rx))?;
        let started = ready_rx
            .recv()
            .map_err(|_| anyhow::anyhow!("the super-node thread stopped while starting"))??;
        Ok(EmbeddedNode {
            node_id: started.node_id,
            overlay_addr: started.overlay_addr,
            gateway_addr: started.gateway_addr,
            advertised: started.advertised,
            handle: started.handle,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// A handle to ask the node for its status (usable from any tokio runtime).
    #[must_use]
    pub fn handle(&self) -> NodeHandle {
        self.handle.clone()
    }

    /// Leaves the overlay gracefully, stops the gateway and withdraws the mDNS records;
    /// returns once the node's thread has ended (within about 4 s).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the embedded super-node thread panicked");
        }
    }
}

impl Drop for EmbeddedNode {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The node thread: its own runtime, started, then parked until asked to stop.
fn run_thread(
    config: EmbeddedConfig,
    ready: std_mpsc::Sender<anyhow::Result<Started>>,
    stop: oneshot::Receiver<()>,
) {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("scope-embedded-rt")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(anyhow::anyhow!("cannot start the node runtime: {e}")));
            return;
        }
    };
    rt.block_on(async move {
        let parts = match start_parts(config).await {
            Ok(parts) => parts,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let _ = ready.send(Ok(parts.started()));
        let _ = stop.await;
        parts.stop().await;
    });
    rt.shutdown_timeout(Duration::from_millis(500));
}

/// Everything started, as the daemon holds it.
struct Parts {
    node_id: NodeId,
    overlay_addr: SocketAddr,
    gateway_addr: SocketAddr,
    node: NodeHandle,
    driver: tokio::task::JoinHandle<()>,
    server: tokio::task::JoinHandle<()>,
    stop_server: oneshot::Sender<()>,
    mdns: Option<Mdns>,
    advertised: bool,
}

async fn start_parts(config: EmbeddedConfig) -> anyhow::Result<Parts> {
    let identity = identity_file::load_or_create(&config.data_dir)
        .map_err(|e| anyhow::anyhow!("node key in {}: {e}", config.data_dir.display()))?;
    let node_id = identity.node_id();
    let socket = runtime::bind(config.overlay_addr).await?;
    let listener = tokio::net::TcpListener::bind(config.gateway_addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot bind gateway {}: {e}", config.gateway_addr))?;
    let overlay_addr = socket.local_addr()?;
    let gateway_addr = listener.local_addr()?;
    let mdns = if config.mdns {
        Mdns::start().ok()
    } else {
        None
    };
    let mut seeds = config.bootstrap;
    if seeds.is_empty()
        && let Some(m) = &mdns
    {
        // Browsing blocks; block_in_place keeps the runtime's other worker serving meanwhile.
        seeds = tokio::task::block_in_place(|| m.find_overlay_peers(node_id, MDNS_BROWSE))
            .unwrap_or_default();
    }
    let live = runtime::live_config().map_err(|e| anyhow::anyhow!("OS random: {e}"))?;
    let (node, driver) = runtime::spawn(live, identity, socket, &seeds)?;
    let advertised = mdns
        .as_ref()
        .is_some_and(|m| m.advertise(node_id, overlay_addr, gateway_addr).is_ok());
    let info = Arc::new(DaemonInfo {
        gateway_addr,
        sip_addr: config.sip_addr,
    });
    let app = http::router(Gateway {
        node: node.clone(),
        info,
    });
    let (server, stop_server) = serve(listener, app);
    tracing::info!(%node_id, seeds = seeds.len(), "embedded super-node started");
    Ok(Parts {
        node_id,
        overlay_addr,
        gateway_addr,
        node,
        driver,
        server,
        stop_server,
        mdns,
        advertised,
    })
}

impl Parts {
    fn started(&self) -> Started {
        Started {
            node_id: self.node_id,
            overlay_addr: self.overlay_addr,
            gateway_addr: self.gateway_addr,
            advertised: self.advertised,
            handle: self.node.clone(),
        }
    }

    /// Leave, drain, withdraw: the daemon's shutdown, each step within its budget.
    async fn stop(self) {
        if tokio::time::timeout(LEAVE_BUDGET, self.node.leave())
            .await
            .is_err()
        {
            tracing::warn!("leaving took too long; stopping anyway");
        }
        let _ = self.stop_server.send(());
        let _ = tokio::time::timeout(HTTP_DRAIN_BUDGET, self.server).await;
        self.driver.abort();
        if let Some(m) = self.mdns {
            m.shutdown();
        }
    }
}

/// Serves `app` on `listener` until the returned sender fires (or is dropped).
fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
) -> (tokio::task::JoinHandle<()>, oneshot::Sender<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "embedded gateway stopped");
        }
    });
    (server, stop)
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn starts_on_loopback_reports_status_and_stops() {
        let dir = std::env::temp_dir().join(format!("scope-embedded-test-{}", std::process::id()));
        let node = EmbeddedNode::start(EmbeddedConfig {
            data_dir: dir.clone(),
            overlay_addr: "127.0.0.1:0".parse().expect("addr"),
            gateway_addr: "127.0.0.1:0".parse().expect("addr"),
            sip_addr: None,
            bootstrap: Vec::new(),
            mdns: false,
        })
        .expect("start");
        assert_ne!(node.gateway_addr.port(), 0);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        let status = rt.block_on(node.handle().status()).expect("status");
        assert_eq!(status.node_id, node.node_id);
        let started = crate::runtime::now();
        node.stop();
        assert!(started.elapsed() < Duration::from_secs(5));
        let _ = std::fs::remove_dir_all(dir);
    }
}
