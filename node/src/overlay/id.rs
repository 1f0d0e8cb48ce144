//! 160-bit identifiers on the Pastry ring.
//!
//! Node IDs and keys share one space: 20 bytes read as a big-endian unsigned integer modulo 2^160.
//! Routing uses two views of an ID: its base-16 digits (prefix routing, b = 4) and its position
//! on the ring (numeric closeness, which decides the root of a key).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha1::{Digest as _, Sha1};

/// Bytes in an ID (160 bits, the size of a SHA-1 digest).
pub const ID_BYTES: usize = 20;
/// Base-16 digits in an ID: the number of routing-table rows.
pub const ID_DIGITS: usize = ID_BYTES * 2;

/// A point on the 160-bit ring: a node's ID or a key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct NodeId(pub [u8; ID_BYTES]);

/// The distance between two points on the ring, as an unsigned 160-bit number.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Distance(pub [u8; ID_BYTES]);

/// Keys are points on the same ring as node IDs.
pub type Key = NodeId;

impl NodeId {
    /// The ID whose every bit is zero.
    pub const ZERO: Self = Self([0; ID_BYTES]);

    /// SHA-1 of arbitrary bytes: how keys are made from names and IDs from public keys.
    #[must_use]
    pub fn hash(data: &[u8]) -> Self {
        Self(Sha1::digest(data).into())
    }

    /// The ID of the node holding `public_key` (SHA-1 of the ed25519 public key), so that no node
    /// chooses where it lands on the ring.
    #[must_use]
    pub fn from_public_key(public_key: &[u8; 32]) -> Self {
        Self::hash(public_key)
    }

    /// Digit `i` (0 = most significant) in base 16.
    #[must_use]
    pub fn digit(&self, i: usize) -> u8 {
        let byte = self.0[i / 2];
        if i.is_multiple_of(2) {
            byte >> 4
        } else {
            byte & 0x0f
        }
    }

    /// How many leading base-16 digits `self` and `other` share.
    #[must_use]
    pub fn shared_prefix_len(&self, other: &Self) -> usize {
        for (i, (a, b)) in self.0.iter().zip(other.0.iter()).enumerate() {
            let x = a ^ b;
            if x != 0 {
                return i * 2 + usize::from(x & 0xf0 == 0);
            }
        }
        ID_DIGITS
    }

    /// Clockwise distance from `self` to `other`: `(other - self) mod 2^160`.
    #[must_use]
    pub fn cw_distance(&self, other: &Self) -> Distance {
        Distance(wrapping_sub(&other.0, &self.0))
    }

    /// Counter-clockwise distance from `self` to `other`: `(self - other) mod 2^160`.
    #[must_use]
    pub fn ccw_distance(&self, other: &Self) -> Distance {
        Distance(wrapping_sub(&self.0, &other.0))
    }

    /// Ring distance: the shorter way round.
    #[must_use]
    pub fn ring_distance(&self, other: &Self) -> Distance {
        self.cw_distance(other).min(self.ccw_distance(other))
    }

    /// Orders `a` and `b` by closeness to `self` (the key). Ties, which need a key exactly half
    /// way between two nodes, go to the smaller ID, so every node agrees on one root.
    #[must_use]
    pub fn closer(&self, a: &Self, b: &Self) -> Ordering {
        self.ring_distance(a)
            .cmp(&self.ring_distance(b))
            .then_with(|| a.cmp(b))
    }

    /// Short form for logs, as Bamboo printed IDs: `0x` and the first 8 hex digits.
    #[must_use]
    pub fn short(&self) -> String {
        format!("0x{}", &hex::encode(&self.0[..4]))
    }
}

fn wrapping_sub(a: &[u8; ID_BYTES], b: &[u8; ID_BYTES]) -> [u8; ID_BYTES] {
    let mut out = [0u8; ID_BYTES];
    let mut borrow = 0i16;
    for i in (0..ID_BYTES).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = u8::try_from(d).unwrap_or(0);
    }
    out
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.short())
    }
}

/// Why a string is not an ID.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("an ID is exactly 40 hexadecimal digits")]
pub struct ParseIdError;

impl FromStr for NodeId {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; ID_BYTES];
        hex::decode_to_slice(s, &mut out).map_err(|_| ParseIdError)?;
        Ok(Self(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(first: u8, last: u8) -> NodeId {
        let mut b = [0u8; ID_BYTES];
        b[0] = first;
        b[ID_BYTES - 1] = last;
        NodeId(b)
    }

    #[test]
    fn digits_and_prefix() {
        let a: NodeId = "abcd000000000000000000000000000000000000".parse().unwrap();
        let b: NodeId = "abce000000000000000000000000000000000000".parse().unwrap();
        assert_eq!(a.digit(0), 0xa);
        assert_eq!(a.digit(3), 0xd);
        assert_eq!(a.shared_prefix_len(&b), 3);
        assert_eq!(a.shared_prefix_len(&a), ID_DIGITS);
    }

    #[test]
    fn distances_wrap_around() {
        let low = id(0, 1);
        let high = id(0xff, 0);
        // From high, going clockwise, we wrap past zero to low.
        assert!(high.cw_distance(&low) < high.ccw_distance(&low));
        assert_eq!(low.ring_distance(&high), high.ring_distance(&low));
        assert_eq!(low.cw_distance(&low), Distance::default());
    }

    #[test]
    fn ties_go_to_the_smaller_id() {
        let key = id(0x80, 0);
        let a = id(0x7f, 0);
        let b = id(0x81, 0);
        assert_eq!(key.closer(&a, &b), Ordering::Less);
    }

    #[test]
    fn parse_rejects_bad_text() {
        assert_eq!("xyz".parse::<NodeId>(), Err(ParseIdError));
        assert_eq!("ab".repeat(21).parse::<NodeId>(), Err(ParseIdError));
    }

    proptest! {
        #[test]
        fn cw_plus_ccw_is_the_whole_ring(a in any::<[u8; 20]>(), b in any::<[u8; 20]>()) {
            let (a, b) = (NodeId(a), NodeId(b));
            // cw(a,b) + ccw(a,b) == 0 mod 2^160, i.e. cw == -ccw.
            let cw = a.cw_distance(&b);
            let ccw = a.ccw_distance(&b);
            prop_assert_eq!(wrapping_sub(&[0; 20], &cw.0), ccw.0);
            prop_assert_eq!(a.to_string().parse::<NodeId>().unwrap(), a);
        }
    }
}
