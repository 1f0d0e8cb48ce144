//! Typed OpenDHT requests, decoded and validated from positional parameters, and encoded back
//! into parameters for the client side.

use sha1::{Digest as _, Sha1};

use super::{
    HASH_ALG, Key, MAX_MAXVALS, MAX_PLACEMARK_BYTES, MAX_SECRET_BYTES, MAX_SECRET_HASH_BYTES,
    MAX_VALUE_BYTES, MAX_VALUE_HASH_BYTES, Ttl, check_hash_alg, check_len,
};
use crate::gateway::args::Args;
use crate::gateway::error::ParamError;
use crate::gateway::xmlrpc::Value;

/// `put(key, value, ttl_sec, application)`: store a value that cannot be removed, only expire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Put {
    /// Where to store.
    pub key: Key,
    /// At most 1,024 bytes.
    pub value: Vec<u8>,
    /// Clamped to one week.
    pub ttl: Ttl,
    /// Logged only.
    pub application: String,
}

/// `put_removable(key, value, "SHA", secret_hash, ttl_sec, application)`: store a value that the
/// holder of the secret can later remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutRemovable {
    /// Where to store.
    pub key: Key,
    /// At most 1,024 bytes.
    pub value: Vec<u8>,
    /// SHA-1 of the secret, at most 20 bytes.
    pub secret_hash: Vec<u8>,
    /// Clamped to one week.
    pub ttl: Ttl,
    /// Logged only.
    pub application: String,
}

/// `get(key, maxvals, placemark, application)`, and `get_details` with the same arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Get {
    /// What to look up.
    pub key: Key,
    /// Page size, 1 to 65,535 (larger requests are clamped).
    pub maxvals: u16,
    /// Empty on the first call, then the placemark of the previous reply (at most 77 bytes).
    pub placemark: Vec<u8>,
    /// Logged only.
    pub application: String,
}

/// `rm(key, value_hash, "SHA", secret, ttl_sec, application)`: remove a removable value; the
/// removal itself lives for `ttl` so that stale replicas cannot bring the value back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rm {
    /// Where the value is stored.
    pub key: Key,
    /// SHA-1 of the value to remove, at most 20 bytes.
    pub value_hash: Vec<u8>,
    /// The secret itself, at most 40 bytes.
    pub secret: Vec<u8>,
    /// Lifetime of the tombstone, clamped to one week.
    pub ttl: Ttl,
    /// Logged only.
    pub application: String,
}

impl Put {
    pub(crate) fn decode(mut args: Args) -> Result<Put, ParamError> {
        let key = Key::new(args.bytes(0, "key")?)?;
        let value = checked(args.bytes(1, "value")?, "value", MAX_VALUE_BYTES)?;
        let ttl = Ttl::from_wire(args.int(2, "ttl_sec")?)?;
        Ok(Put {
            key,
            value,
            ttl,
            application: args.string(3, "application")?,
        })
    }

    pub(crate) fn to_params(&self) -> Vec<Value> {
        vec![
            bytes(self.key.as_bytes()),
            bytes(&self.value),
            ttl(self.ttl),
            text(&self.application),
        ]
    }
}

impl PutRemovable {
    pub(crate) fn decode(mut args: Args) -> Result<PutRemovable, ParamError> {
        let key = Key::new(args.bytes(0, "key")?)?;
        let value = checked(args.bytes(1, "value")?, "value", MAX_VALUE_BYTES)?;
        check_hash_alg(args.string(2, "hash_alg")?)?;
        let secret_hash = checked(
            args.bytes(3, "secret_hash")?,
            "secret hash",
            MAX_SECRET_HASH_BYTES,
        )?;
        let ttl = Ttl::from_wire(args.int(4, "ttl_sec")?)?;
        let application = args.string(5, "application")?;
        Ok(PutRemovable {
            key,
            value,
            secret_hash,
            ttl,
            application,
        })
    }

    pub(crate) fn to_params(&self) -> Vec<Value> {
        let (key, value) = (bytes(self.key.as_bytes()), bytes(&self.value));
        vec![
            key,
            value,
            text(HASH_ALG),
            bytes(&self.secret_hash),
            ttl(self.ttl),
            text(&self.application),
        ]
    }
}

impl Get {
    pub(crate) fn decode(mut args: Args) -> Result<Get, ParamError> {
        let key = Key::new(args.bytes(0, "key")?)?;
        let maxvals = args.int(1, "maxvals")?;
        if maxvals <= 0 {
            return Err(ParamError::OutOfRange {
                what: "maxvals",
                bound: "positive",
                got: i64::from(maxvals),
            });
        }
        let maxvals = u16::try_from(maxvals).unwrap_or(MAX_MAXVALS);
        let placemark = checked(
            args.bytes(2, "placemark")?,
            "placemark",
            MAX_PLACEMARK_BYTES,
        )?;
        Ok(Get {
            key,
            maxvals,
            placemark,
            application: args.string(3, "application")?,
        })
    }

    pub(crate) fn to_params(&self) -> Vec<Value> {
        let maxvals = Value::Int(i32::from(self.maxvals));
        vec![
            bytes(self.key.as_bytes()),
            maxvals,
            bytes(&self.placemark),
            text(&self.application),
        ]
    }
}

impl Rm {
    pub(crate) fn decode(mut args: Args) -> Result<Rm, ParamError> {
        let key = Key::new(args.bytes(0, "key")?)?;
        let value_hash = checked(
            args.bytes(1, "value_hash")?,
            "value_hash",
            MAX_VALUE_HASH_BYTES,
        )?;
        check_hash_alg(args.string(2, "hash_alg")?)?;
        let secret = checked(args.bytes(3, "secret")?, "secret", MAX_SECRET_BYTES)?;
        let ttl = Ttl::from_wire(args.int(4, "ttl_sec")?)?;
        let application = args.string(5, "application")?;
        Ok(Rm {
            key,
            value_hash,
            secret,
            ttl,
            application,
        })
    }

    pub(crate) fn to_params(&self) -> Vec<Value> {
        let (key, hash) = (bytes(self.key.as_bytes()), bytes(&self.value_hash));
        vec![
            key,
            hash,
            text(HASH_ALG),
            bytes(&self.secret),
            ttl(self.ttl),
            text(&self.application),
        ]
    }

    /// SHA-1 of the secret: the gateway computes it itself (as Bamboo did) to name the stored
    /// item `(key, secret_hash, value_hash)` that the removal targets.
    #[must_use]
    pub fn secret_hash(&self) -> [u8; 20] {
        Sha1::digest(&self.secret).into()
    }
}

fn checked(bytes: Vec<u8>, what: &'static str, limit: usize) -> Result<Vec<u8>, ParamError> {
    check_len(&bytes, what, limit)?;
    Ok(bytes)
}

fn bytes(b: &[u8]) -> Value {
    Value::Base64(b.to_vec())
}

fn text(s: &str) -> Value {
    Value::String(s.to_owned())
}

fn ttl(ttl: Ttl) -> Value {
    Value::from_i64(i64::from(ttl.secs()))
}
