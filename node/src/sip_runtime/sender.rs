//! A thread that sends the proxy's UDP datagrams when they come in large batches.
//!
//! On loopback and on a LAN, sending a datagram costs the sender more than receiving one: the
//! kernel runs the receiver's whole input path (and wakes it) inside the `sendto`. Under a
//! storm of REGISTERs that is about a third of the proxy thread's work, and the proxy thread
//! is the one that must keep its socket drained, or the kernel drops requests there and every
//! dropped one comes back as a retransmission. So when one flush has many datagrams, the
//! proxy hands them over and this thread sends them, on another core where there is one.
//!
//! A flush with few datagrams (any quiet moment: a call being set up) is sent by the proxy
//! itself, at once: handing it over would add a thread wakeup to the call's latency. Order is
//! kept: while anything handed over is still unsent, every later datagram is handed over too.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// Datagrams in one flush from which on they are handed to the sender thread.
const OFFLOAD_MIN: usize = 16;
/// How long the thread waits for room in a full send buffer before trying again.
const FULL_PAUSE: Duration = Duration::from_micros(200);
/// Tries per datagram against a full send buffer; then it is dropped, as a router would (the
/// transaction layer retransmits).
const FULL_TRIES: usize = 50;

/// One batch: serialised SIP messages and where each goes.
type Batch = Vec<(Vec<u8>, SocketAddr)>;

/// The proxy's end of the sender thread.
#[derive(Debug)]
pub(super) struct UdpSender {
    tx: mpsc::Sender<Batch>,
    /// Datagrams handed over and not yet sent.
    unsent: Arc<AtomicUsize>,
}

impl UdpSender {
    /// Starts the thread, sending on `socket` (a clone of the proxy's UDP socket).
    ///
    /// # Errors
    /// When the thread cannot start.
    pub(super) fn spawn(socket: UdpSocket) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Batch>();
        let unsent = Arc::new(AtomicUsize::new(0));
        let left = Arc::clone(&unsent);
        std::thread::Builder::new()
            .name("sip-send".into())
            .spawn(move || {
                // Ends when the proxy drops its end.
                while let Ok(batch) = rx.recv() {
                    let n = batch.len();
                    for (contents, destination) in batch {
                        send(&socket, &contents, destination);
                    }
                    left.fetch_sub(n, Ordering::Release);
                }
            })?;
        Ok(Self { tx, unsent })
    }

    /// Whether a flush of `n` datagrams goes to the thread: a large one, or any while earlier
    /// ones are still unsent (so nothing overtakes them).
    pub(super) fn takes(&self, n: usize) -> bool {
        n > 0 && (n >= OFFLOAD_MIN || self.unsent.load(Ordering::Acquire) > 0)
    }

    /// Hands `batch` to the thread.
    pub(super) fn send(&self, batch: Batch) {
        let n = batch.len();
        self.unsent.fetch_add(n, Ordering::Release);
        if self.tx.send(batch).is_err() {
            // The thread has ended (only a panic ends it while this end lives): the datagrams
            // are lost like any dropped datagram, and retransmitted.
            self.unsent.fetch_sub(n, Ordering::Release);
            tracing::warn!(
                datagrams = n,
                "SIP sender thread stopped; datagrams dropped"
            );
        }
    }
}

/// Sends one datagram, waiting a little for room in a full send buffer (the socket is
/// non-blocking: it is shared with the proxy's runtime).
fn send(socket: &UdpSocket, contents: &[u8], destination: SocketAddr) {
    for _ in 0..FULL_TRIES {
        match socket.send_to(contents, destination) {
            Ok(_) => return,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(FULL_PAUSE),
            Err(e) => {
                // One unreachable destination must not stop the others.
                tracing::debug!(dst = %destination, error = %e, "SIP UDP send failed");
                return;
            }
        }
    }
    tracing::debug!(dst = %destination, "SIP UDP send buffer stayed full; datagram dropped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_batches_are_sent_in_order_and_small_ones_follow_them() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.set_nonblocking(true).unwrap();
        let to = rx.local_addr().unwrap();
        let sender = UdpSender::spawn(tx).unwrap();
        assert!(!sender.takes(0));
        assert!(
            !sender.takes(OFFLOAD_MIN - 1),
            "a small flush is sent inline"
        );
        let batch: Batch = (0..40u8).map(|i| (vec![i], to)).collect();
        assert!(sender.takes(batch.len()));
        sender.send(batch);
        let mut buf = [0u8; 8];
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        for i in 0..40u8 {
            let (n, _) = rx.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], &[i]);
        }
        // Everything was sent: a small flush goes inline again.
        for _ in 0..500 {
            if !sender.takes(1) {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        panic!("the sender never reported its batch sent");
    }
}
