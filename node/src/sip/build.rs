//! Building messages from messages: responses to requests, error replies to unparseable
//! input, and fresh RFC 3261 branches.

use std::net::SocketAddr;

use rand::RngCore;

use super::error::ParseError;
use super::header::{HeaderName, MAGIC_COOKIE, Via, name};
use super::message::{Headers, Request, Response};
use super::params::Params;

/// Builds a response that copies Via, From, To, Call-ID and CSeq from the request
/// (RFC 3261 §8.2.6.2).
///
/// `to_tag` is added to To when the request has none and the status is above 100, so the
/// response can establish a dialog; a 100 Trying never carries a new tag.
#[must_use]
pub fn response_for(
    request: &Request,
    status: u16,
    reason: &str,
    to_tag: Option<&str>,
) -> Response {
    response_from_headers(&request.headers, status, reason, to_tag)
}

/// [`response_for`] working from headers alone, also used for salvaged error replies.
fn response_from_headers(
    src: &Headers,
    status: u16,
    reason: &str,
    to_tag: Option<&str>,
) -> Response {
    // Copies share the request's text and parses: no allocation, no parse of To again.
    let mut headers = Headers::with_capacity(8);
    for via in src.entries(name::VIA) {
        headers.push_copy(HeaderName::from_static(name::VIA), via);
    }
    for h in [name::FROM, name::TO, name::CALL_ID, name::CSEQ] {
        if let Some(v) = src.entries(h).next() {
            headers.push_copy(HeaderName::from_static(h), v);
        }
    }
    if let (Some(tag), true) = (to_tag, status > 100) {
        add_to_tag(&mut headers, tag);
    }
    Response {
        status,
        reason: reason.to_owned(),
        headers,
        body: Vec::new(),
    }
}

/// Adds `;tag=` to To unless it already has one.
fn add_to_tag(headers: &mut Headers, tag: &str) {
    let Ok(to) = headers.to() else { return };
    if to.tag().is_none() {
        // Header parameters follow the address in both forms (name-addr and addr-spec), so
        // the tag is appended to the text as it came.
        let value = [headers.get(name::TO).unwrap_or_default(), ";tag=", tag].concat();
        headers.set(HeaderName::from_static(name::TO), value);
    }
}

/// The reply a server owes to a request it could not parse, or `None` when it must drop the
/// input silently (a response, or no usable Via / From / To / Call-ID / CSeq to answer with).
///
/// Salvaging scans the raw lines loosely and never fails on its own; it is the caller's choice
/// to call it only for datagrams or streams that warrant an answer.
#[must_use]
pub fn error_response(buf: &[u8], error: &ParseError) -> Option<Response> {
    let limit = buf.len().min(64 * 1024);
    let text = String::from_utf8_lossy(&buf[..limit]);
    let mut lines = text.lines().skip_while(|l| l.trim().is_empty());
    let start = lines.next()?;
    if start.starts_with("SIP/") {
        return None;
    }
    let mut headers = Headers::default();
    for line in lines.take(200).take_while(|l| !l.trim().is_empty()) {
        let Some((n, v)) = line.split_once(':') else {
            continue;
        };
        let Ok(n) = HeaderName::parse(n.trim_end()) else {
            continue;
        };
        let wanted = [name::VIA, name::FROM, name::TO, name::CALL_ID, name::CSEQ];
        if wanted.iter().any(|w| n.is(w)) && (n.is(name::VIA) || headers.get(n.as_str()).is_none())
        {
            headers.push(n, v.trim());
        }
    }
    let via = headers
        .get(name::VIA)
        .map(|v| v.split(',').next().unwrap_or(v))?;
    Via::parse(via).ok()?;
    if [name::FROM, name::TO, name::CALL_ID, name::CSEQ]
        .iter()
        .any(|h| headers.get(h).is_none())
    {
        return None;
    }
    let mut resp =
        response_from_headers(&headers, error.status_code(), error.reason_phrase(), None);
    resp.headers.remove_all(name::VIA);
    resp.headers
        .push_front(HeaderName::from_static(name::VIA), via.trim());
    Some(resp)
}

/// A new branch: the magic cookie plus 64 random bits in hex (RFC 3261 §8.1.1.7).
///
/// The RNG comes from the caller so that simulations stay deterministic.
pub fn new_branch(rng: &mut impl RngCore) -> String {
    format!("{MAGIC_COOKIE}{:016x}", rng.next_u64())
}

/// A new tag for From/To: 64 random bits in hex.
pub fn new_tag(rng: &mut impl RngCore) -> String {
    format!("{:016x}", rng.next_u64())
}

/// A Via value for this hop, e.g. `SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK…;rport`.
#[must_use]
pub fn via_value(transport: &str, sent_by: &str, branch: &str) -> String {
    let mut params = Params::default();
    params.set("branch", Some(branch));
    params.set("rport", None);
    format!("SIP/2.0/{transport} {sent_by}{params}")
}

/// Records on the top Via where a request really came from: `received` when the source IP
/// differs from sent-by, and the `rport` value when the client asked for it (RFC 3581), so
/// responses, including statelessly forwarded ones, find their way back through NATs.
pub fn stamp_received(request: &mut Request, source: SocketAddr) -> Result<(), ParseError> {
    let top = request.headers.top_via()?;
    let ip = source.ip().to_string();
    let add_received = top.host.trim_start_matches('[').trim_end_matches(']') != ip;
    let fill_rport = top.params.contains("rport");
    if !add_received && !fill_rport {
        return Ok(());
    }
    let mut via = top.clone();
    if add_received {
        via.params.set("received", Some(&ip));
    }
    if fill_rport {
        via.params.set("rport", Some(&source.port().to_string()));
    }
    request.headers.replace_first(name::VIA, via.to_string());
    Ok(())
}

/// Decrements Max-Forwards for forwarding; `None` means the request must be answered 483
/// (RFC 3261 §16.3 step 2). A missing header is treated as 70.
pub fn decrement_max_forwards(request: &mut Request) -> Result<Option<u8>, ParseError> {
    let left = request.headers.max_forwards()?.unwrap_or(70);
    let Some(next) = left.checked_sub(1) else {
        return Ok(None);
    };
    request.headers.set(
        HeaderName::from_static(name::MAX_FORWARDS),
        next.to_string(),
    );
    Ok(Some(next))
}
