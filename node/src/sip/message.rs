//! The SIP message model: requests, responses, an ordered header list, a body.
//!
//! Headers are stored as text in arrival order (list headers one value per entry) and parsed
//! into types on demand, so unknown headers pass through a proxy unchanged and the common path
//! parses only what it reads. A parsed value is kept with its text: the checks made when a
//! message arrives, the transaction layer and the registrar then share one parse per header.
//!
//! The values of a received message are ranges of one shared copy of its head rather than a
//! string each: parsing allocates once for all of them, and a response copying Via, From, To,
//! Call-ID and CSeq shares them too.

use std::cell::OnceCell;
use std::fmt;
use std::io::Write as _;
use std::ops::Range;
use std::sync::Arc;

use super::error::ParseError;
use super::header::{CSeq, Contact, HeaderName, NameAddr, Via, name};
use super::text::{is_token, parse_digits, split_outside};
use super::uri::Uri;

/// A request method; methods are case-sensitive tokens (RFC 3261 §7.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// INVITE.
    Invite,
    /// ACK.
    Ack,
    /// BYE.
    Bye,
    /// CANCEL.
    Cancel,
    /// REGISTER.
    Register,
    /// OPTIONS.
    Options,
    /// MESSAGE (RFC 3428).
    Message,
    /// INFO.
    Info,
    /// UPDATE.
    Update,
    /// SUBSCRIBE.
    Subscribe,
    /// NOTIFY.
    Notify,
    /// REFER.
    Refer,
    /// PRACK.
    Prack,
    /// PUBLISH.
    Publish,
    /// Any other token (extension methods must be proxied too).
    Other(String),
}

impl Method {
    /// Parses a method token.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if !is_token(s) {
            return Err(ParseError::BadStartLine("bad method"));
        }
        Ok(match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "MESSAGE" => Method::Message,
            "INFO" => Method::Info,
            "UPDATE" => Method::Update,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "REFER" => Method::Refer,
            "PRACK" => Method::Prack,
            "PUBLISH" => Method::Publish,
            other => Method::Other(other.to_owned()),
        })
    }

    /// The method as written on the wire.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Message => "MESSAGE",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Refer => "REFER",
            Method::Prack => "PRACK",
            Method::Publish => "PUBLISH",
            Method::Other(s) => s,
        }
    }
}

/// One header field: canonical name and the value text (unfolded, trimmed). Neither changes
/// once made (a new value is a new entry), so a parse of the value can be kept with it.
#[derive(Debug, Clone)]
pub struct Header {
    name: HeaderName,
    value: Text,
    /// The value parsed by the first typed read.
    parsed: OnceCell<Arc<Parsed>>,
}

/// The text of a header value.
#[derive(Clone)]
enum Text {
    /// A range of the head of the message it arrived in, shared by all its values.
    Shared { head: Arc<str>, range: Range<usize> },
    /// Text of its own: a value set by the proxy or unfolded from several lines.
    Owned(String),
}

impl Text {
    #[inline]
    fn as_str(&self) -> &str {
        match self {
            // The parser cut the range on character boundaries of this head.
            Text::Shared { head, range } => head.get(range.clone()).unwrap_or_default(),
            Text::Owned(s) => s,
        }
    }

    fn into_string(self) -> String {
        match self {
            Text::Owned(s) => s,
            shared => shared.as_str().to_owned(),
        }
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// A header value parsed into the type its name calls for, or why it could not be.
#[derive(Debug, Clone)]
enum Parsed {
    Via(Result<Via, ParseError>),
    NameAddr(Result<NameAddr, ParseError>),
    Contact(Result<Contact, ParseError>),
    CSeq(Result<CSeq, ParseError>),
}

impl PartialEq for Header {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.value() == other.value()
    }
}

impl Eq for Header {}

/// What a typed read of a header found when its entry was parsed earlier as another type,
/// which no header name allows; kept as an error rather than a panic.
const KIND_CLASH: &str = "read as two types";

impl Header {
    fn new(name: HeaderName, value: String) -> Self {
        Self {
            name,
            value: Text::Owned(value),
            parsed: OnceCell::new(),
        }
    }

    /// The canonical name.
    #[must_use]
    pub fn name(&self) -> &HeaderName {
        &self.name
    }

    /// The value text.
    #[must_use]
    #[inline]
    pub fn value(&self) -> &str {
        self.value.as_str()
    }

    fn parsed(&self, parse: impl FnOnce(&str) -> Parsed) -> &Parsed {
        self.parsed.get_or_init(|| Arc::new(parse(self.value())))
    }

    fn clash(header: &'static str) -> ParseError {
        ParseError::BadHeader {
            name: header,
            reason: KIND_CLASH,
        }
    }

    pub(crate) fn via(&self) -> Result<&Via, ParseError> {
        match self.parsed(|v| Parsed::Via(Via::parse(v))) {
            Parsed::Via(r) => r.as_ref().map_err(Clone::clone),
            _ => Err(Self::clash(name::VIA)),
        }
    }

    pub(crate) fn name_addr(&self, header: &'static str) -> Result<&NameAddr, ParseError> {
        match self.parsed(|v| Parsed::NameAddr(NameAddr::parse(v, header))) {
            Parsed::NameAddr(r) => r.as_ref().map_err(Clone::clone),
            _ => Err(Self::clash(header)),
        }
    }

    pub(crate) fn contact(&self) -> Result<&Contact, ParseError> {
        match self.parsed(|v| Parsed::Contact(Contact::parse(v))) {
            Parsed::Contact(r) => r.as_ref().map_err(Clone::clone),
            _ => Err(Self::clash(name::CONTACT)),
        }
    }

    pub(crate) fn cseq(&self) -> Result<&CSeq, ParseError> {
        match self.parsed(|v| Parsed::CSeq(CSeq::parse(v))) {
            Parsed::CSeq(r) => r.as_ref().map_err(Clone::clone),
            _ => Err(Self::clash(name::CSEQ)),
        }
    }
}

/// The ordered header list of a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

impl Headers {
    /// An empty list with room for `n` entries.
    #[must_use]
    pub fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    /// The first value of a header.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries(name).next().map(Header::value)
    }

    /// All values of a header, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.entries(name).map(Header::value)
    }

    /// All values of a comma-list header (Allow, Supported, Require, ...), split outside
    /// quotes and angle brackets; `None` for an unterminated quote or `<`.
    #[must_use]
    pub fn list<'a>(&'a self, name: &'a str) -> Option<Vec<&'a str>> {
        let mut out = Vec::new();
        for value in self.get_all(name) {
            for item in split_outside(value, b',') {
                let item = item.ok()?.trim();
                if !item.is_empty() {
                    out.push(item);
                }
            }
        }
        Some(out)
    }

    /// Appends a header.
    pub fn push(&mut self, name: HeaderName, value: impl Into<String>) {
        self.0.push(Header::new(name, value.into()));
    }

    /// Appends a header whose value is `range` of a received message's `head`.
    pub(crate) fn push_shared(&mut self, name: HeaderName, head: &Arc<str>, range: Range<usize>) {
        self.0.push(Header {
            name,
            value: Text::Shared {
                head: Arc::clone(head),
                range,
            },
            parsed: OnceCell::new(),
        });
    }

    /// Appends a copy of another message's header under `name` (the same name), sharing its
    /// text and its parse.
    pub(crate) fn push_copy(&mut self, name: HeaderName, header: &Header) {
        self.0.push(Header {
            name,
            value: header.value.clone(),
            parsed: header.parsed.clone(),
        });
    }

    /// Inserts a header before all others of that name (a proxy's Via, Record-Route).
    pub fn push_front(&mut self, name: HeaderName, value: impl Into<String>) {
        let pos = self.0.iter().position(|h| h.name == name).unwrap_or(0);
        self.0.insert(pos, Header::new(name, value.into()));
    }

    /// Replaces the first value of a header in place (a Via stamped with `received`); false
    /// when there is none.
    pub fn replace_first(&mut self, name: &str, value: impl Into<String>) -> bool {
        match self.0.iter_mut().find(|h| h.name.is(name)) {
            Some(h) => {
                *h = Header::new(h.name.clone(), value.into());
                true
            }
            None => false,
        }
    }

    /// Removes and returns the first value of a header (pop the top Via or Route).
    pub fn remove_first(&mut self, name: &str) -> Option<String> {
        let pos = self.0.iter().position(|h| h.name.is(name))?;
        Some(self.0.remove(pos).value.into_string())
    }

    /// Removes every value of a header.
    pub fn remove_all(&mut self, name: &str) {
        self.0.retain(|h| !h.name.is(name));
    }

    /// Replaces all values of a header by one value, keeping the position of the first.
    pub fn set(&mut self, name: HeaderName, value: impl Into<String>) {
        match self.0.iter().position(|h| h.name == name) {
            Some(pos) => {
                self.0[pos] = Header::new(name.clone(), value.into());
                let mut seen = false;
                self.0
                    .retain(|h| !(h.name == name && std::mem::replace(&mut seen, true)));
            }
            None => self.push(name, value),
        }
    }

    /// All headers in order.
    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }

    /// Number of header entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no headers.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first entry of a header the message must have.
    fn required(&self, name: &'static str) -> Result<&Header, ParseError> {
        self.0
            .iter()
            .find(|h| h.name.is(name))
            .ok_or(ParseError::MissingHeader(name))
    }

    /// Every entry of a header.
    pub(crate) fn entries<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a Header> + use<'a, 'n> {
        self.0.iter().filter(move |h| h.name.is(name))
    }

    /// The top Via, which identifies the transaction and where responses go.
    pub fn top_via(&self) -> Result<&Via, ParseError> {
        self.required(name::VIA)?.via()
    }

    /// All Via values, top first.
    pub fn vias(&self) -> Result<Vec<&Via>, ParseError> {
        self.entries(name::VIA).map(Header::via).collect()
    }

    /// How many Via values there are, each parsed: what [`Headers::vias`] checks, without
    /// collecting them.
    pub(crate) fn via_count(&self) -> Result<usize, ParseError> {
        self.entries(name::VIA)
            .try_fold(0, |n, h| h.via().map(|_| n + 1))
    }

    /// The CSeq header.
    pub fn cseq(&self) -> Result<&CSeq, ParseError> {
        self.required(name::CSEQ)?.cseq()
    }

    /// The Call-ID.
    pub fn call_id(&self) -> Result<&str, ParseError> {
        self.get(name::CALL_ID)
            .ok_or(ParseError::MissingHeader(name::CALL_ID))
    }

    /// The From header.
    pub fn from(&self) -> Result<&NameAddr, ParseError> {
        self.required(name::FROM)?.name_addr(name::FROM)
    }

    /// The To header.
    pub fn to(&self) -> Result<&NameAddr, ParseError> {
        self.required(name::TO)?.name_addr(name::TO)
    }

    /// All Contact values.
    pub fn contacts(&self) -> Result<Vec<&Contact>, ParseError> {
        self.entries(name::CONTACT).map(Header::contact).collect()
    }

    /// Parses every Contact value: what [`Headers::contacts`] checks, without collecting them.
    pub(crate) fn check_contacts(&self) -> Result<(), ParseError> {
        self.entries(name::CONTACT)
            .try_for_each(|h| h.contact().map(drop))
    }

    /// Route values, top first (a proxy follows the first one).
    pub fn routes(&self) -> Result<Vec<NameAddr>, ParseError> {
        self.get_all(name::ROUTE)
            .map(|v| NameAddr::parse(v, name::ROUTE))
            .collect()
    }

    /// Record-Route values, top first.
    pub fn record_routes(&self) -> Result<Vec<NameAddr>, ParseError> {
        self.get_all(name::RECORD_ROUTE)
            .map(|v| NameAddr::parse(v, name::RECORD_ROUTE))
            .collect()
    }

    /// Max-Forwards (0–255); `None` when absent, which a proxy treats as 70.
    pub fn max_forwards(&self) -> Result<Option<u8>, ParseError> {
        self.get(name::MAX_FORWARDS)
            .map(|v| {
                parse_digits::<u8>(v.trim()).ok_or(ParseError::BadHeader {
                    name: name::MAX_FORWARDS,
                    reason: "not 0-255",
                })
            })
            .transpose()
    }

    /// The Expires header in seconds; values above 2^32-1 saturate (RFC 3261 §20.19).
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.get(name::EXPIRES)
            .map(|v| parse_delta_seconds(v, name::EXPIRES))
            .transpose()
    }

    /// Content-Length, rejecting signs and overflow (RFC 4475 §3.1.2.3/4).
    pub fn content_length(&self) -> Result<Option<usize>, ParseError> {
        let bad = ParseError::BadHeader {
            name: name::CONTENT_LENGTH,
            reason: "not a length",
        };
        self.get(name::CONTENT_LENGTH)
            .map(|v| parse_digits::<usize>(v.trim()).ok_or(bad))
            .transpose()
    }
}

/// Parses delta-seconds, saturating at `u32::MAX` as RFC 3261 asks.
pub(crate) fn parse_delta_seconds(v: &str, header: &'static str) -> Result<u32, ParseError> {
    let v = v.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadHeader {
            name: header,
            reason: "not delta-seconds",
        });
    }
    Ok(v.parse::<u32>().unwrap_or(u32::MAX))
}

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The Request-URI.
    pub uri: Uri,
    /// Headers in order.
    pub headers: Headers,
    /// Body bytes (Content-Length is recomputed when serialising).
    pub body: Vec<u8>,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code, 100–699.
    pub status: u16,
    /// Reason phrase (may be empty, RFC 4475 §3.1.1.13).
    pub reason: String,
    /// Headers in order.
    pub headers: Headers,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// The headers of either kind.
    #[must_use]
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    /// Serialises the message; Content-Length always reflects the body, which stream
    /// transports need for framing.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}

/// Writes start line, headers (with a fresh Content-Length) and body into one buffer sized
/// up front; `start_len` is the start line's length or a guess.
fn serialize(
    start_len: usize,
    start_line: impl FnOnce(&mut Vec<u8>),
    headers: &Headers,
    body: &[u8],
) -> Vec<u8> {
    const CONTENT_LENGTH: &str = "Content-Length: ";
    let fields = || headers.iter().filter(|h| !h.name.is(name::CONTENT_LENGTH));
    let len = start_len
        + fields()
            .map(|h| h.name.as_str().len() + h.value().len() + 4)
            .sum::<usize>()
        + CONTENT_LENGTH.len()
        + 24
        + body.len();
    let mut out = Vec::with_capacity(len);
    start_line(&mut out);
    for h in fields() {
        out.extend_from_slice(h.name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(CONTENT_LENGTH.as_bytes());
    out.extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
    out
}

impl Request {
    /// Serialises the request (see [`Message::to_bytes`]).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let method = self.method.as_str();
        let start = |out: &mut Vec<u8>| {
            // Writing into a Vec cannot fail.
            let _ = write!(out, "{method} {} SIP/2.0\r\n", self.uri);
        };
        serialize(method.len() + 96, start, &self.headers, &self.body)
    }
}

impl Response {
    /// Serialises the response (see [`Message::to_bytes`]).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let start = |out: &mut Vec<u8>| {
            out.extend_from_slice(b"SIP/2.0 ");
            out.extend_from_slice(itoa::Buffer::new().format(self.status).as_bytes());
            out.push(b' ');
            out.extend_from_slice(self.reason.as_bytes());
            out.extend_from_slice(b"\r\n");
        };
        serialize(self.reason.len() + 16, start, &self.headers, &self.body)
    }

    /// True for 100–199.
    #[must_use]
    pub fn is_provisional(&self) -> bool {
        self.status < 200
    }
}
