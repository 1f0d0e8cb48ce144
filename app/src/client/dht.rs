//! The DHT as the client library sees it: OpenDHT's put/get/rm plus SCOPE's blobs and watch.
//!
//! Everything social is built on this one trait, so the same code runs against a real
//! super-node ([`super::gateway::GatewayDht`]) and in-process ([`super::memory::MemoryDht`]) for
//! tests and for the GUI's fake client. Values are untrusted bytes: callers verify them.

use async_trait::async_trait;
use sha1::{Digest as _, Sha1};

/// A 160-bit DHT key (SHA-1 of a typed name, see [`super::keys`]).
pub type Key = [u8; 20];

/// Largest value the OpenDHT methods accept.
pub const MAX_VALUE_BYTES: usize = 1024;
/// Longest time-to-live a value can have: one week.
pub const MAX_TTL_SECS: u32 = 604_800;
/// Most keys one `scope.watch` call may follow.
pub const MAX_WATCH_KEYS: usize = 64;
/// Values asked for per `get` page (the server also caps a page at about 1 KB).
pub const PAGE_MAXVALS: u16 = 64;
/// Most pages read for one key: a hostile gateway cannot keep a reader looping forever.
pub const MAX_PAGES: usize = 10_000;

/// SHA-1 of `bytes`: keys, value hashes and secret hashes are all SHA-1 in OpenDHT.
#[must_use]
pub fn sha1(bytes: &[u8]) -> [u8; 20] {
    Sha1::digest(bytes).into()
}

/// Why a DHT operation failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DhtError {
    /// No super-node could be reached (every known gateway refused or timed out).
    #[error("no super-node reachable{0}")]
    Unreachable(String),
    /// The storing node refused the put: over capacity or over this client's fair share.
    #[error("the DHT is over capacity; try again later")]
    OverCapacity,
    /// The node kept answering "try again".
    #[error("the DHT asked to try again later")]
    TryAgain,
    /// The value is larger than [`MAX_VALUE_BYTES`].
    #[error("value of {0} bytes is over the DHT's 1,024-byte limit")]
    ValueTooLarge(usize),
    /// The gateway answered with an XML-RPC fault.
    #[error("the super-node refused the call: {0}")]
    Fault(String),
    /// The gateway's reply could not be understood.
    #[error("bad reply from the super-node: {0}")]
    BadReply(String),
    /// A `scope.watch` cursor the gateway no longer knows (e.g. after failover).
    #[error("watch cursor no longer valid")]
    BadCursor,
}

/// One value with the details `get_details` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detailed {
    /// The stored bytes.
    pub value: Vec<u8>,
    /// Whole seconds until it expires.
    pub ttl_remaining: u32,
    /// SHA-1 of the secret it was put with; `None` for a plain `put`.
    pub secret_hash: Option<[u8; 20]>,
}

/// One page of a `get`: the values and the placemark for the next page (empty when done).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The values on this page.
    pub values: Vec<T>,
    /// Opaque position of the next page; empty means no more values.
    pub placemark: Vec<u8>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            values: Vec::new(),
            placemark: Vec::new(),
        }
    }
}

/// One change seen by `watch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A value was put under `key`.
    Put {
        /// The watched key.
        key: Key,
        /// The new value (untrusted).
        value: Vec<u8>,
    },
    /// A value was removed from `key`.
    Rm {
        /// The watched key.
        key: Key,
        /// SHA-1 of the removed value.
        value_hash: Vec<u8>,
    },
}

/// What `watch` returns: the changes and the cursor to resume from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Watched {
    /// Pass this to the next `watch` to miss nothing and repeat nothing.
    pub cursor: String,
    /// Changes after the given cursor, oldest first.
    pub changes: Vec<Change>,
}

/// The operations a super-node offers, as the social model needs them.
///
/// Object-safe (through `async_trait`) so the GUI can hold an `Arc<dyn Dht>` and swap in
/// [`super::memory::MemoryDht`] for its fake client.
#[async_trait]
pub trait Dht: Send + Sync + std::fmt::Debug {
    /// `put`: adds `value` to the set under `key` for `ttl` seconds; never removable.
    async fn put(&self, key: Key, value: Vec<u8>, ttl: u32) -> Result<(), DhtError>;
    /// `put_removable`: as `put`, removable later by whoever knows the secret of `secret_hash`.
    async fn put_removable(
        &self,
        key: Key,
        value: Vec<u8>,
        secret_hash: [u8; 20],
        ttl: u32,
    ) -> Result<(), DhtError>;
    /// One `get` page starting at `placemark` (empty for the first page).
    async fn get_page(&self, key: Key, placemark: Vec<u8>) -> Result<Page<Vec<u8>>, DhtError>;
    /// One `get_details` page.
    async fn get_details_page(
        &self,
        key: Key,
        placemark: Vec<u8>,
    ) -> Result<Page<Detailed>, DhtError>;
    /// `rm`: removes the value with SHA-1 `value_hash` put with `secret`; the tombstone lives `ttl`.
    async fn rm(
        &self,
        key: Key,
        value_hash: [u8; 20],
        secret: Vec<u8>,
        ttl: u32,
    ) -> Result<(), DhtError>;
    /// `scope.put_blob`: stores up to 8 MiB content-addressed; returns its SHA-1.
    async fn put_blob(&self, data: Vec<u8>, ttl: u32) -> Result<[u8; 20], DhtError>;
    /// `scope.get_blob`: the blob, or `None` if no node has it.
    async fn get_blob(&self, hash: [u8; 20]) -> Result<Option<Vec<u8>>, DhtError>;
    /// `scope.watch`: waits up to `timeout_s` for puts or removals under `keys` after `cursor`
    /// (`""` = from now).
    async fn watch(&self, keys: &[Key], cursor: &str, timeout_s: u32) -> Result<Watched, DhtError>;

    /// Overlay addresses of the super-nodes this connection goes through, so a device that
    /// starts serving joins the same overlay (even where mDNS does not reach). None for a DHT
    /// with no overlay behind it.
    async fn overlay_seeds(&self) -> Vec<std::net::SocketAddr> {
        Vec::new()
    }

    /// Every value under `key`, following placemarks to the end.
    async fn get_all(&self, key: Key) -> Result<Vec<Vec<u8>>, DhtError> {
        let mut values = Vec::new();
        let mut placemark = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self.get_page(key, placemark).await?;
            values.extend(page.values);
            if page.placemark.is_empty() {
                break;
            }
            placemark = page.placemark;
        }
        Ok(values)
    }

    /// Every value under `key` with its details, following placemarks to the end.
    async fn get_all_details(&self, key: Key) -> Result<Vec<Detailed>, DhtError> {
        let mut values = Vec::new();
        let mut placemark = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self.get_details_page(key, placemark).await?;
            values.extend(page.values);
            if page.placemark.is_empty() {
                break;
            }
            placemark = page.placemark;
        }
        Ok(values)
    }
}

/// Checks the value limit before any bytes leave the process.
pub fn check_value(value: &[u8]) -> Result<(), DhtError> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(DhtError::ValueTooLarge(value.len()));
    }
    Ok(())
}
