//! `POST /` and `POST /RPC2`: the OpenDHT-compatible XML-RPC gateway over the running node.
//!
//! The codec ([`crate::gateway`]) turns the body into a typed [`Request`]; this module runs it
//! on the DHT through the [`NodeHandle`](crate::runtime::NodeHandle) and encodes the answer.
//! The client's IP address (from the TCP connection) is the fair-share identity, as in OpenDHT.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};

use crate::dht::{self, Cursor, DhtError, GetReq, PutReq, RmReq};
use crate::gateway::Limits;
use crate::gateway::error::code;
use crate::gateway::opendht::{self, DetailedValue, GetDetailsResult, GetResult, Key};
use crate::gateway::scope_methods::{
    self, Change, ChangeKind, NodeStatus, RouteResult, WatchResult,
};
use crate::gateway::{self as codec, DecodeError, Fault, Request, Response};
use crate::runtime::CallError;
use crate::runtime::NodeHandle;
use crate::store::{DhtKey, HASH_LEN, Hash, Page, StorageClass, ValueDetails};

/// What the XML-RPC handlers share.
#[derive(Clone, Debug)]
pub struct Rpc {
    /// The running node.
    pub node: NodeHandle,
    /// Bounds on one request.
    pub limits: Limits,
}

/// How long a client may take to send its whole body once the headers are in.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// The XML-RPC endpoint.
pub(super) async fn rpc(
    State(gw): State<Rpc>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> HttpResponse {
    let limit = gw.limits.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return too_large(limit);
    }
    let bytes = match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) if e.to_string().contains("length limit") => return too_large(limit),
        Ok(Err(_)) => return StatusCode::BAD_REQUEST.into_response(),
        Err(_) => return StatusCode::REQUEST_TIMEOUT.into_response(),
    };
    let response = match codec::decode_request(&bytes, &gw.limits) {
        Ok(req) => answer(&gw, req, peer.ip()).await,
        Err(DecodeError::BodyTooLarge { .. }) => return too_large(limit),
        Err(DecodeError::Fault(f)) => Response::Fault(f),
    };
    xml(codec::encode_response(&response))
}

fn xml(body: Vec<u8>) -> HttpResponse {
    ([(header::CONTENT_TYPE, codec::CONTENT_TYPE)], body).into_response()
}

fn too_large(limit: usize) -> HttpResponse {
    let msg = format!("request body exceeds the limit of {limit} bytes");
    (StatusCode::PAYLOAD_TOO_LARGE, msg).into_response()
}

/// Runs one request (a multicall entry by entry, in order).
async fn answer(gw: &Rpc, req: Request, client: IpAddr) -> Response {
    match req {
        Request::Multicall(calls) => {
            let mut out = Vec::with_capacity(calls.len());
            for call in calls {
                out.push(match call {
                    Ok(req) => one(gw, req, client).await,
                    Err(fault) => Response::Fault(fault),
                });
            }
            Response::Multicall(out)
        }
        req => one(gw, req, client).await,
    }
}

/// Runs one non-multicall request.
async fn one(gw: &Rpc, req: Request, client: IpAddr) -> Response {
    if let Some(local) = req.local_response() {
        return local;
    }
    let node = &gw.node;
    let result = match req {
        Request::Put(p) => write(
            node.put(put_req(&p.key, p.value, None, p.ttl), client)
                .await,
        ),
        Request::PutRemovable(p) => {
            let hash = Some(pad20(&p.secret_hash));
            let req = put_req(&p.key, p.value, hash, p.ttl);
            write(node.put_removable(req, client).await)
        }
        Request::Rm(r) => {
            let req = RmReq {
                key: dht_key(&r.key),
                value_hash: pad20(&r.value_hash),
                secret: r.secret,
                ttl_secs: r.ttl.secs(),
                class: StorageClass::Durable,
            };
            write(node.rm(req, client).await)
        }
        Request::Get(g) => get(gw, &g).await.map(|p| Response::Get(plain(p))),
        Request::GetDetails(g) => get(gw, &g).await.map(|p| Response::GetDetails(details(p))),
        other => scope_call(gw, other).await,
    };
    result.unwrap_or_else(Response::Fault)
}

/// The `scope.*` methods.
async fn scope_call(gw: &Rpc, req: Request) -> Result<Response, Fault> {
    let node = &gw.node;
    match req {
        Request::Status => status(gw).await,
        Request::Route(r) => {
            let route = node
                .route(dht::placement::node_id(dht_key(&r.key)))
                .await
                .map_err(|e| Fault::new(code::TRY_AGAIN, e.to_string()))?;
            Ok(Response::Route(RouteResult {
                node_id: route.root.id.0.to_vec(),
                address: route.root.addr.to_string(),
            }))
        }
        Request::PutBlob(b) => {
            let hash = node.put_blob(b.data, b.ttl.secs()).await.map_err(fault)?;
            Ok(Response::BlobHash(hash.to_vec()))
        }
        Request::GetBlob(b) => {
            let data = node.get_blob(pad20(&b.hash)).await.map_err(fault)?;
            Ok(Response::Blob(data))
        }
        Request::Watch(w) => watch(gw, w).await,
        other => Err(Fault::new(
            code::INTERNAL_ERROR,
            format!("{} cannot be run here", other.method_name()),
        )),
    }
}

async fn status(gw: &Rpc) -> Result<Response, Fault> {
    let s = gw
        .node
        .status()
        .await
        .map_err(|e| Fault::new(code::TRY_AGAIN, e.to_string()))?;
    Ok(Response::NodeStatus(NodeStatus {
        node_id: s.node_id.0.to_vec(),
        address: s.overlay_addr.to_string(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        uptime_s: s.uptime.as_secs(),
        leaf_set_size: u32::try_from(s.leaf_set.len()).unwrap_or(u32::MAX),
        routing_table_size: u32::try_from(s.routing_table_entries).unwrap_or(u32::MAX),
        stored_values: s.store.values,
    }))
}

async fn watch(gw: &Rpc, w: scope_methods::Watch) -> Result<Response, Fault> {
    let cursor = if w.cursor.is_empty() {
        None
    } else {
        let c: Cursor = w
            .cursor
            .parse()
            .map_err(|_| Fault::new(code::INVALID_PARAMS, "scope.watch: malformed cursor"))?;
        Some(c)
    };
    let keys = w.keys.iter().map(dht_key).collect();
    let timeout = Duration::from_secs(u64::from(w.timeout_s));
    let batch = gw.node.watch(keys, cursor, timeout).await.map_err(fault)?;
    let changes = batch
        .changes
        .into_iter()
        .map(|c| Change {
            key: c.key.0.to_vec(),
            kind: match c.kind {
                dht::ChangeKind::Put { value } => ChangeKind::Put { value },
                dht::ChangeKind::Rm { value_hash } => ChangeKind::Rm {
                    value_hash: value_hash.to_vec(),
                },
            },
        })
        .collect();
    Ok(Response::Watch(WatchResult {
        cursor: batch.cursor.to_string(),
        changes,
    }))
}

async fn get(gw: &Rpc, g: &opendht::Get) -> Result<Page<ValueDetails>, Fault> {
    let req = GetReq {
        key: dht_key(&g.key),
        maxvals: g.maxvals,
        placemark: g.placemark.clone(),
    };
    gw.node.get_details(req).await.map_err(fault)
}

fn plain(page: Page<ValueDetails>) -> GetResult {
    GetResult {
        values: page.values.into_iter().map(|d| d.value).collect(),
        placemark: page.placemark,
    }
}

fn details(page: Page<ValueDetails>) -> GetDetailsResult {
    let values = page
        .values
        .into_iter()
        .map(|d| DetailedValue {
            value: d.value,
            ttl_remaining: u32::try_from(d.ttl_remaining_secs).unwrap_or(u32::MAX),
            hash_alg: d.hash_alg.to_owned(),
            secret_hash: d.secret_hash.map(|h| h.to_vec()).unwrap_or_default(),
        })
        .collect();
    GetDetailsResult {
        values,
        placemark: page.placemark,
    }
}

fn put_req(key: &Key, value: Vec<u8>, secret_hash: Option<Hash>, ttl: opendht::Ttl) -> PutReq {
    PutReq {
        key: dht_key(key),
        value,
        secret_hash,
        ttl_secs: ttl.secs(),
        class: StorageClass::Durable,
    }
}

fn dht_key(key: &Key) -> DhtKey {
    DhtKey(key.to_id())
}

/// A hash of at most 20 bytes (the codec refuses longer ones), left-padded with zeros like a
/// short key: OpenDHT only bounds these from above, and a padded hash simply matches nothing
/// a real SHA-1 would.
fn pad20(bytes: &[u8]) -> Hash {
    let mut out = [0u8; HASH_LEN];
    let n = bytes.len().min(HASH_LEN);
    if let (Some(dst), Some(src)) = (out.get_mut(HASH_LEN - n..), bytes.get(..n)) {
        dst.copy_from_slice(src);
    }
    out
}

/// A write's OpenDHT status; a DHT timeout is status 2 (try again), as OpenDHT answered.
fn write(result: Result<dht::Status, CallError>) -> Result<Response, Fault> {
    let status = match result {
        Ok(dht::Status::Ok) => opendht::Status::Success,
        Ok(dht::Status::OverCapacity) => opendht::Status::OverCapacity,
        Ok(dht::Status::TryAgain) | Err(CallError::Dht(DhtError::Timeout)) => {
            opendht::Status::TryAgain
        }
        Err(e) => return Err(fault(e)),
    };
    Ok(Response::Status(status))
}

/// The fault for a failed call: try again for timeouts and a stopped node, not found for a
/// missing blob, invalid params for what the client got wrong.
fn fault(e: CallError) -> Fault {
    let c = match &e {
        CallError::Dht(DhtError::Timeout) | CallError::Stopped => code::TRY_AGAIN,
        CallError::Dht(DhtError::NotFound) => code::NOT_FOUND,
        CallError::Dht(DhtError::Invalid(_) | DhtError::BadPlacemark) => code::INVALID_PARAMS,
        _ => code::INTERNAL_ERROR,
    };
    Fault::new(c, e.to_string())
}
