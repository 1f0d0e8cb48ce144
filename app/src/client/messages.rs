//! Instant messages, end-to-end encrypted, delivered through the DHT.
//!
//! A message is sealed to the recipient with X25519 (keys derived from both identities, see
//! [`super::identity::Identity::x25519`]), HKDF-SHA256 and XChaCha20-Poly1305 with a random
//! nonce, then signed by the sender like every record and put under `user:<to>/inbox` for a
//! week. The DHT (and anyone reading it) sees the sender, recipient and time, never the text.
//! An offline recipient finds it in their inbox whenever they next look.

use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::VerifyingKey;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use super::identity::Identity;
use super::posts::check_len;
use super::records::Record;
use super::{Client, ClientError, keys};

/// Longest message text (the ciphertext must fit one DHT value).
pub const MAX_MESSAGE: usize = 700;

/// An encrypted message as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// Recipient username.
    pub to: String,
    /// When sent, Unix ms.
    pub at: u64,
    /// Random nonce.
    pub nonce: [u8; 24],
    /// XChaCha20-Poly1305 ciphertext of the UTF-8 text.
    pub ciphertext: Vec<u8>,
}

impl Record for Sealed {
    const KIND: &'static str = "message";
}

/// A decrypted message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// Sender username.
    pub from: String,
    /// When sent, Unix ms.
    pub at: u64,
    /// The text.
    pub text: String,
}

fn cipher(
    me: &Identity,
    peer: &VerifyingKey,
    sender: &VerifyingKey,
    to: &str,
) -> XChaCha20Poly1305 {
    let peer_x = x25519_dalek::PublicKey::from(peer.to_montgomery().to_bytes());
    let shared = me.x25519().diffie_hellman(&peer_x);
    let mut info = b"whatsup-message-v1".to_vec();
    info.extend_from_slice(sender.as_bytes());
    info.extend_from_slice(to.as_bytes());
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(None, shared.as_bytes());
    let mut key = [0u8; 32];
    // 32 bytes is always a valid HKDF-SHA256 output length.
    hk.expand(&info, &mut key).unwrap_or_default();
    XChaCha20Poly1305::new(&key.into())
}

fn aad(to: &str, at: u64) -> Vec<u8> {
    let mut aad = to.as_bytes().to_vec();
    aad.extend_from_slice(&at.to_be_bytes());
    aad
}

impl Client {
    /// Sends `text` to `to`, encrypted so only they can read it.
    pub async fn send_message(&self, to: &str, text: &str) -> Result<(), ClientError> {
        check_len("message", text, MAX_MESSAGE)?;
        let to = self.require_user(to).await?;
        let peer = self
            .owner_of(&to)
            .await?
            .ok_or_else(|| ClientError::UnknownUser(to.clone()))?;
        let me = self.me()?.clone();
        let at = self.now_ms();
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let cipher = cipher(&me, &peer, &me.verifying_key(), &to);
        let ciphertext = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: text.as_bytes(),
                    aad: &aad(&to, at),
                },
            )
            .map_err(|_| ClientError::Invalid("encryption failed".into()))?;
        let sealed = Sealed {
            to: to.clone(),
            at,
            nonce,
            ciphertext,
        };
        self.write(keys::user_list(&to, "inbox"), &sealed).await
    }

    /// My messages, oldest first; ones that do not decrypt are dropped.
    pub async fn inbox(&self) -> Result<Vec<Message>, ClientError> {
        let me = self.me()?.clone();
        let records = self
            .read::<Sealed>(keys::user_list(&me.username, "inbox"))
            .await?;
        let mut messages: Vec<Message> = records
            .into_iter()
            .filter(|r| r.body.to == me.username)
            .filter_map(|r| {
                let text = decrypt(&me, &r.key, &r.body)?;
                Some(Message {
                    from: r.author,
                    at: r.body.at,
                    text,
                })
            })
            .collect();
        messages.sort_by_key(|m| m.at);
        Ok(messages)
    }
}

/// Decrypts a message sent to `me` by the owner of `sender`.
pub(crate) fn decrypt(me: &Identity, sender: &VerifyingKey, sealed: &Sealed) -> Option<String> {
    let cipher = cipher(me, sender, sender, &me.username);
    let payload = Payload {
        msg: &sealed.ciphertext,
        aad: &aad(&sealed.to, sealed.at),
    };
    let plain = cipher
        .decrypt(XNonce::from_slice(&sealed.nonce), payload)
        .ok()?;
    String::from_utf8(plain)
        .ok()
        .map(|t| super::text::clean(&t))
}

#[cfg(test)]
mod tests {
    use super::super::memory::MemoryDht;
    use super::super::test_support::user;
    use super::super::{Client, ManualClock};
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn messages_are_end_to_end_encrypted_and_wait_offline() {
        let dht = Arc::new(MemoryDht::new());
        let net = Client::new(dht.clone(), None).with_clock(Arc::new(ManualClock::new(1)));
        let alice = user(&net, "alice").await;
        let bob = user(&net, "bob").await;
        let carol = user(&net, "carol").await;
        alice
            .send_message("bob", "secret plans at 5")
            .await
            .unwrap();
        carol.send_message("bob", "hi bob").await.unwrap();
        let raw = dht.raw_values(&keys::user_list("bob", "inbox"));
        assert_eq!(raw.len(), 2);
        assert!(
            raw.iter()
                .all(|v| !v.windows(6).any(|w| w == b"secret" || w == b"hi bob"))
        );
        let inbox = bob.inbox().await.unwrap();
        assert_eq!(inbox.len(), 2);
        assert_eq!(
            (inbox[0].from.as_str(), inbox[0].text.as_str()),
            ("alice", "secret plans at 5")
        );
        // Carol cannot read Bob's mail even with the raw values.
        let records = carol
            .read::<Sealed>(keys::user_list("bob", "inbox"))
            .await
            .unwrap();
        let carol_id = carol.me().unwrap().clone();
        assert!(
            records
                .iter()
                .all(|r| decrypt(&carol_id, &r.key, &r.body).is_none())
        );
        assert!(alice.send_message("nobody", "x").await.is_err());
        assert!(
            alice
                .send_message("bob", &"x".repeat(MAX_MESSAGE + 1))
                .await
                .is_err()
        );
    }
}
