//! Real super-nodes for the app's tests: the library code `scope-node` runs
//! ([`EmbeddedNode`]), each on its own thread and runtime, on 127.0.0.1 ports the OS picks,
//! without mDNS, each with a data directory removed when the overlay is dropped.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use scope_node::embedded::{EmbeddedConfig, EmbeddedNode};

pub mod ui;

/// A few super-nodes forming one overlay.
pub struct Overlay {
    nodes: Vec<Option<EmbeddedNode>>,
    dirs: Vec<PathBuf>,
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

impl Overlay {
    /// Starts `n` super-nodes, each joining through the first, and waits until every one
    /// has the others in its leaf set.
    pub fn start(name: &str, n: usize) -> Overlay {
        let mut overlay = Overlay {
            nodes: Vec::new(),
            dirs: Vec::new(),
        };
        for i in 0..n {
            let dir = std::env::temp_dir()
                .join(format!("whatsup-test-{}-{name}-{i}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let mut config = EmbeddedConfig::new(dir.clone());
            config.overlay_addr = loopback();
            config.gateway_addr = loopback();
            config.sip_addr = Some(loopback());
            config.mdns = false;
            config.bootstrap = overlay
                .node(0)
                .map(|a| vec![a.overlay_addr])
                .unwrap_or_default();
            overlay.dirs.push(dir);
            overlay.nodes.push(Some(
                EmbeddedNode::start(config).expect("super-node starts"),
            ));
        }
        let ids: Vec<String> = overlay.live().map(|n| n.node_id.to_string()).collect();
        let deadline = Instant::now() + Duration::from_secs(30);
        for node in overlay.live() {
            let others: Vec<&String> = ids
                .iter()
                .filter(|id| **id != node.node_id.to_string())
                .collect();
            while !others
                .iter()
                .all(|id| leaf_ids(node.gateway_addr).contains(id))
            {
                assert!(Instant::now() < deadline, "the overlay did not form");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        overlay
    }

    /// Node `i`, unless stopped.
    pub fn node(&self, i: usize) -> Option<&EmbeddedNode> {
        self.nodes.get(i).and_then(Option::as_ref)
    }

    fn live(&self) -> impl Iterator<Item = &EmbeddedNode> {
        self.nodes.iter().flatten()
    }

    /// The XML-RPC URL of node `i`'s gateway.
    pub fn url(&self, i: usize) -> String {
        let node = self.node(i).expect("node is running");
        format!("http://{}/RPC2", node.gateway_addr)
    }

    /// Stops node `i`: its gateway stops answering (it leaves the overlay gracefully).
    pub fn stop(&mut self, i: usize) {
        if let Some(node) = self.nodes.get_mut(i).and_then(Option::take) {
            node.stop();
        }
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        for node in self.nodes.iter_mut().filter_map(Option::take) {
            node.stop();
        }
        for dir in &self.dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// `GET /status` of the gateway at `addr`, as JSON (blocking; call off async tasks).
pub fn status(addr: SocketAddr) -> serde_json::Value {
    let body = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            reqwest::get(format!("http://{addr}/status"))
                .await
                .expect("status answers")
                .bytes()
                .await
                .expect("status body")
        });
    serde_json::from_slice(&body).expect("status is JSON")
}

/// The node IDs in the leaf set `/status` reports.
pub fn leaf_ids(addr: SocketAddr) -> Vec<String> {
    status(addr)["leaf_set"]
        .as_array()
        .map(|peers| {
            peers
                .iter()
                .filter_map(|p| p["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
