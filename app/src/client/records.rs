//! Signed records: the envelope every value a user writes travels in.
//!
//! A record is `postcard(Envelope)`: the author's username and ed25519 key, a kind, the body
//! (postcard of the typed record) and a signature over all of that *and the DHT key it is
//! stored under*, so a record cannot be replayed under another key (a vote copied to another
//! poll, a profile copied to another user). Readers call [`open`], then check that the key is
//! the one bound to the username (see [`super::users`]); anything else is ignored.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::dht::{Key, MAX_VALUE_BYTES, sha1};

/// Domain separation for record signatures.
const DOMAIN: &[u8] = b"whatsup-record-v1";

/// A typed record that can travel in an envelope.
pub trait Record: Serialize + DeserializeOwned {
    /// Short tag naming the type; signed, so a body cannot be reinterpreted as another type.
    const KIND: &'static str;
}

#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    author: String,
    key: [u8; 32],
    kind: String,
    body: Vec<u8>,
    sig: Vec<u8>,
}

/// A record whose signature checked out.
#[derive(Debug, Clone)]
pub struct Opened<T> {
    /// Username the author signed with (still to be matched against the claim).
    pub author: String,
    /// The author's key.
    pub key: VerifyingKey,
    /// The typed record.
    pub body: T,
    /// SHA-1 of the stored bytes (what `rm` needs).
    pub value_hash: [u8; 20],
}

/// Why a record could not be written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// The sealed record would not fit in one DHT value.
    #[error("{kind} record of {len} bytes is over the 1,024-byte DHT value limit")]
    TooLarge {
        /// The record kind.
        kind: &'static str,
        /// Its sealed size.
        len: usize,
    },
    /// Serialising failed (should not happen for our own types).
    #[error("cannot encode record: {0}")]
    Encode(String),
}

fn signed_bytes(dht_key: &Key, author: &str, key: &[u8; 32], kind: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(body.len() + 128);
    bytes.extend_from_slice(DOMAIN);
    bytes.extend_from_slice(dht_key);
    for part in [author.as_bytes(), key, kind.as_bytes(), body] {
        bytes.extend_from_slice(&(part.len() as u64).to_be_bytes());
        bytes.extend_from_slice(part);
    }
    bytes
}

/// Signs `record` as `author` for storage under `dht_key`; checks the value limit.
pub fn seal<T: Record>(
    signer: &SigningKey,
    author: &str,
    dht_key: &Key,
    record: &T,
) -> Result<Vec<u8>, SealError> {
    let body = postcard::to_stdvec(record).map_err(|e| SealError::Encode(e.to_string()))?;
    let key = signer.verifying_key().to_bytes();
    let sig = signer.sign(&signed_bytes(dht_key, author, &key, T::KIND, &body));
    let envelope = Envelope {
        author: author.to_owned(),
        key,
        kind: T::KIND.to_owned(),
        body,
        sig: sig.to_bytes().to_vec(),
    };
    let bytes = postcard::to_stdvec(&envelope).map_err(|e| SealError::Encode(e.to_string()))?;
    if bytes.len() > MAX_VALUE_BYTES {
        return Err(SealError::TooLarge {
            kind: T::KIND,
            len: bytes.len(),
        });
    }
    Ok(bytes)
}

/// Checks the signature of untrusted `bytes` read from `dht_key`; `None` for anything that is
/// not a well-formed, correctly signed record of type `T` made for this key.
#[must_use]
pub fn open<T: Record>(bytes: &[u8], dht_key: &Key) -> Option<Opened<T>> {
    let (envelope, key) = verified(bytes, dht_key)?;
    if envelope.kind != T::KIND {
        return None;
    }
    let body = postcard::from_bytes(&envelope.body).ok()?;
    Some(Opened {
        author: envelope.author,
        key,
        body,
        value_hash: sha1(bytes),
    })
}

/// The author and key of any well-formed record made for `dht_key` whose signature checks out,
/// whatever its kind (to find one's own values to refresh).
#[must_use]
pub fn signer(bytes: &[u8], dht_key: &Key) -> Option<(String, VerifyingKey)> {
    verified(bytes, dht_key).map(|(envelope, key)| (envelope.author, key))
}

/// The envelope of untrusted `bytes` and its signer's key, if its signature over `dht_key`
/// and every field checks out.
fn verified(bytes: &[u8], dht_key: &Key) -> Option<(Envelope, VerifyingKey)> {
    let envelope: Envelope = postcard::from_bytes(bytes).ok()?;
    let key = VerifyingKey::from_bytes(&envelope.key).ok()?;
    let sig = Signature::from_slice(&envelope.sig).ok()?;
    let signed = signed_bytes(
        dht_key,
        &envelope.author,
        &envelope.key,
        &envelope.kind,
        &envelope.body,
    );
    key.verify_strict(&signed, &sig).ok()?;
    Some((envelope, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Note(String);
    impl Record for Note {
        const KIND: &'static str = "note";
    }

    #[test]
    fn sealed_records_open_only_under_their_key_and_unaltered() {
        let signer = SigningKey::from_bytes(&[7; 32]);
        let key = sha1(b"k");
        let bytes = seal(&signer, "alice", &key, &Note("hi".into())).unwrap();
        let opened = open::<Note>(&bytes, &key).unwrap();
        assert_eq!(
            (opened.author.as_str(), opened.body),
            ("alice", Note("hi".into()))
        );
        assert!(open::<Note>(&bytes, &sha1(b"other")).is_none());
        for i in 0..bytes.len() {
            let mut altered = bytes.clone();
            altered[i] ^= 1;
            assert!(open::<Note>(&altered, &key).is_none_or(|o| o.body == Note("hi".into())));
        }
        assert!(open::<Note>(b"garbage", &key).is_none());
    }

    #[test]
    fn oversized_records_are_refused() {
        let signer = SigningKey::from_bytes(&[7; 32]);
        let err = seal(&signer, "a", &[0; 20], &Note("x".repeat(2000))).unwrap_err();
        assert!(matches!(err, SealError::TooLarge { .. }));
    }
}
