//! SIP and other URIs.
//!
//! `sip:` / `sips:` URIs are parsed into parts because routing, transaction matching and the
//! registrar need the host, port, user and parameters. Any other absolute URI (`tel:`,
//! `isbn:`, RFC 4475 §3.3.2) is kept as text: a proxy must carry it, not understand it.

use std::fmt;

use smol_str::SmolStr;

use super::error::ParseError;
use super::params::Params;
use super::text::{find_byte, small, split_once_byte};

/// The port a `sip:` URI (or Via sent-by) that names none means (RFC 3261 §19.1.2).
pub const DEFAULT_PORT: u16 = 5060;

/// A Request-URI or the URI inside a name-addr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uri {
    /// A `sip:` or `sips:` URI.
    Sip(SipUri),
    /// Any other absolute URI, kept verbatim.
    Other(String),
}

/// The parts of a `sip:` / `sips:` URI (RFC 3261 §19.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    /// `sips:` rather than `sip:`.
    pub secure: bool,
    /// The userinfo (user and optional password), still %-escaped.
    pub user: Option<SmolStr>,
    /// Host name, IPv4 address or bracketed IPv6 reference.
    pub host: SmolStr,
    /// Explicit port, if given.
    pub port: Option<u16>,
    /// URI parameters (`;transport=tcp;lr`).
    pub params: Params,
    /// The `?headers` part without the `?`, which is illegal in a Request-URI.
    pub headers: Option<String>,
}

impl Uri {
    /// Parses a URI; whitespace, `<`, `>` or `"` anywhere make it invalid (RFC 4475 §3.1.2.7/8, §3.1.2.14).
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        // ASCII whitespace is `\t`..=`\r` and space; other Unicode whitespace only needs
        // looking for in non-ASCII text.
        let illegal = |b| matches!(b, b'\t'..=b'\r' | b' ' | b'<' | b'>' | b'"');
        if s.is_empty()
            || s.bytes().any(illegal)
            || (!s.is_ascii() && s.chars().any(char::is_whitespace))
        {
            return Err(ParseError::BadUri("illegal character"));
        }
        let (scheme, rest) = split_once_byte(s, b':').ok_or(ParseError::BadUri("no scheme"))?;
        let mut chars = scheme.chars();
        let valid_scheme = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !valid_scheme {
            return Err(ParseError::BadUri("bad scheme"));
        }
        if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
            let secure = scheme.eq_ignore_ascii_case("sips");
            return SipUri::parse_rest(secure, rest).map(Uri::Sip);
        }
        if rest.is_empty() {
            return Err(ParseError::BadUri("empty URI body"));
        }
        Ok(Uri::Other(s.to_owned()))
    }

    /// The SIP URI, if this is one.
    #[must_use]
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            Uri::Other(_) => None,
        }
    }
}

impl SipUri {
    fn parse_rest(secure: bool, rest: &str) -> Result<Self, ParseError> {
        // '@' cannot occur unescaped in user, password, params or headers, so the first one
        // ends the userinfo even when the user part holds ';' or '?' (RFC 4475 §3.1.1.9).
        let (user, hostpart) = match split_once_byte(rest, b'@') {
            Some(("", _)) => return Err(ParseError::BadUri("empty user")),
            Some((u, h)) => (Some(small(u)), h),
            None => (None, rest),
        };
        let (before_headers, headers) = match split_once_byte(hostpart, b'?') {
            Some((b, h)) => (b, Some(h.to_owned())),
            None => (hostpart, None),
        };
        let (hostport, params) = match find_byte(before_headers, b';') {
            Some(i) => before_headers.split_at(i),
            None => (before_headers, ""),
        };
        let (host, port) = parse_hostport(hostport)?;
        let params = Params::parse_uri(params).ok_or(ParseError::BadUri("bad parameter"))?;
        Ok(Self {
            secure,
            user,
            host: small(host),
            port,
            params,
            headers,
        })
    }

    /// The user part without any `:password`.
    #[must_use]
    pub fn user_name(&self) -> Option<&str> {
        self.user
            .as_deref()
            .map(|u| u.split_once(':').map_or(u, |(n, _)| n))
    }
}

/// Splits and validates `host[:port]`, used by URIs and by Via sent-by.
pub(crate) fn parse_hostport(s: &str) -> Result<(&str, Option<u16>), ParseError> {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let (addr, after) = split_once_byte(v6, b']').ok_or(ParseError::BadUri("unclosed IPv6"))?;
        if addr.is_empty()
            || !addr
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(ParseError::BadUri("bad IPv6 reference"));
        }
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or(ParseError::BadUri("junk after IPv6"))?,
            ),
        };
        (&s[..addr.len() + 2], port)
    } else {
        match split_once_byte(s, b':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let valid_host = !host.is_empty()
        && (host.starts_with('[')
            || host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')));
    if !valid_host {
        return Err(ParseError::BadUri("bad host"));
    }
    let port = match port {
        Some(p) => Some(super::text::parse_digits::<u16>(p).ok_or(ParseError::BadUri("bad port"))?),
        None => None,
    };
    Ok((host, port))
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.secure { "sips:" } else { "sip:" })?;
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        f.write_str(&self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "{}", self.params)?;
        if let Some(h) = &self.headers {
            write!(f, "?{h}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::Sip(u) => u.fmt(f),
            Uri::Other(s) => f.write_str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(s: &str) -> SipUri {
        match Uri::parse(s).unwrap() {
            Uri::Sip(u) => u,
            Uri::Other(o) => panic!("not sip: {o}"),
        }
    }

    #[test]
    fn parses_parts() {
        let u = sip("sips:alice:pw@Example.COM:5061;transport=tcp;lr?Subject=hi");
        assert!(u.secure);
        assert_eq!(u.user_name(), Some("alice"));
        assert_eq!(u.host, "Example.COM");
        assert_eq!(u.port, Some(5061));
        assert!(u.params.contains("lr"));
        assert_eq!(u.headers.as_deref(), Some("Subject=hi"));
        assert_eq!(
            u.to_string(),
            "sips:alice:pw@Example.COM:5061;transport=tcp;lr?Subject=hi"
        );
    }

    #[test]
    fn user_part_may_hold_semicolons() {
        let u = sip("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user.as_deref(), Some("user;par=u%40example.net"));
        assert_eq!(u.host, "example.com");
    }

    #[test]
    fn ipv6_and_other_schemes() {
        assert_eq!(sip("sip:[2001:db8::10]:5070").port, Some(5070));
        assert_eq!(
            Uri::parse("tel:+1-555").unwrap(),
            Uri::Other("tel:+1-555".into())
        );
    }

    #[test]
    fn rejects_bad_uris() {
        for bad in [
            "<sip:a@b>",
            "sip:a@b c",
            "sip:a@b:99999",
            "sip:",
            "1x:y",
            "sip:a@",
            "sip:@b",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad}");
        }
    }
}
