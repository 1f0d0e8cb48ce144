//! Stateful forwarding (RFC 3261 §16): request checks, forks, branch responses, CANCEL and
//! the stateless paths (ACK for 2xx, stray responses).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::sip::header::{HeaderName, name};
use crate::sip::registrar::Binding;
use crate::sip::transaction::TransactionId;
use crate::sip::{
    Method, Request, Uri, decrement_max_forwards, new_branch, new_tag, response_for,
    stamp_received, via_value,
};

use super::dht::{ForkId, Waiter};
use super::fork::{Branch, CancelState, Fork};
use super::io::{DhtError, Link};
use super::metrics::DhtTiming;
use super::route::{self, Target};
use super::{Proxy, Role};

/// Methods this proxy handles, for Allow in the answer to OPTIONS.
const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, MESSAGE, INFO, UPDATE, \
                     SUBSCRIBE, NOTIFY, REFER, PRACK";

/// A place to send one branch: new Request-URI (forking to a contact) or the same.
type Hop = (Option<Uri>, SocketAddr, Link);

impl Proxy {
    /// A new request from upstream on server transaction `id`.
    pub(super) fn on_request(
        &mut self,
        now: Instant,
        id: TransactionId,
        mut request: Request,
        source: SocketAddr,
    ) {
        self.metrics.request(&request.method);
        let _ = stamp_received(&mut request, source);
        if self.is_for_registrar(&request) {
            return self.start_register(now, id, request);
        }
        let Ok(max_forwards) = request.headers.max_forwards() else {
            return self.reply(now, id, &request, 400, "Bad Max-Forwards");
        };
        route::pop_own_route(&mut request, self.config.local);
        let target = route::classify(&request, &self.config.registrar, self.config.local);
        if request.method == Method::Options
            && (max_forwards == Some(0) || target == Target::Myself)
        {
            return self.options_ok(now, id, &request);
        }
        if max_forwards == Some(0) {
            return self.reply(now, id, &request, 483, "Too Many Hops");
        }
        if matches!(target, Target::Overlay(_)) && route::in_dialog(&request) {
            // We Record-Route every dialog we set up, so its requests carry a Route; one
            // addressed to an AOR without it belongs to no dialog through us (sipp's BYE
            // after a failed REGISTER, a stale peer). Answered here, as Kamailio does, it
            // costs no DHT lookup: under overload those lookups fed the overload.
            return self.reply(now, id, &request, 404, "Not Found (no dialog route)");
        }
        let _ = decrement_max_forwards(&mut request);
        let fork = self.new_fork(id, request);
        match target {
            Target::Myself | Target::Unroutable => self.answer(now, fork, 404, "Not Found"),
            Target::Direct(addr, link) => self.start_branches(now, fork, vec![(None, addr, link)]),
            Target::Overlay(aor) => self.resolve(now, fork, aor.dht_key()),
        }
    }

    /// Answers a request that needs no fork.
    pub(super) fn reply(
        &mut self,
        now: Instant,
        id: TransactionId,
        request: &Request,
        status: u16,
        reason: &str,
    ) {
        let tag = new_tag(&mut self.rng);
        self.respond(now, id, &response_for(request, status, reason, Some(&tag)));
    }

    /// 200 to OPTIONS for the proxy itself, saying what it supports.
    fn options_ok(&mut self, now: Instant, id: TransactionId, request: &Request) {
        let tag = new_tag(&mut self.rng);
        let mut resp = response_for(request, 200, "OK", Some(&tag));
        resp.headers.push(HeaderName::from_static("Allow"), ALLOW);
        resp.headers.push(
            HeaderName::from_static("Accept"),
            "application/sdp, text/plain",
        );
        self.respond(now, id, &resp);
    }

    fn new_fork(&mut self, server: TransactionId, request: Request) -> ForkId {
        self.next_fork += 1;
        let id = ForkId(self.next_fork);
        let tag = new_tag(&mut self.rng);
        self.forks.insert(id, Fork::new(server, request, tag));
        self.by_server.insert(server, id);
        id
    }

    /// Answers a fork locally (e.g. 404) and lets it go.
    fn answer(&mut self, now: Instant, fork: ForkId, status: u16, reason: &str) {
        let actions = match self.forks.get_mut(&fork) {
            Some(f) => {
                let resp = f.local_response(status, reason);
                f.answer(resp)
            }
            None => return,
        };
        self.apply(now, fork, actions);
    }

    /// Finds the bindings of an overlay AOR: from the cache, else from the DHT.
    fn resolve(&mut self, now: Instant, fork: ForkId, key: [u8; 20]) {
        if let Some(bindings) = self.cache.get(now, &key).map(<[Binding]>::to_vec) {
            self.metrics.cache_hits += 1;
            return self.route_to_bindings(now, fork, &bindings, Duration::ZERO, true);
        }
        let id = self
            .dht
            .lookup(now, self.config.dht_timeout, key, Waiter::Route(fork));
        if let Some(f) = self.forks.get_mut(&fork) {
            f.lookup = Some(id);
        }
    }

    /// The DHT answered (or timed out) for a routed request.
    pub(super) fn route_answered(
        &mut self,
        now: Instant,
        fork: ForkId,
        key: [u8; 20],
        waited: Duration,
        result: Result<Vec<Binding>, DhtError>,
    ) {
        let Some(f) = self.forks.get_mut(&fork) else {
            return;
        };
        f.lookup = None;
        if f.answered {
            return self.reap(fork);
        }
        match result {
            Ok(bindings) => {
                self.route_to_bindings(now, fork, &bindings, waited, false);
                self.cache
                    .insert(now + self.config.cache_ttl, now, key, bindings.into());
            }
            Err(_) => self.answer(now, fork, 503, "Service Unavailable"),
        }
    }

    /// Forks to every live, reachable contact: 404 without bindings, 480 without a usable one.
    fn route_to_bindings(
        &mut self,
        now: Instant,
        fork: ForkId,
        bindings: &[Binding],
        waited: Duration,
        cached: bool,
    ) {
        self.record_route_timing(fork, waited, cached);
        let now_unix = self.now_unix(now);
        let live: Vec<&Binding> = bindings
            .iter()
            .filter(|b| b.remaining(now_unix) > 0)
            .collect();
        if live.is_empty() {
            return self.answer(now, fork, 404, "Not Found");
        }
        let mut hops: Vec<Hop> = Vec::new();
        for b in live {
            let Ok(uri) = Uri::parse(&b.contact) else {
                continue;
            };
            let duplicate = hops.iter().any(|(u, _, _)| u.as_ref() == Some(&uri));
            if let (Some((addr, link)), false) = (route::uri_target(&uri), duplicate) {
                hops.push((Some(uri), addr, link));
            }
        }
        self.start_branches(now, fork, hops);
    }

    fn record_route_timing(&mut self, fork: ForkId, waited: Duration, cached: bool) {
        let Some(f) = self.forks.get(&fork) else {
            return;
        };
        let method = f.request.method.clone();
        if method == Method::Invite {
            self.metrics.invite_lookup.record(waited);
        }
        let call_id = f.request.headers.call_id().unwrap_or_default().to_owned();
        self.metrics.timing(DhtTiming {
            call_id,
            method,
            lookup: waited,
            store: Duration::ZERO,
            cached,
        });
    }

    /// Sends one branch per hop (§16.6); 480 when none could be started.
    fn start_branches(&mut self, now: Instant, fork: ForkId, hops: Vec<Hop>) {
        for (uri, destination, link) in hops {
            let Some(request) = self.branch_request(fork, uri, link) else {
                return;
            };
            if let Ok(tx) =
                self.layer
                    .send_request(now, request.clone(), destination, link.transport())
            {
                let Some(f) = self.forks.get_mut(&fork) else {
                    return;
                };
                self.roles.insert(tx, Role::Branch(fork, f.branches.len()));
                f.branches.push(Branch {
                    request,
                    destination,
                    link,
                    provisional: false,
                    done: false,
                    cancel: CancelState::No,
                    terminated: false,
                });
            }
        }
        if self.forks.get(&fork).is_some_and(|f| f.branches.is_empty()) {
            self.answer(now, fork, 480, "Temporarily Unavailable");
        }
    }

    /// The request for one branch: target URI, Record-Route, our Via with a new branch.
    fn branch_request(&mut self, fork: ForkId, uri: Option<Uri>, link: Link) -> Option<Request> {
        let branch = new_branch(&mut self.rng);
        let local = self.config.local;
        let f = self.forks.get(&fork)?;
        let mut request = f.request.clone();
        if let Some(uri) = uri {
            request.uri = uri;
        }
        let creates_dialog = matches!(
            request.method,
            Method::Invite | Method::Subscribe | Method::Refer | Method::Notify
        );
        if creates_dialog && !route::in_dialog(&request) {
            request.headers.push_front(
                HeaderName::from_static(name::RECORD_ROUTE),
                route::record_route(local),
            );
        }
        let via = via_value(link.via_token(), &route::sent_by(local), &branch);
        request
            .headers
            .push_front(HeaderName::from_static(name::VIA), via);
        Some(request)
    }
}
