//! REGISTER through the DHT: plan, store, answer (RFC 3261 §10.3).
//!
//! A REGISTER is first planned on this registrar's view of the AOR's bindings (see
//! [`BindingMemo`](super::dht::BindingMemo)) and stored on the condition that the view is
//! right: one DHT round trip. When the DHT finds the view stale, or the plan refuses the
//! request on grounds the view may have got wrong (ownership, CSeq order), the bindings are
//! read and the request planned again: lookup, plan, store, as RFC 3261 describes it. Many
//! REGISTERs are in flight at once; the [`Waiter`] carried with each [`DhtId`] holds
//! everything needed to finish one.

use std::time::Instant;

use rand::Rng as _;

use crate::sip::registrar::{Aor, Binding, plan_register, register_error_response, register_ok};
use crate::sip::transaction::TransactionId;
use crate::sip::{Method, Request, Response, new_tag};

use super::Proxy;
use super::dht::{Pending, Waiter};
use super::io::{DhtError, Stored};
use super::metrics::DhtTiming;

/// Seconds a device told 503 is asked to wait before trying again, drawn at random.
const RETRY_AFTER_SECS: std::ops::RangeInclusive<u32> = 5..=15;

impl Proxy {
    /// True when a request is a REGISTER for this registrar (Request-URI in the overlay).
    pub(super) fn is_for_registrar(&self, request: &Request) -> bool {
        request.method == Method::Register
            && request
                .uri
                .as_sip()
                .is_some_and(|u| self.config.registrar.is_overlay(u))
    }

    /// Starts a REGISTER: checks the AOR, plans on the view of its bindings and stores the
    /// plan on the condition that the view holds; reads the bindings first when the plan
    /// cannot be trusted without them.
    pub(super) fn start_register(&mut self, now: Instant, server: TransactionId, request: Request) {
        let aor = request
            .headers
            .to()
            .map_err(|_| crate::sip::RegisterError::BadAor)
            .and_then(|to| Aor::from_uri(&to.uri, &self.config.registrar));
        let key = match aor {
            Ok(aor) => aor.dht_key(),
            Err(e) => {
                let tag = new_tag(&mut self.rng);
                let resp = register_error_response(&request, &e, &tag);
                return self.respond(now, server, &resp);
            }
        };
        let now_unix = self.now_unix(now);
        let view: Vec<Binding> = self
            .views
            .get(now, &key)
            .unwrap_or_default()
            .iter()
            .filter(|b| b.remaining(now_unix) > 0)
            .cloned()
            .collect();
        match plan_register(&request, &view, &self.config.registrar, now_unix) {
            Ok(plan) if !plan.ops.is_empty() => {
                let waiter = Waiter::RegisterStore {
                    server,
                    request: Box::new(request),
                    bindings: plan.bindings,
                    lookup: std::time::Duration::ZERO,
                    guessed: true,
                };
                let timeout = self.config.dht_timeout;
                self.dht
                    .store(now, timeout, key, Some(view), plan.ops, waiter);
            }
            // Refused whatever is stored (a bad Contact, too brief an expiry): answer now.
            Err(e) if !e.depends_on_bindings() => {
                let tag = new_tag(&mut self.rng);
                let resp = register_error_response(&request, &e, &tag);
                self.respond(now, server, &resp);
            }
            // A query, or a refusal the view may have got wrong: read the bindings.
            _ => self.read_then_register(now, server, request, key),
        }
    }

    /// Reads the AOR's bindings, then plans the REGISTER on them.
    fn read_then_register(
        &mut self,
        now: Instant,
        server: TransactionId,
        request: Request,
        key: [u8; 20],
    ) {
        let waiter = Waiter::RegisterLookup {
            server,
            request: Box::new(request),
        };
        self.dht.lookup(now, self.config.dht_timeout, key, waiter);
    }

    /// A lookup answer (or its timeout), for a REGISTER or a routed request.
    pub(super) fn lookup_answered(
        &mut self,
        now: Instant,
        pending: Pending,
        result: Result<Vec<Binding>, DhtError>,
    ) {
        let waited = now.saturating_duration_since(pending.asked_at);
        if result.is_err() {
            self.metrics.dht_failures += 1;
        }
        match pending.waiter {
            Waiter::RegisterLookup { server, request } => {
                self.metrics.register_lookup.record(waited);
                self.plan(now, server, *request, pending.key, waited, result);
            }
            Waiter::Route(fork) => self.route_answered(now, fork, pending.key, waited, result),
            Waiter::RegisterStore { .. } => {}
        }
    }

    /// Plans the REGISTER against the stored bindings and stores the changes.
    fn plan(
        &mut self,
        now: Instant,
        server: TransactionId,
        request: Request,
        key: [u8; 20],
        lookup: std::time::Duration,
        result: Result<Vec<Binding>, DhtError>,
    ) {
        let Ok(existing) = result else {
            return self.respond_unavailable(now, server, &request);
        };
        let now_unix = self.now_unix(now);
        let tag = new_tag(&mut self.rng);
        match plan_register(&request, &existing, &self.config.registrar, now_unix) {
            Err(e) => {
                let resp = register_error_response(&request, &e, &tag);
                self.respond(now, server, &resp);
            }
            Ok(plan) if plan.ops.is_empty() => {
                self.record_register(&request, lookup, std::time::Duration::ZERO);
                let resp = register_ok(&request, &plan.bindings, now_unix, &tag);
                self.respond(now, server, &resp);
            }
            // Planned on a fresh read: stored unconditionally, as RFC 3261 has it.
            Ok(plan) => {
                let waiter = Waiter::RegisterStore {
                    server,
                    request: Box::new(request),
                    bindings: plan.bindings,
                    lookup,
                    guessed: false,
                };
                let timeout = self.config.dht_timeout;
                self.dht.store(now, timeout, key, None, plan.ops, waiter);
            }
        }
    }

    /// A store answer (or its timeout): 200 listing the bindings; when the plan's guess proved
    /// stale, a new plan on the bindings the answer carried (or a fresh read); or 503.
    pub(super) fn store_answered(
        &mut self,
        now: Instant,
        pending: Pending,
        result: Result<Stored, DhtError>,
    ) {
        let Waiter::RegisterStore {
            server,
            request,
            bindings,
            lookup,
            guessed,
        } = pending.waiter
        else {
            return;
        };
        let waited = now.saturating_duration_since(pending.asked_at);
        self.metrics.register_store.record(waited);
        match result {
            Ok(Stored::Applied) => {}
            // The guess was wrong. When the answer says what is stored, that was the read: plan
            // again on it now (one round trip saved on every REGISTER whose AOR's view this
            // registrar no longer holds); else read first.
            Ok(Stored::Stale(live)) if guessed => {
                self.metrics.register_stale_views += 1;
                self.views.forget(&pending.key);
                return match live {
                    Some(live) => self.plan(now, server, *request, pending.key, waited, Ok(live)),
                    None => self.read_then_register(now, server, *request, pending.key),
                };
            }
            // Stale without a condition cannot happen; a runtime saying so failed.
            Ok(Stored::Stale(_)) | Err(_) => {
                self.metrics.dht_failures += 1;
                return self.respond_unavailable(now, server, &request);
            }
        }
        self.record_register(&request, lookup, waited);
        let until = now + self.config.cache_ttl;
        let now_unix = self.now_unix(now);
        let last = bindings.iter().map(|b| b.remaining(now_unix)).max();
        let kept = std::time::Duration::from_secs(last.unwrap_or(0));
        let bindings: std::sync::Arc<[Binding]> = bindings.into();
        self.cache.insert(until, now, pending.key, bindings.clone());
        self.views
            .insert(now + kept, now, pending.key, bindings.clone());
        let tag = new_tag(&mut self.rng);
        let resp = register_ok(&request, &bindings, self.now_unix(now), &tag);
        self.respond(now, server, &resp);
    }

    fn record_register(
        &mut self,
        request: &Request,
        lookup: std::time::Duration,
        store: std::time::Duration,
    ) {
        self.metrics.timing(DhtTiming {
            call_id: request.headers.call_id().unwrap_or_default().to_owned(),
            method: Method::Register,
            lookup,
            store,
            cached: false,
        });
    }

    /// 503: the DHT failed or did not answer in time, typically because this super-node is
    /// overloaded. Retry-After (RFC 3261 §21.5.4) spreads the devices' retries over a few
    /// seconds instead of letting them all retransmit into the overload at once.
    fn respond_unavailable(&mut self, now: Instant, server: TransactionId, request: &Request) {
        let tag = new_tag(&mut self.rng);
        let mut resp = crate::sip::response_for(request, 503, "Service Unavailable", Some(&tag));
        let after = self.rng.random_range(RETRY_AFTER_SECS);
        resp.headers.push(
            crate::sip::HeaderName::from_static(crate::sip::name::RETRY_AFTER),
            after.to_string(),
        );
        self.respond(now, server, &resp);
    }

    /// Sends a final or provisional response through a server transaction, counting it.
    pub(super) fn respond(&mut self, now: Instant, server: TransactionId, response: &Response) {
        self.metrics.sent(response.status);
        // The transaction may have ended (e.g. CANCEL answered first); nothing to send then.
        let _ = self.layer.send_response(now, server, response);
    }
}
