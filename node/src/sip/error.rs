//! Error types of the SIP core, one enum per operation.
//!
//! Every parse failure knows which status code a server should answer with
//! ([`ParseError::status_code`]), so the runtime can reply 400 / 413 / 505 without
//! inspecting the variant, or drop the datagram when no reply can be built.

use thiserror::Error;

/// Why bytes could not be turned into a [`super::Message`].
///
/// Hostile or broken input ends here; the parser never panics.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// The message (or the stream frame) exceeds the configured size limit.
    #[error("message of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Bytes seen (or announced by Content-Length).
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// More header lines than the configured limit (a header flood).
    #[error("more than {limit} header fields")]
    TooManyHeaders {
        /// The configured limit.
        limit: usize,
    },
    /// No empty line ends the header section.
    #[error("header section is not terminated by an empty line")]
    UnterminatedHead,
    /// The request or status line is malformed.
    #[error("malformed start line: {0}")]
    BadStartLine(&'static str),
    /// The SIP version is not SIP/2.0 (answer 505).
    #[error("unsupported SIP version {0:?}")]
    UnsupportedVersion(String),
    /// A header line has no colon or its name is not a token.
    #[error("malformed header line")]
    BadHeaderLine,
    /// A header the core relies on has an invalid value.
    #[error("invalid {name} header: {reason}")]
    BadHeader {
        /// Canonical header name.
        name: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A mandatory header is absent.
    #[error("missing mandatory header {0}")]
    MissingHeader(&'static str),
    /// A header that must appear once appears several times.
    #[error("header {0} appears more than once")]
    DuplicateHeader(&'static str),
    /// A URI could not be parsed.
    #[error("malformed URI: {0}")]
    BadUri(&'static str),
    /// Content-Length announces more bytes than the datagram holds.
    #[error("Content-Length {announced} exceeds the {available} body bytes present")]
    BodyTruncated {
        /// Content-Length value.
        announced: usize,
        /// Bytes present after the header section.
        available: usize,
    },
    /// The CSeq method differs from the request method.
    #[error("CSeq method does not match the request method")]
    CSeqMismatch,
}

impl ParseError {
    /// The status code a server answers with when this error hits a request.
    #[must_use]
    pub fn status_code(&self) -> u16 {
        match self {
            Self::TooLarge { .. } => 413,
            Self::UnsupportedVersion(_) => 505,
            _ => 400,
        }
    }

    /// A reason phrase naming the problem, for the error response.
    #[must_use]
    pub fn reason_phrase(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "Request Entity Too Large",
            Self::UnsupportedVersion(_) => "Version Not Supported",
            Self::TooManyHeaders { .. } => "Too Many Headers",
            Self::MissingHeader(_) => "Missing Mandatory Header",
            Self::CSeqMismatch => "CSeq Method Mismatch",
            _ => "Bad Request",
        }
    }
}

/// Why a command to the transaction layer was refused (nothing was sent).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransactionError {
    /// The request has no top Via with an RFC 3261 branch, so responses could not be matched.
    #[error("request lacks a top Via with a z9hG4bK branch")]
    NoBranch,
    /// A transaction with the same key already exists.
    #[error("a transaction with this branch and method already exists")]
    Duplicate,
    /// The transaction id is unknown or already terminated.
    #[error("unknown or terminated transaction")]
    UnknownTransaction,
    /// ACK is never sent through a client transaction (RFC 3261 §17.1.1.3).
    #[error("ACK must be sent with send_stateless")]
    AckNotAllowed,
    /// The response is not allowed in the transaction's current state.
    #[error("response not allowed in the transaction's state")]
    InvalidState,
    /// The message lacks a header the transaction layer needs.
    #[error("message is missing or has an invalid {0}")]
    BadMessage(&'static str),
}

/// Why a REGISTER was refused; [`RegisterError::status_code`] gives the response.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RegisterError {
    /// The To URI is not inside the overlay domain.
    #[error("address-of-record is outside the overlay domain")]
    NotOverlay,
    /// To is not a SIP URI with a user part.
    #[error("address-of-record is not a sip: URI with a user")]
    BadAor,
    /// `Contact: *` without `Expires: 0`, or mixed with other contacts (RFC 3261 §10.3 step 6).
    #[error("Contact: * is only allowed alone with Expires: 0")]
    BadWildcard,
    /// A Contact value could not be parsed.
    #[error("malformed Contact")]
    BadContact,
    /// The requested expiry is below the minimum (answer 423 with Min-Expires).
    #[error("expiry {requested}s is below the minimum of {min}s")]
    IntervalTooBrief {
        /// What the client asked for.
        requested: u32,
        /// The registrar's minimum.
        min: u32,
    },
    /// The request may not change a binding owned by another registration.
    #[error("binding belongs to another Call-ID / instance")]
    NotOwner,
    /// Same Call-ID with a CSeq not above the stored one: an out-of-order request.
    #[error("CSeq is not higher than the stored binding's")]
    OutOfOrder,
    /// The binding would not fit in a DHT value.
    #[error("binding record of {0} bytes exceeds 1024")]
    RecordTooLarge(usize),
    /// The binding record could not be encoded or decoded.
    #[error("binding record codec error")]
    Codec,
}

impl RegisterError {
    /// Whether the refusal rests on the stored bindings (ownership, order), so that a plan
    /// made on a guess of them must be checked against a fresh read before it is answered.
    #[must_use]
    pub fn depends_on_bindings(&self) -> bool {
        matches!(self, Self::NotOwner | Self::OutOfOrder)
    }

    /// The status code the registrar answers with.
    #[must_use]
    pub fn status_code(&self) -> u16 {
        match self {
            Self::NotOverlay => 404,
            Self::IntervalTooBrief { .. } => 423,
            Self::NotOwner => 403,
            Self::OutOfOrder | Self::Codec => 500,
            Self::BadAor | Self::BadWildcard | Self::BadContact | Self::RecordTooLarge(_) => 400,
        }
    }
}
