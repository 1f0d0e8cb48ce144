//! The RFC 3261 §17 transaction layer as a sans-IO state machine.
//!
//! [`TransactionLayer`] follows the quinn-proto method grammar:
//!
//! - `handle_message(now, msg, source, transport)` and `handle_timeout(now)` take input;
//! - `send_request`, `send_response`, `send_stateless` are the transaction user's commands;
//! - `poll_transmit`, `poll_event`, `poll_timeout` drain output.
//!
//! After every input or command, drain `poll_transmit` and `poll_event`, then sleep until
//! `poll_timeout`. `now` must never go backwards. No clock is read and no socket is touched,
//! so tests run the RFC timers in virtual time.
//!
//! Scope: RFC 3261 §17 as updated by RFC 6026: after a 2xx, INVITE transactions enter
//! Accepted (timers L and M) so a retransmitted INVITE is not taken for a new call and
//! forked or retransmitted 2xx still reach the TU. Timer C (§16.8) is kept by every INVITE
//! client transaction so that a peer that rings forever cannot pin one.
//! Responses go back to the source address of the request (symmetric response routing, as
//! with `rport`), which is what works behind NATs and on connection-oriented transports.

mod client;
mod key;
mod server;
mod sharded;
mod timer;

#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ahash::RandomState;

use self::sharded::ShardedMap;

pub use timer::Timer;

use self::client::ClientTx;
use self::key::{ClientKey, ServerKey};
use self::server::ServerTx;
use super::build::error_response;
use super::error::{ParseError, TransactionError};
use super::message::{Message, Method, Request, Response};
use super::parse::{Limits, parse_message_with};

/// Timer base values (RFC 3261 §17.1.1.1) and the 100 Trying policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// RTT estimate; first retransmission interval (500 ms).
    pub t1: Duration,
    /// Maximum retransmission interval for non-INVITE requests and INVITE responses (4 s).
    pub t2: Duration,
    /// Maximum time a message stays in the network (5 s).
    pub t4: Duration,
    /// Delay before an INVITE server transaction sends 100 Trying on its own: zero for a
    /// proxy (send at once, §16.2), 200 ms for a user agent (§17.2.1).
    pub trying_delay: Duration,
    /// Timer C: how long an INVITE client transaction waits after a provisional response.
    pub timer_c: Duration,
    /// Bounds applied by [`TransactionLayer::handle_bytes`].
    pub limits: Limits,
}

impl Default for Config {
    /// RFC defaults, proxy behaviour (100 Trying at once).
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            trying_delay: Duration::ZERO,
            timer_c: Duration::from_secs(180),
            limits: Limits::default(),
        }
    }
}

/// The transport a message arrived on or leaves by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP: the transaction layer retransmits.
    Udp,
    /// TCP: reliable, no retransmissions.
    Tcp,
    /// TLS over TCP: reliable.
    Tls,
}

impl Transport {
    /// Reliable transports need no retransmissions and no lingering states.
    #[must_use]
    pub fn is_reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }
}

/// Bytes to send, with where to send them; the caller owns the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Destination address.
    pub destination: SocketAddr,
    /// Transport to use (for TCP/TLS, the connection to that address).
    pub transport: Transport,
    /// The serialised message.
    pub contents: Vec<u8>,
}

/// Identifies a transaction for the transaction user's commands and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(u64);

/// What the transaction layer tells its user (the proxy/registrar core).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new request created server transaction `id`; answer it with `send_response`.
    Request {
        /// The new server transaction.
        id: TransactionId,
        /// The request.
        request: Request,
        /// Where it came from (responses go there).
        source: SocketAddr,
        /// The transport it came on.
        transport: Transport,
    },
    /// A CANCEL created server transaction `id`; `target` says what it cancels (§9.2).
    Cancel {
        /// The CANCEL's own server transaction.
        id: TransactionId,
        /// The INVITE server transaction it matches, and whether that one is still pending.
        target: CancelTarget,
        /// The CANCEL request.
        request: Request,
    },
    /// An ACK matching no transaction: the ACK for a 2xx, which is end to end (§17.1.1.3).
    Ack {
        /// The ACK.
        request: Request,
        /// Where it came from.
        source: SocketAddr,
        /// The transport it came on.
        transport: Transport,
    },
    /// A response for client transaction `id` (retransmissions are absorbed).
    Response {
        /// The client transaction.
        id: TransactionId,
        /// The response.
        response: Response,
    },
    /// A response matching no client transaction, e.g. a retransmitted 2xx; a proxy forwards
    /// it statelessly (§16.7).
    StrayResponse {
        /// The response.
        response: Response,
        /// Where it came from.
        source: SocketAddr,
    },
    /// Timer B or F (client: treat as 408), C (client: send CANCEL, answer 408 upstream) or
    /// H (server: the ACK never came) fired.
    Timeout {
        /// The transaction that timed out.
        id: TransactionId,
    },
    /// The transaction ended and its id is no longer valid.
    Terminated {
        /// The finished transaction.
        id: TransactionId,
    },
}

/// What a CANCEL found, which decides the answers (RFC 3261 §9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelTarget {
    /// The INVITE has no final response yet: answer the CANCEL 200, stop forwarding
    /// (cancel the branches) and answer the INVITE 487.
    Pending(TransactionId),
    /// The INVITE was already answered finally: answer the CANCEL 200 and nothing else.
    Answered(TransactionId),
    /// No INVITE transaction matches: answer the CANCEL 481.
    NotFound,
}

/// Output queues shared by the transactions during one call.
#[derive(Debug, Default)]
pub(crate) struct Outputs {
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
}

impl Outputs {
    pub(crate) fn transmit(
        &mut self,
        destination: SocketAddr,
        transport: Transport,
        contents: Vec<u8>,
    ) {
        self.transmits.push_back(Transmit {
            destination,
            transport,
            contents,
        });
    }

    pub(crate) fn event(&mut self, event: Event) {
        self.events.push_back(event);
    }
}

#[derive(Debug)]
enum Tx {
    Client(ClientTx, ClientKey),
    /// With the datagram that started it, when it came over UDP.
    Server(ServerTx, ServerKey, Option<Arrival>),
}

/// A request datagram as it arrived: its source, length and two independently keyed hashes
/// of its bytes. A UDP retransmission is the same bytes from the same address, so it is
/// matched to its transaction without being parsed again: an overloaded node would otherwise
/// spend its time re-parsing the retransmissions its own delay caused. The keys are random
/// per process, so a sender cannot aim for a collision, and by chance one is beyond reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Arrival {
    source: SocketAddr,
    len: usize,
    hash: (u64, u64),
}

/// A non-INVITE server transaction over UDP after its final response: all that timer J's
/// 64·T1 still needs to answer retransmissions of the request (§17.2.2). A registrar holds one
/// per REGISTER of the last 32 s, so this is kept to the key, the address and the response,
/// under half of a live transaction's memory.
#[derive(Debug)]
struct Lingering {
    key: ServerKey,
    arrival: Option<Arrival>,
    destination: SocketAddr,
    response: Vec<u8>,
}

/// All client and server transactions of one SIP endpoint.
#[derive(Debug, Default)]
pub struct TransactionLayer {
    config: Config,
    txs: ShardedMap<TransactionId, Tx>,
    clients: ShardedMap<ClientKey, TransactionId>,
    servers: ShardedMap<ServerKey, TransactionId>,
    /// Deadlines of all transactions; stale entries are skipped when popped.
    queue: BinaryHeap<Reverse<(Instant, TransactionId, Timer)>>,
    /// Completed non-INVITE server transactions over UDP, until timer J.
    lingering: ShardedMap<TransactionId, Lingering>,
    /// Their timer J deadlines, oldest first (J is the same for all: first in, first out).
    linger_ends: VecDeque<(Instant, TransactionId)>,
    /// Server transactions over UDP by the datagram that started them.
    arrivals: ShardedMap<Arrival, TransactionId>,
    /// The keys of [`Arrival`]'s hashes.
    arrival_keys: (RandomState, RandomState),
    out: Outputs,
    next_id: u64,
}

impl TransactionLayer {
    /// A layer with the given timer configuration.
    #[must_use]
    pub fn new(config: Config) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// Number of live transactions, completed ones waiting for timer J included (for metrics).
    #[must_use]
    pub fn len(&self) -> usize {
        self.txs.len() + self.lingering.len()
    }

    /// True when no transaction is live.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Parses a datagram (or a frame cut by [`super::frame_stream`]) and feeds it in.
    ///
    /// A request that does not parse is answered statelessly with the error's status
    /// (400 / 413 / 505) when it has a usable Via, and dropped otherwise; the error is
    /// returned so the caller can count it.
    pub fn handle_bytes(
        &mut self,
        now: Instant,
        bytes: &[u8],
        source: SocketAddr,
        transport: Transport,
    ) -> Result<(), ParseError> {
        // Only requests start server transactions; a response is never looked up.
        let request = !bytes.starts_with(b"SIP/");
        let arrival = (transport == Transport::Udp && request).then(|| self.arrival(bytes, source));
        if let Some(id) = arrival.and_then(|a| self.arrivals.get(&a).copied()) {
            self.retransmitted(id);
            return Ok(());
        }
        match parse_message_with(bytes, &self.config.limits) {
            Ok(Message::Request(req)) => {
                self.handle_request(now, req, source, transport, arrival);
                Ok(())
            }
            Ok(Message::Response(resp)) => {
                self.handle_response(now, resp, source);
                Ok(())
            }
            Err(e) => {
                if let Some(reply) = error_response(bytes, &e) {
                    self.send_stateless(source, transport, &Message::Response(reply));
                }
                Err(e)
            }
        }
    }

    /// Feeds a parsed message received from `source`.
    pub fn handle_message(
        &mut self,
        now: Instant,
        msg: Message,
        source: SocketAddr,
        transport: Transport,
    ) {
        match msg {
            Message::Request(req) => self.handle_request(now, req, source, transport, None),
            Message::Response(resp) => self.handle_response(now, resp, source),
        }
    }

    /// A request of server transaction `id` arrived again: a completed one answers with its
    /// response, a live one as its state says (§17.2).
    fn retransmitted(&mut self, id: TransactionId) {
        match self.lingering.get(&id) {
            Some(done) => {
                let bytes = done.response.clone();
                self.out.transmit(done.destination, Transport::Udp, bytes);
            }
            None => self.with_server(id, |tx, out| tx.on_retransmission(out)),
        }
    }

    fn handle_request(
        &mut self,
        now: Instant,
        req: Request,
        source: SocketAddr,
        transport: Transport,
        arrival: Option<Arrival>,
    ) {
        let Some(key) = ServerKey::for_request(&req) else {
            return;
        };
        let existing = self.servers.get(&key).copied();
        match (existing, &req.method) {
            (Some(id), Method::Ack) => {
                let mut absorbed = true;
                self.with_server(id, |tx, _| absorbed = tx.on_ack(now));
                if !absorbed {
                    self.out.event(Event::Ack {
                        request: req,
                        source,
                        transport,
                    });
                }
            }
            (None, Method::Ack) => self.out.event(Event::Ack {
                request: req,
                source,
                transport,
            }),
            (Some(id), _) => self.retransmitted(id),
            (None, _) => self.new_server(now, (key, arrival), req, source, transport),
        }
    }

    fn new_server(
        &mut self,
        now: Instant,
        (key, arrival): (ServerKey, Option<Arrival>),
        req: Request,
        source: SocketAddr,
        transport: Transport,
    ) {
        let id = self.alloc_id();
        let tx = ServerTx::new(now, id, &req, source, transport, self.config, &mut self.out);
        self.servers.insert(key.clone(), id);
        if let Some(a) = arrival {
            self.arrivals.insert(a, id);
        }
        self.txs.insert(id, Tx::Server(tx, key, arrival));
        self.after_change(id);
        if req.method == Method::Cancel {
            let target = self.cancel_target(&req);
            self.out.event(Event::Cancel {
                id,
                target,
                request: req,
            });
        } else {
            self.out.event(Event::Request {
                id,
                request: req,
                source,
                transport,
            });
        }
    }

    /// The INVITE server transaction a CANCEL matches (§9.2).
    fn cancel_target(&self, cancel: &Request) -> CancelTarget {
        let id = ServerKey::invite_for_cancel(cancel).and_then(|k| self.servers.get(&k));
        match id.and_then(|id| self.txs.get(id)) {
            Some(Tx::Server(tx, ..)) => tx.cancel_target(),
            _ => CancelTarget::NotFound,
        }
    }

    fn handle_response(&mut self, now: Instant, resp: Response, source: SocketAddr) {
        let id = ClientKey::for_response(&resp).and_then(|k| self.clients.get(&k).copied());
        let Some(id) = id else {
            self.out.event(Event::StrayResponse {
                response: resp,
                source,
            });
            return;
        };
        if let Some(Tx::Client(tx, _)) = self.txs.get_mut(&id) {
            tx.on_response(now, resp, &mut self.out);
        }
        self.after_change(id);
    }

    /// Starts a client transaction for `request` (not ACK) and sends it.
    ///
    /// The request must carry a top Via with a fresh RFC 3261 branch ([`super::new_branch`]).
    pub fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        destination: SocketAddr,
        transport: Transport,
    ) -> Result<TransactionId, TransactionError> {
        if request.method == Method::Ack {
            return Err(TransactionError::AckNotAllowed);
        }
        let key = ClientKey::for_request(&request).ok_or(TransactionError::NoBranch)?;
        if self.clients.contains_key(&key) {
            return Err(TransactionError::Duplicate);
        }
        request
            .headers
            .cseq()
            .map_err(|_| TransactionError::BadMessage("CSeq"))?;
        let id = self.alloc_id();
        let tx = ClientTx::start(
            now,
            id,
            request,
            destination,
            transport,
            self.config,
            &mut self.out,
        );
        self.clients.insert(key.clone(), id);
        self.txs.insert(id, Tx::Client(tx, key));
        self.after_change(id);
        Ok(id)
    }

    /// Sends a response through server transaction `id`.
    pub fn send_response(
        &mut self,
        now: Instant,
        id: TransactionId,
        response: &Response,
    ) -> Result<(), TransactionError> {
        let Some(Tx::Server(tx, ..)) = self.txs.get_mut(&id) else {
            return Err(TransactionError::UnknownTransaction);
        };
        let result = tx.send_response(now, response, &mut self.out);
        if tx.lingers() {
            self.linger(now, id);
        } else {
            self.after_change(id);
        }
        result
    }

    /// True when `bytes` from `source` over UDP repeat the request of a server transaction
    /// still held (live or answered): the same match [`Self::handle_bytes`] makes first,
    /// without parsing, so a caller shedding new requests can still let these through.
    #[must_use]
    pub fn is_retransmission(&self, bytes: &[u8], source: SocketAddr) -> bool {
        self.arrivals.contains_key(&self.arrival(bytes, source))
    }

    fn arrival(&self, bytes: &[u8], source: SocketAddr) -> Arrival {
        Arrival {
            source,
            len: bytes.len(),
            hash: (
                self.arrival_keys.0.hash_one(bytes),
                self.arrival_keys.1.hash_one(bytes),
            ),
        }
    }

    /// Trades a completed non-INVITE server transaction over UDP for its [`Lingering`] form.
    fn linger(&mut self, now: Instant, id: TransactionId) {
        let Some(Tx::Server(tx, key, arrival)) = self.txs.remove(&id) else {
            return;
        };
        let (destination, response) = tx.into_last_response();
        let done = Lingering {
            key,
            arrival,
            destination,
            response,
        };
        self.lingering.insert(id, done);
        self.linger_ends.push_back((now + self.config.t1 * 64, id));
    }

    /// Sends a message outside any transaction: ACK for 2xx, 2xx retransmissions, responses
    /// forwarded statelessly, error replies to unparseable requests.
    pub fn send_stateless(
        &mut self,
        destination: SocketAddr,
        transport: Transport,
        message: &Message,
    ) {
        self.out
            .transmit(destination, transport, message.to_bytes());
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(at, id)) = self.linger_ends.front() {
            if at > now {
                break;
            }
            self.linger_ends.pop_front();
            if let Some(done) = self.lingering.remove(&id) {
                self.servers.remove(&done.key);
                if let Some(a) = done.arrival {
                    self.arrivals.remove(&a);
                }
                self.out.event(Event::Terminated { id });
            }
        }
        while let Some(Reverse((at, id, timer))) = self.queue.peek().copied() {
            if at > now {
                break;
            }
            self.queue.pop();
            let out = &mut self.out;
            match self.txs.get_mut(&id) {
                Some(Tx::Client(tx, _)) if tx.timers.get(timer) == Some(at) => {
                    tx.timers.stop(timer);
                    tx.on_timer(now, timer, out);
                }
                Some(Tx::Server(tx, ..)) if tx.timers.get(timer) == Some(at) => {
                    tx.timers.stop(timer);
                    tx.on_timer(now, timer, out);
                }
                _ => continue,
            }
            self.after_change(id);
        }
    }

    /// The next datagram or stream write to perform.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    /// The next event for the transaction user.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.out.events.pop_front()
    }

    /// When `handle_timeout` must next be called (may be early after a timer was stopped).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let timers = self.queue.peek().map(|Reverse((at, _, _))| *at);
        let linger = self.linger_ends.front().map(|(at, _)| *at);
        match (timers, linger) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn alloc_id(&mut self) -> TransactionId {
        self.next_id += 1;
        TransactionId(self.next_id)
    }

    fn with_server(&mut self, id: TransactionId, f: impl FnOnce(&mut ServerTx, &mut Outputs)) {
        if let Some(Tx::Server(tx, ..)) = self.txs.get_mut(&id) {
            f(tx, &mut self.out);
        }
        self.after_change(id);
    }

    /// Queues fresh deadlines and removes the transaction if it terminated.
    fn after_change(&mut self, id: TransactionId) {
        let (fresh, done) = match self.txs.get_mut(&id) {
            Some(Tx::Client(tx, _)) => (tx.timers.take_fresh(), tx.is_terminated()),
            Some(Tx::Server(tx, ..)) => (tx.timers.take_fresh(), tx.is_terminated()),
            None => return,
        };
        self.queue
            .extend(fresh.into_iter().map(|(at, t)| Reverse((at, id, t))));
        if done {
            match self.txs.remove(&id) {
                Some(Tx::Client(mut tx, key)) => {
                    tx.timers.stop_all();
                    self.clients.remove(&key);
                }
                Some(Tx::Server(mut tx, key, arrival)) => {
                    tx.timers.stop_all();
                    self.servers.remove(&key);
                    if let Some(a) = arrival {
                        self.arrivals.remove(&a);
                    }
                }
                None => {}
            }
            self.out.event(Event::Terminated { id });
            self.compact_queue();
        }
    }

    /// Rebuilds the timer queue from the live transactions once stale entries (stopped
    /// timers, ended transactions) dominate it, so memory follows the live load.
    fn compact_queue(&mut self) {
        if self.queue.len() <= 1024 + 8 * self.txs.len() {
            return;
        }
        self.queue = self
            .txs
            .iter()
            .flat_map(|(id, tx)| {
                let timers = match tx {
                    Tx::Client(c, _) => &c.timers,
                    Tx::Server(s, ..) => &s.timers,
                };
                timers.armed().map(move |(at, t)| Reverse((at, *id, t)))
            })
            .collect();
    }
}
