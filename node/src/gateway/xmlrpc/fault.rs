//! The XML-RPC fault: the error answer of a call.

/// A fault as XML-RPC carries it: `faultCode` (int) and `faultString` (string).
///
/// It is both what the server sends for a refused call and what the client-side parser returns
/// for a `<fault>` response, so one type serves both directions. The codes the gateway uses are
/// listed in [`crate::gateway::error::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("XML-RPC fault {code}: {message}")]
pub struct Fault {
    /// `faultCode`.
    pub code: i32,
    /// `faultString`: human-readable, and for OpenDHT's limits the exact text Bamboo sent.
    pub message: String,
}

impl Fault {
    /// A fault with the given code and text.
    pub fn new(code: i32, message: impl Into<String>) -> Fault {
        Fault {
            code,
            message: message.into(),
        }
    }
}
