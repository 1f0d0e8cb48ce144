//! Bounded parsing of datagrams and stream frames.
//!
//! Work is bounded before anything is allocated per header: the message size is checked
//! first, header lines are counted, and every failure is a [`ParseError`] whose
//! [`status_code`](ParseError::status_code) the caller can answer with.

use std::borrow::Cow;

use super::error::ParseError;
use super::header::{HeaderName, LIST_HEADERS, name};
use super::message::{Headers, Message, Method, Request, Response};
use super::text::{parse_digits, split_outside};
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
    let head = String::from_utf8_lossy(&buf[..head_len]);
    let lines = logical_lines(&head, limits.max_headers.saturating_add(1))?;
    let (start, header_lines) = lines
        .split_first()
        .ok_or(ParseError::BadStartLine("empty"))?;
    let headers = parse_headers(header_lines)?;
    let body = body_of(&headers, &buf[body_start..])?;
    let msg = if start.starts_with("SIP/") {
        let (status, reason) = parse_status_line(start)?;
        Message::Response(Response {
            status,
            reason,
            headers,
            body,
        })
    } else {
        let (method, uri) = parse_request_line(start)?;
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

/// Skips CRLFs that precede a start line (RFC 3261 §7.5, keep-alives).
fn skip_crlf(buf: &[u8]) -> &[u8] {
    let n = buf
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    &buf[n..]
}

/// Finds the empty line: returns (head length, body offset). Bare LF endings are tolerated.
fn find_head_end(buf: &[u8]) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(off) = buf[from..].iter().position(|b| *b == b'\n') {
        let nl = from + off;
        if buf.get(nl + 1) == Some(&b'\n') {
            return Some((nl, nl + 2));
        }
        if buf.get(nl + 1..nl + 3) == Some(b"\r\n") {
            return Some((nl, nl + 3));
        }
        from = nl + 1;
    }
    None
}

/// Splits the head into at most `max_lines` lines, joining folded continuation lines with
/// one space; more lines are a header flood.
fn logical_lines(head: &str, max_lines: usize) -> Result<Vec<Cow<'_, str>>, ParseError> {
    let mut lines: Vec<Cow<'_, str>> = Vec::with_capacity(16);
    for raw in head.split('\n') {
        if lines.len() >= max_lines && !raw.starts_with([' ', '\t']) {
            return Err(ParseError::TooManyHeaders {
                limit: max_lines.saturating_sub(1),
            });
        }
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.starts_with([' ', '\t']) {
            // Folded: only these lines are copied, to join them.
            let last = lines
                .last_mut()
                .ok_or(ParseError::BadStartLine("starts with whitespace"))?
                .to_mut();
            last.push(' ');
            last.push_str(raw.trim());
        } else {
            lines.push(Cow::Borrowed(raw));
        }
    }
    Ok(lines)
}

/// Parses header lines; list headers become one entry per value.
fn parse_headers(lines: &[Cow<'_, str>]) -> Result<Headers, ParseError> {
    let mut headers = Headers::with_capacity(lines.len());
    for line in lines {
        let (raw_name, value) = line.split_once(':').ok_or(ParseError::BadHeaderLine)?;
        let name = HeaderName::parse(raw_name.trim_end())?;
        let value = value.trim();
        match LIST_HEADERS.iter().find(|l| name.is(l)) {
            Some(list) => {
                let bad = ParseError::BadHeader {
                    name: list,
                    reason: "bad list",
                };
                for item in split_outside(value, ',').ok_or(bad.clone())? {
                    if item.trim().is_empty() {
                        return Err(bad);
                    }
                    headers.push(name.clone(), item.trim());
                }
            }
            None => headers.push(name, value),
        }
    }
    Ok(headers)
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
    let parts: Vec<&str> = line.split(' ').collect();
    let [method, uri, version] = parts[..] else {
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

/// Checks what the transaction layer and proxy rely on: mandatory headers present, parseable
/// and not duplicated, CSeq method consistent (RFC 4475 §3.1.2.17, §3.3.1, §3.3.8, §3.3.9).
fn validate(msg: &Message) -> Result<(), ParseError> {
    let h = msg.headers();
    for single in [
        name::FROM,
        name::TO,
        name::CALL_ID,
        name::CSEQ,
        name::MAX_FORWARDS,
        name::CONTENT_LENGTH,
    ] {
        if h.get_all(single).nth(1).is_some() {
            return Err(ParseError::DuplicateHeader(single));
        }
    }
    if h.vias()?.is_empty() {
        return Err(ParseError::MissingHeader(name::VIA));
    }
    h.from()?;
    h.to()?;
    if h.call_id()?.is_empty() {
        return Err(ParseError::BadHeader {
            name: name::CALL_ID,
            reason: "empty",
        });
    }
    let cseq = h.cseq()?;
    h.contacts()?;
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
    let head = String::from_utf8_lossy(head);
    let bad = ParseError::BadHeader {
        name: name::CONTENT_LENGTH,
        reason: "not a length",
    };
    let mut found = None;
    for line in logical_lines(&head, usize::MAX)?.iter().skip(1) {
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
