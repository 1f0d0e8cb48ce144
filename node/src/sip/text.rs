//! Character classes and quote-aware splitting shared by the header and URI parsers.
//!
//! SIP separators (`,` between list values, `;` between parameters) may appear inside
//! quoted strings and inside `<...>`; these helpers skip both so a display name such as
//! `"Doe, John"` never splits a Contact list.

/// RFC 3261 `token` characters: alphanumerics and `-.!%*_+`'~`.
pub(crate) fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

/// True when `s` is a non-empty RFC 3261 token.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_token_char)
}

/// Splits `s` on `sep` outside quoted strings and angle brackets.
///
/// Returns `None` for an unterminated quoted string or unbalanced `<`, which callers turn
/// into a parse error (RFC 4475 §3.1.2.6).
pub(crate) fn split_outside(s: &str, sep: char) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    let mut angle = false;
    for (i, c) in s.char_indices() {
        if in_quotes {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_quotes = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_quotes = true,
            '<' if !angle => angle = true,
            '>' if angle => angle = false,
            c if c == sep && !angle => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if in_quotes || angle {
        return None;
    }
    parts.push(&s[start..]);
    Some(parts)
}

/// Byte offset of the first `c` outside quoted strings, if any.
pub(crate) fn find_outside_quotes(s: &str, c: char) -> Option<usize> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, ch) in s.char_indices() {
        if in_quotes {
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_quotes = false,
                _ => {}
            }
        } else if ch == '"' {
            in_quotes = true;
        } else if ch == c {
            return Some(i);
        }
    }
    None
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
        let parts = split_outside(r#""Doe, J" <sip:a@b;x=1,2>, <sip:c@d>"#, ',').unwrap();
        assert_eq!(parts.len(), 2);
        assert!(split_outside(r#""open <sip:a@b>"#, ',').is_none());
        assert!(split_outside("<sip:a@b", ',').is_none());
    }

    #[test]
    fn digits_reject_signs_and_overflow() {
        assert_eq!(parse_digits::<u32>("0009"), Some(9));
        assert_eq!(parse_digits::<u32>("-1"), None);
        assert_eq!(parse_digits::<u32>("99999999999"), None);
    }
}
