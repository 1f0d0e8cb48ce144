//! The tokio runtime around the sans-IO SIP proxy: UDP and TCP sockets, the clock, and the
//! location service.
//!
//! Same shape as [`crate::runtime`]: one task (the driver) owns the [`Proxy`], its UDP socket
//! and its TCP listener, and loops over its inputs (a datagram, a new TCP connection, a frame
//! or close from a connection task, a location answer, the proxy's next timeout, a
//! [`Command`] from a [`SipHandle`]). After each input it drains `poll_transmit` (to the UDP
//! socket or a connection's queue) and `poll_output` (each DHT request a future calling the
//! [`LocationService`], polled by the driver itself), so the proxy never needs a lock and many
//! REGISTERs and calls wait on the DHT concurrently. At most [`SipConfig::max_dht_inflight`]
//! run at once; the rest wait in a queue, so an overload queues in the proxy rather than in
//! the DHT.
//!
//! On a node held to one thread the same task also hosts the overlay's driver (`hosted.rs`,
//! [`spawn_hosting`]): lookups then start on the DHT directly and their answers come back in
//! the step that decodes them, with no hand-over between tasks.
//!
//! # TCP
//!
//! Every connection, accepted or opened by us, is a task that cuts the byte stream into
//! messages with [`crate::sip::frame_stream`] and writes what the driver queues for it. The
//! driver numbers connections ([`ConnectionId`]) and remembers one per peer address, so
//! responses and later requests to that peer reuse it; a transmit to a peer with no
//! connection opens one. Bounds: at most [`TcpLimits::max_connections`] connections (more
//! are refused at accept), [`TcpLimits::max_buffer`] unframed bytes per connection (a peer
//! that exceeds it is disconnected), a bounded send queue per connection, and an idle timeout.
//! A stream that cannot be framed gets its error response (if the proxy can build one) and is
//! closed. The proxy hears of every close through `handle_connection_closed`.
//!
//! # Location service
//!
//! [`LocationService`] is the DHT seen from the proxy; [`location`] documents what the DHT
//! implementation must do. The super-node uses [`DhtLocation`]; tests of the proxy alone use
//! [`SharedMemoryLocation`], a map shared by every proxy of one process.
//!
//! This module reads the real clock only through [`crate::runtime::now`] and
//! [`crate::runtime::wall_clock_ms`], as the overlay runtime does.

pub mod dht_location;
mod driver;
mod hosted;
pub mod location;
mod sender;
pub mod service_list;
mod tcp;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, oneshot};

use crate::sip::proxy::{DhtTiming, Metrics, ProxyConfig};

pub use dht_location::DhtLocation;
pub use location::{LocationService, SharedMemoryLocation, binding_secret};

/// Commands waiting for the driver beyond this make HTTP handlers wait (backpressure).
const COMMAND_QUEUE: usize = 64;
/// How many times an OS-chosen UDP port is tried for a free TCP port of the same number.
const BIND_ATTEMPTS: usize = 20;

/// Limits on TCP connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpLimits {
    /// Most simultaneous connections (accepted and opened).
    pub max_connections: usize,
    /// Most bytes buffered from one connection without a complete message.
    pub max_buffer: usize,
    /// Messages queued for sending on one connection; beyond it, messages are dropped.
    pub send_queue: usize,
    /// A connection with no traffic either way for this long is closed.
    pub idle: Duration,
    /// How long opening a connection to a peer may take.
    pub connect_timeout: Duration,
}

impl Default for TcpLimits {
    /// 1,024 connections, 128 KiB buffered (two maximal messages), 256 queued messages,
    /// 5 minutes idle (longer than the usual 2-minute CRLF keep-alive), 3 s to connect.
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_buffer: 128 * 1024,
            send_queue: 256,
            idle: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(3),
        }
    }
}

/// Settings of one SIP runtime.
#[derive(Clone, Debug)]
pub struct SipConfig {
    /// The proxy core's settings; `local` must be the address peers reach us at.
    pub proxy: ProxyConfig,
    /// TCP bounds.
    pub tcp: TcpLimits,
    /// Most location requests in flight at once. More wait in a queue and start as answers
    /// come back, so an overload queues here instead of flooding the DHT, whose latency (and
    /// retransmissions) would then grow for everyone; it keeps serving at its capacity. While
    /// answers take over 100 ms the driver lowers this window (AIMD, down to 8).
    ///
    /// By Little's law it also caps the rate: at most this many answers per DHT round trip.
    /// A loaded 4-node overlay answers a store in 5–7 ms (queues in every node's batches), so
    /// 128 capped REGISTERs near 20,000/s with CPU to spare; 512 leaves the cap to the 100 ms
    /// latency target instead.
    pub max_dht_inflight: usize,
    /// Most location requests waiting for a slot; beyond it a request fails at once (the
    /// proxy answers 503). A queued request the proxy has given up on
    /// ([`ProxyConfig::dht_timeout`]) is dropped instead of started.
    pub max_dht_queue: usize,
}

impl SipConfig {
    /// Defaults for a proxy reached at `local`.
    #[must_use]
    pub fn new(local: SocketAddr) -> Self {
        Self {
            proxy: ProxyConfig::new(local),
            tcp: TcpLimits::default(),
            max_dht_inflight: 512,
            max_dht_queue: 50_000,
        }
    }
}

/// Errors from starting the SIP runtime.
#[derive(Debug, thiserror::Error)]
pub enum SipError {
    /// The UDP socket or TCP listener could not be bound (typically: the port is in use).
    #[error("cannot bind SIP socket {addr}: address in use or not available")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The bound socket cannot tell its own address.
    #[error("cannot read the SIP socket's address")]
    LocalAddr(#[source] std::io::Error),
    /// The proxy's thread could not start, or its sockets could not move to it.
    #[error("cannot start the SIP proxy thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// The bound UDP socket and TCP listener, on the same port.
#[derive(Debug)]
pub struct SipSockets {
    udp: UdpSocket,
    tcp: TcpListener,
    addr: SocketAddr,
}

impl SipSockets {
    /// The bound address (UDP and TCP).
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Binds UDP and TCP on `addr`. With port 0 the OS picks a UDP port and TCP takes the same
/// number, retrying with a new UDP port when that TCP port is taken.
///
/// # Errors
/// [`SipError::Bind`] when the OS refuses the address.
pub async fn bind(addr: SocketAddr) -> Result<SipSockets, SipError> {
    let bind_err = |source| SipError::Bind { addr, source };
    let mut last = None;
    for _ in 0..BIND_ATTEMPTS {
        let udp = UdpSocket::bind(addr).await.map_err(bind_err)?;
        crate::runtime::grow_buffers(&udp);
        let local = udp.local_addr().map_err(SipError::LocalAddr)?;
        match TcpListener::bind(local).await {
            Ok(tcp) => {
                return Ok(SipSockets {
                    udp,
                    tcp,
                    addr: local,
                });
            }
            Err(e) if addr.port() == 0 => last = Some(e),
            Err(e) => return Err(bind_err(e)),
        }
    }
    Err(bind_err(last.unwrap_or_else(|| {
        std::io::Error::other("no free port pair")
    })))
}

/// The address to put in Via and Record-Route: the bound one, or for a wildcard bind the
/// local address the OS would use to reach the outside (no packet is sent), or loopback.
#[must_use]
pub fn advertised_addr(bound: SocketAddr) -> SocketAddr {
    if !bound.ip().is_unspecified() {
        return bound;
    }
    let probe = || -> std::io::Result<IpAddr> {
        let s = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
        s.connect((Ipv4Addr::new(192, 0, 2, 1), 9))?;
        Ok(s.local_addr()?.ip())
    };
    let ip = probe().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    SocketAddr::new(ip, bound.port())
}

/// A point-in-time view of the SIP runtime, for `/status` and `/metrics`.
#[derive(Clone, Debug)]
pub struct SipStatus {
    /// Where the proxy is reached (Via / Record-Route address).
    pub local: SocketAddr,
    /// Live SIP transactions (server and client).
    pub transactions: usize,
    /// Proxied requests still in progress.
    pub forks: usize,
    /// Location requests waiting for an answer.
    pub dht_pending: usize,
    /// AORs whose bindings the proxy has cached for routing.
    pub bindings_cached: usize,
    /// Open TCP connections.
    pub tcp_connections: usize,
    /// Messages dropped because a TCP connection's send queue was full or it could not open.
    pub tcp_send_drops: u64,
    /// The SIP super-nodes whose addresses count as the overlay, this one first.
    pub super_nodes: Vec<SocketAddr>,
    /// The proxy's counters.
    pub metrics: Metrics,
    /// Time since the runtime started.
    pub uptime: Duration,
}

/// A request to the driver task.
#[derive(Debug)]
pub enum Command {
    /// Take a [`SipStatus`] snapshot.
    Status {
        /// Where the snapshot goes.
        reply: oneshot::Sender<SipStatus>,
    },
    /// Take (drain) the per-transaction DHT timings recorded since the last call.
    DhtTimings {
        /// Where the records go, oldest first.
        reply: oneshot::Sender<Vec<DhtTiming>>,
    },
    /// The other SIP super-nodes (see [`Proxy::handle_super_nodes`]).
    ///
    /// [`Proxy::handle_super_nodes`]: crate::sip::proxy::Proxy::handle_super_nodes
    SuperNodes(Vec<SocketAddr>),
    /// Stop serving: close the sockets and every connection.
    Shutdown {
        /// Answered once the driver has stopped.
        reply: oneshot::Sender<()>,
    },
}

/// A cheap, cloneable way to talk to a running SIP runtime.
#[derive(Clone, Debug)]
pub struct SipHandle {
    tx: mpsc::Sender<Command>,
}

impl SipHandle {
    /// A snapshot of the runtime's state; `None` once it has stopped.
    pub async fn status(&self) -> Option<SipStatus> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Command::Status { reply }).await.ok()?;
        rx.await.ok()
    }

    /// The per-transaction DHT timings recorded since the last call (at most
    /// [`crate::sip::proxy::TIMING_LOG`], oldest first); `None` once the runtime has stopped.
    pub async fn dht_timings(&self) -> Option<Vec<DhtTiming>> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Command::DhtTimings { reply }).await.ok()?;
        rx.await.ok()
    }

    /// Tells the proxy which other SIP super-nodes there are; false once the runtime has
    /// stopped.
    pub async fn set_super_nodes(&self, peers: Vec<SocketAddr>) -> bool {
        self.tx.send(Command::SuperNodes(peers)).await.is_ok()
    }

    /// Stops the runtime; harmless when it already stopped.
    pub async fn shutdown(&self) {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Command::Shutdown { reply }).await.is_ok() {
            let _ = rx.await;
        }
    }
}

/// Starts the driver task on `sockets`, storing bindings through `location` and also hosting
/// the overlay's `driver` (see `hosted.rs`): for a node on one thread, where the proxy then
/// reaches the DHT with no hand-over between tasks. The task bootstraps the overlay through
/// `seeds`; after the proxy stops it goes on running the overlay alone, until the node leaves.
pub fn spawn_hosting<L: LocationService>(
    config: SipConfig,
    sockets: SipSockets,
    location: Arc<L>,
    mut overlay: crate::runtime::Driver,
    seeds: &[SocketAddr],
) -> (SipHandle, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
    overlay.bootstrap(seeds);
    let driver = driver::Driver::new(config, sockets, location, rx).with_hosted(overlay);
    (SipHandle { tx }, tokio::spawn(driver.run()))
}

/// Starts the driver on a thread of its own (a single-threaded runtime that owns
/// the SIP sockets), so the proxy and the node's DHT driver run side by side on two cores
/// without a work-stealing pool moving them between threads at every hand-over; and with a
/// third thread that sends the proxy's UDP datagrams when a flush has many of them (see
/// `sender`), so under a storm of requests the proxy thread spends its time draining its
/// socket.
///
/// # Errors
/// [`SipError::Thread`] when the sockets cannot be moved to the new thread or the thread
/// cannot start.
pub fn spawn_on_own_thread<L: LocationService>(
    config: SipConfig,
    sockets: SipSockets,
    location: Arc<L>,
) -> Result<(SipHandle, std::thread::JoinHandle<()>), SipError> {
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
    let (udp, tcp, addr) = (
        sockets.udp.into_std().map_err(SipError::Thread)?,
        sockets.tcp.into_std().map_err(SipError::Thread)?,
        sockets.addr,
    );
    let sender = sender::UdpSender::spawn(udp.try_clone().map_err(SipError::Thread)?)
        .map_err(SipError::Thread)?;
    let thread = std::thread::Builder::new()
        .name("sip-proxy".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => return tracing::error!(error = %e, "cannot start the SIP runtime"),
            };
            rt.block_on(async move {
                let sockets = match (UdpSocket::from_std(udp), TcpListener::from_std(tcp)) {
                    (Ok(udp), Ok(tcp)) => SipSockets { udp, tcp, addr },
                    (Err(e), _) | (_, Err(e)) => {
                        return tracing::error!(error = %e, "cannot register the SIP sockets");
                    }
                };
                driver::Driver::new(config, sockets, location, rx)
                    .with_sender(sender)
                    .run()
                    .await;
            });
        })
        .map_err(SipError::Thread)?;
    Ok((SipHandle { tx }, thread))
}

/// Wall-clock Unix seconds, for binding expiry.
pub(crate) fn unix_now() -> u64 {
    crate::runtime::wall_clock_ms() / 1000
}
