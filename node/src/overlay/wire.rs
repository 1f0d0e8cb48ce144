//! The overlay's wire format: one message per UDP datagram, at most [`MAX_DATAGRAM`] bytes.
//!
//! A datagram is one version byte followed by a postcard-encoded [`Message`]. Decoding is bounded
//! (the input is at most 1,200 bytes and every list is checked against its limit after decoding),
//! and every way a datagram can be wrong maps to a [`DecodeError`] the node counts and drops.
//!
//! Routing state (routing-table rows, leaf sets, join requests) is signed by its sender; a
//! signature covers the message's content and a (epoch, sequence) stamp, so a receiver checks
//! both who says it and that it is not a replay. Pongs answering an identity challenge sign the
//! challenge nonce.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::id::NodeId;
use super::identity::{Identity, Proof};
use super::node_info::NodeInfo;

/// Version byte that starts every datagram.
pub const PROTOCOL_VERSION: u8 = 1;
/// Largest datagram the overlay sends or accepts: fits any path MTU seen on a LAN or Wi-Fi.
pub const MAX_DATAGRAM: usize = 1200;
/// Most hops recorded in a routed message's path (hops beyond are counted, not listed).
pub const MAX_PATH: usize = 24;
/// Most node entries in one message (a leaf set of 2 × 10 plus the sender).
pub const MAX_ENTRIES: usize = 21;
/// Largest application payload a routed message carries (no path is recorded for these, so the
/// datagram stays under [`MAX_DATAGRAM`] however many hops it takes).
pub const MAX_ROUTED_PAYLOAD: usize = 1080;
/// Largest application payload of a direct message.
pub const MAX_DIRECT_PAYLOAD: usize = 1150;

/// One overlay message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The ID the sender claims. Unsigned messages are only trusted to the extent the sender was
    /// already verified at the address they came from.
    pub sender: NodeId,
    /// What the message says.
    pub body: Body,
}

/// The kinds of overlay message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// Liveness probe and RTT sample; with `prove`, also an identity challenge.
    Ping {
        /// Echoed in the pong; unpredictable, so a pong cannot be forged or replayed.
        nonce: u64,
        /// Ask the receiver to sign the nonce.
        prove: bool,
    },
    /// Answer to a ping.
    Pong {
        /// The ping's nonce.
        nonce: u64,
        /// The address the ping came from, as the responder saw it (lets a node bound to a
        /// wildcard address learn its own).
        observed: SocketAddr,
        /// Signature over the nonce when the ping asked for one.
        proof: Option<Proof>,
    },
    /// A message that must be acknowledged hop by hop ([`Body::Ack`]).
    Reliable {
        /// Sender-chosen sequence number, echoed by the ack.
        seq: u64,
        /// The content.
        inner: Reliable,
    },
    /// Acknowledges a [`Body::Reliable`] message.
    Ack {
        /// The acknowledged sequence number.
        seq: u64,
    },
    /// A new node asks a seed to route its join.
    JoinRequest(Signed<u64>),
    /// Routing-table row `row` of the sender, for a joining node or a table repair.
    Row(Signed<RowContent>),
    /// Ask for routing-table row `row`.
    RowRequest {
        /// The row wanted.
        row: u8,
    },
    /// A leaf set, sent for one of the reasons in [`LeafSetKind`].
    LeafSet(Signed<LeafSetContent>),
}

/// Content of a [`Body::Reliable`] message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reliable {
    /// A message being routed towards the root of `key`.
    Route(RouteMsg),
    /// The root's answer to a lookup, sent straight to its origin.
    LookupReply {
        /// The origin's lookup number.
        lookup: u64,
        /// The root.
        root: NodeInfo,
        /// Overlay hops taken.
        hops: u8,
        /// IDs of the nodes the lookup passed through, origin first, root last.
        path: Vec<NodeId>,
    },
    /// A node that finished joining tells a member of its new leaf set (signed leaf set).
    Announce(Signed<LeafSetContent>),
    /// An application message (e.g. a DHT reply or replica) sent straight to one node.
    Direct(Vec<u8>),
}

/// A message on its way to the root of a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteMsg {
    /// The key being routed to.
    pub key: NodeId,
    /// Who started it and where the answer goes.
    pub origin: NodeInfo,
    /// The origin's number for this lookup (with `origin.id`, unique; used to drop duplicates).
    pub lookup: u64,
    /// Hops so far.
    pub hops: u8,
    /// Nodes passed so far, origin first (at most [`MAX_PATH`]).
    pub path: Vec<NodeId>,
    /// Why it is routed.
    pub purpose: Purpose,
}

/// Why a message is routed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Purpose {
    /// A lookup: the root answers with [`Reliable::LookupReply`].
    Lookup,
    /// A join of `origin` (whose identity the seed verified): every node on the path sends it
    /// routing-table rows, the root sends its leaf set.
    Join,
    /// An application payload for the root of `key` (e.g. a DHT get); no answer from the overlay.
    App(Vec<u8>),
}

/// Content of a [`Body::Row`] message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowContent {
    /// Row number.
    pub row: u8,
    /// Entries of the row.
    pub entries: Vec<NodeInfo>,
}

/// Why a leaf set is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LeafSetKind {
    /// The root's answer to a join (includes the root itself).
    JoinReply,
    /// Periodic gossip or a repair request: the receiver answers with [`LeafSetKind::Reply`].
    Push,
    /// Answer to a push or an announcement.
    Reply,
    /// The sender is leaving gracefully; receivers drop it and use the entries to fill the gap.
    Leaving,
}

/// Content of a leaf-set message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeafSetContent {
    /// Why it is sent.
    pub kind: LeafSetKind,
    /// The sender's leaf set.
    pub entries: Vec<NodeInfo>,
}

/// When a signed message was made: the sender's start time and a counter. Receivers keep the
/// last stamp per sender and drop anything not newer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stamp {
    /// Sender's start time (ms since the Unix epoch).
    pub epoch: u64,
    /// Counter within the epoch.
    pub seq: u64,
}

/// Content signed by its sender.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed<T> {
    /// The content.
    pub content: T,
    /// When it was made.
    pub stamp: Stamp,
    /// Signature over (domain, sender, stamp, content).
    pub proof: Proof,
}

impl<T: Serialize> Signed<T> {
    /// Signs `content` as `identity` at `stamp`.
    pub fn sign(identity: &Identity, stamp: Stamp, content: T) -> Self {
        let proof = identity.prove(&signing_bytes(&identity.node_id(), stamp, &content));
        Self {
            content,
            stamp,
            proof,
        }
    }

    /// True when `sender` signed exactly this content and stamp.
    #[must_use]
    pub fn verify(&self, sender: &NodeId) -> bool {
        self.proof.verify(sender, &self.signed_bytes(sender))
    }

    /// The bytes the signature covers when `sender` made it.
    #[must_use]
    pub fn signed_bytes(&self, sender: &NodeId) -> Vec<u8> {
        signing_bytes(sender, self.stamp, &self.content)
    }
}

/// The bytes a signature covers: a domain tag (so a signature cannot be moved between message
/// types), the sender's ID, the stamp and the content.
fn signing_bytes<T: Serialize>(sender: &NodeId, stamp: Stamp, content: &T) -> Vec<u8> {
    let mut out = b"scope-overlay-v1".to_vec();
    out.extend_from_slice(&sender.0);
    // Serialising plain data structures into a Vec cannot fail.
    if let Ok(bytes) = postcard::to_allocvec(&(stamp, content)) {
        out.extend_from_slice(&bytes);
    }
    out
}

/// The bytes a pong's identity proof covers.
#[must_use]
pub fn pong_proof_bytes(responder: &NodeId, nonce: u64) -> Vec<u8> {
    let mut out = b"scope-pong-v1".to_vec();
    out.extend_from_slice(&responder.0);
    out.extend_from_slice(&nonce.to_be_bytes());
    out
}

/// Why a datagram was dropped.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Larger than [`MAX_DATAGRAM`].
    #[error("datagram larger than {MAX_DATAGRAM} bytes")]
    Oversized,
    /// Empty, or a version this node does not speak.
    #[error("unknown protocol version")]
    Version,
    /// Not a valid encoding (garbage or truncated).
    #[error("malformed datagram")]
    Malformed,
    /// Decoded, but a list is longer than its limit.
    #[error("a field exceeds its limit")]
    OverLimit,
}

/// Why a message could not be encoded.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The encoding is larger than [`MAX_DATAGRAM`].
    #[error("message does not fit one datagram")]
    TooLarge,
}

/// Encodes `msg` into one datagram.
///
/// # Errors
/// [`EncodeError::TooLarge`] when it does not fit.
pub fn encode(msg: &Message) -> Result<Vec<u8>, EncodeError> {
    let mut out = vec![PROTOCOL_VERSION];
    let body = postcard::to_allocvec(msg).map_err(|_| EncodeError::TooLarge)?;
    out.extend_from_slice(&body);
    if out.len() > MAX_DATAGRAM {
        return Err(EncodeError::TooLarge);
    }
    Ok(out)
}

/// Decodes one datagram and checks every limit.
///
/// # Errors
/// The reason the datagram must be dropped.
pub fn decode(data: &[u8]) -> Result<Message, DecodeError> {
    if data.len() > MAX_DATAGRAM {
        return Err(DecodeError::Oversized);
    }
    let (&version, rest) = data.split_first().ok_or(DecodeError::Version)?;
    if version != PROTOCOL_VERSION {
        return Err(DecodeError::Version);
    }
    let (msg, trailing) =
        postcard::take_from_bytes::<Message>(rest).map_err(|_| DecodeError::Malformed)?;
    if !trailing.is_empty() {
        return Err(DecodeError::Malformed);
    }
    if within_limits(&msg.body) {
        Ok(msg)
    } else {
        Err(DecodeError::OverLimit)
    }
}

fn within_limits(body: &Body) -> bool {
    match body {
        Body::Row(r) => r.content.entries.len() <= MAX_ENTRIES,
        Body::LeafSet(l)
        | Body::Reliable {
            inner: Reliable::Announce(l),
            ..
        } => l.content.entries.len() <= MAX_ENTRIES,
        Body::Reliable {
            inner: Reliable::Route(r),
            ..
        } => {
            r.path.len() <= MAX_PATH
                && match &r.purpose {
                    Purpose::App(p) => p.len() <= MAX_ROUTED_PAYLOAD,
                    Purpose::Lookup | Purpose::Join => true,
                }
        }
        Body::Reliable {
            inner: Reliable::Direct(p),
            ..
        } => p.len() <= MAX_DIRECT_PAYLOAD,
        Body::Reliable {
            inner: Reliable::LookupReply { path, .. },
            ..
        } => path.len() <= MAX_PATH,
        Body::Ping { .. }
        | Body::Pong { .. }
        | Body::Ack { .. }
        | Body::JoinRequest(_)
        | Body::RowRequest { .. } => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng as _;

    fn identity(seed: u64) -> Identity {
        Identity::from_random(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed))
    }

    fn sample_messages() -> Vec<Message> {
        let me = identity(1);
        let info = NodeInfo {
            id: me.node_id(),
            addr: SocketAddr::from(([10, 0, 0, 1], 3630)),
        };
        let stamp = Stamp { epoch: 1, seq: 2 };
        let entries = vec![info; MAX_ENTRIES];
        let mut bodies = vec![
            Body::Ping {
                nonce: 7,
                prove: true,
            },
            Body::Pong {
                nonce: 7,
                observed: info.addr,
                proof: Some(me.prove(b"x")),
            },
            Body::Ack { seq: 9 },
            Body::JoinRequest(Signed::sign(&me, stamp, 5)),
            Body::RowRequest { row: 3 },
            Body::Row(Signed::sign(
                &me,
                stamp,
                RowContent {
                    row: 1,
                    entries: entries[..16].to_vec(),
                },
            )),
            Body::LeafSet(Signed::sign(
                &me,
                stamp,
                LeafSetContent {
                    kind: LeafSetKind::Push,
                    entries: entries.clone(),
                },
            )),
            Body::Reliable {
                seq: 1,
                inner: Reliable::Route(RouteMsg {
                    key: NodeId([3; 20]),
                    origin: info,
                    lookup: 4,
                    hops: 2,
                    path: vec![info.id; MAX_PATH],
                    purpose: Purpose::Join,
                }),
            },
            Body::Reliable {
                seq: 2,
                inner: Reliable::Announce(Signed::sign(
                    &me,
                    stamp,
                    LeafSetContent {
                        kind: LeafSetKind::Reply,
                        entries,
                    },
                )),
            },
        ];
        let v6 = NodeInfo {
            id: me.node_id(),
            addr: "[2001:db8::1]:65535".parse().unwrap(),
        };
        bodies.push(Body::Reliable {
            seq: u64::MAX,
            inner: Reliable::Route(RouteMsg {
                key: NodeId([3; 20]),
                origin: v6,
                lookup: u64::MAX,
                hops: u8::MAX,
                path: Vec::new(),
                purpose: Purpose::App(vec![0xff; MAX_ROUTED_PAYLOAD]),
            }),
        });
        bodies.push(Body::Reliable {
            seq: u64::MAX,
            inner: Reliable::Direct(vec![0xff; MAX_DIRECT_PAYLOAD]),
        });
        bodies
            .into_iter()
            .map(|body| Message {
                sender: me.node_id(),
                body,
            })
            .collect()
    }

    #[test]
    fn largest_messages_fit_and_round_trip() {
        for msg in sample_messages() {
            let bytes = encode(&msg).unwrap();
            assert!(bytes.len() <= MAX_DATAGRAM);
            assert_eq!(decode(&bytes).unwrap(), msg);
        }
    }

    #[test]
    fn signatures_detect_tampering() {
        let me = identity(1);
        let mut s = Signed::sign(
            &me,
            Stamp { epoch: 1, seq: 1 },
            RowContent {
                row: 0,
                entries: vec![],
            },
        );
        assert!(s.verify(&me.node_id()));
        assert!(!s.verify(&identity(2).node_id()));
        s.content.row = 1;
        assert!(!s.verify(&me.node_id()));
    }

    #[test]
    fn rejects_bad_framing() {
        assert_eq!(decode(&[]), Err(DecodeError::Version));
        assert_eq!(decode(&[9, 0]), Err(DecodeError::Version));
        assert_eq!(decode(&[PROTOCOL_VERSION]), Err(DecodeError::Malformed));
        assert_eq!(
            decode(&vec![PROTOCOL_VERSION; 1201]),
            Err(DecodeError::Oversized)
        );
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..1300)) {
            let _ = decode(&data);
        }

        #[test]
        fn mutations_never_panic(which in 0usize..11, flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
            let msgs = sample_messages();
            let mut bytes = encode(&msgs[which % msgs.len()]).unwrap();
            for (i, v) in flips {
                let i = i.index(bytes.len());
                bytes[i] ^= v;
            }
            let _ = decode(&bytes);
            let n = cut.index(bytes.len() + 1);
            let _ = decode(&bytes[..n]);
        }
    }
}
