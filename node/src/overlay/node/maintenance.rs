//! Joining, announcing, leaving, and the periodic work that keeps the tables right: leaf-set
//! probing, leaf-set gossip, routing-table refresh and forgetting peers nobody needs.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::Rng as _;

use super::super::id::{ID_DIGITS, NodeId};
use super::super::node_info::NodeInfo;
use super::super::timer::Timer;
use super::super::wire::{
    Body, LeafSetContent, LeafSetKind, MAX_ENTRIES, Reliable, RowContent, Signed,
};
use super::peers::PingPurpose;
use super::{Node, Phase};

/// A peer no table needs is forgotten after this long without a word.
const FORGET_AFTER: Duration = Duration::from_secs(120);
/// How often unneeded peers are forgotten.
const GC_INTERVAL: Duration = Duration::from_secs(30);

impl Node {
    pub(super) fn send_join_request(&mut self, now: Instant) {
        let Phase::Joining {
            seeds, next_seed, ..
        } = &mut self.phase
        else {
            return;
        };
        let Some(seed) = seeds.get(*next_seed % seeds.len().max(1)).copied() else {
            return;
        };
        *next_seed += 1;
        let stamp = self.next_stamp();
        let req = self.sign(stamp, self.config.epoch_ms);
        self.send(seed, Body::JoinRequest(req));
        self.timers
            .set(Timer::JoinRetry, now + self.config.join_retry);
    }

    pub(super) fn join_retry_tick(&mut self, now: Instant) {
        match &self.phase {
            Phase::Joining {
                leaf_set_received: false,
                ..
            } => self.send_join_request(now),
            Phase::Joining { .. } | Phase::Announcing => {
                self.check_join_progress(now);
                self.timers
                    .set(Timer::JoinRetry, now + self.config.join_retry);
            }
            _ => {}
        }
    }

    /// Moves a joining node on once each step is done: the root's leaf set received and every
    /// candidate verified → announce to the new neighbours; every leaf-set neighbour acknowledged
    /// → joined.
    pub(super) fn check_join_progress(&mut self, now: Instant) {
        match self.phase {
            Phase::Joining {
                leaf_set_received: true,
                ..
            } if self.verifying.is_empty() => {
                // Only the leaf set must know the newcomer before it counts as joined; other nodes
                // meet it through table maintenance and gossip, as in Bamboo.
                self.phase = Phase::Announcing;
                self.start_routing(now);
                let targets: Vec<NodeInfo> = self.leaf_set.members().copied().collect();
                for t in targets {
                    self.send_announce(now, t);
                }
                self.check_join_progress(now);
            }
            Phase::Announcing if self.announcing_to.is_empty() && self.verifying.is_empty() => {
                self.become_joined(now);
            }
            _ => {}
        }
    }

    /// Tells `to` that this node exists, with its leaf set; acknowledged hop by hop.
    pub(super) fn send_announce(&mut self, now: Instant, to: NodeInfo) {
        let signed = self.signed_leaf_set(LeafSetKind::Push);
        if self.phase == Phase::Announcing && self.leaf_set.contains(&to.id) {
            self.announcing_to.insert(to.id);
        }
        self.send_reliable(now, to, Reliable::Announce(signed), Vec::new());
    }

    /// The leaf set, signed, for `kind`. Signing costs as much as a few hundred datagrams, so a
    /// signed copy is reused for as long as the leaf set stays the same (receivers accept a
    /// repeat stamp once each; see the stamp window in `peers.rs`).
    fn signed_leaf_set(&mut self, kind: LeafSetKind) -> Signed<LeafSetContent> {
        let fingerprint = self.leaf_set_fingerprint();
        if kind != LeafSetKind::Leaving
            && let Some((f, signed)) = self.signed_leaf_sets.get(&kind)
            && *f == fingerprint
        {
            return signed.clone();
        }
        let content = LeafSetContent {
            kind,
            entries: self.leaf_set.members().take(MAX_ENTRIES).copied().collect(),
        };
        let stamp = self.next_stamp();
        let signed = self.sign(stamp, content);
        self.signed_leaf_sets
            .insert(kind, (fingerprint, signed.clone()));
        signed
    }

    fn leaf_set_fingerprint(&self) -> u64 {
        self.leaf_set.members().fold(0xcbf2_9ce4_8422_2325, |h, n| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&n.id.0[..8]);
            (h ^ u64::from_be_bytes(x)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    /// Sends this node's signed leaf set to `dst`.
    pub(super) fn send_leaf_set(&mut self, _now: Instant, dst: SocketAddr, kind: LeafSetKind) {
        let signed = self.signed_leaf_set(kind);
        self.send(dst, Body::LeafSet(signed));
    }

    /// Sends routing-table row `row`, signed, to `dst`.
    pub(super) fn send_row(&mut self, _now: Instant, dst: SocketAddr, row: usize) {
        let Ok(row_u8) = u8::try_from(row) else {
            return;
        };
        if row >= ID_DIGITS {
            return;
        }
        let entries: Vec<NodeInfo> = self
            .table
            .row(row)
            .map(|e| e.node)
            .take(MAX_ENTRIES)
            .collect();
        let stamp = self.next_stamp();
        let signed = self.sign(
            stamp,
            RowContent {
                row: row_u8,
                entries,
            },
        );
        self.send(dst, Body::Row(signed));
    }

    /// Asks a peer of row `row` (or, failing that, a leaf) for its row `row`, to refill a slot.
    pub(super) fn request_row_from_peer_in(&mut self, _now: Instant, row: usize) {
        let in_row: Vec<NodeInfo> = self.table.row(row).map(|e| e.node).collect();
        let pool = if in_row.is_empty() {
            self.leaf_set.members().copied().collect()
        } else {
            in_row
        };
        if pool.is_empty() {
            return;
        }
        let pick = pool[self.rng.random_range(0..pool.len())];
        let Ok(row) = u8::try_from(row) else {
            return;
        };
        self.send(pick.addr, Body::RowRequest { row });
    }

    pub(super) fn send_leaving(&mut self, now: Instant) {
        if !matches!(self.phase, Phase::Joined | Phase::Announcing) {
            return;
        }
        let targets: HashSet<SocketAddr> = self
            .leaf_set
            .members()
            .map(|n| n.addr)
            .chain(self.table.entries().map(|e| e.node.addr))
            .collect();
        let mut targets: Vec<SocketAddr> = targets.into_iter().collect();
        targets.sort();
        for dst in targets {
            self.send_leaf_set(now, dst, LeafSetKind::Leaving);
        }
    }

    pub(super) fn start_maintenance(&mut self, now: Instant) {
        let jitter =
            |rng: &mut rand_chacha::ChaCha8Rng, d: Duration| d.mul_f64(rng.random_range(0.5..1.0));
        let probe = jitter(&mut self.rng, self.config.probe_interval / 2);
        let gossip = jitter(&mut self.rng, self.config.leaf_exchange_interval);
        let table = jitter(&mut self.rng, self.config.table_maintenance_interval);
        self.timers.set(Timer::Probe, now + probe);
        self.timers.set(Timer::LeafExchange, now + gossip);
        self.timers.set(Timer::TableMaintenance, now + table);
        self.timers.set(Timer::Gc, now + GC_INTERVAL);
    }

    /// Pings every leaf-set member not heard from within the probe interval.
    pub(super) fn probe_tick(&mut self, now: Instant) {
        let interval = self.config.probe_interval;
        let probing: HashSet<NodeId> = self
            .pings
            .values()
            .filter(|p| p.purpose == PingPurpose::Liveness)
            .map(|p| p.target.id)
            .collect();
        let stale: Vec<NodeInfo> = self
            .leaf_set
            .members()
            .filter(|n| !probing.contains(&n.id))
            .filter(|n| {
                self.peers
                    .get(&n.id)
                    .and_then(|p| p.last_heard)
                    .is_none_or(|t| now.saturating_duration_since(t) >= interval)
            })
            .copied()
            .collect();
        for n in stale {
            self.send_ping(now, n, PingPurpose::Liveness, 0);
        }
        self.timers.set(Timer::Probe, now + interval / 2);
    }

    /// Push-pull gossip of the leaf set with one random member.
    pub(super) fn leaf_exchange_tick(&mut self, now: Instant) {
        let members: Vec<NodeInfo> = self.leaf_set.members().copied().collect();
        if !members.is_empty() {
            let pick = members[self.rng.random_range(0..members.len())];
            self.send_leaf_set(now, pick.addr, LeafSetKind::Push);
        }
        self.timers.set(
            Timer::LeafExchange,
            now + self.config.leaf_exchange_interval,
        );
    }

    /// Refreshes one random routing-table row from a random peer in it.
    pub(super) fn table_maintenance_tick(&mut self, now: Instant) {
        let rows = self.table.row_count();
        if rows > 0 {
            let row = self.rng.random_range(0..rows);
            self.request_row_from_peer_in(now, row);
        }
        self.timers.set(
            Timer::TableMaintenance,
            now + self.config.table_maintenance_interval,
        );
    }

    /// Forgets peers that no table, message or ping needs and that have been quiet for a while.
    pub(super) fn gc_tick(&mut self, now: Instant) {
        let mut needed: HashSet<NodeId> = self.leaf_set.members().map(|n| n.id).collect();
        needed.extend(self.table.entries().map(|e| e.node.id));
        needed.extend(self.inflight.values().map(|i| i.to.id));
        needed.extend(self.pings.values().map(|p| p.target.id));
        needed.extend(self.verifying.iter().copied());
        self.peers.retain(|id, p| {
            needed.contains(id)
                || p.last_heard
                    .is_some_and(|t| now.saturating_duration_since(t) < FORGET_AFTER)
        });
        self.dead.retain(|_, until| *until > now);
        self.timers.set(Timer::Gc, now + GC_INTERVAL);
    }
}
