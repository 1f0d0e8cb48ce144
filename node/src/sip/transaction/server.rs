//! Server transactions: INVITE (§17.2.1, timers G, H, I and the 100 Trying delay) and
//! non-INVITE (§17.2.2, timer J).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::timer::{Timer, TimerTable};
use super::{CancelTarget, Config, Event, Outputs, TransactionId, Transport};
use crate::sip::build::response_for;
use crate::sip::error::TransactionError;
use crate::sip::message::{Method, Request, Response};

/// Server transaction states (Figures 7 and 8; non-INVITE starts in `Trying`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Trying,
    Proceeding,
    Completed,
    Confirmed,
    /// RFC 6026: a 2xx was sent; INVITE retransmissions are absorbed until timer L.
    Accepted,
    Terminated,
}

/// One server transaction.
#[derive(Debug)]
pub(crate) struct ServerTx {
    pub(crate) id: TransactionId,
    invite: bool,
    state: State,
    /// The last response sent, resent when the request is retransmitted.
    last_response: Option<Vec<u8>>,
    /// A prepared 100 Trying, until some provisional response has gone out.
    trying: Option<Vec<u8>>,
    destination: SocketAddr,
    transport: Transport,
    interval: Duration,
    config: Config,
    pub(crate) timers: TimerTable,
}

impl ServerTx {
    /// Creates the transaction for a new request; INVITE schedules or sends 100 Trying.
    pub(crate) fn new(
        now: Instant,
        id: TransactionId,
        request: &Request,
        source: SocketAddr,
        transport: Transport,
        config: Config,
        out: &mut Outputs,
    ) -> Self {
        let invite = request.method == Method::Invite;
        let mut tx = Self {
            id,
            invite,
            state: if invite {
                State::Proceeding
            } else {
                State::Trying
            },
            last_response: None,
            trying: None,
            destination: source,
            transport,
            interval: config.t1,
            config,
            timers: TimerTable::default(),
        };
        if invite {
            tx.trying = Some(response_for(request, 100, "Trying", None).to_bytes());
            if config.trying_delay.is_zero() {
                tx.send_trying(out);
            } else {
                tx.timers.set(Timer::Trying, now + config.trying_delay);
            }
        }
        tx
    }

    /// True for a non-INVITE transaction over UDP that sent its final response: all it still
    /// does is answer retransmissions until timer J, which the layer does more cheaply.
    pub(crate) fn lingers(&self) -> bool {
        !self.invite && self.state == State::Completed && !self.transport.is_reliable()
    }

    /// Where the last response went, and its bytes.
    pub(crate) fn into_last_response(self) -> (SocketAddr, Vec<u8>) {
        (self.destination, self.last_response.unwrap_or_default())
    }

    /// True once the transaction can be forgotten.
    pub(crate) fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }

    /// What a CANCEL matching this transaction finds (§9.2).
    pub(crate) fn cancel_target(&self) -> CancelTarget {
        match (self.invite, self.state) {
            (true, State::Proceeding) => CancelTarget::Pending(self.id),
            (true, _) => CancelTarget::Answered(self.id),
            (false, _) => CancelTarget::NotFound,
        }
    }

    fn send_trying(&mut self, out: &mut Outputs) {
        if let Some(bytes) = self.trying.take() {
            self.last_response = Some(bytes.clone());
            out.transmit(self.destination, self.transport, bytes);
        }
    }

    fn resend(&self, out: &mut Outputs) {
        if let Some(bytes) = &self.last_response {
            out.transmit(self.destination, self.transport, bytes.clone());
        }
    }

    /// A retransmission of the request: resend the last response (§17.2.1, §17.2.2).
    pub(crate) fn on_retransmission(&self, out: &mut Outputs) {
        if matches!(self.state, State::Proceeding | State::Completed) {
            self.resend(out);
        }
    }

    /// An ACK for a non-2xx final response ends retransmissions and never reaches the TU;
    /// returns false for an ACK the TU must see (one for a 2xx, in Accepted).
    pub(crate) fn on_ack(&mut self, now: Instant) -> bool {
        if self.state == State::Accepted {
            return false;
        }
        if self.state != State::Completed {
            return true;
        }
        self.timers.stop(Timer::G);
        self.timers.stop(Timer::H);
        if self.transport.is_reliable() {
            self.state = State::Terminated;
        } else {
            self.state = State::Confirmed;
            self.timers.set(Timer::I, now + self.config.t4);
        }
        true
    }

    /// The TU sends a response through this transaction.
    pub(crate) fn send_response(
        &mut self,
        now: Instant,
        response: &Response,
        out: &mut Outputs,
    ) -> Result<(), TransactionError> {
        let open = matches!(self.state, State::Trying | State::Proceeding);
        let accepted_2xx = self.state == State::Accepted && (200..300).contains(&response.status);
        if !open && !accepted_2xx {
            return Err(TransactionError::InvalidState);
        }
        let bytes = response.to_bytes();
        out.transmit(self.destination, self.transport, bytes.clone());
        self.last_response = Some(bytes);
        self.trying = None;
        self.timers.stop(Timer::Trying);
        match (self.invite, response.status) {
            (_, 100..=199) => self.state = State::Proceeding,
            // RFC 6026: the TU retransmits the 2xx; the transaction only absorbs INVITEs.
            (true, 200..=299) if self.state != State::Accepted => {
                self.state = State::Accepted;
                self.timers.set(Timer::L, now + self.config.t1 * 64);
            }
            (true, 200..=299) => {}
            (true, _) => self.complete_invite(now),
            (false, _) if self.transport.is_reliable() => self.state = State::Terminated,
            // Over UDP the layer takes the completed transaction over as a lingering one and
            // keeps timer J itself (see `TransactionLayer::linger`).
            (false, _) => self.state = State::Completed,
        }
        Ok(())
    }

    fn complete_invite(&mut self, now: Instant) {
        self.state = State::Completed;
        if !self.transport.is_reliable() {
            self.timers.set(Timer::G, now + self.config.t1);
        }
        self.timers.set(Timer::H, now + self.config.t1 * 64);
    }

    /// Handles an expired timer.
    pub(crate) fn on_timer(&mut self, now: Instant, timer: Timer, out: &mut Outputs) {
        match timer {
            Timer::Trying => self.send_trying(out),
            Timer::G if self.state == State::Completed => {
                self.resend(out);
                self.interval = (self.interval * 2).min(self.config.t2);
                self.timers.set(Timer::G, now + self.interval);
            }
            Timer::H if self.state == State::Completed => {
                self.state = State::Terminated;
                out.event(Event::Timeout { id: self.id });
            }
            Timer::I | Timer::L => self.state = State::Terminated,
            _ => {}
        }
    }
}
