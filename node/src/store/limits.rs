//! Configurable limits of a [`Store`](super::Store).

/// OpenDHT's longest TTL: one week (`Dht.MAX_TTL_SEC`). Longer TTLs are clamped, not refused.
pub const MAX_TTL_SECS: i64 = 604_800;

/// Bytes charged per stored item on top of its payload: OpenDHT's 77-byte storage key.
pub const ITEM_OVERHEAD: u64 = 77;

/// Bytes a value costs in a `get_details` reply beyond its own bytes (TTL, `"SHA"`, 20-byte hash).
/// OpenDHT capped a reply at one maximal value plus this overhead.
pub const GET_ITEM_OVERHEAD: usize = 4 + 3 + 20;

/// Limits of one store. Defaults follow OpenDHT where it had a number, and are sized for a
/// small super-node otherwise; the daemon overrides them from its flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreLimits {
    /// Total bytes the node stores (values, tombstones and chunks, each with its overhead).
    pub capacity_bytes: u64,
    /// Largest value accepted through the OpenDHT methods (OpenDHT: 1,024).
    pub max_value_len: usize,
    /// Longest `rm` secret (OpenDHT: 40).
    pub max_secret_len: usize,
    /// Largest blob chunk.
    pub max_chunk_len: usize,
    /// Byte budget of one `get` page; at least one value is always returned so paging progresses.
    pub max_get_bytes: usize,
    /// Every client may use at least this many bytes whatever the number of clients, so a busy
    /// node still accepts a few values from a newcomer (bounded by the total capacity).
    pub client_floor_bytes: u64,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            capacity_bytes: 1 << 30,
            max_value_len: 1024,
            max_secret_len: 40,
            max_chunk_len: 64 * 1024,
            max_get_bytes: 1024 + GET_ITEM_OVERHEAD,
            client_floor_bytes: 64 * 1024,
        }
    }
}
