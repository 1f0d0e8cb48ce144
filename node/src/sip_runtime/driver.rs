//! The task that owns the [`Proxy`] and its sockets; see the [module documentation](super).

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt as _, StreamExt as _};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

use super::hosted::HostedDht;
use super::sender::UdpSender;
use super::tcp::{ConnEvent, Connections};
use super::{Command, LocationService, SipConfig, SipSockets, SipStatus, unix_now};
use crate::runtime::alarm::Alarm;
use crate::runtime::now;
use crate::sip::proxy::{DhtError, DhtId, Link, Output, Proxy, Stored};
use crate::sip::registrar::Binding;

/// Receive buffer: the largest UDP payload.
const RECV_BUF: usize = 65_536;
/// After a socket error, pause this long so a failing socket cannot spin a core.
const ERROR_PAUSE: Duration = Duration::from_millis(10);
/// Most datagrams handled per wakeup before queued transmits are flushed.
const BATCH: usize = 256;
/// Frames and closes that connection tasks may queue for the driver.
const CONN_EVENTS: usize = 1024;

/// Answers slower than this shrink the in-flight window (see [`Driver::adapt_window`]).
const DHT_LATENCY_TARGET: Duration = Duration::from_millis(100);
/// The in-flight window never shrinks below this.
const MIN_WINDOW: usize = 8;
/// A location request that waited this long for a slot fails at once (the proxy answers
/// 503) instead of starting: under a sustained overload a FIFO queue would otherwise make
/// every request wait until the proxy's DHT timeout, so none would succeed; this way those
/// that start still finish in time and the node serves at its capacity.
const MAX_QUEUE_WAIT: Duration = Duration::from_secs(1);

/// A location answer on its way back to the proxy, with when its request started (`None`
/// for one failed at once).
#[derive(Debug)]
enum DhtDone {
    Lookup(DhtId, Result<Vec<Binding>, DhtError>, Option<Instant>),
    Store(DhtId, Result<Stored, DhtError>, Option<Instant>),
}

/// What woke the driver up.
enum Wake {
    Datagram(std::io::Result<(usize, SocketAddr)>),
    Accept(std::io::Result<(TcpStream, SocketAddr)>),
    Conn(Option<ConnEvent>),
    Dht(DhtDone),
    Timeout,
    Command(Option<Command>),
    Overlay(crate::runtime::Wake),
}

/// Owns the proxy and feeds it from the sockets, the connection tasks and the location
/// service.
pub(super) struct Driver<L> {
    proxy: Proxy,
    local: SocketAddr,
    udp: UdpSocket,
    tcp: TcpListener,
    conns: Connections,
    conn_rx: mpsc::Receiver<ConnEvent>,
    location: Arc<L>,
    /// Location requests in flight, polled by this task itself: an answer wakes the driver
    /// directly, with no task spawned per request and no channel in between.
    dht: FuturesUnordered<Pin<Box<dyn Future<Output = DhtDone> + Send>>>,
    dht_inflight: usize,
    max_dht_inflight: usize,
    /// Requests allowed in flight now: at most `max_dht_inflight`, less while the DHT is slow.
    window: usize,
    /// When the window was last halved.
    shrunk_at: Option<Instant>,
    /// Location requests waiting for an in-flight slot, with when they were queued.
    dht_queue: VecDeque<(Instant, Output)>,
    max_dht_queue: usize,
    /// How long the proxy waits for a location answer; older queued requests are dropped.
    dht_timeout: Duration,
    commands: mpsc::Receiver<Command>,
    started: Instant,
    /// Where large batches of UDP datagrams go, when the proxy has a sender thread.
    sender: Option<UdpSender>,
    /// The overlay's driver, when this task hosts it (see [`super::hosted`]).
    hosted: Option<HostedDht>,
    /// The proxy's next deadline.
    alarm: Alarm,
}

impl<L: LocationService> Driver<L> {
    pub(super) fn new(
        config: SipConfig,
        sockets: SipSockets,
        location: Arc<L>,
        commands: mpsc::Receiver<Command>,
    ) -> Self {
        let started = now();
        let dht_timeout = config.proxy.dht_timeout;
        let (conn_tx, conn_rx) = mpsc::channel(CONN_EVENTS);
        let conns = Connections::new(conn_tx, config.tcp, config.proxy.transaction.limits);
        Self {
            local: config.proxy.local,
            proxy: Proxy::new(config.proxy, started, unix_now()),
            udp: sockets.udp,
            tcp: sockets.tcp,
            conns,
            conn_rx,
            location,
            dht: FuturesUnordered::new(),
            dht_inflight: 0,
            max_dht_inflight: config.max_dht_inflight.max(1),
            window: config.max_dht_inflight.max(1),
            shrunk_at: None,
            dht_queue: VecDeque::new(),
            max_dht_queue: config.max_dht_queue,
            dht_timeout,
            commands,
            started,
            sender: None,
            hosted: None,
            alarm: Alarm::new(),
        }
    }

    /// Hands large batches of outgoing UDP datagrams to `sender`.
    pub(super) fn with_sender(mut self, sender: UdpSender) -> Self {
        self.sender = Some(sender);
        self
    }

    /// Hosts the overlay's `driver` (already bootstrapped) in this task.
    pub(super) fn with_hosted(mut self, driver: crate::runtime::Driver) -> Self {
        self.hosted = Some(HostedDht::new(driver));
        self
    }

    /// Serves until shut down or every handle is dropped; a hosted overlay then goes on alone
    /// in this task until the node leaves.
    pub(super) async fn run(mut self) {
        self.serve().await;
        let hosted = self.hosted.take();
        drop(self);
        if let Some(hosted) = hosted {
            let (driver, _) = hosted.stop();
            driver.serve().await;
        }
    }

    async fn serve(&mut self) {
        tracing::info!(addr = %self.local, "SIP proxy/registrar serving on UDP and TCP");
        let mut buf = vec![0u8; RECV_BUF];
        loop {
            self.flush().await;
            if self.settle_hosted().await {
                continue;
            }
            match self.wait(&mut buf).await {
                Wake::Datagram(Ok((len, from))) => {
                    let data = buf.get(..len).unwrap_or_default();
                    self.input(data, from, Link::Udp);
                    self.drain_udp(&mut buf);
                    self.drain_dht();
                }
                Wake::Datagram(Err(e)) => {
                    // ICMP port unreachable from a vanished phone lands here on Linux; the
                    // transaction timers deal with the silence.
                    tracing::debug!(error = %e, "SIP UDP receive error");
                    tokio::time::sleep(ERROR_PAUSE).await;
                }
                Wake::Accept(Ok((stream, peer))) => self.conns.accept(stream, peer),
                Wake::Accept(Err(e)) => {
                    tracing::debug!(error = %e, "SIP TCP accept error");
                    tokio::time::sleep(ERROR_PAUSE).await;
                }
                Wake::Conn(Some(ev)) => self.conn_event(ev),
                Wake::Dht(done) => {
                    self.dht_done(done);
                    self.drain_dht();
                    self.drain_udp(&mut buf);
                }
                Wake::Timeout => self.proxy.handle_timeout(now()),
                Wake::Command(Some(Command::Status { reply })) => {
                    let _ = reply.send(self.status());
                }
                Wake::Command(Some(Command::DhtTimings { reply })) => {
                    let _ = reply.send(self.proxy.take_dht_timings());
                }
                Wake::Command(Some(Command::SuperNodes(peers))) => {
                    self.proxy.handle_super_nodes(&peers);
                }
                Wake::Command(Some(Command::Shutdown { reply })) => {
                    let _ = reply.send(());
                    return;
                }
                // The driver holds a sender of the connection channel, so it never ends; no handle
                // left means nobody can stop us any more: stop now.
                Wake::Conn(None) | Wake::Command(None) => return,
                Wake::Overlay(wake) => self.overlay_input(wake).await,
            }
        }
    }

    /// With a hosted overlay: hands the lookups that finished to the proxy (true: the loop
    /// must flush the proxy again), or, when none did, sends what the overlay has queued.
    async fn settle_hosted(&mut self) -> bool {
        let Some(hosted) = self.hosted.as_mut() else {
            return false;
        };
        let done = hosted.take_done();
        if done.is_empty() {
            hosted.flush().await;
            return false;
        }
        for (id, result, started) in done {
            self.dht_done(DhtDone::Lookup(id, result, Some(started)));
        }
        true
    }

    /// An input of the hosted overlay; if the node has left, its lookups fail and later ones
    /// go through the location service (which then fails them too).
    async fn overlay_input(&mut self, wake: crate::runtime::Wake) {
        let Some(hosted) = self.hosted.as_mut() else {
            return;
        };
        if hosted.handle(wake).await
            && let Some(hosted) = self.hosted.take()
        {
            let (_, failed) = hosted.stop();
            for (id, result, started) in failed {
                self.dht_done(DhtDone::Lookup(id, result, Some(started)));
            }
        }
    }

    async fn wait(&mut self, buf: &mut [u8]) -> Wake {
        let deadline = self.proxy.poll_timeout();
        tokio::select! {
            r = self.udp.recv_from(buf) => Wake::Datagram(r),
            r = self.tcp.accept() => Wake::Accept(r),
            e = self.conn_rx.recv() => Wake::Conn(e),
            Some(d) = self.dht.next(), if !self.dht.is_empty() => Wake::Dht(d),
            () = self.alarm.at(deadline) => Wake::Timeout,
            c = self.commands.recv() => Wake::Command(c),
            w = hosted_wait(self.hosted.as_mut()) => Wake::Overlay(w),
        }
    }

    /// Feeds every datagram already waiting (up to [`BATCH`]) before the next flush, so one
    /// wakeup serves a burst and its answers leave together.
    fn drain_udp(&mut self, buf: &mut [u8]) {
        for _ in 0..BATCH {
            match self.udp.try_recv_from(buf) {
                Ok((len, from)) => {
                    let data = buf.get(..len).unwrap_or_default();
                    self.input(data, from, Link::Udp);
                }
                // WouldBlock: drained. Any other error comes back through `wait`.
                Err(_) => return,
            }
        }
    }

    /// Handles every location answer already in (up to [`BATCH`]). Without this a proxy
    /// flooded with datagrams took one answer per wakeup against a batch of datagrams each
    /// time: under overload answers then piled up unread, every request slot stayed taken,
    /// and the proxy failed everything while the DHT sat idle.
    fn drain_dht(&mut self) {
        for _ in 0..BATCH {
            match self.dht.next().now_or_never() {
                Some(Some(done)) => self.dht_done(done),
                // Nothing ready, or nothing in flight.
                _ => return,
            }
        }
    }

    fn input(&mut self, data: &[u8], from: SocketAddr, link: Link) {
        if let Err(e) = self.proxy.handle_bytes(now(), data, from, link) {
            tracing::debug!(%from, error = %e, "unparseable SIP message");
        }
    }

    fn conn_event(&mut self, ev: ConnEvent) {
        match ev {
            ConnEvent::Frame { id, peer, bytes } => self.input(&bytes, peer, Link::Tcp(Some(id))),
            ConnEvent::Closed { id } => {
                if self.conns.closed(id) {
                    self.proxy.handle_connection_closed(id);
                }
            }
        }
    }

    fn dht_done(&mut self, done: DhtDone) {
        self.dht_inflight = self.dht_inflight.saturating_sub(1);
        let t = now();
        let started = match done {
            DhtDone::Lookup(id, r, started) => {
                self.proxy.handle_lookup(t, id, r);
                started
            }
            DhtDone::Store(id, r, started) => {
                self.proxy.handle_store_done(t, id, r);
                started
            }
        };
        if let Some(started) = started {
            self.adapt_window(t, t.saturating_duration_since(started));
        }
        self.start_queued();
    }

    /// Additive increase, multiplicative decrease of the in-flight window on the DHT's answer
    /// time: an answer slower than [`DHT_LATENCY_TARGET`] halves it (at most once per target
    /// interval), a faster one widens it by one. A saturated DHT (a CPU-bound host) then keeps
    /// short queues, so the overlay's own acknowledgements and probes stay timely and its
    /// failure detector does not mistake busy neighbours for dead ones; the excess waits here.
    fn adapt_window(&mut self, t: Instant, latency: Duration) {
        if latency > DHT_LATENCY_TARGET {
            let recent = self
                .shrunk_at
                .is_some_and(|at| t.saturating_duration_since(at) < DHT_LATENCY_TARGET);
            if !recent {
                self.window = (self.window / 2).max(MIN_WINDOW.min(self.max_dht_inflight));
                self.shrunk_at = Some(t);
            }
        } else if self.window < self.max_dht_inflight {
            self.window += 1;
        }
    }

    /// Starts queued location requests while slots are free. Those the proxy has already
    /// given up on are dropped (their answers would be ignored); those that waited over
    /// [`MAX_QUEUE_WAIT`] fail at once.
    fn start_queued(&mut self) {
        let t = now();
        let max_wait = MAX_QUEUE_WAIT.min(self.dht_timeout);
        while self.dht_inflight < self.window {
            let Some((queued, output)) = self.dht_queue.pop_front() else {
                return;
            };
            let waited = t.saturating_duration_since(queued);
            if waited >= self.dht_timeout {
                continue;
            }
            if waited >= max_wait {
                self.fail_at_once(output, "waited too long for a location request slot");
                continue;
            }
            self.launch(output);
        }
    }

    /// Sends every queued message and starts every queued location request; then tells the
    /// proxy how far behind the DHT is, for the next inputs.
    async fn flush(&mut self) {
        let mut udp = Vec::new();
        while let Some(t) = self.proxy.poll_transmit() {
            match t.link {
                Link::Udp => udp.push((t.contents, t.destination)),
                Link::Tcp(id) => self.conns.send(id, t.destination, t.contents),
            }
        }
        match &self.sender {
            Some(sender) if sender.takes(udp.len()) => sender.send(udp),
            _ => {
                for (contents, destination) in udp {
                    send_udp(&self.udp, &contents, destination).await;
                }
            }
        }
        while let Some(output) = self.proxy.poll_output() {
            self.start_dht(output);
        }
        let backlog = self
            .dht_queue
            .front()
            .map_or(Duration::ZERO, |(queued, _)| {
                now().saturating_duration_since(*queued)
            });
        self.proxy.handle_location_backlog(backlog);
    }

    /// Starts one location request, or queues it while [`SipConfig::max_dht_inflight`] are
    /// in flight; with the queue full too, it fails at once.
    fn start_dht(&mut self, output: Output) {
        if self.dht_inflight < self.window && self.dht_queue.is_empty() {
            return self.launch(output);
        }
        if self.dht_queue.len() < self.max_dht_queue {
            self.dht_queue.push_back((now(), output));
            return;
        }
        self.fail_at_once(output, "too many location requests waiting");
    }

    /// Answers `output` with a failure through the channel, like a DHT error (the proxy
    /// answers 503); counted as in flight until the answer is handled.
    fn fail_at_once(&mut self, output: Output, why: &str) {
        self.dht_inflight += 1;
        let busy = || DhtError::Failed(why.to_owned());
        let done = match output {
            Output::Lookup { id, .. } => DhtDone::Lookup(id, Err(busy()), None),
            Output::Store { id, .. } => DhtDone::Store(id, Err(busy()), None),
        };
        self.dht.push(Box::pin(std::future::ready(done)));
    }

    /// Starts one location request; its answer comes out of `self.dht` in `wait`.
    fn launch(&mut self, output: Output) {
        self.dht_inflight += 1;
        let location = Arc::clone(&self.location);
        let at = now();
        let (Output::Lookup { id, .. } | Output::Store { id, .. }) = &output;
        self.proxy.handle_dht_started(*id, at);
        if let (Some(hosted), Output::Lookup { id, key }) = (self.hosted.as_mut(), &output) {
            hosted.lookup(*id, *key, at);
            return;
        }
        let started = Some(at);
        self.dht.push(Box::pin(async move {
            match output {
                Output::Lookup { id, key } => {
                    DhtDone::Lookup(id, location.lookup(key).await, started)
                }
                Output::Store {
                    id,
                    key,
                    expect,
                    ops,
                } => DhtDone::Store(id, location.store(key, expect, ops).await, started),
            }
        }));
    }

    fn status(&self) -> SipStatus {
        SipStatus {
            local: self.local,
            transactions: self.proxy.transactions_active(),
            forks: self.proxy.forks_active(),
            dht_pending: self.proxy.dht_pending(),
            bindings_cached: self.proxy.cached_aors(),
            tcp_connections: self.conns.len(),
            tcp_send_drops: self.conns.send_drops,
            super_nodes: self.proxy.super_nodes(),
            metrics: self.proxy.metrics().clone(),
            uptime: now().saturating_duration_since(self.started),
        }
    }
}

/// The hosted overlay's next input; never, without one.
async fn hosted_wait(hosted: Option<&mut HostedDht>) -> crate::runtime::Wake {
    match hosted {
        Some(hosted) => hosted.wait().await,
        None => std::future::pending().await,
    }
}

/// Sends one datagram from the proxy's own task.
async fn send_udp(udp: &UdpSocket, contents: &[u8], destination: SocketAddr) {
    let sent = match udp.try_send_to(contents, destination) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            udp.send_to(contents, destination).await
        }
        other => other,
    };
    if let Err(e) = sent {
        // One unreachable destination must not stop the proxy; the transaction layer
        // retransmits or times out.
        tracing::debug!(dst = %destination, error = %e, "SIP UDP send failed");
    }
}
