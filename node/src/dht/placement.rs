//! Where values live: the r nodes closest to a key, as this node sees them from its leaf set.
//!
//! A key's replica set is the r live nodes numerically closest to it (root first). Sorted round
//! the ring, the r closest nodes to any key are r consecutive nodes, so node `n_0` is among the
//! r closest exactly for keys in the arc from the midpoint of `n_-r` and `n_0` to the midpoint of
//! `n_0` and `n_r` (indices relative to `n_0` in ring order). Two nodes k positions apart share
//! the intersection of their arcs; that is what they compare in repair. The leaf set has at least
//! r members on each side, so every node these formulas need is in it.

use crate::overlay::leaf_set::LeafSet;
use crate::overlay::{NodeId, NodeInfo};
use crate::store::{DhtKey, KeyRange};

/// A snapshot of this node's neighbourhood, taken whenever the leaf set changes.
#[derive(Debug, Clone)]
pub struct Placement {
    /// This node.
    me: NodeInfo,
    /// The leaf set as of the last change.
    leaf: LeafSet,
    /// Self and every leaf-set member, sorted by id (the ring, as far as this node knows it).
    ring: Vec<NodeInfo>,
    /// Copies per value.
    r: usize,
}

/// The node id of a key (same 160-bit space).
#[must_use]
pub fn node_id(key: DhtKey) -> NodeId {
    NodeId(key.0)
}

/// The key at a node id.
#[must_use]
pub fn key_at(id: NodeId) -> DhtKey {
    DhtKey(id.0)
}

impl Placement {
    /// A placement for `me` with `leaf` and `r` copies per value.
    #[must_use]
    pub fn new(me: NodeInfo, leaf: LeafSet, r: usize) -> Placement {
        let mut ring: Vec<NodeInfo> = leaf.members().copied().collect();
        ring.push(me);
        ring.sort_by_key(|n| n.id);
        ring.dedup_by_key(|n| n.id);
        Placement {
            me,
            leaf,
            ring,
            r: r.max(1),
        }
    }

    /// This node.
    #[must_use]
    pub fn me(&self) -> NodeInfo {
        self.me
    }

    /// The leaf-set member closer to `key` than this node, if any (then this node is not root).
    #[must_use]
    pub fn closer_root(&self, key: DhtKey) -> Option<NodeInfo> {
        self.leaf.closest(&node_id(key), |_| false)
    }

    /// The root of `key` when this node's leaf set covers it (Pastry's rule: inside the leaf
    /// set's range the root is known without asking anyone); `None` otherwise.
    #[must_use]
    pub fn known_root(&self, key: DhtKey) -> Option<NodeInfo> {
        let id = node_id(key);
        if !self.leaf.covers(&id) {
            return None;
        }
        Some(self.leaf.closest(&id, |_| false).unwrap_or(self.me))
    }

    /// The r nodes closest to `key` among self and the leaf set, closest first.
    #[must_use]
    pub fn replica_set(&self, key: DhtKey) -> Vec<NodeInfo> {
        let k = node_id(key);
        let mut all = self.ring.clone();
        all.sort_by(|a, b| k.closer(&a.id, &b.id));
        all.truncate(self.r);
        all
    }

    /// The other members of `key`'s replica set: where the root sends copies.
    #[must_use]
    pub fn replica_targets(&self, key: DhtKey) -> Vec<NodeInfo> {
        let mut set = self.replica_set(key);
        set.retain(|n| n.id != self.me.id);
        set
    }

    /// Whether this node should hold `key` (it is among the r closest it knows of).
    #[must_use]
    pub fn responsible(&self, key: DhtKey) -> bool {
        self.leaf.covers(&node_id(key)) && self.replica_set(key).iter().any(|n| n.id == self.me.id)
    }

    /// The ring member `offset` positions from this node (positive: clockwise).
    fn at(&self, offset: isize) -> NodeId {
        let n = self.ring.len();
        let me = self
            .ring
            .iter()
            .position(|x| x.id == self.me.id)
            .unwrap_or(0);
        let n_i = isize::try_from(n).unwrap_or(isize::MAX).max(1);
        let me_i = isize::try_from(me).unwrap_or(0);
        let idx = usize::try_from((me_i + offset).rem_euclid(n_i)).unwrap_or(0);
        self.ring.get(idx).map_or(self.me.id, |x| x.id)
    }

    /// Every peer that shares part of this node's arc, with the shared arc: the r − 1 nearest on
    /// each side (each peer once; the whole ring when the overlay has at most r nodes).
    #[must_use]
    pub fn repair_partners(&self) -> Vec<(NodeInfo, KeyRange)> {
        let n = self.ring.len();
        if n <= 1 {
            return Vec::new();
        }
        let r = isize::try_from(self.r).unwrap_or(4);
        let mut out: Vec<(NodeInfo, KeyRange)> = Vec::new();
        for k in (1..r).flat_map(|k| [k, -k]) {
            let peer_id = self.at(k);
            if peer_id == self.me.id || out.iter().any(|(p, _)| p.id == peer_id) {
                continue;
            }
            let Some(peer) = self.ring.iter().find(|x| x.id == peer_id).copied() else {
                continue;
            };
            out.push((peer, self.shared_arc(k)));
        }
        out
    }

    /// Arcs of keys this node is not responsible for, cut where their root changes, each with
    /// the nodes that hold it now (its root first, as far as this node knows). A node keeps what
    /// it stored until it expires; when joins move keys to closer nodes it offers them these
    /// arcs in repair, so values it held (a lone node's, say) are handed over instead of being
    /// kept from their new holders until the next write.
    #[must_use]
    pub fn handoff_arcs(&self) -> Vec<(KeyRange, Vec<NodeInfo>)> {
        let n = self.ring.len();
        if n <= self.r {
            return Vec::new();
        }
        let r = isize::try_from(self.r).unwrap_or(4);
        let mine_from = mid(self.at(-r), self.at(0));
        let mine_to = mid(self.at(0), self.at(r));
        if mine_from == mine_to {
            return Vec::new();
        }
        // The rest of the ring, [mine_to, mine_from), cut at the midpoints between neighbours.
        let rest = KeyRange::new(key_at(mine_to), key_at(mine_from));
        let mut cuts: Vec<NodeId> = (0..n)
            .map(|i| mid(self.ring[i].id, self.ring[(i + 1) % n].id))
            .filter(|b| *b != mine_to && rest.contains(key_at(*b)))
            .collect();
        cuts.sort_by_key(|b| mine_to.cw_distance(b));
        cuts.dedup();
        let mut points = vec![mine_to];
        points.extend(cuts);
        points.push(mine_from);
        points
            .windows(2)
            .map(|w| KeyRange::new(key_at(w[0]), key_at(w[1])))
            .filter(|arc| arc.from != arc.to)
            // A piece's start may tie between two nodes; its midpoint has the piece's root.
            .map(|arc| {
                let inside = key_at(mid(node_id(arc.from), node_id(arc.to)));
                (arc, self.replica_targets(inside))
            })
            .filter(|(_, t)| !t.is_empty())
            .collect()
    }

    /// The arc this node shares with the member `k` positions away (|k| < r).
    fn shared_arc(&self, k: isize) -> KeyRange {
        let r = isize::try_from(self.r).unwrap_or(4);
        if self.ring.len() <= self.r {
            return KeyRange::FULL;
        }
        let (from, to) = if k > 0 {
            (mid(self.at(k - r), self.at(k)), mid(self.at(0), self.at(r)))
        } else {
            (
                mid(self.at(-r), self.at(0)),
                mid(self.at(k), self.at(k + r)),
            )
        };
        KeyRange::new(key_at(from), key_at(to))
    }
}

/// The point half way clockwise from `a` to `b`.
#[must_use]
pub fn mid(a: NodeId, b: NodeId) -> NodeId {
    let d = a.cw_distance(&b).0;
    let mut half = [0u8; 20];
    let mut carry = 0u8;
    for (i, byte) in d.iter().enumerate() {
        half[i] = (byte >> 1) | (carry << 7);
        carry = byte & 1;
    }
    NodeId(add(&a.0, &half))
}

/// `a + b` modulo 2^160.
fn add(a: &[u8; 20], b: &[u8; 20]) -> [u8; 20] {
    let mut out = [0u8; 20];
    let mut carry = 0u16;
    for i in (0..20).rev() {
        let s = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = (s & 0xff) as u8;
        carry = s >> 8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn info(b: u8) -> NodeInfo {
        let mut id = [0u8; 20];
        id[0] = b;
        NodeInfo {
            id: NodeId(id),
            addr: SocketAddr::from(([10, 0, 0, b], 3630)),
        }
    }

    fn placement(me: u8, others: &[u8], r: usize) -> Placement {
        let mut leaf = LeafSet::new(info(me).id, 8);
        for &o in others {
            leaf.insert(info(o));
        }
        Placement::new(info(me), leaf, r)
    }

    #[test]
    fn midpoint_wraps_round_the_ring() {
        assert_eq!(mid(info(10).id, info(20).id), info(15).id);
        assert_eq!(mid(info(250).id, info(4).id), info(255).id);
    }

    #[test]
    fn shared_arcs_hold_exactly_the_keys_both_replicate() {
        let ids: Vec<u8> = (0..12).map(|i| i * 20 + 3).collect();
        for &me in &ids {
            let others: Vec<u8> = ids.iter().copied().filter(|&x| x != me).collect();
            let p = placement(me, &others, 4);
            for (peer, arc) in p.repair_partners() {
                for b in 0..=255u8 {
                    let mut k = [0x55u8; 20];
                    k[0] = b;
                    let key = DhtKey(k);
                    let set = p.replica_set(key);
                    let both = set.iter().any(|n| n.id == p.me.id) && set.contains(&peer);
                    assert_eq!(
                        arc.contains(key),
                        both,
                        "me {me} peer {:?} key {b}",
                        peer.id
                    );
                }
            }
        }
    }

    #[test]
    fn handoff_arcs_cover_the_keys_this_node_does_not_replicate() {
        let ids: Vec<u8> = (0..12).map(|i| i * 20 + 3).collect();
        for &me in &ids {
            let others: Vec<u8> = ids.iter().copied().filter(|&x| x != me).collect();
            let p = placement(me, &others, 4);
            let arcs = p.handoff_arcs();
            for b in 0..=255u8 {
                let mut k = [0x55u8; 20];
                k[0] = b;
                let key = DhtKey(k);
                let set = p.replica_set(key);
                let mine = set.iter().any(|n| n.id == p.me.id);
                let found: Vec<_> = arcs.iter().filter(|(a, _)| a.contains(key)).collect();
                if mine {
                    assert!(found.is_empty(), "me {me} key {b}: my own key handed off");
                } else {
                    assert_eq!(found.len(), 1, "me {me} key {b}: one arc");
                    assert_eq!(
                        found[0].1[0], set[0],
                        "me {me} key {b}: offered to its root"
                    );
                }
            }
        }
        assert!(placement(5, &[50, 100], 4).handoff_arcs().is_empty());
    }

    #[test]
    fn a_small_overlay_replicates_everything_everywhere() {
        let p = placement(5, &[50, 100], 4);
        assert!(
            p.repair_partners()
                .iter()
                .all(|(_, a)| *a == KeyRange::FULL)
        );
        assert_eq!(p.replica_set(key_at(info(77).id)).len(), 3);
        assert!(p.responsible(key_at(info(200).id)));
    }
}
