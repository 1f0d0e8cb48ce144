//! Capacity and fair share between clients.
//!
//! # The rule
//!
//! A put from a client is admitted when
//!
//! 1. the node's total charged bytes plus the put's cost stay within
//!    [`StoreLimits::capacity_bytes`], and
//! 2. the client's own charged bytes plus the cost stay within its share,
//!    `max(capacity / (active + 1), client_floor_bytes)`, where `active` counts the clients that
//!    hold data here, this one included.
//!
//! # Why
//!
//! OpenDHT's goal was max-min fairness: a greedy client must not take more than its fair share,
//! and a client with no usage is always below its share (`shared/opendht-api.md` §6). Bamboo reached it
//! with per-TTL-class token buckets and a queue of delayed puts, which needs a clock-driven
//! background task and delays replies. We keep the goal with a stateless rule that a synchronous
//! store can check inside the put's transaction:
//!
//! * Dividing by `active + 1` rather than `active` keeps one share free for a newcomer: with `n`
//!   clients at their cap the node holds at most `n / (n + 1)` of its capacity, so a client that
//!   arrives while one client floods the node still finds room (the flooder alone is capped at half).
//! * Clients already above a share that shrank because others arrived are not evicted; they simply
//!   cannot add until their values expire or are removed. This is the water-filling outcome
//!   without ever deleting acknowledged data.
//! * The floor lets every client store a few values on a node shared by very many clients; the
//!   total capacity still bounds everything.
//! * Usage is counted in bytes charged as OpenDHT did: the value plus its 77-byte storage key.
//!
//! Replicas received from other nodes ([`Store::insert_replica`](super::Store::insert_replica))
//! skip rule 2: the root already applied fair share when it accepted the put, and refusing a
//! replica would only lower the replica count. They still obey rule 1, and are charged to the
//! original client so later puts by that client see the usage.
//!
//! [`StoreLimits::capacity_bytes`]: super::StoreLimits::capacity_bytes

use std::net::IpAddr;

use redb::{ReadableTable as _, ReadableTableMetadata as _};

use super::error::StoreError;
use super::limits::StoreLimits;
use super::record::ip_to_bytes;
use super::tables::{META_BYTES, Tables};

/// Who asks for the space: decides whether the per-client share applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// A client's put or rm through the gateway: capacity and fair share.
    Client,
    /// A replica or chunk: total capacity only.
    Replica,
}

/// What the admission rule looks at in one table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Occupancy {
    /// Bytes charged in the table.
    pub(crate) used: u64,
    /// Bytes the table may hold.
    pub(crate) capacity: u64,
    /// Bytes charged to the client asking.
    pub(crate) client_usage: u64,
    /// Clients holding data in the table.
    pub(crate) clients: u64,
}

/// Whether `cost` more bytes pass the rule in the module doc.
pub(crate) fn admits(limits: &StoreLimits, o: Occupancy, cost: u64, admission: Admission) -> bool {
    if o.used.saturating_add(cost) > o.capacity {
        return false;
    }
    if admission == Admission::Replica {
        return true;
    }
    let active = o.clients + u64::from(o.client_usage == 0);
    o.client_usage.saturating_add(cost) <= client_share(limits, active)
}

/// The most bytes one client may hold when `active` clients (itself included) hold data.
#[must_use]
pub fn client_share(limits: &StoreLimits, active: u64) -> u64 {
    let fair = limits.capacity_bytes / active.saturating_add(1).max(2);
    fair.max(limits.client_floor_bytes)
        .min(limits.capacity_bytes)
}

impl Tables<'_> {
    /// Bytes currently charged to `client`.
    pub(crate) fn usage(&self, client: IpAddr) -> Result<u64, StoreError> {
        let k = ip_to_bytes(client);
        Ok(self.clients.get(k.as_slice())?.map_or(0, |g| g.value()))
    }

    /// Charges (`delta > 0`) or refunds (`delta < 0`) a client and the node total. A client whose
    /// usage drops to zero is forgotten, so it no longer counts as active.
    pub(crate) fn charge(&mut self, client: IpAddr, delta: i64) -> Result<(), StoreError> {
        let k = ip_to_bytes(client);
        let new = self.usage(client)?.saturating_add_signed(delta);
        if new == 0 {
            self.clients.remove(k.as_slice())?;
        } else {
            self.clients.insert(k.as_slice(), new)?;
        }
        self.bump(META_BYTES, delta)
    }

    /// What the admission rule needs to know about `client` in these tables.
    pub(crate) fn occupancy(
        &self,
        limits: &StoreLimits,
        client: IpAddr,
    ) -> Result<Occupancy, StoreError> {
        Ok(Occupancy {
            used: self.counter(META_BYTES)?,
            capacity: limits.capacity_bytes,
            client_usage: self.usage(client)?,
            clients: self.clients.len()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(capacity: u64, floor: u64) -> StoreLimits {
        StoreLimits {
            capacity_bytes: capacity,
            client_floor_bytes: floor,
            ..StoreLimits::default()
        }
    }

    #[test]
    fn a_lone_client_gets_half() {
        assert_eq!(client_share(&limits(1000, 0), 1), 500);
        assert_eq!(client_share(&limits(1000, 0), 0), 500);
    }

    #[test]
    fn share_shrinks_with_clients_but_not_below_floor() {
        assert_eq!(client_share(&limits(1000, 0), 3), 250);
        assert_eq!(client_share(&limits(1000, 100), 99), 100);
        assert_eq!(client_share(&limits(50, 100), 9), 50);
    }
}
