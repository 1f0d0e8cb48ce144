//! Client transactions: INVITE (§17.1.1, timers A, B, D) and non-INVITE (§17.1.2, E, F, K).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::timer::{Timer, TimerTable};
use super::{Config, Event, Outputs, TransactionId, Transport};
use crate::sip::header::{HeaderName, name};
use crate::sip::message::{Headers, Method, Request, Response};

/// Client transaction states (Figures 5 and 6; "Calling" and "Trying" share `Initial`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Initial,
    Proceeding,
    Completed,
    /// RFC 6026: a 2xx arrived; further 2xx go to the TU until timer M.
    Accepted,
    Terminated,
}

/// One client transaction.
#[derive(Debug)]
pub(crate) struct ClientTx {
    pub(crate) id: TransactionId,
    invite: bool,
    state: State,
    request: Request,
    bytes: Vec<u8>,
    destination: SocketAddr,
    transport: Transport,
    /// Current retransmission interval of timer A or E.
    interval: Duration,
    config: Config,
    /// Timer C already reported a timeout.
    c_fired: bool,
    pub(crate) timers: TimerTable,
}

impl ClientTx {
    /// Creates the transaction and sends the request.
    pub(crate) fn start(
        now: Instant,
        id: TransactionId,
        request: Request,
        destination: SocketAddr,
        transport: Transport,
        config: Config,
        out: &mut Outputs,
    ) -> Self {
        let invite = request.method == Method::Invite;
        let bytes = request.to_bytes();
        let mut tx = Self {
            id,
            invite,
            state: State::Initial,
            request,
            bytes,
            destination,
            transport,
            interval: config.t1,
            config,
            c_fired: false,
            timers: TimerTable::default(),
        };
        tx.transmit(out);
        let (retransmit, give_up) = if invite {
            (Timer::A, Timer::B)
        } else {
            (Timer::E, Timer::F)
        };
        if !transport.is_reliable() {
            tx.timers.set(retransmit, now + config.t1);
        }
        tx.timers.set(give_up, now + config.t1 * 64);
        if invite {
            tx.timers.set(Timer::C, now + config.timer_c);
        }
        tx
    }

    /// True once the transaction can be forgotten.
    pub(crate) fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }

    fn transmit(&self, out: &mut Outputs) {
        out.transmit(self.destination, self.transport, self.bytes.clone());
    }

    /// Handles a response matched to this transaction.
    pub(crate) fn on_response(&mut self, now: Instant, response: Response, out: &mut Outputs) {
        let open = matches!(self.state, State::Initial | State::Proceeding);
        match (open, response.status) {
            (true, 100..=199) => {
                self.state = State::Proceeding;
                // Retransmissions stop for INVITE; non-INVITE keeps timer E, now at T2 (§17.1.2.2).
                self.timers.stop(Timer::A);
                self.timers.stop(Timer::B);
                if self.invite && !self.c_fired {
                    self.timers.set(Timer::C, now + self.config.timer_c);
                }
                out.event(Event::Response {
                    id: self.id,
                    response,
                });
            }
            (true, _) => self.on_final(now, response, out),
            (false, 200..=299) if self.state == State::Accepted => {
                out.event(Event::Response {
                    id: self.id,
                    response,
                });
            }
            // A retransmitted non-2xx final response: ACK again, do not bother the TU.
            (false, 300..) if self.invite && self.state == State::Completed => {
                self.send_ack(&response, out)
            }
            _ => {}
        }
    }

    fn on_final(&mut self, now: Instant, response: Response, out: &mut Outputs) {
        for t in [Timer::A, Timer::B, Timer::C, Timer::E, Timer::F] {
            self.timers.stop(t);
        }
        let reliable = self.transport.is_reliable();
        if self.invite && response.status < 300 {
            // The 2xx ACK is end to end, sent by the TU; stay to pass on forked or
            // retransmitted 2xx (RFC 6026 §7.2).
            self.state = State::Accepted;
            self.timers.set(Timer::M, now + self.config.t1 * 64);
        } else if self.invite {
            self.send_ack(&response, out);
            self.linger(now, Timer::D, Duration::from_secs(32), reliable);
        } else {
            self.linger(now, Timer::K, self.config.t4, reliable);
        }
        out.event(Event::Response {
            id: self.id,
            response,
        });
    }

    /// Enters Completed for `wait` over unreliable transports, or terminates at once.
    fn linger(&mut self, now: Instant, timer: Timer, wait: Duration, reliable: bool) {
        if reliable {
            self.state = State::Terminated;
        } else {
            self.state = State::Completed;
            self.timers.set(timer, now + wait);
        }
    }

    /// Builds and sends the hop-by-hop ACK for a non-2xx final response (§17.1.1.3).
    fn send_ack(&self, response: &Response, out: &mut Outputs) {
        let src = &self.request.headers;
        let mut headers = Headers::default();
        if let Some(via) = src.get(name::VIA) {
            headers.push(HeaderName::from_static(name::VIA), via);
        }
        for route in src.get_all(name::ROUTE) {
            headers.push(HeaderName::from_static(name::ROUTE), route);
        }
        headers.push(HeaderName::from_static(name::MAX_FORWARDS), "70");
        copy(src, &mut headers, name::FROM);
        copy(&response.headers, &mut headers, name::TO);
        copy(src, &mut headers, name::CALL_ID);
        if let Ok(cseq) = src.cseq() {
            headers.push(
                HeaderName::from_static(name::CSEQ),
                format!("{} ACK", cseq.seq),
            );
        }
        let ack = Request {
            method: Method::Ack,
            uri: self.request.uri.clone(),
            headers,
            body: Vec::new(),
        };
        out.transmit(self.destination, self.transport, ack.to_bytes());
    }

    /// Handles an expired timer.
    pub(crate) fn on_timer(&mut self, now: Instant, timer: Timer, out: &mut Outputs) {
        match timer {
            Timer::A if self.state == State::Initial => {
                self.transmit(out);
                // INVITE retransmissions double without a cap until timer B (§17.1.1.2).
                self.interval *= 2;
                self.timers.set(Timer::A, now + self.interval);
            }
            Timer::E if matches!(self.state, State::Initial | State::Proceeding) => {
                self.transmit(out);
                self.interval = match self.state {
                    State::Proceeding => self.config.t2,
                    _ => (self.interval * 2).min(self.config.t2),
                };
                self.timers.set(Timer::E, now + self.interval);
            }
            Timer::B | Timer::F if self.state != State::Completed => {
                self.state = State::Terminated;
                out.event(Event::Timeout { id: self.id });
            }
            Timer::C if self.state == State::Proceeding && !self.c_fired => {
                self.c_fired = true;
                out.event(Event::Timeout { id: self.id });
                self.timers.set(Timer::C, now + self.config.t1 * 64);
            }
            Timer::C | Timer::D | Timer::K | Timer::M => self.state = State::Terminated,
            _ => {}
        }
    }
}

fn copy(src: &Headers, dst: &mut Headers, header: &'static str) {
    if let Some(v) = src.get(header) {
        dst.push(HeaderName::from_static(header), v);
    }
}
