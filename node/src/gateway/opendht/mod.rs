//! The five OpenDHT methods as typed requests and responses.
//!
//! Decoding applies every check Bamboo's gateway made, with its fault texts (see
//! `shared/opendht-api.md` §2), plus the two the spec recommends adding: a TTL must be positive,
//! and `maxvals` must be positive. Values that pass are wrapped in types ([`Key`], [`Ttl`]) that
//! cannot hold an out-of-limit value, so the DHT layer never re-checks.

mod request;
mod response;

pub use request::{Get, Put, PutRemovable, Rm};
pub use response::{DetailedValue, GetDetailsResult, GetResult, Status};

use super::error::ParamError;

/// Longest key accepted, in bytes (SHA-1 size; shorter keys are left-padded with zeros).
pub const MAX_KEY_BYTES: usize = 20;
/// Longest value accepted through the OpenDHT methods, in bytes.
pub const MAX_VALUE_BYTES: usize = 1024;
/// Longest `secret_hash` (put_removable) in bytes.
pub const MAX_SECRET_HASH_BYTES: usize = 20;
/// Longest `value_hash` (rm) in bytes.
pub const MAX_VALUE_HASH_BYTES: usize = 20;
/// Longest `secret` (rm) in bytes.
pub const MAX_SECRET_BYTES: usize = 40;
/// Longest placemark in bytes (Bamboo's `StorageManager.Key.SIZE`).
pub const MAX_PLACEMARK_BYTES: usize = 77;
/// Longest TTL; larger TTLs are silently clamped to it, as Bamboo did (one week).
pub const MAX_TTL_SEC: u32 = 604_800;
/// Largest page size; Bamboo used only the low 16 bits of `maxvals`.
pub const MAX_MAXVALS: u16 = u16::MAX;
/// The only secret hash algorithm the XML-RPC interface accepts.
pub const HASH_ALG: &str = "SHA";

/// A DHT key as the client sent it: at most 20 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(Vec<u8>);

impl Key {
    /// Checks the 20-byte limit (fault text `key is longer than 20 bytes`).
    pub fn new(bytes: Vec<u8>) -> Result<Key, ParamError> {
        check_len(&bytes, "key", MAX_KEY_BYTES)?;
        Ok(Key(bytes))
    }

    /// The bytes as sent.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The 160-bit identifier: Bamboo read the key as an unsigned big-endian integer, so a short
    /// key is left-padded with zero bytes.
    #[must_use]
    pub fn to_id(&self) -> [u8; 20] {
        let mut id = [0u8; 20];
        let start = MAX_KEY_BYTES.saturating_sub(self.0.len());
        id[start..].copy_from_slice(&self.0[..MAX_KEY_BYTES - start]);
        id
    }
}

/// A time-to-live in seconds, 1 to [`MAX_TTL_SEC`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ttl(u32);

impl Ttl {
    /// From the wire: zero or negative is refused, above one week is clamped to one week.
    pub fn from_wire(secs: i32) -> Result<Ttl, ParamError> {
        match u32::try_from(secs) {
            Ok(secs) if secs > 0 => Ok(Ttl(secs.min(MAX_TTL_SEC))),
            _ => Err(ParamError::OutOfRange {
                what: "ttl_sec",
                bound: "positive",
                got: i64::from(secs),
            }),
        }
    }

    /// Seconds, 1 to 604,800.
    #[must_use]
    pub fn secs(self) -> u32 {
        self.0
    }
}

/// The `too long` check with Bamboo's wording.
pub(crate) fn check_len(bytes: &[u8], what: &'static str, limit: usize) -> Result<(), ParamError> {
    if bytes.len() > limit {
        return Err(ParamError::TooLong { what, limit });
    }
    Ok(())
}

/// Only `"SHA"` is accepted, exactly as Bamboo's XML-RPC handlers did.
pub(crate) fn check_hash_alg(alg: String) -> Result<(), ParamError> {
    if alg == HASH_ALG {
        Ok(())
    } else {
        Err(ParamError::UnknownHashAlg(alg.chars().take(64).collect()))
    }
}
