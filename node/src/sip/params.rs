//! `;name=value` parameter lists of URIs and header values.

use std::fmt;

use smallvec::SmallVec;
use smol_str::SmolStr;

use super::text::{is_token, small, split_once_byte, split_outside};

/// An ordered list of parameters; names compare case-insensitively (RFC 3261 §7.3.1).
///
/// Values keep their original text (including quotes) so re-serialising is faithful. Many
/// lists have one entry (a From's `tag`, a URI's `transport`, a REGISTER's Via `branch`) of
/// short text, kept inline: parsing them allocates nothing. Room for two made every URI and
/// name-addr larger, and the parsers move those by value, which cost more than it saved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(SmallVec<[(SmolStr, Option<SmolStr>); 1]>);

impl Params {
    /// Parses parameters as they follow a header value: `;a=1 ; b ;c = "x;y"`.
    ///
    /// Linear whitespace around `;` and `=` is tolerated (RFC 4475 §3.1.1.1); an empty
    /// parameter or a non-token name yields `None` (RFC 4475 §3.1.2.1).
    pub(crate) fn parse_header(s: &str) -> Option<Self> {
        Self::parse(s, true)
    }

    /// Parses URI parameters, where no whitespace is allowed.
    pub(crate) fn parse_uri(s: &str) -> Option<Self> {
        Self::parse(s, false)
    }

    fn parse(s: &str, lws: bool) -> Option<Self> {
        let s = s.trim();
        if s.is_empty() {
            return Some(Self::default());
        }
        let rest = s.strip_prefix(';')?;
        let mut out = SmallVec::new();
        for item in split_outside(rest, b';') {
            let item = item.ok()?;
            let (name, value) = match split_once_byte(item, b'=') {
                Some((n, v)) => (n, Some(v)),
                None => (item, None),
            };
            let name = if lws { name.trim() } else { name };
            if !is_uri_param_text(name) {
                return None;
            }
            let value = match value.map(|v| if lws { v.trim() } else { v }) {
                Some("") => return None,
                Some(v) if !lws && !is_uri_param_text(v) => return None,
                Some(v) => Some(small(v)),
                None => None,
            };
            out.push((small(name), value));
        }
        Some(Self(out))
    }

    /// Whether the parameter is present (with or without a value).
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// The value of the first parameter with this name; `Some(None)` for a flag parameter.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// The value with surrounding double quotes removed, for `+sip.instance="<urn:...>"`.
    #[must_use]
    pub fn get_unquoted(&self, name: &str) -> Option<&str> {
        let v = self.get(name)??;
        Some(
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v),
        )
    }

    /// Sets (replacing) a parameter, e.g. `tag` on To or `received` on Via.
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        self.remove(name);
        self.0.push((small(name), value.map(small)));
    }

    /// Removes every parameter with this name.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Iterates over `(name, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_deref()))
    }

    /// True when there are no parameters.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Characters allowed in parameter names and unquoted values (token plus URI param marks).
fn is_uri_param_text(s: &str) -> bool {
    // Bytes suffice: no byte of a non-ASCII character is graphic ASCII.
    (is_token(s) || s.starts_with('"'))
        || (!s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"' | b';' | b',')))
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in &self.0 {
            match value {
                Some(v) => write!(f, ";{name}={v}")?,
                None => write!(f, ";{name}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_params_tolerate_whitespace() {
        let p = Params::parse_header(" ;   tag    = 1918181833n ; lr").unwrap();
        assert_eq!(p.get("TAG"), Some(Some("1918181833n")));
        assert_eq!(p.get("lr"), Some(None));
        assert_eq!(p.to_string(), ";tag=1918181833n;lr");
    }

    #[test]
    fn empty_params_are_errors() {
        assert!(Params::parse_header(";;").is_none());
        assert!(Params::parse_header(";a=").is_none());
        assert!(Params::parse_uri("; lr").is_none());
    }
}
