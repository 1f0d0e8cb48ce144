//! [`GatewayDht`]: the DHT reached through a super-node's XML-RPC gateway over HTTP/1.1.
//!
//! The codec is the super-node's own (`scope_node::gateway::client`), so both ends agree on
//! every shape. This file only adds transport: a keep-alive connection pool, a list of known
//! gateways with a preferred one, and silent failover to the next gateway when one stops
//! answering (a connection error is retried elsewhere at once; connecting gives up after
//! [`CONNECT_TIMEOUT`], so a dead host costs less than 2 s).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use scope_node::gateway::client::{decode_response, encode_request};
use scope_node::gateway::error::code;
use scope_node::gateway::opendht::{self, Get, Put, PutRemovable, Rm, Status};
use scope_node::gateway::scope_methods::{ChangeKind, GetBlob, PutBlob, Watch};
use scope_node::gateway::xmlrpc::XmlLimits;
use scope_node::gateway::{Request, Response};

use super::dht::{
    Change, Detailed, Dht, DhtError, Key, MAX_TTL_SECS, PAGE_MAXVALS, Page, Watched, check_value,
};

/// How long connecting to one gateway may take before the next one is tried.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(800);
/// How long an ordinary call may take once connected.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Times a call answered "try again" is repeated before giving up.
const AGAIN_RETRIES: u32 = 3;
/// The `application` string sent with OpenDHT calls (only logged by servers).
const APPLICATION: &str = "whatsup";

/// The DHT through one of several super-node gateways (`http://host:5851/RPC2`).
#[derive(Debug)]
pub struct GatewayDht {
    http: reqwest::Client,
    gateways: Mutex<Vec<String>>,
    preferred: AtomicUsize,
    rediscover: bool,
}

impl GatewayDht {
    /// A client for `gateways` (URLs; the first is preferred). Fails only if the HTTP client
    /// cannot be built, or no gateway is given.
    pub fn new(gateways: Vec<String>) -> Result<Self, DhtError> {
        if gateways.is_empty() {
            return Err(DhtError::Unreachable(": no gateway known".into()));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .user_agent(concat!("whatsup/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DhtError::Unreachable(format!(": {e}")))?;
        Ok(GatewayDht {
            http,
            gateways: Mutex::new(gateways.into_iter().map(normalize_url).collect()),
            preferred: AtomicUsize::new(0),
            rediscover: false,
        })
    }

    /// Also looks for gateways by mDNS ([`super::discovery`]) when every known one has failed,
    /// so a client that found its super-nodes that way keeps working as they come and go.
    #[must_use]
    pub fn with_rediscovery(mut self) -> Self {
        self.rediscover = true;
        self
    }

    /// The known gateways, the preferred one first (to remember for the next run).
    #[must_use]
    pub fn gateways(&self) -> Vec<String> {
        let mut list = self.lock().clone();
        let preferred = self.preferred.load(Ordering::Relaxed);
        if preferred < list.len() {
            list.rotate_left(preferred);
        }
        list
    }

    /// Adds gateways learnt later (e.g. by mDNS); duplicates are ignored.
    pub fn add_gateways(&self, more: impl IntoIterator<Item = String>) {
        let mut list = self.lock();
        for url in more.into_iter().map(normalize_url) {
            if !list.contains(&url) {
                list.push(url);
            }
        }
    }

    /// The gateway calls go to first.
    #[must_use]
    pub fn preferred(&self) -> Option<String> {
        let list = self.lock();
        list.get(self.preferred.load(Ordering::Relaxed) % list.len().max(1))
            .cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.gateways
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends `request` to the preferred gateway, failing over to the others in turn on
    /// transport errors. Every OpenDHT call is idempotent (a repeated put only extends the
    /// TTL), so resending after a lost reply is safe.
    async fn call(&self, request: &Request, timeout: Duration) -> Result<Response, DhtError> {
        let body = encode_request(request);
        match self.try_all(request, &body, timeout).await {
            Err(DhtError::Unreachable(why)) if self.rediscover => {
                let found = tokio::task::spawn_blocking(|| {
                    super::discovery::discover(Duration::from_secs(1))
                })
                .await;
                match found {
                    Ok(Ok(found)) if !found.is_empty() => {
                        self.add_gateways(found);
                        self.try_all(request, &body, timeout).await
                    }
                    _ => Err(DhtError::Unreachable(why)),
                }
            }
            other => other,
        }
    }

    /// One attempt on every known gateway, the preferred one first.
    async fn try_all(
        &self,
        request: &Request,
        body: &[u8],
        timeout: Duration,
    ) -> Result<Response, DhtError> {
        let list = self.lock().clone();
        let start = self.preferred.load(Ordering::Relaxed);
        let mut last_error = String::new();
        for offset in 0..list.len() {
            let index = (start + offset) % list.len();
            match self.send(&list[index], body, timeout).await {
                Ok(reply) => {
                    self.preferred.store(index, Ordering::Relaxed);
                    return decode(request.method_name(), &reply);
                }
                Err(error) => {
                    tracing::warn!(gateway = %list[index], %error, "gateway failed, trying the next");
                    last_error = format!(" (last error from {}: {error})", list[index]);
                }
            }
        }
        Err(DhtError::Unreachable(last_error))
    }

    async fn send(&self, url: &str, body: &[u8], timeout: Duration) -> Result<Vec<u8>, String> {
        let reply = self
            .http
            .post(url)
            .header("Content-Type", "text/xml")
            .timeout(timeout)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| error_chain(&e))?;
        if !reply.status().is_success() {
            return Err(format!("HTTP {}", reply.status()));
        }
        reply
            .bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| error_chain(&e))
    }

    /// A read, repeated when the gateway answers with a "try again" fault (an overlay lookup
    /// that timed out, e.g. while a dead node is still in its neighbours' tables).
    async fn query(&self, request: &Request) -> Result<Response, DhtError> {
        let mut attempt = 0;
        loop {
            match self.call(request, CALL_TIMEOUT).await? {
                Response::Fault(fault)
                    if fault.code == code::TRY_AGAIN && attempt < AGAIN_RETRIES =>
                {
                    tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                    attempt += 1;
                }
                other => return Ok(other),
            }
        }
    }

    /// A status-returning call, repeated on "try again".
    async fn status_call(&self, request: Request) -> Result<(), DhtError> {
        for attempt in 0..=AGAIN_RETRIES {
            match self.call(&request, CALL_TIMEOUT).await? {
                Response::Status(Status::Success) => return Ok(()),
                Response::Status(Status::OverCapacity) => return Err(DhtError::OverCapacity),
                Response::Status(Status::TryAgain) => {
                    tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                }
                other => return Err(unexpected(&other)),
            }
        }
        Err(DhtError::TryAgain)
    }

    fn get_request(key: Key, placemark: Vec<u8>) -> Result<Get, DhtError> {
        Ok(Get {
            key: dht_key(key)?,
            maxvals: PAGE_MAXVALS,
            placemark,
            application: APPLICATION.into(),
        })
    }
}

/// An error with its causes, on one line ("error sending request: connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// Accepts `host:port`, `http://host:port` or a full URL; adds `/RPC2` when no path is given.
fn normalize_url(url: String) -> String {
    let url = if url.contains("://") {
        url
    } else {
        format!("http://{url}")
    };
    let after_scheme = url.split_once("://").map_or("", |(_, rest)| rest);
    if after_scheme.contains('/') {
        url
    } else {
        format!("{url}/RPC2")
    }
}

fn decode(method: &str, body: &[u8]) -> Result<Response, DhtError> {
    match decode_response(method, body, XmlLimits::default()) {
        Ok(Response::Fault(fault))
            if method == "scope.watch" && fault.code == code::INVALID_PARAMS =>
        {
            Err(DhtError::BadCursor)
        }
        Ok(Response::Fault(fault)) if fault.code == code::OVER_CAPACITY => {
            Err(DhtError::OverCapacity)
        }
        Ok(response) => Ok(response),
        Err(fault) => Err(DhtError::BadReply(fault.message)),
    }
}

fn unexpected(response: &Response) -> DhtError {
    match response {
        Response::Fault(fault) => DhtError::Fault(format!("{} ({})", fault.message, fault.code)),
        _ => DhtError::BadReply("unexpected result type".into()),
    }
}

fn dht_key(key: Key) -> Result<opendht::Key, DhtError> {
    opendht::Key::new(key.to_vec()).map_err(|e| DhtError::BadReply(e.to_string()))
}

fn ttl(secs: u32) -> Result<opendht::Ttl, DhtError> {
    let secs = i32::try_from(secs.clamp(1, MAX_TTL_SECS)).unwrap_or(1);
    opendht::Ttl::from_wire(secs).map_err(|e| DhtError::BadReply(e.to_string()))
}

fn hash20(bytes: &[u8]) -> Option<[u8; 20]> {
    bytes.try_into().ok()
}

#[async_trait]
impl Dht for GatewayDht {
    async fn put(&self, key: Key, value: Vec<u8>, ttl_s: u32) -> Result<(), DhtError> {
        check_value(&value)?;
        let put = Put {
            key: dht_key(key)?,
            value,
            ttl: ttl(ttl_s)?,
            application: APPLICATION.into(),
        };
        self.status_call(Request::Put(put)).await
    }

    async fn put_removable(
        &self,
        key: Key,
        value: Vec<u8>,
        secret_hash: [u8; 20],
        ttl_s: u32,
    ) -> Result<(), DhtError> {
        check_value(&value)?;
        let put = PutRemovable {
            key: dht_key(key)?,
            value,
            secret_hash: secret_hash.to_vec(),
            ttl: ttl(ttl_s)?,
            application: APPLICATION.into(),
        };
        self.status_call(Request::PutRemovable(put)).await
    }

    async fn get_page(&self, key: Key, placemark: Vec<u8>) -> Result<Page<Vec<u8>>, DhtError> {
        let request = Request::Get(Self::get_request(key, placemark)?);
        match self.query(&request).await? {
            Response::Get(result) => Ok(Page {
                values: result.values,
                placemark: result.placemark,
            }),
            other => Err(unexpected(&other)),
        }
    }

    async fn get_details_page(
        &self,
        key: Key,
        placemark: Vec<u8>,
    ) -> Result<Page<Detailed>, DhtError> {
        let request = Request::GetDetails(Self::get_request(key, placemark)?);
        match self.query(&request).await? {
            Response::GetDetails(result) => Ok(Page {
                values: result
                    .values
                    .into_iter()
                    .map(|v| Detailed {
                        ttl_remaining: v.ttl_remaining,
                        secret_hash: hash20(&v.secret_hash).filter(|h| *h != [0; 20]),
                        value: v.value,
                    })
                    .collect(),
                placemark: result.placemark,
            }),
            other => Err(unexpected(&other)),
        }
    }

    async fn rm(
        &self,
        key: Key,
        value_hash: [u8; 20],
        secret: Vec<u8>,
        ttl_s: u32,
    ) -> Result<(), DhtError> {
        let rm = Rm {
            key: dht_key(key)?,
            value_hash: value_hash.to_vec(),
            secret,
            ttl: ttl(ttl_s)?,
            application: APPLICATION.into(),
        };
        self.status_call(Request::Rm(rm)).await
    }

    async fn put_blob(&self, data: Vec<u8>, ttl_s: u32) -> Result<[u8; 20], DhtError> {
        let blob = PutBlob {
            data,
            ttl: ttl(ttl_s)?,
            application: APPLICATION.into(),
        };
        match self.call(&Request::PutBlob(blob), CALL_TIMEOUT).await? {
            Response::BlobHash(hash) => {
                hash20(&hash).ok_or_else(|| DhtError::BadReply("blob hash is not 20 bytes".into()))
            }
            other => Err(unexpected(&other)),
        }
    }

    async fn get_blob(&self, hash: [u8; 20]) -> Result<Option<Vec<u8>>, DhtError> {
        let request = Request::GetBlob(GetBlob {
            hash: hash.to_vec(),
        });
        match self.query(&request).await? {
            Response::Blob(data) => Ok(Some(data)),
            Response::Fault(fault) if fault.code == code::NOT_FOUND => Ok(None),
            other => Err(unexpected(&other)),
        }
    }

    async fn overlay_seeds(&self) -> Vec<std::net::SocketAddr> {
        let Ok(Response::NodeStatus(status)) = self.call(&Request::Status, CALL_TIMEOUT).await
        else {
            return Vec::new();
        };
        let Ok(mut addr) = status.address.parse::<std::net::SocketAddr>() else {
            return Vec::new();
        };
        if addr.ip().is_unspecified() {
            // The node listens on every interface: reach it at the host we reach its gateway.
            let host = self
                .preferred()
                .and_then(|url| reqwest::Url::parse(&url).ok())
                .and_then(|url| url.host_str().and_then(|h| h.parse().ok()));
            match host {
                Some(ip) => addr.set_ip(ip),
                None => return Vec::new(),
            }
        }
        vec![addr]
    }

    async fn watch(&self, keys: &[Key], cursor: &str, timeout_s: u32) -> Result<Watched, DhtError> {
        let keys = keys.iter().map(|k| dht_key(*k)).collect::<Result<_, _>>()?;
        let request = Request::Watch(Watch {
            keys,
            cursor: cursor.to_owned(),
            timeout_s,
        });
        let wait = Duration::from_secs(u64::from(timeout_s)) + CALL_TIMEOUT;
        match self.call(&request, wait).await? {
            Response::Watch(result) => Ok(Watched {
                cursor: result.cursor,
                changes: result.changes.into_iter().filter_map(change).collect(),
            }),
            other => Err(unexpected(&other)),
        }
    }
}

/// A wire change with a well-formed key; others are dropped (the reply is untrusted).
fn change(wire: scope_node::gateway::scope_methods::Change) -> Option<Change> {
    let key = hash20(&wire.key)?;
    Some(match wire.kind {
        ChangeKind::Put { value } => Change::Put { key, value },
        ChangeKind::Rm { value_hash } => Change::Rm { key, value_hash },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_get_a_scheme_and_a_path() {
        assert_eq!(
            normalize_url("10.0.0.1:5851".into()),
            "http://10.0.0.1:5851/RPC2"
        );
        assert_eq!(normalize_url("http://h:1/".into()), "http://h:1/");
        assert!(GatewayDht::new(Vec::new()).is_err());
    }
}
