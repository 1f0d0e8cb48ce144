//! The values that cross the proxy's boundary: links, transmits, DHT requests and answers.

use std::net::SocketAddr;

use thiserror::Error;

use crate::sip::registrar::{Binding, BindingOp};
use crate::sip::transaction::Transport;

/// A TCP connection as the runtime numbers it, so replies and requests reuse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

/// How a message arrived or must leave.
///
/// Inputs name the connection they came on. Outputs over TCP name a connection when the
/// proxy knows one to that destination (it learns them from inputs) and `None` when the
/// runtime must open (or pick) a connection itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Link {
    /// A UDP datagram.
    Udp,
    /// A TCP stream; `None` on output means "any connection to the destination".
    Tcp(Option<ConnectionId>),
}

impl Link {
    /// The transaction layer's view: only reliability matters there.
    pub(crate) fn transport(self) -> Transport {
        match self {
            Link::Udp => Transport::Udp,
            Link::Tcp(_) => Transport::Tcp,
        }
    }

    /// The Via transport token for this link.
    pub(crate) fn via_token(self) -> &'static str {
        match self {
            Link::Udp => "UDP",
            Link::Tcp(_) => "TCP",
        }
    }
}

/// Bytes to send; the runtime owns the sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send them.
    pub destination: SocketAddr,
    /// UDP, or TCP on a known or new connection.
    pub link: Link,
    /// One serialised SIP message.
    pub contents: Vec<u8>,
}

/// Names one DHT request so that its answer finds the REGISTER or call waiting for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DhtId(pub(crate) u64);

/// Work the proxy asks of the outside world (the DHT), answered by a `handle_*` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Read every binding stored under `key` (SHA-1 of the canonical AOR) and answer with
    /// [`super::Proxy::handle_lookup`], decoding values with
    /// [`crate::sip::registrar::Binding::decode`] and skipping those that fail.
    Lookup {
        /// Quote this id in the answer.
        id: DhtId,
        /// The DHT key.
        key: [u8; 20],
    },
    /// Apply these changes under `key`, in order (`Put` with TTL = the binding's expiry,
    /// `Remove` of the stored value), then answer with [`super::Proxy::handle_store_done`].
    /// With `expect`, apply them only if the live bindings under `key` are still exactly
    /// those (the plan was made on a guess of them); else change nothing and answer
    /// [`Stored::Stale`], with the live bindings when the DHT's answer carried them.
    Store {
        /// Quote this id in the answer.
        id: DhtId,
        /// The DHT key.
        key: [u8; 20],
        /// The bindings the plan assumed are stored, if it was made on a guess.
        expect: Option<Vec<Binding>>,
        /// The changes, removals of replaced bindings before their puts.
        ops: Vec<BindingOp>,
    },
}

/// How an [`Output::Store`] ended, when the DHT answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// Every change is stored.
    Applied,
    /// The stored bindings were not those expected; nothing was changed. With the live
    /// bindings the DHT sent back in its answer (as a lookup would return them), the proxy
    /// plans again on those; with `None` it reads them first.
    Stale(Option<Vec<Binding>>),
}

/// Why a DHT request failed, as the runtime reports it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DhtError {
    /// The overlay gave no answer in time.
    #[error("DHT request timed out")]
    Timeout,
    /// The overlay refused or failed the request (no route, store full, ...).
    #[error("DHT request failed: {0}")]
    Failed(String),
}
