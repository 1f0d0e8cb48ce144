//! A super-node embedded in another program (the What's UP desktop app's "Serve as super-node").
//!
//! It starts exactly what the `scope-node` binary starts ([`SuperNode`]: overlay, DHT store,
//! gateway, SIP, mDNS), but on its own named thread with its own tokio runtime, so the host
//! program's event loop never shares a scheduler with the overlay, and stopping it (a graceful
//! leave that hands the node's keys to its neighbours) never blocks the host's UI.

use std::net::SocketAddr;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::overlay::NodeId;
use crate::runtime::NodeHandle;
use crate::supernode::{StartError, SuperNode, SuperNodeConfig};

/// What to start: the same configuration as the daemon's.
pub type EmbeddedConfig = SuperNodeConfig;

/// Why an embedded node could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// The node's thread or runtime could not be created.
    #[error("cannot start the super-node thread: {0}")]
    Thread(std::io::Error),
    /// The thread ended before reporting (it panicked).
    #[error("the super-node thread stopped while starting")]
    Vanished,
    /// The node itself failed to start.
    #[error(transparent)]
    Start(#[from] StartError),
}

/// A running embedded super-node. Dropping it stops it too (and waits for the leave).
#[derive(Debug)]
pub struct EmbeddedNode {
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
    handle: NodeHandle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Facts known once the node has started, sent from its thread back to the caller.
struct Started {
    node_id: NodeId,
    overlay_addr: SocketAddr,
    gateway_addr: SocketAddr,
    sip_addr: Option<SocketAddr>,
    advertised: bool,
    handle: NodeHandle,
}

impl EmbeddedNode {
    /// Starts the node on its own thread and waits until its sockets are bound and it has
    /// joined or started an overlay (or it failed). Blocks for up to the mDNS browse (2 s).
    pub fn start(config: EmbeddedConfig) -> Result<EmbeddedNode, EmbeddedError> {
        let (ready_tx, ready_rx) = std_mpsc::channel::<Result<Started, EmbeddedError>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("scope-embedded-node".into())
            .spawn(move || run_thread(config, ready_tx, stop_rx))
            .map_err(EmbeddedError::Thread)?;
        let started = ready_rx.recv().map_err(|_| EmbeddedError::Vanished)??;
        Ok(EmbeddedNode {
            node_id: started.node_id,
            overlay_addr: started.overlay_addr,
            gateway_addr: started.gateway_addr,
            sip_addr: started.sip_addr,
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

    /// Leaves the overlay gracefully, stops the gateway and SIP and withdraws the mDNS
    /// records; returns once the node's thread has ended (within about 4 s).
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
    ready: std_mpsc::Sender<Result<Started, EmbeddedError>>,
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
            let _ = ready.send(Err(EmbeddedError::Thread(e)));
            return;
        }
    };
    rt.block_on(async move {
        let node = match SuperNode::start(config).await {
            Ok(node) => node,
            Err(e) => {
                let _ = ready.send(Err(e.into()));
                return;
            }
        };
        let _ = ready.send(Ok(Started {
            node_id: node.node_id,
            overlay_addr: node.overlay_addr,
            gateway_addr: node.gateway_addr,
            sip_addr: node.sip_addr,
            advertised: node.advertised,
            handle: node.handle(),
        }));
        let _ = stop.await;
        node.stop().await;
    });
    rt.shutdown_timeout(Duration::from_millis(500));
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn starts_on_loopback_reports_status_and_stops() {
        let dir = std::env::temp_dir().join(format!("scope-embedded-test-{}", std::process::id()));
        let mut config = EmbeddedConfig::new(dir.clone());
        config.overlay_addr = "127.0.0.1:0".parse().expect("addr");
        config.gateway_addr = "127.0.0.1:0".parse().expect("addr");
        config.sip_addr = Some("127.0.0.1:0".parse().expect("addr"));
        config.mdns = false;
        let node = EmbeddedNode::start(config).expect("start");
        assert!(node.sip_addr.is_some_and(|a| a.port() != 0));
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
