//! Counters for `/status` and the fair-share view.

use std::net::IpAddr;

use redb::{ReadTransaction, ReadableTable as _, ReadableTableMetadata as _};

use super::Store;
use super::error::StoreError;
use super::record::{ip_from_bytes, ip_to_bytes};
use super::tables::{CLIENTS, META, META_BYTES, META_CHUNKS, META_TOMBSTONES, META_VALUES};

/// What the store holds. Counts include records that expired but were not purged yet, since
/// they still occupy the disk; run [`Store::purge_expired`] first for live-only figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Stored values (`/status` `stored_values`).
    pub values: u64,
    /// Stored tombstones.
    pub tombstones: u64,
    /// Stored blob chunks.
    pub chunks: u64,
    /// Bytes charged against capacity (payloads plus per-item overhead).
    pub bytes_used: u64,
    /// The configured capacity.
    pub capacity_bytes: u64,
    /// Clients that hold data here (the fair-share divisor).
    pub active_clients: u64,
}

/// Bytes charged to `client` in a read snapshot.
pub(crate) fn client_usage(txn: &ReadTransaction, client: IpAddr) -> Result<u64, StoreError> {
    let clients = txn.open_table(CLIENTS)?;
    let key = ip_to_bytes(client);
    Ok(clients.get(key.as_slice())?.map_or(0, |g| g.value()))
}

impl Store {
    /// The current counters, of both storage classes together.
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let txn = self.read()?;
        let meta = txn.open_table(META)?;
        let get = |name: &str| -> Result<u64, StoreError> {
            Ok(meta.get(name)?.map_or(0, |g| g.value()))
        };
        let (values, tombstones, bytes, clients) = self.soft().counts();
        Ok(StoreStats {
            values: get(META_VALUES)? + values,
            tombstones: get(META_TOMBSTONES)? + tombstones,
            chunks: get(META_CHUNKS)?,
            bytes_used: get(META_BYTES)? + bytes,
            capacity_bytes: self.limits.capacity_bytes,
            // A client holding both kinds is counted twice; this is a status figure.
            active_clients: txn.open_table(CLIENTS)?.len()? + clients,
        })
    }

    /// Every client's charged bytes (both storage classes), for operators and `/status`.
    pub fn client_usages(&self) -> Result<Vec<(IpAddr, u64)>, StoreError> {
        let clients = self.read()?.open_table(CLIENTS)?;
        let mut out: Vec<(IpAddr, u64)> = Vec::new();
        for entry in clients.iter()? {
            let (k, v) = entry?;
            out.push((ip_from_bytes(k.value()), v.value()));
        }
        for (ip, used) in self.soft().usages() {
            match out.iter_mut().find(|(c, _)| *c == ip) {
                Some((_, total)) => *total += used,
                None => out.push((ip, used)),
            }
        }
        Ok(out)
    }
}
