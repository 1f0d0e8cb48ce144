//! The tokio runtime around the sans-IO overlay: real sockets, the real clock, real randomness.
//!
//! One task (the [`Driver`]) owns the [`Node`] and its UDP socket. It loops over three inputs
//! (a datagram, the node's next timeout, a [`Command`] from a [`NodeHandle`]) and after each one
//! drains the node's transmits and events, as the overlay's module documentation prescribes. Everything
//! else in the daemon (the HTTP gateway, later XML-RPC and SIP) talks to the overlay only
//! through a cloneable [`NodeHandle`], so the node itself never needs a lock. The driver runs as
//! a task of its own, or hosted inside another driver's loop ([`prepare`]): the SIP proxy of a
//! one-thread node does that to call the DHT with no hand-over between tasks.
//!
//! This is the only module that reads the clock: [`now`] and [`wall_clock_ms`] are the two
//! places allowed to, which keeps the overlay deterministic under the simulator.

pub mod alarm;
mod dht_calls;
mod driver;
pub mod identity_file;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::TryRngCore as _;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use crate::dht::{DhtConfig, Outcome};
use crate::overlay::{Config, Identity, Metrics, NodeId, NodeInfo, Route};
use crate::store::{DhtKey, Store, StoreLimits, StoreStats};

pub use dht_calls::{CallError, DhtOp};
pub use driver::{Driver, Wake};

/// How many commands may wait for the driver; HTTP handlers wait (backpressure) beyond that.
const COMMAND_QUEUE: usize = 1024;

/// Errors from starting the runtime.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The overlay's UDP socket could not be bound (typically: the port is in use).
    #[error("cannot bind overlay UDP socket {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The bound socket cannot tell its own address.
    #[error("cannot read the overlay socket's address")]
    LocalAddr(#[source] std::io::Error),
    /// The store could not be opened.
    #[error("cannot open the store")]
    Store(#[source] crate::store::StoreError),
}

/// Why a lookup through a [`NodeHandle`] did not produce a route.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The node is not part of an overlay (yet, or any more).
    #[error("this node has not joined an overlay")]
    NotJoined,
    /// The overlay gave no answer within the lookup timeout.
    #[error("the lookup timed out")]
    Timeout,
    /// The driver task has stopped (the node left or is shutting down).
    #[error("the overlay driver has stopped")]
    Stopped,
}

/// A point-in-time view of the node, for `/status` and `/metrics`.
#[derive(Clone, Debug)]
pub struct Status {
    /// This node's ID.
    pub node_id: NodeId,
    /// The overlay address, as peers see it once one has told us.
    pub overlay_addr: SocketAddr,
    /// True once the node is part of an overlay.
    pub joined: bool,
    /// Leaf-set members, each once: successors (nearest first), then the other predecessors.
    pub leaf_set: Vec<NodeInfo>,
    /// Occupied routing-table slots.
    pub routing_table_entries: usize,
    /// The overlay's counters.
    pub metrics: Metrics,
    /// Smoothed RTT per measured peer.
    pub rtt_estimates: Vec<(NodeId, Duration)>,
    /// Time since the driver started.
    pub uptime: Duration,
    /// The store's counters (zeros if the store could not be read).
    pub store: StoreStats,
}

/// A request to the driver task. Each carries the channel its answer goes back on.
#[derive(Debug)]
pub enum Command {
    /// Look up the root of a key.
    Route {
        /// The key.
        key: NodeId,
        /// Where the result goes.
        reply: oneshot::Sender<Result<Route, RouteError>>,
    },
    /// Take a [`Status`] snapshot.
    Status {
        /// Where the snapshot goes.
        reply: oneshot::Sender<Status>,
    },
    /// Start a DHT request; the outcome goes back when it completes.
    Dht {
        /// The request.
        op: DhtOp,
        /// Where the outcome goes.
        reply: oneshot::Sender<Outcome>,
    },
    /// Count the live values held locally under each key (debug view of replica counts).
    LocalCounts {
        /// The keys.
        keys: Vec<DhtKey>,
        /// One count per key, in order.
        reply: oneshot::Sender<Vec<u32>>,
    },
    /// Leave the overlay gracefully, flush the goodbyes and stop the driver.
    Leave {
        /// Answered once the goodbyes have been handed to the socket.
        reply: oneshot::Sender<()>,
    },
}

/// A cheap, cloneable way to talk to a running node from any task.
#[derive(Clone, Debug)]
pub struct NodeHandle {
    tx: mpsc::Sender<Command>,
}

impl NodeHandle {
    /// Routes `key` through the overlay from this node and returns where it ended.
    ///
    /// # Errors
    /// [`RouteError`] when the node is not joined, the lookup times out or the driver stopped.
    pub async fn route(&self, key: NodeId) -> Result<Route, RouteError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Route { key, reply }).await?;
        rx.await.map_err(|_| RouteError::Stopped)?
    }

    /// A snapshot of the node's state.
    ///
    /// # Errors
    /// [`RouteError::Stopped`] when the driver has stopped.
    pub async fn status(&self) -> Result<Status, RouteError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Status { reply }).await?;
        rx.await.map_err(|_| RouteError::Stopped)
    }

    /// Leaves the overlay gracefully; returns once the goodbyes are sent. Calling it on a node
    /// that already stopped is harmless.
    pub async fn leave(&self) {
        let (reply, rx) = oneshot::channel();
        if self.send(Command::Leave { reply }).await.is_ok() {
            let _ = rx.await;
        }
    }

    async fn send(&self, cmd: Command) -> Result<(), RouteError> {
        self.tx.send(cmd).await.map_err(|_| RouteError::Stopped)
    }
}

/// Binds the overlay's UDP socket. Kept apart from [`spawn`] so the daemon can report a port in
/// use before it starts anything else.
///
/// # Errors
/// [`RuntimeError::Bind`] when the OS refuses the address.
pub async fn bind(addr: SocketAddr) -> Result<UdpSocket, RuntimeError> {
    let socket = UdpSocket::bind(addr)
        .await
        .map_err(|source| RuntimeError::Bind { addr, source })?;
    grow_buffers(&socket);
    Ok(socket)
}

/// Socket buffer size asked for on UDP sockets that carry bursts (overlay and SIP).
pub const UDP_BUFFER: usize = 4 << 20;

/// Asks for [`UDP_BUFFER`] bytes of receive and send buffer on `socket`, so a burst that
/// arrives while the driver is busy (a store commit, a batch of messages) waits in the kernel
/// instead of being dropped. The kernel caps it at `net.core.rmem_max` / `wmem_max`; failure
/// only means the default size stays.
pub fn grow_buffers(socket: &UdpSocket) {
    let s = socket2::SockRef::from(socket);
    if let Err(e) = s.set_recv_buffer_size(UDP_BUFFER) {
        tracing::debug!(error = %e, "cannot grow the UDP receive buffer");
    }
    if let Err(e) = s.set_send_buffer_size(UDP_BUFFER) {
        tracing::debug!(error = %e, "cannot grow the UDP send buffer");
    }
}

/// A [`Config`] for a real node: defaults, with the RNG seeded from the OS and the epoch taken
/// from the wall clock (so a restarted node's signed messages are newer than its old ones).
///
/// # Errors
/// When the OS random number generator fails.
pub fn live_config() -> Result<Config, rand::rand_core::OsError> {
    Ok(Config {
        rng_seed: os_random()?,
        epoch_ms: wall_clock_ms(),
        ..Config::default()
    })
}

/// 32 bytes from the OS random number generator (seeds and fresh secret keys).
///
/// # Errors
/// When the OS random number generator fails.
pub fn os_random() -> Result<[u8; 32], rand::rand_core::OsError> {
    let mut out = [0u8; 32];
    rand::rngs::OsRng.try_fill_bytes(&mut out)?;
    Ok(out)
}

/// Starts the driver task for a node on `socket`, joining through `seeds` (none: a new
/// overlay). Returns the handle and the task, which ends after [`NodeHandle::leave`] or once
/// every handle is dropped.
///
/// # Errors
/// [`RuntimeError::LocalAddr`] when the socket's local address cannot be read.
pub fn spawn(
    config: Config,
    identity: Identity,
    socket: UdpSocket,
    seeds: &[SocketAddr],
) -> Result<(NodeHandle, tokio::task::JoinHandle<()>), RuntimeError> {
    let store = Store::in_memory(StoreLimits::default()).map_err(RuntimeError::Store)?;
    let (handle, driver) = prepare(config, identity, socket, store, DhtConfig::default())?;
    let task = tokio::spawn(driver.run(seeds.to_vec()));
    Ok((handle, task))
}

/// The handle and the driver of a node keeping its data in `store` (the daemon opens it in its
/// data directory, so a restart keeps what the node held), not yet running: the caller either
/// runs it on a task of its own ([`Driver::run`]) or hosts it in its own task's loop
/// ([`Driver::bootstrap`], then [`Driver::wait`], [`Driver::handle`] and [`Driver::flush`]),
/// as a SIP proxy on a one-thread node does to reach the DHT with no hand-over between tasks.
///
/// # Errors
/// [`RuntimeError::LocalAddr`] when the socket's local address cannot be read.
pub fn prepare(
    config: Config,
    identity: Identity,
    socket: UdpSocket,
    store: Store,
    dht_config: DhtConfig,
) -> Result<(NodeHandle, Driver), RuntimeError> {
    let addr = socket.local_addr().map_err(RuntimeError::LocalAddr)?;
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
    let driver = Driver::new(config, identity, socket, addr, rx, (store, dht_config));
    Ok((NodeHandle { tx }, driver))
}

/// The monotonic clock the overlay is driven with.
#[allow(clippy::disallowed_methods)] // the runtime is where the real clock enters the overlay
#[must_use]
pub fn now() -> Instant {
    Instant::now()
}

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
#[allow(clippy::disallowed_methods)] // the runtime is where wall-clock time enters the overlay
#[must_use]
pub fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn start(seeds: &[SocketAddr]) -> (NodeHandle, SocketAddr, NodeId) {
        let socket = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
        let addr = socket.local_addr().unwrap();
        let identity = Identity::from_secret_bytes(&os_random().unwrap());
        let id = identity.node_id();
        let (handle, _task) = spawn(live_config().unwrap(), identity, socket, seeds).unwrap();
        (handle, addr, id)
    }

    async fn wait_joined(h: &NodeHandle) {
        for _ in 0..200 {
            if h.status().await.unwrap().joined {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("did not join");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_route_to_each_other_and_leave() {
        let (a, a_addr, a_id) = start(&[]).await;
        wait_joined(&a).await;
        let (b, _, b_id) = start(&[a_addr]).await;
        wait_joined(&b).await;

        let route = b.route(a_id).await.unwrap();
        assert_eq!(route.root.id, a_id);
        assert_eq!(route.path, vec![b_id, a_id]);
        assert_eq!(a.route(a_id).await.unwrap().hops, 0);

        b.leave().await;
        assert_eq!(b.status().await.unwrap_err(), RouteError::Stopped);
        assert_eq!(b.route(a_id).await.unwrap_err(), RouteError::Stopped);
        for _ in 0..100 {
            if a.status().await.unwrap().leaf_set.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("a still lists b after b left");
    }

    #[tokio::test]
    async fn an_unjoined_node_refuses_lookups() {
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let (h, _, _) = start(&[silent.local_addr().unwrap()]).await;
        assert!(!h.status().await.unwrap().joined);
        assert_eq!(
            h.route(NodeId::ZERO).await.unwrap_err(),
            RouteError::NotJoined
        );
    }
}
