//! Errors of the method layer and the fault codes the gateway answers with.
//!
//! Every refusal reaches the client as an XML-RPC fault. The codes follow the XML-RPC fault-code
//! interoperability spec (the same numbers JSON-RPC later adopted) so that generic clients can
//! tell a broken request from a refused one; the fault texts for OpenDHT's size limits are
//! exactly Bamboo's, so that OpenDHT clients that show them to users keep working.

pub use super::xmlrpc::Fault;

/// The fault codes used by the gateway.
pub mod code {
    /// Not well-formed XML, or XML the parser refuses (DOCTYPE, entity, depth, element count,
    /// body size).
    pub const PARSE_ERROR: i32 = super::super::xmlrpc::error_codes::PARSE_ERROR;
    /// The XML declaration names an encoding other than UTF-8.
    pub const UNSUPPORTED_ENCODING: i32 = super::super::xmlrpc::error_codes::UNSUPPORTED_ENCODING;
    /// Well-formed XML that is not a valid `methodCall`.
    pub const INVALID_XMLRPC: i32 = super::super::xmlrpc::error_codes::INVALID_XMLRPC;
    /// No method of that name (text: `no such handler: <name>`, as Bamboo said).
    pub const METHOD_NOT_FOUND: i32 = -32601;
    /// Wrong number or types of parameters, or a parameter outside OpenDHT's limits (the text
    /// then names the limit, e.g. `key is longer than 20 bytes`).
    pub const INVALID_PARAMS: i32 = -32602;
    /// A server-side failure that is not the client's fault.
    pub const INTERNAL_ERROR: i32 = -32603;
    /// SCOPE methods (which return no status code): storage refused by the fair-share rules;
    /// the same meaning as OpenDHT status 1.
    pub const OVER_CAPACITY: i32 = 1;
    /// SCOPE methods: a transient failure, retry with backoff; the same meaning as status 2.
    pub const TRY_AGAIN: i32 = 2;
    /// SCOPE methods: the requested blob is not stored anywhere in the overlay.
    pub const NOT_FOUND: i32 = 3;
}

/// Why a request body could not become a [`super::Request`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The body is larger than the limit: the HTTP layer answers `413 Payload Too Large` rather
    /// than a fault, and need not read the rest of the body.
    #[error("request body of {len} bytes exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// Size of the body offered.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Any other refusal: answered with HTTP 200 and this fault.
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl DecodeError {
    /// The HTTP status the answer should carry: 413 for an oversized body, 200 for a fault.
    #[must_use]
    pub fn http_status(&self) -> u16 {
        match self {
            DecodeError::BodyTooLarge { .. } => 413,
            DecodeError::Fault(_) => 200,
        }
    }

    /// The fault to send (for an oversized body, a parse-error fault naming the limit, for
    /// callers that prefer answering with a fault).
    #[must_use]
    pub fn to_fault(&self) -> Fault {
        match self {
            DecodeError::BodyTooLarge { .. } => Fault::new(code::PARSE_ERROR, self.to_string()),
            DecodeError::Fault(fault) => fault.clone(),
        }
    }
}

/// A parameter-level refusal; always sent with [`code::INVALID_PARAMS`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// Wrong number of parameters.
    #[error("{method} takes {expected} parameters, got {got}")]
    Arity {
        /// The method called.
        method: &'static str,
        /// How many it takes.
        expected: usize,
        /// How many were sent.
        got: usize,
    },
    /// A parameter of the wrong XML-RPC type.
    #[error("{method}: parameter {position} ({name}) must be {expected}, got {got}")]
    Type {
        /// The method called.
        method: &'static str,
        /// 1-based position of the parameter.
        position: usize,
        /// The parameter's name in the spec.
        name: &'static str,
        /// The XML-RPC type wanted.
        expected: &'static str,
        /// The XML-RPC type sent.
        got: &'static str,
    },
    /// A byte string over its limit; the text is Bamboo's, e.g. `key is longer than 20 bytes`.
    #[error("{what} is longer than {limit} bytes")]
    TooLong {
        /// What was too long, as Bamboo named it (`key`, `value`, `secret hash`, …).
        what: &'static str,
        /// The limit in bytes.
        limit: usize,
    },
    /// A byte string that must have one exact length (a content hash).
    #[error("{what} must be {expected} bytes, got {got}")]
    WrongLength {
        /// What had the wrong length.
        what: &'static str,
        /// The required length.
        expected: usize,
        /// The length sent.
        got: usize,
    },
    /// A hash algorithm other than `"SHA"`; Bamboo's text.
    #[error("unknown secret hash algorithm: \"{0}\"")]
    UnknownHashAlg(String),
    /// A number that must be positive (a TTL, `maxvals`) or non-negative (a timeout) is not.
    #[error("{what} must be {bound}, got {got}")]
    OutOfRange {
        /// Which parameter.
        what: &'static str,
        /// The rule, e.g. `positive`.
        bound: &'static str,
        /// The value sent.
        got: i64,
    },
    /// A list with more entries than allowed.
    #[error("{what} has more than {limit} entries")]
    TooMany {
        /// Which list.
        what: &'static str,
        /// The maximum.
        limit: usize,
    },
    /// Any other malformed parameter, described in the text.
    #[error("{0}")]
    Invalid(String),
}

impl From<ParamError> for Fault {
    fn from(err: ParamError) -> Fault {
        Fault::new(code::INVALID_PARAMS, err.to_string())
    }
}

/// The fault for an unknown method name, with Bamboo's text.
pub(crate) fn no_such_method(name: &str) -> Fault {
    let name: String = name.chars().take(128).collect();
    Fault::new(code::METHOD_NOT_FOUND, format!("no such handler: {name}"))
}
