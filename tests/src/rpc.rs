//! A small blocking XML-RPC client for the tests and the bench, built on the node's own codec
//! (`scope_node::gateway::client`) and a keep-alive `ureq` agent.

use std::net::SocketAddr;
use std::time::Duration;

use scope_node::gateway::client::{decode_response, encode_request};
use scope_node::gateway::opendht::{Get, GetResult, Key, Put, Ttl};
use scope_node::gateway::xmlrpc::XmlLimits;
use scope_node::gateway::{Request, Response};

/// One client: an agent with its own keep-alive connection pool.
#[derive(Debug, Clone)]
pub struct Rpc {
    agent: ureq::Agent,
}

impl Default for Rpc {
    fn default() -> Self {
        Self::new()
    }
}

impl Rpc {
    /// A client with a 30 s timeout per call.
    #[must_use]
    pub fn new() -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Self { agent }
    }

    /// Calls `request` on the gateway at `addr`.
    ///
    /// # Errors
    /// On a transport error, a non-200 status or an unreadable reply.
    pub fn call(&self, addr: SocketAddr, request: &Request) -> Result<Response, String> {
        let body = encode_request(request);
        let mut resp = self
            .agent
            .post(format!("http://{addr}/"))
            .header("Content-Type", "text/xml")
            .send(&body[..])
            .map_err(|e| format!("POST {addr}: {e}"))?;
        if resp.status() != 200 {
            return Err(format!("POST {addr}: status {}", resp.status()));
        }
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(16 << 20)
            .read_to_vec()
            .map_err(|e| format!("POST {addr}: body: {e}"))?;
        decode_response(request.method_name(), &bytes, XmlLimits::default())
            .map_err(|f| format!("POST {addr}: {f:?}"))
    }

    /// `put(key, value, ttl)`: the OpenDHT status code.
    ///
    /// # Errors
    /// As [`Rpc::call`], or on a fault.
    pub fn put(&self, addr: SocketAddr, key: &[u8], value: &[u8], ttl: i32) -> Result<i32, String> {
        let req = Request::Put(Put {
            key: Key::new(key.to_vec()).map_err(|e| e.to_string())?,
            value: value.to_vec(),
            ttl: Ttl::from_wire(ttl).map_err(|e| e.to_string())?,
            application: "scope-tests".into(),
        });
        match self.call(addr, &req)? {
            Response::Status(s) => Ok(s.code()),
            other => Err(format!("put: unexpected {other:?}")),
        }
    }

    /// `get(key)`: the first page's values (up to 100).
    ///
    /// # Errors
    /// As [`Rpc::call`], or on a fault.
    pub fn get(&self, addr: SocketAddr, key: &[u8]) -> Result<Vec<Vec<u8>>, String> {
        let req = Request::Get(Get {
            key: Key::new(key.to_vec()).map_err(|e| e.to_string())?,
            maxvals: 100,
            placemark: Vec::new(),
            application: "scope-tests".into(),
        });
        match self.call(addr, &req)? {
            Response::Get(GetResult { values, .. }) => Ok(values),
            other => Err(format!("get: unexpected {other:?}")),
        }
    }
}
