//! The stateless paths (RFC 3261 §16.11): the end-to-end ACK for a 2xx, and responses no
//! transaction claims, which travel upstream by Via.

use std::net::SocketAddr;
use std::time::Instant;

use crate::sip::header::{HeaderName, name};
use crate::sip::{Message, Request, Response, Uri, decrement_max_forwards, new_branch, via_value};

use super::Proxy;
use super::io::Link;
use super::route::{self, Target};

impl Proxy {
    /// An ACK for a 2xx: end to end, forwarded statelessly along the route (§16.11).
    pub(super) fn forward_ack(&mut self, now: Instant, mut request: Request) {
        self.metrics.request(&request.method);
        if !matches!(decrement_max_forwards(&mut request), Ok(Some(_))) {
            return;
        }
        route::pop_own_route(&mut request, self.config.local);
        let hop = match route::classify(&request, &self.config.registrar, self.config.local) {
            Target::Direct(addr, link) => Some((addr, link)),
            Target::Overlay(aor) => self.cached_contact(now, &mut request, aor.dht_key()),
            Target::Myself | Target::Unroutable => None,
        };
        let Some((addr, link)) = hop else { return };
        let branch = new_branch(&mut self.rng);
        let via = via_value(
            link.via_token(),
            &route::sent_by(self.config.local),
            &branch,
        );
        request
            .headers
            .push_front(HeaderName::from_static(name::VIA), via);
        self.layer
            .send_stateless(addr, link.transport(), &Message::Request(request));
    }

    /// For an ACK without a route to an AOR: the first cached contact, which becomes the
    /// Request-URI.
    fn cached_contact(
        &self,
        now: Instant,
        request: &mut Request,
        key: [u8; 20],
    ) -> Option<(SocketAddr, Link)> {
        let binding = self.cache.get(now, &key)?.first()?;
        let uri = Uri::parse(&binding.contact).ok()?;
        let hop = route::uri_target(&uri)?;
        request.uri = uri;
        Some(hop)
    }

    /// A response no transaction claims (e.g. a retransmitted 2xx): relayed by Via.
    pub(super) fn relay_stray(&mut self, response: Response) {
        self.metrics.received(response.status);
        if let Some(resp) = route::strip_own_via(response, self.config.local) {
            self.metrics.sent(resp.status);
            self.send_by_via(&resp);
        }
    }

    /// Sends a response statelessly to its top Via.
    pub(super) fn send_by_via(&mut self, response: &Response) {
        if let Some((addr, link)) = route::via_destination(response) {
            self.layer
                .send_stateless(addr, link.transport(), &Message::Response(response.clone()));
        }
    }
}
