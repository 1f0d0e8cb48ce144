//! The task that owns one [`Node`] and its socket.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use super::{Command, RouteError, Status, now};
use crate::overlay::{Config, Event, Identity, LookupError, LookupId, Node, Route};

/// Receive buffer size. Overlay datagrams are at most 1,200 bytes; a larger one still arrives
/// larger than that (truncated here) and the node counts it as oversized.
const RECV_BUF: usize = 2048;

/// After a receive error, wait this long before the next receive, so a socket that keeps
/// failing cannot spin a core.
const RECV_ERROR_PAUSE: Duration = Duration::from_millis(10);

/// What woke the driver up.
enum Wake {
    /// A datagram (or a receive error).
    Datagram(std::io::Result<(usize, SocketAddr)>),
    /// The node's timer is due.
    Timeout,
    /// A command, or `None` when every handle is gone.
    Command(Option<Command>),
}

/// Owns a [`Node`] and its UDP socket and feeds one with the other; see the
/// [module documentation](super).
#[derive(Debug)]
pub struct Driver {
    node: Node,
    socket: UdpSocket,
    commands: mpsc::Receiver<Command>,
    pending: HashMap<LookupId, oneshot::Sender<Result<Route, RouteError>>>,
    started: Instant,
}

impl Driver {
    pub(super) fn new(
        config: Config,
        identity: Identity,
        socket: UdpSocket,
        addr: SocketAddr,
        commands: mpsc::Receiver<Command>,
    ) -> Self {
        Self {
            node: Node::new(config, identity, addr),
            socket,
            commands,
            pending: HashMap::new(),
            started: now(),
        }
    }

    /// Joins through `seeds` (none: a new overlay) and runs until the node leaves.
    pub async fn run(mut self, seeds: Vec<SocketAddr>) {
        self.node.bootstrap(now(), &seeds);
        let mut buf = vec![0u8; RECV_BUF];
        loop {
            self.flush().await;
            match self.wait(&mut buf).await {
                Wake::Datagram(Ok((len, from))) => {
                    let data = buf.get(..len).unwrap_or_default();
                    self.node.handle_datagram(now(), from, data);
                }
                Wake::Datagram(Err(e)) => {
                    // ICMP errors (port unreachable from a dead peer) surface here on some
                    // systems; the overlay notices dead peers by itself.
                    tracing::debug!(error = %e, "overlay socket receive error");
                    tokio::time::sleep(RECV_ERROR_PAUSE).await;
                }
                Wake::Timeout => self.node.handle_timeout(now()),
                Wake::Command(Some(cmd)) => {
                    if self.command(cmd).await {
                        return;
                    }
                }
                Wake::Command(None) => {
                    self.leave().await;
                    return;
                }
            }
        }
    }

    /// Waits for the next input. The futures borrow the socket and the channel only here, so
    /// the caller can use `self` freely afterwards.
    async fn wait(&mut self, buf: &mut [u8]) -> Wake {
        let deadline = self.node.poll_timeout();
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = self.socket.recv_from(buf) => Wake::Datagram(r),
            () = sleep => Wake::Timeout,
            c = self.commands.recv() => Wake::Command(c),
        }
    }

    /// Handles one command; returns true when the driver must stop.
    async fn command(&mut self, cmd: Command) -> bool {
        match cmd {
            Command::Route { key, reply } => {
                let id = self.node.route(now(), key);
                self.pending.insert(id, reply);
                false
            }
            Command::Status { reply } => {
                let _ = reply.send(self.status());
                false
            }
            Command::Leave { reply } => {
                self.leave().await;
                let _ = reply.send(());
                true
            }
        }
    }

    async fn leave(&mut self) {
        tracing::info!(id = %self.node.id(), "leaving the overlay");
        self.node.leave(now());
        self.flush().await;
    }

    /// Sends every queued datagram and dispatches every event.
    async fn flush(&mut self) {
        while let Some(t) = self.node.poll_transmit() {
            if let Err(e) = self.socket.send_to(&t.payload, t.dst).await {
                // A send can fail for one destination (unreachable network, full buffer); the
                // overlay's retransmissions and failure detection cover the loss.
                tracing::debug!(dst = %t.dst, error = %e, "overlay send failed");
            }
        }
        while let Some(event) = self.node.poll_event() {
            self.event(event);
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Joined => tracing::info!(id = %self.node.id(), "joined the overlay"),
            Event::LookupDone { id, result } => {
                let result = result.map_err(|e| match e {
                    LookupError::Timeout { .. } => RouteError::Timeout,
                    LookupError::NotJoined => RouteError::NotJoined,
                });
                if let Some(reply) = self.pending.remove(&id) {
                    // The asker may have gone away (HTTP client hung up); nothing to do then.
                    let _ = reply.send(result);
                }
            }
            Event::LeafSetChanged => {
                tracing::debug!(size = self.node.leaf_set().len(), "leaf set changed");
            }
            Event::PeerFailed(peer) => {
                tracing::info!(peer = %peer.id.short(), addr = %peer.addr, "peer failed");
            }
            // Application payloads: the DHT layer (a later part) will take these from the
            // driver; until it exists nothing sends them, so one arriving is only logged.
            Event::Deliver { key, origin, .. } => {
                tracing::debug!(%key, from = %origin.addr, "routed payload with no consumer yet");
            }
            Event::Direct { from, .. } => {
                tracing::debug!(from = %from.addr, "direct payload with no consumer yet");
            }
            Event::DirectFailed { id, to } => {
                tracing::debug!(id, to = %to.addr, "direct message failed");
            }
        }
    }

    fn status(&self) -> Status {
        Status {
            node_id: self.node.id(),
            overlay_addr: self.node.local_addr(),
            joined: self.node.is_joined(),
            leaf_set: self.node.leaf_set().members().copied().collect(),
            routing_table_entries: self.node.routing_table().len(),
            metrics: self.node.metrics().clone(),
            rtt_estimates: self.node.rtt_estimates(),
            uptime: now().saturating_duration_since(self.started),
        }
    }
}
