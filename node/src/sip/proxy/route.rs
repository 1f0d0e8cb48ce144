//! Where a request goes next: own-Route popping, next hop, contact addresses (RFC 3261 §16.4–16.6).
//!
//! The core resolves no host names: a next hop must be an IP literal (contacts registered by
//! phones, Record-Route entries written by super-nodes). Anything else would need a DNS
//! output; requests for foreign domains are therefore answered 404 (see the module doc of
//! [`super`]).

use std::net::{IpAddr, SocketAddr};

use crate::sip::header::{HeaderName, NameAddr, name};
use crate::sip::registrar::{Aor, RegistrarConfig};
use crate::sip::{Request, Response, SipUri, Uri};

use super::io::Link;

/// Default SIP port for `sip:` URIs and Via sent-by without a port.
pub(crate) const SIP_PORT: u16 = crate::sip::DEFAULT_PORT;

/// What routing a request amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// An address-of-record in the overlay: look its bindings up and fork to them.
    Overlay(Aor),
    /// A known next hop (a Route entry or an IP-literal Request-URI); the URI stays.
    Direct(SocketAddr, Link),
    /// The overlay itself without a user part (only OPTIONS makes sense there).
    Myself,
    /// A foreign host name or a non-SIP URI: 404.
    Unroutable,
}

/// The IP address of a URI host, brackets of IPv6 references removed.
fn host_ip(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// How URIs name a super-node at `addr`: `host:port`, and the bare host too for port 5060
/// (RFC 3261 §19.1.2: no port means 5060); IPv6 hosts in brackets, as they appear in URIs.
pub(crate) fn host_names(addr: SocketAddr) -> Vec<String> {
    let host = match addr.ip() {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    let mut names = vec![format!("{host}:{}", addr.port())];
    if addr.port() == SIP_PORT {
        names.push(host);
    }
    names
}

/// True when a URI names this proxy's own address.
pub(crate) fn is_own(uri: &SipUri, local: SocketAddr) -> bool {
    host_ip(&uri.host) == Some(local.ip()) && uri.port.unwrap_or(SIP_PORT) == local.port()
}

/// The socket address and link of an IP-literal SIP URI (`;transport=tcp` selects TCP).
pub(crate) fn uri_target(uri: &Uri) -> Option<(SocketAddr, Link)> {
    let sip = uri.as_sip()?;
    let ip = host_ip(&sip.host)?;
    let tcp = sip
        .params
        .get("transport")
        .flatten()
        .is_some_and(|t| t.eq_ignore_ascii_case("tcp"));
    let link = if tcp { Link::Tcp(None) } else { Link::Udp };
    Some((SocketAddr::new(ip, sip.port.unwrap_or(SIP_PORT)), link))
}

/// RFC 3261 §16.4: drop a top Route naming us (loose routing), and undo a strict router's
/// rewrite (our Record-Route URI in the Request-URI: the last Route becomes the target).
pub(crate) fn pop_own_route(request: &mut Request, local: SocketAddr) {
    let ruri_is_us = request.uri.as_sip().is_some_and(|u| is_own(u, local));
    let routes = request.headers.routes().unwrap_or_default();
    if ruri_is_us
        && request.uri.as_sip().is_some_and(|u| u.user.is_none())
        && let Some(last) = routes.last()
    {
        request.uri = last.uri.clone();
        let kept: Vec<String> = routes[..routes.len() - 1]
            .iter()
            .map(ToString::to_string)
            .collect();
        set_routes(request, &kept);
    }
    let top_is_us = request
        .headers
        .routes()
        .ok()
        .and_then(|r| r.into_iter().next())
        .and_then(|r| r.uri.as_sip().map(|u| is_own(u, local)));
    if top_is_us == Some(true) {
        request.headers.remove_first(name::ROUTE);
    }
}

/// Replaces all Route values.
fn set_routes(request: &mut Request, routes: &[String]) {
    request.headers.remove_all(name::ROUTE);
    for r in routes {
        request
            .headers
            .push(HeaderName::from_static(name::ROUTE), r.clone());
    }
}

/// Decides where a request (own Route already popped) goes.
pub(crate) fn classify(
    request: &Request,
    registrar: &RegistrarConfig,
    local: SocketAddr,
) -> Target {
    if let Some(route) = first_route(request) {
        return uri_target(&route.uri).map_or(Target::Unroutable, |(a, l)| Target::Direct(a, l));
    }
    let Some(sip) = request.uri.as_sip() else {
        return Target::Unroutable;
    };
    if registrar.is_overlay(sip) || is_own(sip, local) {
        let overlay_uri = Uri::Sip(SipUri {
            host: registrar.domain.as_str().into(),
            port: None,
            ..sip.clone()
        });
        match sip.user_name().filter(|u| !u.is_empty()) {
            Some(_) => {
                return Aor::from_uri(&overlay_uri, registrar)
                    .map_or(Target::Unroutable, Target::Overlay);
            }
            // Another super-node itself (no user): that node answers, not this one.
            None if is_own(sip, local) || sip.host.eq_ignore_ascii_case(&registrar.domain) => {
                return Target::Myself;
            }
            None => {}
        }
    }
    uri_target(&request.uri).map_or(Target::Unroutable, |(a, l)| Target::Direct(a, l))
}

/// The top Route, if any parses.
pub(crate) fn first_route(request: &Request) -> Option<NameAddr> {
    request.headers.routes().ok()?.into_iter().next()
}

/// True for requests inside a dialog (RFC 3261 §16.6 relies on the To tag).
pub(crate) fn in_dialog(request: &Request) -> bool {
    request.headers.to().is_ok_and(|to| to.tag().is_some())
}

/// The Via sent-by of this proxy.
pub(crate) fn sent_by(local: SocketAddr) -> String {
    local.to_string()
}

/// The Record-Route value this proxy inserts, loose-routing (`;lr`).
pub(crate) fn record_route(local: SocketAddr) -> String {
    format!("<sip:{local};lr>")
}

/// Removes our top Via from a response travelling upstream (§16.7 step 9); `None` when the
/// top Via is not ours or nothing is left (the response was for us, not to relay).
pub(crate) fn strip_own_via(mut response: Response, local: SocketAddr) -> Option<Response> {
    let top = response.headers.top_via().ok()?;
    let ours =
        host_ip(&top.host) == Some(local.ip()) && top.port.unwrap_or(SIP_PORT) == local.port();
    if !ours {
        return None;
    }
    response.headers.remove_first(name::VIA);
    response.headers.top_via().ok()?;
    Some(response)
}

/// Where a response goes by its (new) top Via (RFC 3261 §18.2.2, RFC 3581).
pub(crate) fn via_destination(response: &Response) -> Option<(SocketAddr, Link)> {
    let via = response.headers.top_via().ok()?;
    let (host, port) = via.response_target(SIP_PORT);
    let link = if via.transport == "TCP" {
        Link::Tcp(None)
    } else {
        Link::Udp
    };
    Some((SocketAddr::new(host_ip(&host)?, port), link))
}
