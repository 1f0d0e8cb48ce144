//! Errors of the storage layer.
//!
//! One enum for the whole store: every operation fails for the same small set of reasons (bad
//! input, capacity, corruption, database trouble), and the XML-RPC gateway maps each variant
//! one to one onto an OpenDHT status code or fault.

use thiserror::Error;

/// Why a storage operation was refused or failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The TTL was zero or negative; OpenDHT never checked this, we refuse it (a fault, not a status).
    #[error("ttl must be positive, got {0}")]
    InvalidTtl(i64),
    /// The value is longer than [`StoreLimits::max_value_len`](super::StoreLimits::max_value_len).
    #[error("value is longer than {max} bytes ({len})")]
    ValueTooLarge {
        /// Length of the refused value.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// A blob chunk is longer than [`StoreLimits::max_chunk_len`](super::StoreLimits::max_chunk_len).
    #[error("chunk is longer than {max} bytes ({len})")]
    ChunkTooLarge {
        /// Length of the refused chunk.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// The `rm` secret is longer than OpenDHT's 40 bytes.
    #[error("secret is longer than {max} bytes ({len})")]
    SecretTooLong {
        /// Length of the refused secret.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// The placemark was not one this store hands out (wrong length or version).
    #[error("malformed placemark ({0} bytes)")]
    BadPlacemark(usize),
    /// Storing this would exceed the node's capacity or the client's fair share: OpenDHT status 1.
    #[error("over capacity")]
    OverCapacity,
    /// Bytes do not hash to the hash they claim (chunk content, replica value or tombstone secret).
    #[error("content does not match its SHA-1 hash")]
    HashMismatch,
    /// A replica or chunk arrived whose expiry time has already passed; it was not stored.
    #[error("record already expired")]
    AlreadyExpired,
    /// A record read from disk could not be decoded: the file is damaged or from another version.
    #[error("corrupt record on disk: {0}")]
    Corrupt(&'static str),
    /// The embedded database (redb) failed: I/O error, full disk, lock held by another process.
    #[error("database error: {0}")]
    Db(#[from] redb::Error),
}

/// Converts each of redb's per-operation error types through [`redb::Error`].
macro_rules! from_redb {
    ($($ty:ty),*) => {$(
        impl From<$ty> for StoreError {
            fn from(e: $ty) -> Self {
                StoreError::Db(e.into())
            }
        }
    )*};
}

from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

impl StoreError {
    /// The OpenDHT status code for refusals that are statuses rather than faults: 1 for
    /// [`StoreError::OverCapacity`], 2 ("try again") for database trouble, `None` for bad input.
    #[must_use]
    pub fn opendht_status(&self) -> Option<u32> {
        match self {
            StoreError::OverCapacity => Some(1),
            StoreError::Db(_) | StoreError::Corrupt(_) => Some(2),
            _ => None,
        }
    }
}
