//! The XML-RPC gateway's codec and method layer: bytes in, typed requests out; typed responses
//! in, bytes out. No I/O.
//!
//! SCOPE's clients, and any OpenDHT client written in 2005, reach the overlay only through
//! XML-RPC over HTTP. This module is the part of the gateway that can be tested without a
//! network: the HTTP server reads a body and calls [`decode_request`]; it executes the resulting
//! [`Request`] against the DHT (asynchronously, elsewhere); and it sends back the bytes of
//! [`encode_response`]. Faults never need the DHT: a [`DecodeError`] already says what to answer.
//!
//! ```text
//! body ──decode_request──▶ Request ──(caller runs it on the DHT)──▶ Response ──encode_response──▶ body
//!            │                 └── local_response() for system.* introspection
//!            └── DecodeError: BodyTooLarge → HTTP 413, Fault → HTTP 200 + encode_fault
//! ```
//!
//! Layers: [`xmlrpc`] is a bounded, general XML-RPC codec (also used by the client library);
//! [`opendht`] and [`scope_methods`] are the typed methods with the spec's validation;
//! [`system`] is the method table; [`error`] lists the fault codes; [`client`] is the same
//! layer seen from the client library (typed request → body, body → typed result).

mod args;
pub mod client;
pub mod error;
pub mod multicall;
pub mod opendht;
mod request;
mod response;
pub mod scope_methods;
pub mod system;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
pub mod xmlrpc;

pub use error::{DecodeError, Fault, ParamError};
pub use request::{Request, decode_call};
pub use response::{Response, encode_response};
pub use xmlrpc::encode_fault;

/// The `Content-Type` of every XML-RPC answer.
pub const CONTENT_TYPE: &str = "text/xml";

/// Bounds on one request, chosen by the HTTP layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest body accepted; larger bodies get HTTP 413 without being parsed.
    pub max_body_bytes: usize,
    /// Depth and element-count bounds for the XML.
    pub xml: xmlrpc::XmlLimits,
    /// Most entries in one `system.multicall`.
    pub max_multicall: usize,
}

impl Default for Limits {
    /// 12 MiB of body (an 8 MiB blob in base64 plus envelope), the default XML limits and 256
    /// multicall entries.
    fn default() -> Self {
        Limits {
            max_body_bytes: 12 * 1024 * 1024,
            xml: xmlrpc::XmlLimits::default(),
            max_multicall: multicall::DEFAULT_MAX_CALLS,
        }
    }
}

/// Parses and validates one request body. Never panics, whatever the bytes.
pub fn decode_request(body: &[u8], limits: &Limits) -> Result<Request, DecodeError> {
    if body.len() > limits.max_body_bytes {
        return Err(DecodeError::BodyTooLarge {
            len: body.len(),
            limit: limits.max_body_bytes,
        });
    }
    let call = xmlrpc::parse_call(body, limits.xml).map_err(Fault::from)?;
    Ok(decode_call(call, limits.max_multicall)?)
}
