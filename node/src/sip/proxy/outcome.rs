//! What happens after a request was forwarded: branch responses and timeouts, the
//! caller's CANCEL, and relaying the chosen response upstream (RFC 3261 §16.7, §16.10).

use std::time::Instant;

use crate::sip::transaction::{CancelTarget, TransactionId};
use crate::sip::{Request, Response};

use super::dht::ForkId;
use super::fork::{Action, Fork, cancel_request};
use super::route;
use super::{Proxy, Role};

impl Proxy {
    /// Carries out what a fork decided, then forgets the fork if it is finished.
    pub(super) fn apply(&mut self, now: Instant, fork: ForkId, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Upstream(resp) => self.upstream(now, fork, resp),
                Action::Cancel(idx) => self.cancel_branch(now, fork, idx),
            }
        }
        self.reap(fork);
    }

    /// Sends a response to the caller; a 2xx the server transaction refuses (it already
    /// answered, e.g. 487 raced a 200) still goes upstream by Via, statelessly.
    fn upstream(&mut self, now: Instant, fork: ForkId, resp: Response) {
        let Some(server) = self.forks.get(&fork).map(|f| f.server) else {
            return;
        };
        self.metrics.sent(resp.status);
        if self.layer.send_response(now, server, &resp).is_err() && resp.status < 300 {
            self.send_by_via(&resp);
        }
    }

    fn cancel_branch(&mut self, now: Instant, fork: ForkId, idx: usize) {
        let Some(b) = self.forks.get(&fork).and_then(|f| f.branches.get(idx)) else {
            return;
        };
        let cancel = cancel_request(&b.request);
        let (dest, transport) = (b.destination, b.link.transport());
        if let Ok(tx) = self.layer.send_request(now, cancel, dest, transport) {
            self.roles.insert(tx, Role::Cancel);
        }
    }

    /// Removes a fork once it is answered and all its transactions ended.
    pub(super) fn reap(&mut self, fork: ForkId) {
        if self.forks.get(&fork).is_some_and(Fork::is_finished)
            && let Some(f) = self.forks.remove(&fork)
        {
            self.by_server.remove(&f.server);
        }
    }

    /// A CANCEL from upstream (§16.10).
    pub(super) fn on_cancel(
        &mut self,
        now: Instant,
        id: TransactionId,
        target: CancelTarget,
        request: &Request,
    ) {
        self.metrics.request(&request.method);
        let invite = match target {
            CancelTarget::NotFound => {
                return self.reply(now, id, request, 481, "Call/Transaction Does Not Exist");
            }
            CancelTarget::Answered(_) => None,
            CancelTarget::Pending(invite) => Some(invite),
        };
        self.reply(now, id, request, 200, "OK");
        let Some(fork) = invite.and_then(|i| self.by_server.get(&i).copied()) else {
            return;
        };
        let actions = self
            .forks
            .get_mut(&fork)
            .map(Fork::cancel)
            .unwrap_or_default();
        self.apply(now, fork, actions);
    }

    /// A response on one of our client transactions.
    pub(super) fn on_branch_response(
        &mut self,
        now: Instant,
        id: TransactionId,
        response: Response,
    ) {
        self.metrics.received(response.status);
        let Some(Role::Branch(fork, idx)) = self.roles.get(&id).copied() else {
            return;
        };
        let Some(response) = route::strip_own_via(response, self.config.local) else {
            return;
        };
        let actions = self
            .forks
            .get_mut(&fork)
            .map(|f| f.on_response(idx, response))
            .unwrap_or_default();
        self.apply(now, fork, actions);
    }

    /// Timer B/F (no answer: 408) or Timer C (rang too long: 480 and CANCEL) on a branch.
    pub(super) fn on_branch_timeout(&mut self, now: Instant, id: TransactionId) {
        let Some(Role::Branch(fork, idx)) = self.roles.get(&id).copied() else {
            return;
        };
        let actions = self
            .forks
            .get_mut(&fork)
            .map(|f| {
                let rang = f.invite && f.branches.get(idx).is_some_and(|b| b.provisional);
                f.on_timeout(idx, if rang { 480 } else { 408 })
            })
            .unwrap_or_default();
        self.apply(now, fork, actions);
    }

    /// A transaction ended: forget its role; a branch that never finished counts as 408.
    pub(super) fn on_terminated(&mut self, now: Instant, id: TransactionId) {
        let Some(Role::Branch(fork, idx)) = self.roles.remove(&id) else {
            return;
        };
        let actions = self
            .forks
            .get_mut(&fork)
            .and_then(|f| {
                let b = f.branches.get_mut(idx)?;
                b.terminated = true;
                Some(f.on_timeout(idx, 408))
            })
            .unwrap_or_default();
        self.apply(now, fork, actions);
    }
}
