//! Finding the network: discover super-nodes by mDNS for 3 s; if none answers and this device
//! is capable (or the user asked), start the embedded super-node; otherwise keep looking and
//! say why this device does not serve. Also the embedded node's start/stop and its status.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scope_node::embedded::{EmbeddedConfig, EmbeddedNode};
use scope_node::runtime::Status;

use crate::client::capability::{self, Assessment};
use crate::client::{Dht, GatewayDht, discovery, keys};

use super::backend::{Backend, Pending};
use super::settings::Settings;

/// How long to listen for super-nodes before deciding to serve (the 3 s).
pub const DISCOVERY_WAIT: Duration = Duration::from_secs(3);
/// Pause between discovery rounds while waiting for a super-node.
const RETRY: Duration = Duration::from_secs(5);

/// What the app is connected through.
#[derive(Debug)]
pub struct Connected {
    /// The DHT the client uses.
    pub dht: Arc<dyn Dht>,
    /// The gateway client, when the DHT is reached over the network (for the status bar).
    pub gateway: Option<Arc<GatewayDht>>,
    /// The embedded node, if this machine started serving.
    pub node: Option<EmbeddedNode>,
    /// One sentence for the user about how the app is connected.
    pub note: String,
    /// Super-nodes known when connecting.
    pub known: usize,
}

/// The ports and directory of the embedded node, from the settings.
#[must_use]
pub fn node_config(settings: &Settings, home: &Path) -> EmbeddedConfig {
    let any = |port: u16| SocketAddr::from(([0, 0, 0, 0], port));
    let mut config = EmbeddedConfig::new(home.join("super-node"));
    config.overlay_addr = any(settings.overlay_port);
    config.gateway_addr = any(settings.gateway_port);
    config.sip_addr = Some(any(settings.sip_port));
    config.mdns = settings.mdns;
    config
}

/// The capability verdict for this machine (reads /proc and /sys; cheap).
#[must_use]
pub fn assess(home: &Path) -> Assessment {
    capability::assess(capability::read(home))
}

/// Connects as described in the module doc; `waiting` receives the reason while it waits.
pub fn connect(
    backend: &Backend,
    settings: Settings,
    home: PathBuf,
    waiting: std::sync::mpsc::Sender<String>,
) -> Pending<Connected> {
    backend.run(async move {
        let verdict = assess(&home);
        loop {
            let mut found = settings.gateway_urls();
            if settings.mdns {
                found.extend(discover().await);
            }
            let serve = settings.serve_super_node || (found.is_empty() && verdict.super_node);
            if serve {
                match serve_here(&settings, &home, found.clone()).await {
                    Ok(connected) => return Ok(connected),
                    Err(e) if !found.is_empty() => {
                        let note = format!("{e}; connected through a super-node on the LAN");
                        return on_gateways(found, None, &note);
                    }
                    Err(e) => {
                        let _ = waiting.send(format!("{e}. Trying again…"));
                        tokio::time::sleep(RETRY).await;
                        continue;
                    }
                }
            }
            if !found.is_empty() {
                return on_gateways(found, None, "Connected through a super-node on the LAN");
            }
            let why = verdict
                .reasons
                .iter()
                .filter(|r| r.starts_with("no:"))
                .map(|r| r.trim_start_matches("no: "))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = waiting.send(format!(
                "No super-node found yet, and this device cannot serve as one ({why}). Still looking…"
            ));
            tokio::time::sleep(RETRY).await;
        }
    })
}

async fn discover() -> Vec<String> {
    tokio::task::spawn_blocking(|| discovery::discover(DISCOVERY_WAIT))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default()
}

/// Starts the embedded node and connects through its gateway (and the others found).
async fn serve_here(
    settings: &Settings,
    home: &Path,
    found: Vec<String>,
) -> Result<Connected, String> {
    let mut config = node_config(settings, home);
    if !found.is_empty()
        && let Ok(others) = GatewayDht::new(found.clone())
    {
        // Join the overlay behind the gateways already known (mDNS may be off or blocked).
        config.bootstrap = others.overlay_seeds().await;
    }
    let node = start_node(config).await?;
    let local = format!("http://127.0.0.1:{}/RPC2", node.gateway_addr.port());
    let mut gateways = vec![local];
    gateways.extend(found);
    on_gateways(
        gateways,
        Some(node),
        "No super-node answered within 3 s, so this device now serves as one",
    )
}

/// Starts the embedded node on the blocking pool (it binds sockets and may browse mDNS).
pub async fn start_node(config: EmbeddedConfig) -> Result<EmbeddedNode, String> {
    tokio::task::spawn_blocking(move || EmbeddedNode::start(config))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("the super-node could not start: {e}"))
}

fn on_gateways(
    gateways: Vec<String>,
    node: Option<EmbeddedNode>,
    note: &str,
) -> Result<Connected, String> {
    let known = gateways.len();
    let gateway = Arc::new(GatewayDht::new(gateways).map_err(|e| e.to_string())?);
    Ok(Connected {
        dht: gateway.clone(),
        gateway: Some(gateway),
        node,
        note: note.to_owned(),
        known,
    })
}

/// What the status bar shows about the link.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkStatus {
    /// The gateway calls go to.
    pub serving: Option<String>,
    /// Round-trip time of a small `get`.
    pub rtt: Option<Duration>,
    /// Super-nodes known.
    pub known: usize,
    /// The last failure, if the probe failed.
    pub error: Option<String>,
}

/// Times one small `get` through `dht`, then reports which gateway answered.
pub fn probe(
    backend: &Backend,
    dht: Arc<dyn Dht>,
    gateway: Option<Arc<GatewayDht>>,
    known: usize,
) -> Pending<LinkStatus> {
    backend.run(async move {
        let started = Instant::now();
        let result = dht.get_page(keys::service_list(), Vec::new()).await;
        let rtt = started.elapsed();
        let serving = gateway.as_ref().and_then(|g| g.preferred());
        Ok(LinkStatus {
            serving: serving.or_else(|| Some("this machine".into())),
            rtt: result.is_ok().then_some(rtt),
            known,
            error: result.err().map(|e| e.to_string()),
        })
    })
}

/// A snapshot of the embedded node for the Super-node screen.
pub fn node_status(backend: &Backend, node: &EmbeddedNode) -> Pending<Status> {
    let handle = node.handle();
    backend.run(async move { handle.status().await.map_err(|e| e.to_string()) })
}
