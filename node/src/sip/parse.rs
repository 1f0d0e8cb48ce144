//! Bounded parsing of datagrams and stream frames.
//!
//! Work is bounded before anything is allocated per header: the message size is checked
//! first, header lines are counted, and every failure is a [`ParseError`] whose
//! [`status_code`](ParseError::status_code) the caller can answer with.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use smallvec::SmallVec;

use super::error::ParseError;
use super::header::{HeaderName, LIST_HEADERS, name};
use super::message::{Header, Headers, Message, Method, Request, Response};
use super::text::{find_byte, parse_digits, split_once_byte, split_outside};
use super::uri::Uri;

/// Resource limits applied to every message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message (head and body) accepted, in bytes.
    pub max_message: usize,
    /// Most header lines accepted (before list headers are split).
    pub max_headers: usize,
}

impl Default for Limits {
    /// 64 KiB (the largest UDP datagram) and 100 header lines.
    fn default() -> Self {
        Self {
            max_message: 64 * 1024,
            max_headers: 100,
        }
    }
}

/// Parses one message with the default [`Limits`]; see [`parse_message_with`].
pub fn parse_message(buf: &[u8]) -> Result<Message, ParseError> {
    parse_message_with(buf, &Limits::default())
}

/// Parses one message from a datagram or a stream frame.
///
/// Bytes after Content-Length are ignored (RFC 4475 §3.1.1.8); without Content-Length the
/// body runs to the end of `buf`, which is right for UDP and for frames cut by
/// [`frame_stream`].
pub fn parse_message_with(buf: &[u8], limits: &Limits) -> Result<Message, ParseError> {
    if buf.len() > limits.max_message {
        return Err(ParseError::TooLarge {
            size: buf.len(),
            limit: limits.max_message,
        });
    }
    let buf = skip_crlf(buf);
    let (head_len, body_start) = find_head_end(buf).ok_or(ParseError::UnterminatedHead)?;
    let text = head_text(&buf[..head_len]);
    let lines = logical_lines(&text, limits.max_headers.saturating_add(1))?;
    let (start, header_lines) = lines
        .split_first()
        .ok_or(ParseError::BadStartLine("empty"))?;
    // The one copy of the head that all header values share, made once the lines are counted;
    // the same text, so the lines' ranges hold in it.
    let head: Arc<str> = Arc::from(&*text);
    let headers = parse_headers(&head, header_lines)?;
    let body = body_of(&headers, &buf[body_start..])?;
    let start = start.text(&head);
    let msg = if start.starts_with("SIP/") {
        let (status, reason) = parse_status_line(&start)?;
        Message::Response(Response {
            status,
            reason,
            headers,
            body,
        })
    } else {
        let (method, uri) = parse_request_line(&start)?;
        Message::Request(Request {
            method,
            uri,
            headers,
            body,
        })
    };
    validate(&msg)?;
    Ok(msg)
}

/// The head as text: borrowed when it is UTF-8, as it nearly always is (checked by
/// `str::from_utf8`, several times faster than `from_utf8_lossy`'s chunk walk); otherwise a
/// copy with the invalid bytes replaced (they are tolerated in headers, never rejected).
fn head_text(head: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(head) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(head),
    }
}

/// Skips CRLFs that precede a start line (RFC 3261 §7.5, keep-alives).
pub(crate) fn skip_crlf(buf: &[u8]) -> &[u8] {
    let n = buf
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    &buf[n..]
}

/// Finds the empty line: returns (head length, body offset). Bare LF endings are tolerated.
fn find_head_end(buf: &[u8]) -> Option<(usize, usize)> {
    for nl in memchr::memchr_iter(b'\n', buf) {
        if buf.get(nl + 1) == Some(&b'\n') {
            return Some((nl, nl + 2));
        }
        if buf.get(nl + 1..nl + 3) == Some(b"\r\n") {
            return Some((nl, nl + 3));
        }
    }
    None
}

/// One logical line of a head: the range of its physical lines (without the last line end),
/// of which there are several when continuation lines were folded into it.
#[derive(Debug, Clone)]
struct Line {
    range: Range<usize>,
    folded: bool,
}

impl Line {
    /// The line's text; folded lines are joined with one space, the continuations trimmed,
    /// which only they are copied for.
    fn text<'h>(&self, head: &'h str) -> Cow<'h, str> {
        let raw = head.get(self.range.clone()).unwrap_or_default();
        if !self.folded {
            return Cow::Borrowed(raw);
        }
        let mut physical = raw.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let mut joined = physical.next().unwrap_or_default().to_owned();
        for continuation in physical {
            joined.push(' ');
            joined.push_str(continuation.trim());
        }
        Cow::Owned(joined)
    }
}

/// Splits the head into at most `max_lines` logical lines, recognising continuation lines;
/// more lines are a header flood, found before anything is allocated per header. A typical
/// head's lines are indexed on the stack.
fn logical_lines(head: &str, max_lines: usize) -> Result<SmallVec<[Line; 24]>, ParseError> {
    let mut lines: SmallVec<[Line; 24]> = SmallVec::new();
    let bytes = head.as_bytes();
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    let mut start = 0;
    for end in ends {
        // `start..end` is one physical line without its LF; a CR before the LF is cut too.
        let range = start..if end > start && bytes.get(end - 1) == Some(&b'\r') {
            end - 1
        } else {
            end
        };
        let continued = matches!(bytes.get(start), Some(b' ' | b'\t'));
        start = end + 1;
        if lines.len() >= max_lines && !continued {
            return Err(ParseError::TooManyHeaders {
                limit: max_lines.saturating_sub(1),
            });
        }
        if continued {
            let last = lines
                .last_mut()
                .ok_or(ParseError::BadStartLine("starts with whitespace"))?;
            last.range.end = range.end;
            last.folded = true;
        } else {
            lines.push(Line {
                range,
                folded: false,
            });
        }
    }
    Ok(lines)
}

/// Parses header lines; list headers become one entry per value. Values are ranges of `head`
/// except those of folded lines, which own their joined text.
fn parse_headers(head: &Arc<str>, lines: &[Line]) -> Result<Headers, ParseError> {
    let mut headers = Headers::with_capacity(lines.len());
    for line in lines {
        match line.text(head) {
            Cow::Borrowed(text) => parse_field(text, |name, value| {
                headers.push_shared(name, head, range_in(head, value));
            })?,
            Cow::Owned(text) => parse_field(&text, |name, value| headers.push(name, value))?,
        }
    }
    Ok(headers)
}

/// Parses one `name: value` line, handing each value (one per item of a list header) to
/// `push`.
fn parse_field<'t>(
    line: &'t str,
    mut push: impl FnMut(HeaderName, &'t str),
) -> Result<(), ParseError> {
    let (raw_name, value) = split_once_byte(line, b':').ok_or(ParseError::BadHeaderLine)?;
    let name = HeaderName::parse(raw_name.trim_end())?;
    let value = value.trim();
    match LIST_HEADERS.iter().find(|l| name.is(l)) {
        Some(list) => {
            let bad = ParseError::BadHeader {
                name: list,
                reason: "bad list",
            };
            for item in split_outside(value, b',') {
                let item = item.map_err(|_| bad.clone())?.trim();
                if item.is_empty() {
                    return Err(bad);
                }
                push(name.clone(), item);
            }
        }
        None => push(name, value),
    }
    Ok(())
}

/// The range of `part`, a subslice of `whole` (as `trim` and `split` return), within it.
fn range_in(whole: &str, part: &str) -> Range<usize> {
    let start = (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize);
    start..start + part.len()
}

/// Cuts the body to Content-Length.
fn body_of(headers: &Headers, rest: &[u8]) -> Result<Vec<u8>, ParseError> {
    match headers.content_length()? {
        Some(n) if n > rest.len() => Err(ParseError::BodyTruncated {
            announced: n,
            available: rest.len(),
        }),
        Some(n) => Ok(rest[..n].to_vec()),
        None => Ok(rest.to_vec()),
    }
}

/// `METHOD SP Request-URI SP SIP/2.0`, single spaces only (RFC 4475 §3.1.2.8–10).
fn parse_request_line(line: &str) -> Result<(Method, Uri), ParseError> {
    let three = split_once_byte(line, b' ')
        .and_then(|(method, rest)| Some((method, split_once_byte(rest, b' ')?)))
        .filter(|(_, (_, version))| find_byte(version, b' ').is_none());
    let Some((method, (uri, version))) = three else {
        return Err(ParseError::BadStartLine("expected three elements"));
    };
    let method = Method::parse(method)?;
    check_version(version)?;
    let uri = Uri::parse(uri)?;
    if uri.as_sip().is_some_and(|u| u.headers.is_some()) {
        return Err(ParseError::BadUri("headers in Request-URI"));
    }
    Ok((method, uri))
}

/// `SIP/2.0 SP 3DIGIT SP reason`; the reason may be empty and contain any UTF-8.
fn parse_status_line(line: &str) -> Result<(u16, String), ParseError> {
    let (version, rest) = line
        .split_once(' ')
        .ok_or(ParseError::BadStartLine("no status"))?;
    check_version(version)?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    let status = parse_digits::<u16>(code)
        .filter(|c| code.len() == 3 && (100..700).contains(c))
        .ok_or(ParseError::BadStartLine("bad status code"))?;
    Ok((status, reason.to_owned()))
}

fn check_version(v: &str) -> Result<(), ParseError> {
    match v {
        "SIP/2.0" => Ok(()),
        v if v.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("SIP/")) => {
            Err(ParseError::UnsupportedVersion(v.to_owned()))
        }
        _ => Err(ParseError::BadStartLine("bad version")),
    }
}

/// Headers a message may have once, in the order their duplicates are reported.
const SINGLE: [&str; 6] = [
    name::FROM,
    name::TO,
    name::CALL_ID,
    name::CSEQ,
    name::MAX_FORWARDS,
    name::CONTENT_LENGTH,
];

/// Checks what the transaction layer and proxy rely on: mandatory headers present, parseable
/// and not duplicated, CSeq method consistent (RFC 4475 §3.1.2.17, §3.3.1, §3.3.8, §3.3.9).
fn validate(msg: &Message) -> Result<(), ParseError> {
    let h = msg.headers();
    // One pass finds every single header; a lookup by name for each check was a scan of all
    // headers.
    let mut first: [Option<&Header>; SINGLE.len()] = [None; SINGLE.len()];
    let mut duplicated = [false; SINGLE.len()];
    for header in h.iter() {
        if let Some(i) = SINGLE.iter().position(|n| header.name().is(n)) {
            duplicated[i] |= first[i].is_some();
            first[i].get_or_insert(header);
        }
    }
    if let Some(i) = duplicated.iter().position(|d| *d) {
        return Err(ParseError::DuplicateHeader(SINGLE[i]));
    }
    let [from, to, call_id, cseq, ..] = first;
    // Each typed read parses and caches the entry; nothing is collected.
    if h.via_count()? == 0 {
        return Err(ParseError::MissingHeader(name::VIA));
    }
    from.ok_or(ParseError::MissingHeader(name::FROM))?
        .name_addr(name::FROM)?;
    to.ok_or(ParseError::MissingHeader(name::TO))?
        .name_addr(name::TO)?;
    let call_id = call_id.ok_or(ParseError::MissingHeader(name::CALL_ID))?;
    if call_id.value().is_empty() {
        return Err(ParseError::BadHeader {
            name: name::CALL_ID,
            reason: "empty",
        });
    }
    let cseq = cseq.ok_or(ParseError::MissingHeader(name::CSEQ))?.cseq()?;
    h.check_contacts()?;
    if let Message::Request(r) = msg {
        if cseq.method != r.method.as_str() {
            return Err(ParseError::CSeqMismatch);
        }
        h.max_forwards()?;
    }
    Ok(())
}

/// What [`frame_stream`] found at the start of a stream buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete message occupies the first `len` bytes; parse them and drain them.
    Message {
        /// Bytes of head and body.
        len: usize,
    },
    /// `len` bytes of CRLF keep-alive to drain; no message. A double-CRLF ping is answered
    /// with a single CRLF pong (RFC 5626 §4.4.1).
    Keepalive {
        /// Bytes to drain.
        len: usize,
    },
    /// The buffer holds only part of a message; read more.
    NeedMore,
    /// The stream cannot be framed (too large or bad Content-Length); close the connection
    /// after answering with the error's status if possible.
    Invalid(ParseError),
}

/// Finds the length of the next message in a TCP/TLS byte buffer by Content-Length
/// (RFC 3261 §18.3). A missing Content-Length counts as 0.
#[must_use]
pub fn frame_stream(buf: &[u8], limits: &Limits) -> Frame {
    let crlf = buf
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    if crlf > 0 {
        return Frame::Keepalive { len: crlf };
    }
    let window = &buf[..buf.len().min(limits.max_message)];
    let Some((head_len, body_start)) = find_head_end(window) else {
        return if buf.len() >= limits.max_message {
            Frame::Invalid(ParseError::TooLarge {
                size: buf.len(),
                limit: limits.max_message,
            })
        } else {
            Frame::NeedMore
        };
    };
    let body_len = match stream_content_length(&buf[..head_len]) {
        Ok(n) => n,
        Err(e) => return Frame::Invalid(e),
    };
    let total = body_start.saturating_add(body_len);
    if total > limits.max_message {
        Frame::Invalid(ParseError::TooLarge {
            size: total,
            limit: limits.max_message,
        })
    } else if buf.len() < total {
        Frame::NeedMore
    } else {
        Frame::Message { len: total }
    }
}

/// Reads Content-Length (or `l`) from a head without parsing anything else.
fn stream_content_length(head: &[u8]) -> Result<usize, ParseError> {
    let head = head_text(head);
    let bad = ParseError::BadHeader {
        name: name::CONTENT_LENGTH,
        reason: "not a length",
    };
    let mut found = None;
    for line in logical_lines(&head, usize::MAX)?.iter().skip(1) {
        let line = line.text(&head);
        let Some((n, v)) = line.split_once(':') else {
            continue;
        };
        if HeaderName::parse(n.trim_end()).is_ok_and(|n| n.is(name::CONTENT_LENGTH)) {
            let len = parse_digits::<usize>(v.trim()).ok_or(bad.clone())?;
            if found.is_some_and(|f| f != len) {
                return Err(ParseError::DuplicateHeader(name::CONTENT_LENGTH));
            }
            found = Some(len);
        }
    }
    Ok(found.unwrap_or(0))
}
