//! One forwarded request and its branches: the response context of RFC 3261 §16.7.
//!
//! Pure bookkeeping: the [`Proxy`](super::Proxy) feeds branch responses and timeouts in and
//! carries out the returned [`Action`]s (relay upstream, CANCEL a branch).

use std::net::SocketAddr;

use crate::sip::header::{HeaderName, name};
use crate::sip::transaction::TransactionId;
use crate::sip::{Method, Request, Response, response_for};

use super::io::{DhtId, Link};

/// Whether a branch has been, or must be, cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CancelState {
    /// Not cancelled.
    No,
    /// Cancel as soon as a provisional response arrives (§9.1 forbids CANCEL before one).
    Wanted,
    /// CANCEL sent.
    Sent,
}

/// One client transaction of a fork.
#[derive(Debug)]
pub(crate) struct Branch {
    /// The request as forwarded, to build a CANCEL from.
    pub(crate) request: Request,
    /// Where it went.
    pub(crate) destination: SocketAddr,
    /// How it went.
    pub(crate) link: Link,
    /// A provisional response arrived.
    pub(crate) provisional: bool,
    /// A final response arrived or the branch timed out.
    pub(crate) done: bool,
    /// Cancellation state.
    pub(crate) cancel: CancelState,
    /// The transaction layer forgot the transaction.
    pub(crate) terminated: bool,
}

/// What the proxy must do after a fork changed.
#[derive(Debug)]
pub(crate) enum Action {
    /// Send this response upstream through the server transaction.
    Upstream(Response),
    /// Send CANCEL on this branch.
    Cancel(usize),
}

/// The state of one proxied request.
#[derive(Debug)]
pub(crate) struct Fork {
    /// The server transaction of the request from upstream.
    pub(crate) server: TransactionId,
    /// The request as received (Via stamped, own Route popped).
    pub(crate) request: Request,
    /// INVITE forks relay provisional and every 2xx, and can be cancelled.
    pub(crate) invite: bool,
    /// To tag for responses the proxy generates itself.
    pub(crate) to_tag: String,
    /// The branches, in the order they were started.
    pub(crate) branches: Vec<Branch>,
    /// Best final response so far (§16.7 step 6).
    best: Option<Response>,
    /// A final response went upstream.
    pub(crate) answered: bool,
    /// The DHT lookup this fork waits for, before it has branches.
    pub(crate) lookup: Option<DhtId>,
}

impl Fork {
    /// A fork for `request` received on server transaction `server`.
    pub(crate) fn new(server: TransactionId, request: Request, to_tag: String) -> Self {
        Self {
            server,
            invite: request.method == Method::Invite,
            request,
            to_tag,
            branches: Vec::new(),
            best: None,
            answered: false,
            lookup: None,
        }
    }

    /// A response generated here, e.g. 404 or 487.
    pub(crate) fn local_response(&self, status: u16, reason: &str) -> Response {
        response_for(&self.request, status, reason, Some(&self.to_tag))
    }

    /// Answers finally at once (no branches, or a local decision); no-op if answered.
    pub(crate) fn answer(&mut self, response: Response) -> Vec<Action> {
        if self.answered {
            return Vec::new();
        }
        self.answered = true;
        vec![Action::Upstream(response)]
    }

    /// A response from branch `idx`, our Via already removed.
    pub(crate) fn on_response(&mut self, idx: usize, response: Response) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(branch) = self.branches.get_mut(idx) else {
            return out;
        };
        if response.status < 200 {
            branch.provisional = true;
            if branch.cancel == CancelState::Wanted {
                branch.cancel = CancelState::Sent;
                out.push(Action::Cancel(idx));
            }
            if response.status > 100 && !self.answered && self.invite {
                out.push(Action::Upstream(response));
            }
            return out;
        }
        branch.done = true;
        if response.status < 300 {
            return self.on_success(response);
        }
        if !self.answered {
            if response.status >= 600 {
                out.extend(self.cancel_pending());
            }
            self.consider(response);
            self.finish_if_settled(&mut out);
        }
        out
    }

    /// A 2xx: relayed at once (every 2xx of an INVITE, RFC 6026), other branches cancelled.
    fn on_success(&mut self, response: Response) -> Vec<Action> {
        if self.answered && !self.invite {
            return Vec::new();
        }
        let mut out = Vec::new();
        if !self.answered {
            self.answered = true;
            if self.invite {
                out.extend(self.cancel_pending());
            }
        }
        out.push(Action::Upstream(response));
        out
    }

    /// Branch `idx` gave up: Timer B/F (`408`) or Timer C (`480`, and CANCEL it).
    pub(crate) fn on_timeout(&mut self, idx: usize, status: u16) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(branch) = self.branches.get_mut(idx) else {
            return out;
        };
        if branch.done {
            return out;
        }
        branch.done = true;
        if status == 480 && branch.provisional && branch.cancel == CancelState::No {
            branch.cancel = CancelState::Sent;
            out.push(Action::Cancel(idx));
        }
        if !self.answered {
            let reason = if status == 480 {
                "Temporarily Unavailable"
            } else {
                "Request Timeout"
            };
            self.consider(self.local_response(status, reason));
            self.finish_if_settled(&mut out);
        }
        out
    }

    /// The caller's CANCEL: cancel every branch and answer 487 (§16.10).
    pub(crate) fn cancel(&mut self) -> Vec<Action> {
        let mut out = self.cancel_pending();
        let terminated = self.local_response(487, "Request Terminated");
        out.extend(self.answer(terminated));
        out
    }

    /// Marks every unfinished branch for CANCEL; returns those that can be cancelled now.
    fn cancel_pending(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        for (i, b) in self.branches.iter_mut().enumerate() {
            if b.done || b.cancel != CancelState::No {
                continue;
            }
            if b.provisional {
                b.cancel = CancelState::Sent;
                out.push(Action::Cancel(i));
            } else {
                b.cancel = CancelState::Wanted;
            }
        }
        out
    }

    /// Keeps the better of the stored and the new final response: 6xx first, else the
    /// lowest class (§16.7 step 6).
    fn consider(&mut self, response: Response) {
        let rank = |s: u16| if s >= 600 { 0 } else { s / 100 };
        if self
            .best
            .as_ref()
            .is_none_or(|b| rank(response.status) < rank(b.status))
        {
            self.best = Some(response);
        }
    }

    /// Once no branch can still answer, sends the best response (503 becomes 500, §16.7).
    fn finish_if_settled(&mut self, out: &mut Vec<Action>) {
        let settled = self
            .branches
            .iter()
            .all(|b| b.done || (b.cancel != CancelState::No && !b.provisional));
        if !settled || self.answered {
            return;
        }
        let mut best = self
            .best
            .take()
            .unwrap_or_else(|| self.local_response(408, "Request Timeout"));
        if best.status == 503 {
            best.status = 500;
            "Server Internal Error".clone_into(&mut best.reason);
        }
        out.extend(self.answer(best));
    }

    /// True once answered and every branch transaction has ended: the fork can go.
    pub(crate) fn is_finished(&self) -> bool {
        self.answered && self.lookup.is_none() && self.branches.iter().all(|b| b.terminated)
    }
}

/// The CANCEL for a forwarded request (RFC 3261 §9.1): same Request-URI, top Via (so the
/// same branch), Route, From, To, Call-ID and CSeq number.
pub(crate) fn cancel_request(forwarded: &Request) -> Request {
    let src = &forwarded.headers;
    let mut cancel = Request {
        method: Method::Cancel,
        uri: forwarded.uri.clone(),
        headers: crate::sip::Headers::default(),
        body: Vec::new(),
    };
    let h = &mut cancel.headers;
    if let Some(via) = src.get(name::VIA) {
        h.push(HeaderName::from_static(name::VIA), via);
    }
    for route in src.get_all(name::ROUTE) {
        h.push(HeaderName::from_static(name::ROUTE), route);
    }
    h.push(HeaderName::from_static(name::MAX_FORWARDS), "70");
    for n in [name::FROM, name::TO, name::CALL_ID] {
        if let Some(v) = src.get(n) {
            h.push(HeaderName::from_static(n), v);
        }
    }
    if let Ok(cseq) = src.cseq() {
        h.push(
            HeaderName::from_static(name::CSEQ),
            format!("{} CANCEL", cseq.seq),
        );
    }
    cancel
}
