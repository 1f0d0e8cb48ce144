//! A node's key pair and the proofs that tie its ID to it.
//!
//! A node's ID is the SHA-1 of its ed25519 public key. Whenever a node's ID enters another
//! node's routing state, the claim comes with a signature by that key over something fresh
//! (a challenge nonce, or a per-sender sequence number), so no peer can claim an ID it does not
//! hold or replay someone else's claim.

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_big_array::BigArray;

use super::id::NodeId;

/// A node's long-lived ed25519 key pair.
#[derive(Clone)]
pub struct Identity {
    key: SigningKey,
    id: NodeId,
}

impl Identity {
    /// Restores an identity from its 32-byte secret (as kept in the node's data directory).
    #[must_use]
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Self {
        let key = SigningKey::from_bytes(secret);
        let id = NodeId::from_public_key(key.verifying_key().as_bytes());
        Self { key, id }
    }

    /// A new identity from 32 random bytes supplied by the caller (the core reads no global RNG).
    #[must_use]
    pub fn from_random(rng: &mut impl rand::RngCore) -> Self {
        let mut secret = [0u8; 32];
        rng.fill_bytes(&mut secret);
        Self::from_secret_bytes(&secret)
    }

    /// The 32-byte secret, for persisting.
    #[must_use]
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The node ID this key pair owns.
    #[must_use]
    pub fn node_id(&self) -> NodeId {
        self.id
    }

    /// The public key.
    #[must_use]
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// Signs `message` and returns the proof a receiver checks with [`Proof::verify`].
    #[must_use]
    pub fn prove(&self, message: &[u8]) -> Proof {
        Proof {
            public_key: self.public_key(),
            signature: self.key.sign(message).to_bytes(),
        }
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A public key and a signature by it: evidence that the holder of `public_key` (and so of the ID
/// `SHA-1(public_key)`) signed a message.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// The signer's ed25519 public key.
    pub public_key: [u8; 32],
    /// The ed25519 signature.
    #[serde(with = "BigArray")]
    pub signature: [u8; 64],
}

impl Proof {
    /// True when the proof was made by the owner of `id` over exactly `message`.
    #[must_use]
    pub fn verify(&self, id: &NodeId, message: &[u8]) -> bool {
        self.key_of(id)
            .is_some_and(|key| self.verify_with(&key, message))
    }

    /// The decompressed public key, when it is the key of `id`. Decompressing costs about a
    /// third of a verification, so callers that hear from a peer often keep it.
    #[must_use]
    pub fn key_of(&self, id: &NodeId) -> Option<VerifyingKey> {
        if NodeId::from_public_key(&self.public_key) != *id {
            return None;
        }
        VerifyingKey::from_bytes(&self.public_key).ok()
    }

    /// True when the signature over `message` verifies with `key` (which the caller has already
    /// tied to the sender's ID, e.g. through [`Proof::key_of`]) and `key` is the proof's key.
    #[must_use]
    pub fn verify_with(&self, key: &VerifyingKey, message: &[u8]) -> bool {
        key.as_bytes() == &self.public_key
            && key
                .verify(message, &Signature::from_bytes(&self.signature))
                .is_ok()
    }
}

impl std::fmt::Debug for Proof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Proof({})",
            NodeId::from_public_key(&self.public_key).short()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;

    #[test]
    fn proofs_bind_id_and_message() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let alice = Identity::from_random(&mut rng);
        let bob = Identity::from_random(&mut rng);
        let proof = alice.prove(b"hello");
        assert!(proof.verify(&alice.node_id(), b"hello"));
        assert!(!proof.verify(&alice.node_id(), b"hellO"));
        assert!(!proof.verify(&bob.node_id(), b"hello"));
        let restored = Identity::from_secret_bytes(&alice.secret_bytes());
        assert_eq!(restored.node_id(), alice.node_id());
    }
}
