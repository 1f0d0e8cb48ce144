//! TCP connections: one task per connection, a map in the driver; see the module doc.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;

use super::TcpLimits;
use crate::sip::proxy::ConnectionId;
use crate::sip::{Frame, Limits, frame_stream};

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;
/// After a stream that cannot be framed, how long queued responses may still be written.
const LINGER: Duration = Duration::from_millis(500);

/// What a connection task tells the driver.
#[derive(Debug)]
pub(super) enum ConnEvent {
    /// One complete message (or the start of an unframeable stream, for an error answer).
    Frame {
        /// The connection.
        id: ConnectionId,
        /// The peer.
        peer: SocketAddr,
        /// The message bytes.
        bytes: Vec<u8>,
    },
    /// The connection is gone (closed, failed, idle, or never opened).
    Closed {
        /// The connection.
        id: ConnectionId,
    },
}

/// One live connection as the driver sees it.
#[derive(Debug)]
struct Conn {
    peer: SocketAddr,
    tx: mpsc::Sender<Vec<u8>>,
}

/// The driver's table of connections.
#[derive(Debug)]
pub(super) struct Connections {
    by_id: HashMap<ConnectionId, Conn>,
    by_peer: HashMap<SocketAddr, ConnectionId>,
    next: u64,
    events: mpsc::Sender<ConnEvent>,
    limits: TcpLimits,
    sip_limits: Limits,
    /// Messages dropped (full queue, no connection possible).
    pub(super) send_drops: u64,
}

impl Connections {
    pub(super) fn new(events: mpsc::Sender<ConnEvent>, limits: TcpLimits, sip: Limits) -> Self {
        Self {
            by_id: HashMap::new(),
            by_peer: HashMap::new(),
            next: 0,
            events,
            limits,
            sip_limits: sip,
            send_drops: 0,
        }
    }

    /// Open connections.
    pub(super) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Takes an accepted connection, or drops it when at the cap.
    pub(super) fn accept(&mut self, stream: TcpStream, peer: SocketAddr) {
        if self.by_id.len() >= self.limits.max_connections {
            tracing::debug!(%peer, "SIP TCP connection refused: too many connections");
            return;
        }
        let _ = stream.set_nodelay(true);
        self.start(peer, Some(stream));
    }

    /// Queues `bytes` for `peer` on connection `id` if it is still open, else on any
    /// connection to `peer`, else on a new one.
    pub(super) fn send(&mut self, id: Option<ConnectionId>, peer: SocketAddr, bytes: Vec<u8>) {
        let id = id
            .filter(|i| self.by_id.contains_key(i))
            .or_else(|| self.by_peer.get(&peer).copied());
        let conn = match id.and_then(|i| self.by_id.get(&i)) {
            Some(c) => c,
            None if self.by_id.len() < self.limits.max_connections => {
                let id = self.start(peer, None);
                match self.by_id.get(&id) {
                    Some(c) => c,
                    None => return,
                }
            }
            None => {
                self.send_drops += 1;
                return;
            }
        };
        if conn.tx.try_send(bytes).is_err() {
            self.send_drops += 1;
            tracing::debug!(%peer, "SIP TCP send queue full; message dropped");
        }
    }

    /// Forgets a closed connection; false if it was unknown.
    pub(super) fn closed(&mut self, id: ConnectionId) -> bool {
        let Some(conn) = self.by_id.remove(&id) else {
            return false;
        };
        if self.by_peer.get(&conn.peer) == Some(&id) {
            self.by_peer.remove(&conn.peer);
        }
        true
    }

    /// Registers and spawns a connection task (`stream` None: connect to `peer` first).
    fn start(&mut self, peer: SocketAddr, stream: Option<TcpStream>) -> ConnectionId {
        let id = ConnectionId(self.next);
        self.next += 1;
        let (tx, rx) = mpsc::channel(self.limits.send_queue.max(1));
        self.by_id.insert(id, Conn { peer, tx });
        self.by_peer.insert(peer, id);
        let task = Task {
            id,
            peer,
            events: self.events.clone(),
            out: rx,
            limits: self.limits,
            sip_limits: self.sip_limits,
        };
        tokio::spawn(task.run(stream));
        id
    }
}

/// One connection's task.
struct Task {
    id: ConnectionId,
    peer: SocketAddr,
    events: mpsc::Sender<ConnEvent>,
    out: mpsc::Receiver<Vec<u8>>,
    limits: TcpLimits,
    sip_limits: Limits,
}

/// Why the read loop stopped.
enum Stop {
    /// Closed, failed, idle or over a bound: close at once.
    Now,
    /// Unframeable stream: write what is queued for a moment, then close.
    Linger,
}

impl Task {
    async fn run(mut self, stream: Option<TcpStream>) {
        if let Some(stream) = self.open(stream).await {
            let (mut rd, mut wr) = stream.into_split();
            if let Stop::Linger = self.serve(&mut rd, &mut wr).await {
                let _ = tokio::time::timeout(LINGER, self.write_queued(&mut wr)).await;
            }
            let _ = wr.shutdown().await;
        }
        let _ = self.events.send(ConnEvent::Closed { id: self.id }).await;
    }

    /// The accepted stream, or a new one to the peer (None when that fails).
    async fn open(&self, stream: Option<TcpStream>) -> Option<TcpStream> {
        if stream.is_some() {
            return stream;
        }
        let connect = TcpStream::connect(self.peer);
        match tokio::time::timeout(self.limits.connect_timeout, connect).await {
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                Some(s)
            }
            Ok(Err(e)) => {
                tracing::debug!(peer = %self.peer, error = %e, "SIP TCP connect failed");
                None
            }
            Err(_) => {
                tracing::debug!(peer = %self.peer, "SIP TCP connect timed out");
                None
            }
        }
    }

    async fn serve(
        &mut self,
        rd: &mut tokio::net::tcp::OwnedReadHalf,
        wr: &mut OwnedWriteHalf,
    ) -> Stop {
        let mut buf: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            tokio::select! {
                r = rd.read(&mut chunk) => {
                    let n = match r {
                        Ok(0) | Err(_) => return Stop::Now,
                        Ok(n) => n,
                    };
                    if buf.len() + n > self.limits.max_buffer {
                        tracing::debug!(peer = %self.peer, "SIP TCP buffer limit; closing");
                        return Stop::Now;
                    }
                    buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                    if let Some(stop) = self.drain_frames(&mut buf, wr).await {
                        return stop;
                    }
                }
                m = self.out.recv() => match m {
                    Some(bytes) => if wr.write_all(&bytes).await.is_err() { return Stop::Now },
                    None => return Stop::Now,
                },
                () = tokio::time::sleep(self.limits.idle) => return Stop::Now,
            }
        }
    }

    /// Hands every complete message in `buf` to the driver; `Some` when the stream must end.
    async fn drain_frames(&self, buf: &mut Vec<u8>, wr: &mut OwnedWriteHalf) -> Option<Stop> {
        loop {
            match frame_stream(buf, &self.sip_limits) {
                Frame::Message { len } => {
                    let bytes: Vec<u8> = buf.drain(..len.min(buf.len())).collect();
                    if !self.deliver(bytes).await {
                        return Some(Stop::Now);
                    }
                }
                Frame::Keepalive { len } => {
                    // A double CRLF is a ping (RFC 5626 §4.4.1); answer with one CRLF.
                    if buf.starts_with(b"\r\n\r\n") && wr.write_all(b"\r\n").await.is_err() {
                        return Some(Stop::Now);
                    }
                    buf.drain(..len.min(buf.len()));
                }
                Frame::NeedMore => return None,
                Frame::Invalid(e) => {
                    tracing::debug!(peer = %self.peer, error = %e, "SIP TCP stream unframeable");
                    let head = buf.get(..buf.len().min(self.sip_limits.max_message));
                    let head = head.unwrap_or_default().to_vec();
                    if !self.deliver(head).await {
                        return Some(Stop::Now);
                    }
                    return Some(Stop::Linger);
                }
            }
        }
    }

    /// Sends one frame to the driver; false when the driver is gone.
    async fn deliver(&self, bytes: Vec<u8>) -> bool {
        let ev = ConnEvent::Frame {
            id: self.id,
            peer: self.peer,
            bytes,
        };
        self.events.send(ev).await.is_ok()
    }

    /// Writes what the driver queues until the queue closes (bounded by the caller's timeout).
    async fn write_queued(&mut self, wr: &mut OwnedWriteHalf) {
        while let Some(bytes) = self.out.recv().await {
            if wr.write_all(&bytes).await.is_err() {
                return;
            }
        }
    }
}
