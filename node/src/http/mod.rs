//! The HTTP side of the gateway: `GET /status`, `GET /route/{key}`, `GET /metrics` and the
//! loopback-only `POST /local/counts` and `GET /sip/dht-timings`.
//!
//! [`router`] returns a plain axum [`Router`] over a shared [`Gateway`] state, so later parts
//! (the OpenDHT-compatible XML-RPC `POST /`) are added by merging their own router into it on
//! the same listener, and tests can drive it without a socket.

mod prometheus;
pub mod serve;
mod sip_metrics;
mod xmlrpc;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use crate::overlay::NodeId;
use crate::runtime::{NodeHandle, RouteError};
use crate::sip_runtime::SipHandle;

pub use prometheus::render as render_metrics;
pub use serve::{ServeLimits, serve};
pub use xmlrpc::Rpc;

/// What the HTTP handlers share: the way to the overlay and facts fixed at start.
#[derive(Clone, Debug)]
pub struct Gateway {
    /// The running overlay node.
    pub node: NodeHandle,
    /// Facts about this daemon shown in `/status`.
    pub info: Arc<DaemonInfo>,
    /// The SIP proxy/registrar, when this daemon runs one.
    pub sip: Option<SipHandle>,
}

/// Facts about the daemon that do not change while it runs.
#[derive(Clone, Debug)]
pub struct DaemonInfo {
    /// Where the gateway listens.
    pub gateway_addr: SocketAddr,
    /// Where the SIP proxy/registrar listens (UDP and TCP), shown so clients can find it.
    pub sip_addr: Option<SocketAddr>,
}

/// The router with every route this module serves. Merge other routers into it to serve more
/// on the same listener.
pub fn router(state: Gateway) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/route/{key}", get(route))
        .route("/metrics", get(metrics))
        .route("/local/counts", post(local_counts))
        .route("/sip/dht-timings", get(sip_dht_timings))
        .with_state(state)
}

/// The XML-RPC gateway on `POST /` and `POST /RPC2` (the path most XML-RPC clients default
/// to). Merge it into [`router`] to serve both on one listener. The body limit is enforced by
/// the handler itself (413), so axum's default limit is lifted here.
pub fn rpc_router(state: Rpc) -> Router {
    let limit = state.limits.max_body_bytes;
    Router::new()
        .route("/", post(xmlrpc::rpc))
        .route("/RPC2", post(xmlrpc::rpc))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// One leaf-set member in `/status`.
#[derive(Debug, Serialize)]
struct Peer {
    id: String,
    addr: SocketAddr,
}

/// The body of `GET /status`.
#[derive(Debug, Serialize)]
struct StatusBody {
    node_id: String,
    overlay_addr: SocketAddr,
    gateway_addr: SocketAddr,
    sip_addr: Option<SocketAddr>,
    /// The SIP runtime's state; absent when it is not running.
    #[serde(skip_serializing_if = "Option::is_none")]
    sip: Option<sip_metrics::SipBody>,
    joined: bool,
    leaf_set: Vec<Peer>,
    routing_table_entries: usize,
    /// Values kept by this node (live or expired but not yet purged), from the store.
    stored_values: u64,
    uptime_s: u64,
    version: &'static str,
}

/// The body of a successful `GET /route/{key}`.
#[derive(Debug, Serialize)]
struct RouteBody {
    key: String,
    root: Peer,
    hops: u32,
    path: Vec<String>,
}

/// An error answer: a status code and a one-line JSON reason.
#[derive(Debug)]
struct HttpError(StatusCode, String);

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.1 });
        (self.0, Json(body)).into_response()
    }
}

impl From<RouteError> for HttpError {
    fn from(e: RouteError) -> Self {
        let code = match e {
            RouteError::NotJoined | RouteError::Stopped => StatusCode::SERVICE_UNAVAILABLE,
            RouteError::Timeout => StatusCode::GATEWAY_TIMEOUT,
        };
        Self(code, e.to_string())
    }
}

async fn status(State(gw): State<Gateway>) -> Result<Json<StatusBody>, HttpError> {
    let s = gw.node.status().await?;
    let sip = match &gw.sip {
        Some(h) => h.status().await.map(|s| sip_metrics::SipBody::new(&s)),
        None => None,
    };
    Ok(Json(StatusBody {
        sip,
        node_id: s.node_id.to_string(),
        overlay_addr: s.overlay_addr,
        gateway_addr: gw.info.gateway_addr,
        sip_addr: gw.info.sip_addr,
        joined: s.joined,
        leaf_set: s
            .leaf_set
            .iter()
            .map(|n| Peer {
                id: n.id.to_string(),
                addr: n.addr,
            })
            .collect(),
        routing_table_entries: s.routing_table_entries,
        stored_values: s.store.values,
        uptime_s: s.uptime.as_secs(),
        version: env!("CARGO_PKG_VERSION"),
    }))
}

async fn route(
    State(gw): State<Gateway>,
    Path(key): Path<String>,
) -> Result<Json<RouteBody>, HttpError> {
    let key = parse_key(&key)?;
    let r = gw.node.route(key).await?;
    Ok(Json(RouteBody {
        key: r.key.to_string(),
        root: Peer {
            id: r.root.id.to_string(),
            addr: r.root.addr,
        },
        hops: r.hops,
        path: r.path.iter().map(ToString::to_string).collect(),
    }))
}

/// Accepts exactly 40 hex digits (either case): anything else is the client's mistake.
fn parse_key(text: &str) -> Result<NodeId, HttpError> {
    let bad = || {
        HttpError(
            StatusCode::BAD_REQUEST,
            format!("bad key {text:?}: expected 40 hex digits"),
        )
    };
    if text.len() != 40 {
        return Err(bad());
    }
    text.parse().map_err(|_| bad())
}

/// `POST /local/counts`: a debug view for tests and operators on this machine. The body is
/// one key (40 hex digits) per line; the answer is a JSON array with the number of live values
/// this node itself holds under each. Only loopback clients are answered, since it reveals what
/// the node stores without going through the DHT.
async fn local_counts(
    State(gw): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: String,
) -> Result<Json<Vec<u32>>, HttpError> {
    if !peer.ip().is_loopback() {
        return Err(HttpError(StatusCode::FORBIDDEN, "loopback only".into()));
    }
    let keys = body
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| parse_key(l.trim()).map(|id| crate::store::DhtKey(id.0)))
        .collect::<Result<Vec<_>, _>>()?;
    let counts = gw
        .node
        .local_counts(keys)
        .await
        .map_err(|e| HttpError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    Ok(Json(counts))
}

/// `GET /sip/dht-timings`: the SIP proxy's per-transaction DHT waits since the last call
/// (the call drains them), as JSON `[{call_id, method, lookup_us, store_us, cached}]`, so a
/// benchmark can split each REGISTER's or call's time into DHT and the rest. Loopback clients
/// only, since Call-IDs identify calls.
async fn sip_dht_timings(
    State(gw): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Response, HttpError> {
    if !peer.ip().is_loopback() {
        return Err(HttpError(StatusCode::FORBIDDEN, "loopback only".into()));
    }
    let Some(sip) = &gw.sip else {
        return Err(HttpError(StatusCode::NOT_FOUND, "no SIP proxy".into()));
    };
    let timings = sip
        .dht_timings()
        .await
        .ok_or_else(|| HttpError(StatusCode::SERVICE_UNAVAILABLE, "SIP proxy stopped".into()))?;
    Ok(Json(sip_metrics::timings_json(&timings)).into_response())
}

async fn metrics(State(gw): State<Gateway>) -> Result<Response, HttpError> {
    let s = gw.node.status().await?;
    let mut body = render_metrics(&s);
    if let Some(sip) = &gw.sip
        && let Some(status) = sip.status().await
    {
        sip_metrics::render(&mut body, &status);
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_40_hex_digits() {
        assert!(parse_key(&"a".repeat(40)).is_ok());
        assert!(parse_key(&"A".repeat(40)).is_ok());
        assert!(parse_key(&"a".repeat(39)).is_err());
        assert!(parse_key(&"g".repeat(40)).is_err());
        assert!(parse_key("").is_err());
        assert!(parse_key(&"é".repeat(20)).is_err());
    }
}
