//! Character classes and quote-aware splitting shared by the header and URI parsers.
//!
//! SIP separators (`,` between list values, `;` between parameters) may appear inside
//! quoted strings and inside `<...>`; these helpers skip both so a display name such as
//! `"Doe, John"` never splits a Contact list.

use smol_str::SmolStr;

/// RFC 3261 `token` bytes, as a table: names, methods and parameters of every message are
/// checked byte by byte.
const TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < table.len() {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        i += 1;
    }
    table
};

/// RFC 3261 `token` characters: alphanumerics and `-.!%*_+`'~`.
#[inline]
pub(crate) fn is_token_char(c: char) -> bool {
    c.is_ascii() && TOKEN[c as usize]
}

/// True when `s` is a non-empty RFC 3261 token.
#[inline]
pub(crate) fn is_token(s: &str) -> bool {
    // Bytes suffice: every byte of a non-ASCII character is outside the table.
    !s.is_empty() && s.bytes().all(|b| TOKEN[usize::from(b)])
}

/// Byte offset of the first ASCII `b` in `s`.
///
/// A plain byte loop: on the short strings of a header value it is cheaper than
/// `str::find(char)`, which calls memchr and then compares the match as a slice.
#[inline]
pub(crate) fn find_byte(s: &str, b: u8) -> Option<usize> {
    s.bytes().position(|c| c == b)
}

/// `s` split around the first ASCII `b` (see [`find_byte`]).
#[inline]
pub(crate) fn split_once_byte(s: &str, b: u8) -> Option<(&str, &str)> {
    let i = find_byte(s, b)?;
    // An ASCII byte is a character boundary on both sides.
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// `s` as a [`SmolStr`], inline up to 23 bytes: what `SmolStr::new` makes, whose inline path is
/// a call that copies the bytes and reads them back as words (a store-forwarding stall).
#[inline]
pub(crate) fn small(s: &str) -> SmolStr {
    if s.len() <= SmolStr::INLINE_CAP {
        SmolStr::new_inline(s)
    } else {
        SmolStr::new(s)
    }
}

/// An unterminated quoted string or unbalanced `<` met by [`split_outside`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unbalanced;

/// Splits `s` on the ASCII `sep` outside quoted strings and angle brackets, lazily: a header
/// value is split once per message, and a `Vec` of its parts was an allocation each time.
///
/// An unterminated quoted string or unbalanced `<` ends the parts with `Err(Unbalanced)`
/// instead of the last part, which callers turn into a parse error (RFC 4475 §3.1.2.6).
/// Scanning bytes is exact: no byte of a multi-byte character is ASCII.
pub(crate) fn split_outside(s: &str, sep: u8) -> SplitOutside<'_> {
    SplitOutside {
        s,
        sep,
        start: Some(0),
    }
}

/// The iterator of [`split_outside`].
pub(crate) struct SplitOutside<'a> {
    s: &'a str,
    sep: u8,
    /// Where the next part starts; `None` once the last one was returned.
    start: Option<usize>,
}

impl<'a> Iterator for SplitOutside<'a> {
    type Item = Result<&'a str, Unbalanced>;

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.start.take()?;
        let rest = self.s.get(start..)?;
        // A separator counts only outside quotes and brackets, so each part starts outside.
        let mut quotes = Quotes::default();
        let mut angle = false;
        for (i, b) in rest.bytes().enumerate() {
            if quotes.inside(b) {
                continue;
            }
            match b {
                b'<' if !angle => angle = true,
                b'>' if angle => angle = false,
                b if b == self.sep && !angle => {
                    self.start = Some(start + i + 1);
                    return rest.get(..i).map(Ok);
                }
                _ => {}
            }
        }
        Some(if quotes.open || angle {
            Err(Unbalanced)
        } else {
            Ok(rest)
        })
    }
}

/// Byte offset of the first ASCII `c` outside quoted strings, if any.
pub(crate) fn find_outside_quotes(s: &str, c: u8) -> Option<usize> {
    let mut quotes = Quotes::default();
    s.bytes().position(|b| !quotes.inside(b) && b == c)
}

/// Tracks quoted strings (with backslash escapes) through a byte scan.
#[derive(Default)]
struct Quotes {
    /// Inside a quoted string.
    open: bool,
    /// The previous byte was a backslash inside one.
    escaped: bool,
}

impl Quotes {
    /// Feeds the next byte; true when it belongs to a quoted string, its quotes included.
    fn inside(&mut self, b: u8) -> bool {
        if self.open {
            match (self.escaped, b) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.open = false,
                _ => {}
            }
            true
        } else if b == b'"' {
            self.open = true;
            true
        } else {
            false
        }
    }
}

/// Parses an unsigned decimal made only of ASCII digits; `None` on anything else or overflow.
pub(crate) fn parse_digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_respects_quotes_and_brackets() {
        let parts: Vec<_> = split_outside(r#""Doe, J" <sip:a@b;x=1,2>, <sip:c@d>"#, b',').collect();
        assert_eq!(parts, [Ok(r#""Doe, J" <sip:a@b;x=1,2>"#), Ok(" <sip:c@d>")]);
        let open: Vec<_> = split_outside(r#"<sip:a@b>, "open <sip:c@d>"#, b',').collect();
        assert_eq!(open, [Ok("<sip:a@b>"), Err(Unbalanced)]);
        assert_eq!(
            split_outside("<sip:a@b", b',').collect::<Vec<_>>(),
            [Err(Unbalanced)]
        );
        assert_eq!(split_outside("", b';').collect::<Vec<_>>(), [Ok("")]);
    }

    #[test]
    fn digits_reject_signs_and_overflow() {
        assert_eq!(parse_digits::<u32>("0009"), Some(9));
        assert_eq!(parse_digits::<u32>("-1"), None);
        assert_eq!(parse_digits::<u32>("99999999999"), None);
    }
}
