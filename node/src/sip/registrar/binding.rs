//! The binding record stored as a DHT value under the AOR's key.

use serde::{Deserialize, Serialize};

use crate::sip::error::RegisterError;

/// Largest encoded binding, so that one fits in an OpenDHT value.
pub const MAX_RECORD: usize = 1024;

/// One contact registered for an AOR, as stored in the DHT (postcard-encoded).
///
/// Expiry is absolute Unix time so that any super-node reading the record can compute the
/// remaining lifetime; the DHT TTL matches it, so stale values also vanish on their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// The contact URI where the device is reached.
    pub contact: String,
    /// Unix time (seconds) at which the binding ends.
    pub expires_at: u64,
    /// Call-ID of the REGISTER that created it: the owner of a non-outbound binding.
    pub call_id: String,
    /// CSeq of that REGISTER, to reject out-of-order refreshes (RFC 3261 §10.3 step 7).
    pub cseq: u32,
    /// `+sip.instance` (RFC 5626), a stable device identity across restarts.
    pub instance: Option<String>,
    /// `reg-id` (RFC 5626), distinguishing flows of one instance.
    pub reg_id: Option<u32>,
}

impl Binding {
    /// Encodes the record; fails when it exceeds [`MAX_RECORD`] bytes.
    pub fn encode(&self) -> Result<Vec<u8>, RegisterError> {
        let bytes = postcard::to_stdvec(self).map_err(|_| RegisterError::Codec)?;
        if bytes.len() > MAX_RECORD {
            return Err(RegisterError::RecordTooLarge(bytes.len()));
        }
        Ok(bytes)
    }

    /// Decodes a record read from the DHT.
    pub fn decode(bytes: &[u8]) -> Result<Self, RegisterError> {
        if bytes.len() > MAX_RECORD {
            return Err(RegisterError::RecordTooLarge(bytes.len()));
        }
        postcard::from_bytes(bytes).map_err(|_| RegisterError::Codec)
    }

    /// Seconds left at `now_unix`, zero once expired.
    #[must_use]
    pub fn remaining(&self, now_unix: u64) -> u64 {
        self.expires_at.saturating_sub(now_unix)
    }

    /// Whether a request with this Call-ID and instance may refresh or remove the binding.
    ///
    /// See the registrar module doc for why ownership is Call-ID or `+sip.instance`.
    #[must_use]
    pub fn owned_by(&self, call_id: &str, instance: Option<&str>) -> bool {
        self.call_id == call_id || (instance.is_some() && self.instance.as_deref() == instance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(contact: &str) -> Binding {
        Binding {
            contact: contact.into(),
            expires_at: 1_700_000_000,
            call_id: "abc@host".into(),
            cseq: 7,
            instance: Some("<urn:uuid:00000000-0000-0000-0000-000000000001>".into()),
            reg_id: Some(1),
        }
    }

    #[test]
    fn round_trips_and_bounds_size() {
        let b = binding("sip:alice@192.0.2.1:5060;transport=udp");
        assert_eq!(Binding::decode(&b.encode().unwrap()).unwrap(), b);
        let big = binding(&format!("sip:{}@h", "a".repeat(1100)));
        assert!(matches!(
            big.encode(),
            Err(RegisterError::RecordTooLarge(_))
        ));
        assert_eq!(Binding::decode(&[0xff; 3]), Err(RegisterError::Codec));
    }

    #[test]
    fn ownership_by_call_id_or_instance() {
        let b = binding("sip:a@h");
        assert!(b.owned_by("abc@host", None));
        assert!(b.owned_by("new@host", b.instance.as_deref()));
        assert!(!b.owned_by("new@host", None));
        assert!(!b.owned_by("new@host", Some("<urn:uuid:other>")));
    }
}
