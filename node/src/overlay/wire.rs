//! The overlay's wire format: one or more messages of one sender per UDP datagram, at most
//! [`MAX_DATAGRAM`] bytes.
//!
//! A datagram carrying one message is the byte [`PROTOCOL_VERSION`] followed by a
//! postcard-encoded [`Message`] (the sender's ID, then the [`Body`]). A *bundle* carries several
//! messages to one destination, so a node under load sends far fewer datagrams (each costs a
//! syscall on both ends): the byte [`BUNDLE_VERSION`], the sender's ID, a count byte (2 to
//! [`MAX_BUNDLE`]) and that many postcard-encoded bodies. Bodies are [`Body`] values, which
//! cannot contain a bundle, so bundles never nest. [`pack`] builds the datagrams.
//!
//! Decoding is bounded (the input is at most 1,200 bytes, the body count is checked before any
//! body is decoded, and every list is checked against its limit after decoding), and every way a
//! datagram can be wrong maps to a [`DecodeError`] the node counts and drops, the whole datagram
//! at once.
//!
//! Routing state (routing-table rows, leaf sets, join requests) is signed by its sender; a
//! signature covers the message's content and a (epoch, sequence) stamp, so a receiver checks
//! both who says it and that it is not a replay. Pongs answering an identity challenge sign the
//! challenge nonce.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::id::{ID_BYTES, NodeId};
use super::identity::{Identity, Proof};
use super::node_info::NodeInfo;

/// Version byte that starts a datagram carrying one message. Version 2 added bundles and
/// [`Body::Acks`]; a node of version 1 would drop part of the traffic, so it drops all of it.
pub const PROTOCOL_VERSION: u8 = 2;
/// Byte that starts a bundle: the version with the top bit set.
pub const BUNDLE_VERSION: u8 = PROTOCOL_VERSION | 0x80;
/// Largest datagram the overlay sends or accepts: fits any path MTU seen on a LAN or Wi-Fi.
pub const MAX_DATAGRAM: usize = 1200;
/// Most messages in one bundle. Bounds the work one datagram can ask of a receiver (each ping
/// asking for a proof costs a signature) to a small multiple of what separate datagrams would.
pub const MAX_BUNDLE: usize = 64;
/// Most sequence numbers in one [`Body::Acks`] (fits a datagram even with 10-byte varints).
pub const MAX_ACKS: usize = 100;
/// Bytes before the first body of a single-message datagram: version and sender.
const SINGLE_HEADER: usize = 1 + ID_BYTES;
/// Bytes before the first body of a bundle: version, sender and count.
const BUNDLE_HEADER: usize = SINGLE_HEADER + 1;
/// Largest encoded body: one that fits a single-message datagram.
pub const MAX_BODY: usize = MAX_DATAGRAM - SINGLE_HEADER;
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
    /// Acknowledges several [`Body::Reliable`] messages at once (at most [`MAX_ACKS`]): what a
    /// run of acks to one peer becomes when a busy node sends them together.
    Acks(Vec<u64>),
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
    /// An application payload sent straight to one node, not acknowledged nor retransmitted:
    /// for copies whose loss something else repairs (soft-state replicas), which then cost
    /// neither an ack nor a retransmission timer. Last, so older variants keep their tags.
    Datagram(#[serde(with = "serde_bytes")] Vec<u8>),
}

impl Body {
    /// How many messages this body stands for: an [`Body::Acks`] counts each ack, as the
    /// separate [`Body::Ack`]s it replaces would.
    #[must_use]
    pub fn message_count(&self) -> usize {
        match self {
            Self::Acks(seqs) => seqs.len(),
            _ => 1,
        }
    }
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
    Direct(#[serde(with = "serde_bytes")] Vec<u8>),
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
    App(#[serde(with = "serde_bytes")] Vec<u8>),
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

/// The messages one datagram carried, all from one sender, in the order sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// The ID the sender claims (as [`Message::sender`]).
    pub sender: NodeId,
    /// One body, or 2 to [`MAX_BUNDLE`] for a bundle.
    pub bodies: Vec<Body>,
}

impl Datagram {
    /// The datagram's messages, each as if it had come alone.
    pub fn into_messages(self) -> impl Iterator<Item = Message> {
        let sender = self.sender;
        self.bodies
            .into_iter()
            .map(move |body| Message { sender, body })
    }
}

/// Encodes `msg` into one datagram.
///
/// # Errors
/// [`EncodeError::TooLarge`] when it does not fit.
pub fn encode(msg: &Message) -> Result<Vec<u8>, EncodeError> {
    let body = encode_body(&msg.body)?;
    Ok(frame(&msg.sender, &[body]))
}

/// Bytes reserved for an encoded body before encoding.
const ENCODE_CAPACITY: usize = 256;

/// Encodes one body for [`pack`].
///
/// # Errors
/// [`EncodeError::TooLarge`] when it would not fit even a datagram of its own.
pub fn encode_body(body: &Body) -> Result<Vec<u8>, EncodeError> {
    // Sized for a DHT message with its header at once: growing from empty took six copies.
    let bytes = postcard::to_extend(body, Vec::with_capacity(ENCODE_CAPACITY))
        .map_err(|_| EncodeError::TooLarge)?;
    if bytes.len() > MAX_BODY {
        return Err(EncodeError::TooLarge);
    }
    Ok(bytes)
}

/// Packs encoded bodies (from [`encode_body`]) from `sender`, in order, into as few datagrams as
/// fit: consecutive bodies share a bundle while it stays within [`MAX_DATAGRAM`] and
/// [`MAX_BUNDLE`]; a body that ends up alone is sent as a single-message datagram.
#[must_use]
pub fn pack(sender: &NodeId, bodies: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < bodies.len() {
        let end = start + bundle_len(&bodies[start..]);
        out.push(frame(sender, &bodies[start..end]));
        start = end;
    }
    out
}

/// How many of the leading `bodies` (at least one) go in the next datagram.
fn bundle_len(bodies: &[Vec<u8>]) -> usize {
    let mut size = BUNDLE_HEADER;
    let mut n = 0;
    for body in bodies.iter().take(MAX_BUNDLE) {
        size += body.len();
        if size > MAX_DATAGRAM {
            break;
        }
        n += 1;
    }
    n.max(1)
}

// The count of a bundle is one byte.
const _: () = assert!(MAX_BUNDLE <= u8::MAX as usize);

/// One datagram holding `bodies` (one, or a bundle of up to [`MAX_BUNDLE`]).
fn frame(sender: &NodeId, bodies: &[Vec<u8>]) -> Vec<u8> {
    let len = bodies.iter().map(Vec::len).sum::<usize>() + BUNDLE_HEADER;
    let mut out = Vec::with_capacity(len);
    if let [body] = bodies {
        out.push(PROTOCOL_VERSION);
        out.extend_from_slice(&sender.0);
        out.extend_from_slice(body);
        return out;
    }
    out.push(BUNDLE_VERSION);
    out.extend_from_slice(&sender.0);
    // `bundle_len` caps a bundle at MAX_BUNDLE bodies, which fits the byte.
    out.push(u8::try_from(bodies.len()).unwrap_or(u8::MAX));
    for body in bodies {
        out.extend_from_slice(body);
    }
    out
}

/// Decodes one datagram and checks every limit.
///
/// # Errors
/// The reason the datagram must be dropped.
pub fn decode(data: &[u8]) -> Result<Datagram, DecodeError> {
    if data.len() > MAX_DATAGRAM {
        return Err(DecodeError::Oversized);
    }
    let (&version, rest) = data.split_first().ok_or(DecodeError::Version)?;
    let bundle = match version {
        PROTOCOL_VERSION => false,
        BUNDLE_VERSION => true,
        _ => return Err(DecodeError::Version),
    };
    let (sender, rest) = take::<NodeId>(rest)?;
    let (count, mut rest) = if bundle {
        bundle_count(rest)?
    } else {
        (1, rest)
    };
    let mut bodies = Vec::with_capacity(count);
    for _ in 0..count {
        let (body, tail) = take::<Body>(rest)?;
        if !within_limits(&body) {
            return Err(DecodeError::OverLimit);
        }
        bodies.push(body);
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(DecodeError::Malformed);
    }
    Ok(Datagram { sender, bodies })
}

/// Reads a bundle's body count, checked before any body is decoded.
fn bundle_count(rest: &[u8]) -> Result<(usize, &[u8]), DecodeError> {
    let (&count, rest) = rest.split_first().ok_or(DecodeError::Malformed)?;
    match usize::from(count) {
        // The packer never bundles fewer than two; anything else is not ours.
        0 | 1 => Err(DecodeError::Malformed),
        n if n > MAX_BUNDLE => Err(DecodeError::OverLimit),
        n => Ok((n, rest)),
    }
}

/// Decodes one postcard value from the front of `bytes`.
fn take<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<(T, &'a [u8]), DecodeError> {
    postcard::take_from_bytes::<T>(bytes).map_err(|_| DecodeError::Malformed)
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
        }
        | Body::Datagram(p) => p.len() <= MAX_DIRECT_PAYLOAD,
        Body::Reliable {
            inner: Reliable::LookupReply { path, .. },
            ..
        } => path.len() <= MAX_PATH,
        Body::Acks(seqs) => seqs.len() <= MAX_ACKS,
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
            Body::Acks(vec![u64::MAX; MAX_ACKS]),
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
        bodies.push(Body::Datagram(vec![0xff; MAX_DIRECT_PAYLOAD]));
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
            assert_eq!(
                decode(&bytes).unwrap().into_messages().collect::<Vec<_>>(),
                [msg]
            );
        }
    }

    #[test]
    fn single_message_keeps_the_version_1_layout() {
        for msg in sample_messages() {
            let mut expected = vec![PROTOCOL_VERSION];
            expected.extend(postcard::to_allocvec(&msg).unwrap());
            assert_eq!(encode(&msg).unwrap(), expected);
        }
    }

    fn encoded_bodies(msgs: &[Message]) -> Vec<Vec<u8>> {
        msgs.iter().map(|m| encode_body(&m.body).unwrap()).collect()
    }

    #[test]
    fn bundles_round_trip_in_order_and_fill_datagrams() {
        let msgs = sample_messages();
        let sender = msgs[0].sender;
        let bodies = encoded_bodies(&msgs);
        let datagrams = pack(&sender, &bodies);
        assert!(datagrams.len() < msgs.len());
        let mut decoded = Vec::new();
        for (i, d) in datagrams.iter().enumerate() {
            assert!(d.len() <= MAX_DATAGRAM);
            // Greedy: the next datagram's first body would not have fitted this one.
            if let Some(next) = datagrams.get(i + 1) {
                let first_next = decode(next).unwrap().bodies.remove(0);
                let extra = encode_body(&first_next).unwrap().len();
                let header = if d[0] == PROTOCOL_VERSION { 1 } else { 0 };
                assert!(d.len() + header + extra > MAX_DATAGRAM);
            }
            let dg = decode(d).unwrap();
            assert_eq!(dg.sender, sender);
            decoded.extend(dg.into_messages());
        }
        assert_eq!(decoded, msgs);
    }

    #[test]
    fn small_bodies_bundle_up_to_the_count_limit() {
        let sender = NodeId([7; 20]);
        let bodies: Vec<_> = (0..(MAX_BUNDLE as u64 * 2 + 1))
            .map(|seq| encode_body(&Body::Ack { seq }).unwrap())
            .collect();
        let datagrams = pack(&sender, &bodies);
        let counts: Vec<_> = datagrams
            .iter()
            .map(|d| decode(d).unwrap().bodies.len())
            .collect();
        assert_eq!(counts, [MAX_BUNDLE, MAX_BUNDLE, 1]);
        assert_eq!(datagrams[0][0], BUNDLE_VERSION);
        assert_eq!(datagrams[2][0], PROTOCOL_VERSION);
    }

    /// A bundle of `n` acks with the count byte saying `count`.
    fn ack_bundle(n: usize, count: u8) -> Vec<u8> {
        let mut out = vec![BUNDLE_VERSION];
        out.extend_from_slice(&[0xff; 20]);
        out.push(count);
        for seq in 0..n as u64 {
            out.extend(encode_body(&Body::Ack { seq }).unwrap());
        }
        out
    }

    #[test]
    fn rejects_bad_bundles() {
        assert!(decode(&ack_bundle(3, 3)).is_ok());
        // More bodies than allowed, even when the datagram is small.
        let n = MAX_BUNDLE + 1;
        let many = ack_bundle(n, u8::try_from(n).unwrap());
        assert!(many.len() <= MAX_DATAGRAM);
        assert_eq!(decode(&many), Err(DecodeError::OverLimit));
        // Counts that disagree with the content, or are not a bundle's.
        assert_eq!(decode(&ack_bundle(3, 4)), Err(DecodeError::Malformed));
        assert_eq!(decode(&ack_bundle(3, 2)), Err(DecodeError::Malformed));
        assert_eq!(decode(&ack_bundle(1, 1)), Err(DecodeError::Malformed));
        assert_eq!(decode(&ack_bundle(0, 0)), Err(DecodeError::Malformed));
        // Truncated anywhere, including at a body boundary.
        let whole = ack_bundle(3, 3);
        for cut in 0..whole.len() {
            assert!(decode(&whole[..cut]).is_err(), "cut at {cut}");
        }
        // Oversized as a whole although every body is fine.
        let mut big = ack_bundle(2, 2);
        big.resize(MAX_DATAGRAM + 1, 0);
        assert_eq!(decode(&big), Err(DecodeError::Oversized));
        // A body over its limit drops the whole bundle.
        let mut over = ack_bundle(1, 2);
        over.extend(postcard::to_allocvec(&Body::Acks(vec![1; MAX_ACKS + 1])).unwrap());
        assert_eq!(decode(&over), Err(DecodeError::OverLimit));
    }

    #[test]
    fn bundles_do_not_nest() {
        // A bundle whose first body is itself a bundle: `Body` has no variant for it, so the
        // inner frame does not decode as a body.
        let inner = ack_bundle(2, 2);
        let mut outer = ack_bundle(0, 2);
        outer.extend_from_slice(&inner);
        outer.extend(encode_body(&Body::Ack { seq: 1 }).unwrap());
        assert_eq!(decode(&outer), Err(DecodeError::Malformed));
        // Nor does a single-message frame inside a bundle.
        let mut outer = ack_bundle(1, 2);
        outer.extend(
            encode(&Message {
                sender: NodeId([0xff; 20]),
                body: Body::Ack { seq: 1 },
            })
            .unwrap(),
        );
        assert!(decode(&outer).is_err());
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
        // Version 1 had no bundles; its nodes are not spoken to.
        let mut v1 = encode(&sample_messages()[0]).unwrap();
        v1[0] = 1;
        assert_eq!(decode(&v1), Err(DecodeError::Version));
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
        fn mutations_never_panic(which in 0usize..12, flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
            let msgs = sample_messages();
            let bytes = encode(&msgs[which % msgs.len()]).unwrap();
            decode_mutated(bytes, &flips, cut);
        }

        #[test]
        fn bundle_mutations_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
            let msgs = sample_messages();
            let bytes = pack(&msgs[0].sender, &encoded_bodies(&msgs[..5])).swap_remove(0);
            decode_mutated(bytes, &flips, cut);
        }
    }

    /// Decodes `bytes` with the bytes at `flips` changed, then a prefix of it cut at `cut`.
    fn decode_mutated(
        mut bytes: Vec<u8>,
        flips: &[(prop::sample::Index, u8)],
        cut: prop::sample::Index,
    ) {
        for (i, v) in flips {
            let i = i.index(bytes.len());
            bytes[i] ^= v;
        }
        let _ = decode(&bytes);
        let n = cut.index(bytes.len() + 1);
        let _ = decode(&bytes[..n]);
    }
}
