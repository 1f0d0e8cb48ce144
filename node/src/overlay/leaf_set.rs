//! The leaf set: the `half` nodes closest on each side of this node on the ring.
//!
//! It decides the last hop of every lookup, so after churn it must again be exactly right: the
//! `half` live successors and the `half` live predecessors. In a network of at most `2·half`
//! other nodes both sides hold everyone, and the leaf set covers the whole ring.

use super::id::{Distance, NodeId};
use super::node_info::NodeInfo;

/// The successors and predecessors of one node.
#[derive(Clone, Debug)]
pub struct LeafSet {
    me: NodeId,
    half: usize,
    /// Successors, nearest first (ascending clockwise distance).
    cw: Vec<NodeInfo>,
    /// Predecessors, nearest first (ascending counter-clockwise distance).
    ccw: Vec<NodeInfo>,
}

impl LeafSet {
    /// An empty leaf set of `half` members per side around `me`.
    #[must_use]
    pub fn new(me: NodeId, half: usize) -> Self {
        Self {
            me,
            half,
            cw: Vec::with_capacity(half + 1),
            ccw: Vec::with_capacity(half + 1),
        }
    }

    /// Members per side.
    #[must_use]
    pub fn half(&self) -> usize {
        self.half
    }

    /// Successors, nearest first.
    #[must_use]
    pub fn successors(&self) -> &[NodeInfo] {
        &self.cw
    }

    /// Predecessors, nearest first.
    #[must_use]
    pub fn predecessors(&self) -> &[NodeInfo] {
        &self.ccw
    }

    /// Every member once (a node on both sides of a small ring is listed once).
    pub fn members(&self) -> impl Iterator<Item = &NodeInfo> {
        self.cw.iter().chain(
            self.ccw
                .iter()
                .filter(move |n| !self.cw.iter().any(|c| c.id == n.id)),
        )
    }

    /// Number of distinct members.
    #[must_use]
    pub fn len(&self) -> usize {
        self.members().count()
    }

    /// True when the node knows no other node.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.cw.is_empty() && self.ccw.is_empty()
    }

    /// True when `id` is a member.
    #[must_use]
    pub fn contains(&self, id: &NodeId) -> bool {
        self.cw.iter().chain(&self.ccw).any(|n| n.id == *id)
    }

    /// True when `id` would become a member if inserted.
    #[must_use]
    pub fn would_accept(&self, id: &NodeId) -> bool {
        if *id == self.me || self.contains(id) {
            return false;
        }
        fits(&self.cw, self.half, self.me.cw_distance(id), |n| {
            self.me.cw_distance(&n.id)
        }) || fits(&self.ccw, self.half, self.me.ccw_distance(id), |n| {
            self.me.ccw_distance(&n.id)
        })
    }

    /// Inserts `node` where it belongs; returns true when the leaf set changed. A node pushed
    /// out of both sides is dropped.
    pub fn insert(&mut self, node: NodeInfo) -> bool {
        if node.id == self.me {
            return false;
        }
        if let Some(existing) = self
            .cw
            .iter_mut()
            .chain(self.ccw.iter_mut())
            .find(|n| n.id == node.id)
        {
            existing.addr = node.addr;
            // Keep both copies' addresses in step.
            for n in self.cw.iter_mut().chain(self.ccw.iter_mut()) {
                if n.id == node.id {
                    n.addr = node.addr;
                }
            }
            return false;
        }
        let me = self.me;
        let a = insert_side(&mut self.cw, self.half, node, |n| me.cw_distance(&n.id));
        let b = insert_side(&mut self.ccw, self.half, node, |n| me.ccw_distance(&n.id));
        a || b
    }

    /// Removes `id`; returns true when it was a member.
    pub fn remove(&mut self, id: &NodeId) -> bool {
        let before = self.cw.len() + self.ccw.len();
        self.cw.retain(|n| n.id != *id);
        self.ccw.retain(|n| n.id != *id);
        before != self.cw.len() + self.ccw.len()
    }

    /// True when the leaf set spans the whole ring: fewer than `half` nodes on a side means
    /// the node knows every node there is.
    #[must_use]
    pub fn covers_ring(&self) -> bool {
        self.cw.len() < self.half || self.ccw.len() < self.half
    }

    /// True when `key` falls between the farthest predecessor and the farthest successor, so
    /// that its root is this node or one of the members.
    #[must_use]
    pub fn covers(&self, key: &NodeId) -> bool {
        if self.covers_ring() {
            return true;
        }
        let (Some(far_cw), Some(far_ccw)) = (self.cw.last(), self.ccw.last()) else {
            return true;
        };
        self.me.cw_distance(key) <= self.me.cw_distance(&far_cw.id)
            || self.me.ccw_distance(key) <= self.me.ccw_distance(&far_ccw.id)
    }

    /// The member or self closest to `key`, skipping members for which `skip` is true.
    /// `None` means this node itself is closest.
    pub fn closest(&self, key: &NodeId, skip: impl Fn(&NodeId) -> bool) -> Option<NodeInfo> {
        let mut best: Option<NodeInfo> = None;
        for n in self.cw.iter().chain(&self.ccw) {
            if skip(&n.id) {
                continue;
            }
            if best.is_none_or(|b| key.closer(&n.id, &b.id).is_lt()) {
                best = Some(*n);
            }
        }
        best.filter(|b| key.closer(&b.id, &self.me).is_lt())
    }

    /// The farthest member on the side of `id` (used to refill that side after a failure).
    #[must_use]
    pub fn farthest_on_side_of(&self, id: &NodeId) -> Option<NodeInfo> {
        if self.me.cw_distance(id) <= self.me.ccw_distance(id) {
            self.cw.last().copied()
        } else {
            self.ccw.last().copied()
        }
    }
}

fn fits(side: &[NodeInfo], half: usize, d: Distance, dist: impl Fn(&NodeInfo) -> Distance) -> bool {
    side.len() < half || side.last().is_some_and(|far| d < dist(far))
}

fn insert_side(
    side: &mut Vec<NodeInfo>,
    half: usize,
    node: NodeInfo,
    dist: impl Fn(&NodeInfo) -> Distance,
) -> bool {
    let d = dist(&node);
    let pos = side.partition_point(|n| dist(n) < d);
    if pos >= half {
        return false;
    }
    side.insert(pos, node);
    side.truncate(half);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::SocketAddr;

    fn node(id: NodeId) -> NodeInfo {
        NodeInfo {
            id,
            addr: SocketAddr::from(([127, 0, 0, 1], 1)),
        }
    }

    proptest! {
        /// Whatever order nodes are learned in, each side ends as the `half` nearest.
        #[test]
        fn keeps_the_nearest_on_each_side(me in any::<[u8; 20]>(), ids in prop::collection::vec(any::<[u8; 20]>(), 0..60)) {
            let me = NodeId(me);
            let mut ls = LeafSet::new(me, 4);
            for id in &ids {
                ls.insert(node(NodeId(*id)));
            }
            let mut others: Vec<NodeId> = ids.iter().map(|b| NodeId(*b)).filter(|i| *i != me).collect();
            others.sort();
            others.dedup();
            let mut by_cw = others.clone();
            by_cw.sort_by_key(|i| me.cw_distance(i));
            let mut by_ccw = others.clone();
            by_ccw.sort_by_key(|i| me.ccw_distance(i));
            let cw: Vec<NodeId> = ls.successors().iter().map(|n| n.id).collect();
            let ccw: Vec<NodeId> = ls.predecessors().iter().map(|n| n.id).collect();
            prop_assert_eq!(cw, by_cw.into_iter().take(4).collect::<Vec<_>>());
            prop_assert_eq!(ccw, by_ccw.into_iter().take(4).collect::<Vec<_>>());
            // Closest member to any member's ID is that member.
            for n in ls.members() {
                prop_assert_eq!(ls.closest(&n.id, |_| false).map(|c| c.id), Some(n.id));
            }
        }
    }

    #[test]
    fn small_ring_is_covered_everywhere() {
        let me = NodeId([0x10; 20]);
        let mut ls = LeafSet::new(me, 4);
        ls.insert(node(NodeId([0x80; 20])));
        assert!(ls.covers(&NodeId([0xff; 20])));
        assert_eq!(ls.len(), 1);
        assert!(ls.remove(&NodeId([0x80; 20])));
        assert!(ls.is_empty());
    }
}
