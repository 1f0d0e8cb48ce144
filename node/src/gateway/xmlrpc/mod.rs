//! A bounded XML-RPC codec on top of quick-xml.
//!
//! [`parse_call`] and [`parse_response`] turn untrusted bytes into [`MethodCall`] /
//! [`MethodResponse`] under explicit [`XmlLimits`] (nesting depth, element count) and refuse DTDs,
//! so that no input can make the gateway allocate without bound, recurse deeply, expand entities or
//! panic. [`encode_call`], [`encode_response`] and [`encode_fault`] write the canonical forms that
//! Python's `xmlrpc.client`, Apache XML-RPC and the other 2005-era OpenDHT clients read. The
//! codec is symmetric because the app's client library uses it as an XML-RPC client too.

mod encode;
mod error;
mod fault;
mod parse;
#[cfg(test)]
mod tests;
mod tokens;
mod value;

pub(crate) use encode::fault_value as encode_fault_value;
pub use encode::{encode_call, encode_fault, encode_response};
pub use error::ParseError;
/// The fault codes of the XML layer (re-exported with the others in `gateway::error::code`).
pub mod error_codes {
    pub use super::error::{INVALID_XMLRPC, PARSE_ERROR, UNSUPPORTED_ENCODING};
}
pub use fault::Fault;
pub use parse::{MethodCall, MethodResponse, parse_call, parse_response};
pub use tokens::XmlLimits;
pub use value::{DateTime, Value};
