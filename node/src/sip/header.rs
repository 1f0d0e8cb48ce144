//! Header names and the structured header values a proxy/registrar needs.
//!
//! Only the headers the core acts on are parsed into types (Via, From/To/Contact/Route
//! name-addrs, CSeq); all others stay text and are forwarded untouched.

use std::borrow::Cow;
use std::fmt;

use smol_str::{SmolStr, StrExt, format_smolstr};

use super::error::ParseError;
use super::params::Params;
use super::text::{
    find_byte, find_outside_quotes, is_token, is_token_char, parse_digits, small, split_once_byte,
};
use super::uri::{Uri, parse_hostport};

/// Canonical spellings of the headers the core uses.
pub mod name {
    /// `Via` (compact `v`).
    pub const VIA: &str = "Via";
    /// `From` (compact `f`).
    pub const FROM: &str = "From";
    /// `To` (compact `t`).
    pub const TO: &str = "To";
    /// `Call-ID` (compact `i`).
    pub const CALL_ID: &str = "Call-ID";
    /// `CSeq`.
    pub const CSEQ: &str = "CSeq";
    /// `Contact` (compact `m`).
    pub const CONTACT: &str = "Contact";
    /// `Content-Length` (compact `l`).
    pub const CONTENT_LENGTH: &str = "Content-Length";
    /// `Content-Type` (compact `c`).
    pub const CONTENT_TYPE: &str = "Content-Type";
    /// `Max-Forwards`.
    pub const MAX_FORWARDS: &str = "Max-Forwards";
    /// `Route`.
    pub const ROUTE: &str = "Route";
    /// `Record-Route`.
    pub const RECORD_ROUTE: &str = "Record-Route";
    /// `Expires`.
    pub const EXPIRES: &str = "Expires";
    /// `Min-Expires`, sent with 423.
    pub const MIN_EXPIRES: &str = "Min-Expires";
    /// `Retry-After` (RFC 3261 §20.33).
    pub const RETRY_AFTER: &str = "Retry-After";
    /// `Supported` (compact `k`).
    pub const SUPPORTED: &str = "Supported";
    /// `Subject` (compact `s`).
    pub const SUBJECT: &str = "Subject";
    /// `Content-Encoding` (compact `e`).
    pub const CONTENT_ENCODING: &str = "Content-Encoding";
}

/// Compact forms (RFC 3261 §7.3.3) and their full names.
const COMPACT: [(u8, &str); 10] = [
    (b'v', name::VIA),
    (b'f', name::FROM),
    (b't', name::TO),
    (b'i', name::CALL_ID),
    (b'm', name::CONTACT),
    (b'l', name::CONTENT_LENGTH),
    (b'c', name::CONTENT_TYPE),
    (b'k', name::SUPPORTED),
    (b's', name::SUBJECT),
    (b'e', name::CONTENT_ENCODING),
];

/// Full names we spell canonically when they arrive in another case.
const KNOWN: [&str; 16] = [
    name::VIA,
    name::FROM,
    name::TO,
    name::CALL_ID,
    name::CSEQ,
    name::CONTACT,
    name::CONTENT_LENGTH,
    name::CONTENT_TYPE,
    name::MAX_FORWARDS,
    name::ROUTE,
    name::RECORD_ROUTE,
    name::EXPIRES,
    name::MIN_EXPIRES,
    name::SUPPORTED,
    name::SUBJECT,
    name::CONTENT_ENCODING,
];

/// Headers whose comma-separated values the parser splits into one entry each, so that a
/// proxy can pop the top Via or Route without re-parsing a combined line.
pub(crate) const LIST_HEADERS: [&str; 4] =
    [name::VIA, name::CONTACT, name::ROUTE, name::RECORD_ROUTE];

/// A header name: compact forms expanded, known names in canonical case, compared
/// case-insensitively (RFC 3261 §7.3.1).
#[derive(Clone)]
pub struct HeaderName(Repr);

/// A constant (a known name, or one the proxy writes), or a name read from the wire, kept
/// inline up to 23 bytes (`User-Agent`) rather than allocated.
#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Other(SmolStr),
}

impl HeaderName {
    /// Validates and canonicalises a name as read from the wire.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        // A known name or compact form is a token: only other names need the check.
        if let [c] = raw.as_bytes() {
            let lower = c.to_ascii_lowercase();
            if let Some((_, full)) = COMPACT.iter().find(|(k, _)| *k == lower) {
                return Ok(Self::from_static(full));
            }
        }
        if let Some(known) = KNOWN.iter().find(|k| eq_name(k, raw)) {
            return Ok(Self::from_static(known));
        }
        if !is_token(raw) {
            return Err(ParseError::BadHeaderLine);
        }
        Ok(Self(Repr::Other(small(raw))))
    }

    /// A name from a constant, e.g. [`name::VIA`].
    #[must_use]
    pub const fn from_static(name: &'static str) -> Self {
        Self(Repr::Static(name))
    }

    /// The canonical spelling.
    #[must_use]
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Other(s) => s,
        }
    }

    /// Case-insensitive comparison with a name.
    #[must_use]
    #[inline]
    pub fn is(&self, other: &str) -> bool {
        eq_name(self.as_str(), other)
    }
}

/// Case-insensitive equality with the length compared first, inline: most names a lookup
/// meets differ in length.
#[inline]
fn eq_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.eq_ignore_ascii_case(b)
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &Self) -> bool {
        self.is(other.as_str())
    }
}

impl Eq for HeaderName {}

impl fmt::Debug for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HeaderName").field(&self.as_str()).finish()
    }
}

/// `name-addr` or `addr-spec` with header parameters: From, To, Contact, Route, Record-Route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name as written (quoted or tokens), if any.
    pub display: Option<SmolStr>,
    /// The address.
    pub uri: Uri,
    /// Header parameters after the address (`tag`, `expires`, `q`, `lr` in Route is a URI param).
    pub params: Params,
}

impl NameAddr {
    /// Parses one From/To/Contact/Route value.
    pub fn parse(value: &str, header: &'static str) -> Result<Self, ParseError> {
        let bad = |reason| ParseError::BadHeader {
            name: header,
            reason,
        };
        let value = value.trim();
        match find_outside_quotes(value, b'<') {
            Some(lt) => {
                let display = parse_display(value[..lt].trim()).ok_or(bad("bad display name"))?;
                let inner = &value[lt + 1..];
                let gt = find_byte(inner, b'>').ok_or(bad("unclosed <"))?;
                let uri = Uri::parse(&inner[..gt]).map_err(|_| bad("bad URI"))?;
                let params = Params::parse_header(&inner[gt + 1..]).ok_or(bad("bad parameters"))?;
                Ok(Self {
                    display,
                    uri,
                    params,
                })
            }
            None => {
                // addr-spec form: parameters after ';' belong to the header, and a URI with
                // '?' or ',' must be bracketed (RFC 3261 §20.10, RFC 4475 §3.1.2.13).
                let (uri, params) = value.split_at(find_byte(value, b';').unwrap_or(value.len()));
                let uri = uri.trim_end();
                if uri.contains(['?', ',', '"']) {
                    return Err(bad("addr-spec needs <>"));
                }
                let uri = Uri::parse(uri).map_err(|_| bad("bad URI"))?;
                let params = Params::parse_header(params).ok_or(bad("bad parameters"))?;
                Ok(Self {
                    display: None,
                    uri,
                    params,
                })
            }
        }
    }

    /// The `tag` parameter (From/To).
    #[must_use]
    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag").flatten()
    }

    /// The Contact `expires` parameter in seconds (saturating), if present and numeric.
    #[must_use]
    pub fn expires(&self) -> Option<u32> {
        let v = self.params.get("expires").flatten()?;
        crate::sip::message::parse_delta_seconds(v, name::CONTACT).ok()
    }

    /// True when the URI carries `;lr`: a loose router, as Route/Record-Route entries
    /// written by RFC 3261 proxies are (§16.12).
    #[must_use]
    pub fn is_loose_route(&self) -> bool {
        self.uri.as_sip().is_some_and(|u| u.params.contains("lr"))
    }
}

/// Validates a display name: a complete quoted string or tokens separated by whitespace.
fn parse_display(s: &str) -> Option<Option<SmolStr>> {
    if s.is_empty() {
        return Some(None);
    }
    if s.starts_with('"') {
        let end = closing_quote(s)?;
        return (end == s.len() - 1).then(|| Some(small(s)));
    }
    s.split_whitespace()
        .all(|w| w.chars().all(is_token_char))
        .then(|| Some(small(s)))
}

/// Index of the quote closing the quoted string that starts at index 0.
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return Some(i),
            _ => {}
        }
    }
    None
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "{d} ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// A Contact value: an address or the `*` wildcard of a remove-all REGISTER.
#[allow(clippy::large_enum_variant)] // kept in its header's shared parse; a box would cost an allocation
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    /// `Contact: *`.
    Wildcard,
    /// A contact address with its parameters (`expires`, `+sip.instance`, `reg-id`, `q`).
    Addr(NameAddr),
}

impl Contact {
    /// Parses one Contact value.
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        if value.trim() == "*" {
            return Ok(Self::Wildcard);
        }
        NameAddr::parse(value, name::CONTACT).map(Self::Addr)
    }
}

/// The RFC 3261 branch prefix that marks a globally unique branch (§8.1.1.7).
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// One Via value (RFC 3261 §20.42).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// Transport token as sent (`UDP`, `TCP`, `TLS`, `SCTP`, unknown ones too).
    pub transport: SmolStr,
    /// sent-by host.
    pub host: SmolStr,
    /// sent-by port.
    pub port: Option<u16>,
    /// Via parameters (`branch`, `received`, `rport`, `maddr`).
    pub params: Params,
}

impl Via {
    /// Parses `SIP / 2.0 / UDP host:port ;params`, tolerating whitespace around `/` and `:`.
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let bad = |reason| ParseError::BadHeader {
            name: name::VIA,
            reason,
        };
        let (head, params) = value.split_at(find_byte(value, b';').unwrap_or(value.len()));
        let Some((proto, (version, rest))) =
            split_once_byte(head, b'/').and_then(|(p, r)| Some((p, split_once_byte(r, b'/')?)))
        else {
            return Err(bad("no protocol"));
        };
        if !proto.trim().eq_ignore_ascii_case("SIP") || version.trim() != "2.0" {
            return Err(bad("not SIP/2.0"));
        }
        let mut words = rest.split_whitespace();
        let transport = words
            .next()
            .filter(|t| is_token(t))
            .ok_or(bad("bad transport"))?;
        let sent_by = join_sent_by(words).ok_or(bad("bad sent-by"))?;
        let (host, port) = parse_hostport(&sent_by).map_err(|_| bad("bad sent-by"))?;
        let params = Params::parse_header(params).ok_or(bad("bad parameters"))?;
        Ok(Self {
            transport: transport.to_ascii_uppercase_smolstr(),
            host: small(host),
            port,
            params,
        })
    }

    /// The `branch` parameter.
    #[must_use]
    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch").flatten()
    }

    /// The branch if it carries the RFC 3261 magic cookie, i.e. is usable as a transaction key.
    #[must_use]
    pub fn rfc3261_branch(&self) -> Option<&str> {
        self.branch().filter(|b| b.starts_with(MAGIC_COOKIE))
    }

    /// `host[:port]` as one string, part of the server transaction key (§17.2.3); inline,
    /// not allocated, up to 23 bytes.
    #[must_use]
    pub fn sent_by(&self) -> SmolStr {
        let host = self.host.to_ascii_lowercase_smolstr();
        match self.port {
            Some(p) => format_smolstr!("{host}:{p}"),
            None => host,
        }
    }
}

impl Via {
    /// Where responses for this hop go (RFC 3261 §18.2.2, RFC 3581): `received` (else the
    /// sent-by host) and `rport` (else the sent-by port, else `default_port`).
    #[must_use]
    pub fn response_target(&self, default_port: u16) -> (String, u16) {
        let host = self.params.get("received").flatten().unwrap_or(&self.host);
        let rport = self
            .params
            .get("rport")
            .flatten()
            .and_then(|p| p.parse().ok());
        (host.to_owned(), rport.or(self.port).unwrap_or(default_port))
    }
}

/// Joins the words of a sent-by, allowing whitespace only around the colon; the usual single
/// word is borrowed.
fn join_sent_by<'a>(mut words: impl Iterator<Item = &'a str>) -> Option<Cow<'a, str>> {
    let first = words.next()?;
    let Some(second) = words.next() else {
        return Some(Cow::Borrowed(first));
    };
    let mut out = first.to_owned();
    for w in std::iter::once(second).chain(words) {
        if !out.ends_with(':') && !w.starts_with(':') {
            return None;
        }
        out.push_str(w);
    }
    Some(Cow::Owned(out))
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

/// The CSeq header: sequence number and method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// Sequence number, below 2^31 (RFC 3261 §8.1.1.5).
    pub seq: u32,
    /// The method, as text so unknown methods compare exactly.
    pub method: SmolStr,
}

impl CSeq {
    /// Parses `0009 INVITE` (whitespace may be folded).
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let bad = |reason| ParseError::BadHeader {
            name: name::CSEQ,
            reason,
        };
        let mut words = value.split_whitespace();
        let (Some(num), Some(method), None) = (words.next(), words.next(), words.next()) else {
            return Err(bad("expected number and method"));
        };
        let seq = parse_digits::<u32>(num)
            .filter(|n| *n < 1 << 31)
            .ok_or(bad("bad number"))?;
        if !is_token(method) {
            return Err(bad("bad method"));
        }
        Ok(Self {
            seq,
            method: small(method),
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_case() {
        assert_eq!(HeaderName::parse("v").unwrap().as_str(), "Via");
        assert_eq!(HeaderName::parse("I").unwrap().as_str(), "Call-ID");
        assert_eq!(HeaderName::parse("cALL-iD").unwrap().as_str(), "Call-ID");
        assert_eq!(HeaderName::parse("X-Foo").unwrap().as_str(), "X-Foo");
        assert!(HeaderName::parse("Bad Name").is_err());
    }

    #[test]
    fn via_with_whitespace() {
        let v =
            Via::parse("SIP  / 2.0  / TCP     spindle.example.com   ; branch  =   z9hG4bK9ikj8")
                .unwrap();
        assert_eq!(v.transport, "TCP");
        assert_eq!(v.rfc3261_branch(), Some("z9hG4bK9ikj8"));
        assert_eq!(v.sent_by(), "spindle.example.com");
        let v = Via::parse("SIP/2.0/UDP 192.0.2.1 : 5060;rport").unwrap();
        assert_eq!(v.port, Some(5060));
        assert!(Via::parse("SIP/2.0/UDP a b").is_err());
        assert!(Via::parse("SIP/3.0/UDP a").is_err());
    }

    #[test]
    fn name_addr_forms() {
        let n = NameAddr::parse(
            r#""J Rosenberg \\\"" <sip:jdrosen@example.com> ; tag = 98asjd8"#,
            "From",
        )
        .unwrap();
        assert_eq!(n.tag(), Some("98asjd8"));
        let n = NameAddr::parse("caller<sip:caller@example.com>;tag=323", "From").unwrap();
        assert_eq!(n.display.as_deref(), Some("caller"));
        let n = NameAddr::parse("sip:a@b;tag=1", "To").unwrap();
        assert_eq!(n.tag(), Some("1"));
        assert!(n.uri.as_sip().unwrap().params.is_empty());
        assert!(NameAddr::parse(r#""unterminated <sip:a@b>"#, "To").is_err());
        assert!(NameAddr::parse("Bell, Alexander <sip:a@b>", "From").is_err());
        assert!(NameAddr::parse("<sip:a@b >", "To").is_err());
        assert!(NameAddr::parse("sip:a@b?Route=x", "Contact").is_err());
    }

    #[test]
    fn cseq_bounds() {
        assert_eq!(CSeq::parse("0009\t INVITE").unwrap().seq, 9);
        assert!(CSeq::parse("2147483648 INVITE").is_err());
        assert!(CSeq::parse("1 INVITE x").is_err());
    }
}
