//! Why a body could not be parsed, and which fault code each reason maps to.

use super::Fault;

/// Fault code for XML that is not well formed or that the parser refuses to process (DTDs,
/// excessive depth or size): `-32700`, from the XML-RPC fault-code interoperability spec.
pub const PARSE_ERROR: i32 = -32700;
/// Fault code for a declared character encoding other than UTF-8 / ASCII: `-32701`.
pub const UNSUPPORTED_ENCODING: i32 = -32701;
/// Fault code for well-formed XML that is not a valid XML-RPC document: `-32600`.
pub const INVALID_XMLRPC: i32 = -32600;

/// Why [`super::parse_call`] or [`super::parse_response`] refused a body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The XML is not well formed (quick-xml's own diagnosis, or bytes that are not UTF-8).
    #[error("malformed XML: {0}")]
    Malformed(String),
    /// A `<!DOCTYPE>` (and with it any entity declaration) appeared: refused outright so that no
    /// entity can expand ("billion laughs") or reach outside the document.
    #[error("DOCTYPE and entity declarations are not allowed")]
    Doctype,
    /// A `&name;` reference other than the five predefined XML entities.
    #[error("unknown entity reference: &{0};")]
    UnknownEntity(String),
    /// Elements nested deeper than the configured limit.
    #[error("XML nesting is deeper than {0} levels")]
    TooDeep(usize),
    /// More elements than the configured limit.
    #[error("XML has more than {0} elements")]
    TooManyElements(usize),
    /// The XML declaration names an encoding the gateway does not read.
    #[error("unsupported encoding: {0}")]
    UnsupportedEncoding(String),
    /// Well-formed XML that does not follow the XML-RPC grammar (wrong or missing element).
    #[error("invalid XML-RPC: {0}")]
    Invalid(String),
    /// A scalar whose text does not parse as its type, e.g. `<int>x</int>`.
    #[error("invalid <{tag}> value: {text:?}")]
    BadScalar {
        /// The element name, e.g. `int`.
        tag: String,
        /// The offending text (truncated to 64 characters).
        text: String,
    },
}

impl ParseError {
    /// The fault code for this error: -32700 for anything the XML parser refuses, -32701 for
    /// an unsupported encoding, -32600 for valid XML that is not valid XML-RPC.
    #[must_use]
    pub fn code(&self) -> i32 {
        match self {
            ParseError::Malformed(_)
            | ParseError::Doctype
            | ParseError::UnknownEntity(_)
            | ParseError::TooDeep(_)
            | ParseError::TooManyElements(_) => PARSE_ERROR,
            ParseError::UnsupportedEncoding(_) => UNSUPPORTED_ENCODING,
            ParseError::Invalid(_) | ParseError::BadScalar { .. } => INVALID_XMLRPC,
        }
    }

    /// A `BadScalar` for `tag`, keeping at most 64 characters of the text so that a fault never
    /// echoes a huge input back.
    pub(crate) fn bad_scalar(tag: &str, text: &str) -> ParseError {
        ParseError::BadScalar {
            tag: tag.to_owned(),
            text: text.chars().take(64).collect(),
        }
    }
}

impl From<ParseError> for Fault {
    fn from(err: ParseError) -> Fault {
        Fault::new(err.code(), err.to_string())
    }
}
