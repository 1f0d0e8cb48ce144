//! The Pastry routing table: row `r` holds, for each digit `d`, a node that shares the first `r`
//! digits with this node and has `d` as its next digit. Rows are allocated as they fill, so a
//! node in a 10,000-node overlay holds about four rows, not forty.

use std::time::Duration;

use super::id::{ID_DIGITS, NodeId};
use super::node_info::NodeInfo;

/// Columns per row: 2^b with b = 4.
pub const COLUMNS: usize = 16;

/// One routing-table entry and the RTT measured to it (for proximity neighbour selection).
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// The peer.
    pub node: NodeInfo,
    /// Its RTT when it was chosen, if measured.
    pub rtt: Option<Duration>,
}

/// Prefix-routing table.
#[derive(Clone, Debug)]
pub struct RoutingTable {
    me: NodeId,
    rows: Vec<[Option<Entry>; COLUMNS]>,
    len: usize,
}

/// Where a node belongs in the table.
fn slot(me: &NodeId, id: &NodeId) -> Option<(usize, usize)> {
    let row = me.shared_prefix_len(id);
    (row < ID_DIGITS).then(|| (row, usize::from(id.digit(row))))
}

impl RoutingTable {
    /// An empty table for `me`.
    #[must_use]
    pub fn new(me: NodeId) -> Self {
        Self {
            me,
            rows: Vec::new(),
            len: 0,
        }
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the table holds no entry.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Rows allocated so far.
    #[must_use]
    pub fn row_count(&self) -> usize {
        self.rows.len()
    }

    /// The entry at (row, column).
    #[must_use]
    pub fn get(&self, row: usize, col: usize) -> Option<&Entry> {
        self.rows
            .get(row)
            .and_then(|r| r.get(col))
            .and_then(Option::as_ref)
    }

    /// The entries of one row.
    pub fn row(&self, row: usize) -> impl Iterator<Item = &Entry> {
        self.rows.get(row).into_iter().flatten().flatten()
    }

    /// Every entry.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.rows.iter().flatten().flatten()
    }

    /// The entry for the next hop towards `key` by prefix: row = shared prefix, column = the key's
    /// next digit.
    #[must_use]
    pub fn lookup(&self, key: &NodeId) -> Option<&Entry> {
        let (r, c) = slot(&self.me, key)?;
        self.get(r, c)
    }

    /// True when `id` with measured `rtt` should enter the table: its slot is empty, or it is
    /// clearly nearer (proximity neighbour selection) than the current occupant.
    #[must_use]
    pub fn would_accept(&self, id: &NodeId, rtt: Option<Duration>) -> bool {
        let Some((r, c)) = slot(&self.me, id) else {
            return false;
        };
        match self.get(r, c) {
            None => true,
            Some(e) if e.node.id == *id => false,
            Some(e) => match (rtt, e.rtt) {
                (Some(new), Some(old)) => new * 10 < old * 9,
                (Some(_), None) => true,
                _ => false,
            },
        }
    }

    /// True when the slot of `id` is occupied by someone else whose RTT is unknown or larger,
    /// so measuring `id` could improve the table.
    #[must_use]
    pub fn slot_occupant(&self, id: &NodeId) -> Option<&Entry> {
        let (r, c) = slot(&self.me, id)?;
        self.get(r, c)
    }

    /// Inserts or replaces per [`would_accept`](Self::would_accept); returns the displaced entry
    /// when one was replaced, and whether anything changed.
    pub fn insert(&mut self, node: NodeInfo, rtt: Option<Duration>) -> (bool, Option<Entry>) {
        let Some((r, c)) = slot(&self.me, &node.id) else {
            return (false, None);
        };
        if let Some(e) = self.rows.get_mut(r).and_then(|row| row[c].as_mut())
            && e.node.id == node.id
        {
            e.node.addr = node.addr;
            if rtt.is_some() {
                e.rtt = rtt;
            }
            return (false, None);
        }
        if !self.would_accept(&node.id, rtt) {
            return (false, None);
        }
        while self.rows.len() <= r {
            self.rows.push([None; COLUMNS]);
        }
        let old = self.rows[r][c].replace(Entry { node, rtt });
        if old.is_none() {
            self.len += 1;
        }
        (true, old)
    }

    /// Updates the RTT recorded for `id` if it is in the table.
    pub fn set_rtt(&mut self, id: &NodeId, rtt: Duration) {
        if let Some((r, c)) = slot(&self.me, id)
            && let Some(e) = self.rows.get_mut(r).and_then(|row| row[c].as_mut())
            && e.node.id == *id
        {
            e.rtt = Some(rtt);
        }
    }

    /// Removes `id`; returns its (row, column) when it was present, so the slot can be repaired.
    pub fn remove(&mut self, id: &NodeId) -> Option<(usize, usize)> {
        let (r, c) = slot(&self.me, id)?;
        let cell = self.rows.get_mut(r)?.get_mut(c)?;
        if cell.as_ref().is_some_and(|e| e.node.id == *id) {
            *cell = None;
            self.len -= 1;
            while self
                .rows
                .last()
                .is_some_and(|row| row.iter().all(Option::is_none))
            {
                self.rows.pop();
            }
            return Some((r, c));
        }
        None
    }

    /// True when `id` is in the table.
    #[must_use]
    pub fn contains(&self, id: &NodeId) -> bool {
        self.slot_occupant(id).is_some_and(|e| e.node.id == *id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn node(hex: &str) -> NodeInfo {
        NodeInfo {
            id: hex.parse().unwrap(),
            addr: SocketAddr::from(([127, 0, 0, 1], 1)),
        }
    }

    const ME: &str = "a000000000000000000000000000000000000000";

    #[test]
    fn places_by_prefix_and_prefers_nearer() {
        let me: NodeId = ME.parse().unwrap();
        let mut t = RoutingTable::new(me);
        let far = node("b100000000000000000000000000000000000000");
        let near = node("b200000000000000000000000000000000000000");
        assert!(t.insert(far, Some(Duration::from_millis(50))).0);
        assert_eq!(t.len(), 1);
        // Same slot (row 0, column b), clearly nearer: replaces.
        let (changed, old) = t.insert(near, Some(Duration::from_millis(5)));
        assert!(changed);
        assert_eq!(old.map(|e| e.node.id), Some(far.id));
        // Not clearly nearer: kept out.
        assert!(!t.insert(far, Some(Duration::from_millis(5))).0);
        let key: NodeId = "bfff000000000000000000000000000000000000".parse().unwrap();
        assert_eq!(t.lookup(&key).map(|e| e.node.id), Some(near.id));
        let deeper = node("a100000000000000000000000000000000000000");
        assert!(t.insert(deeper, None).0);
        assert_eq!(t.row_count(), 2);
        assert_eq!(t.remove(&deeper.id), Some((1, 1)));
        assert_eq!(t.row_count(), 1);
        assert!(!t.insert(me_info(me), None).0);
    }

    fn me_info(id: NodeId) -> NodeInfo {
        NodeInfo {
            id,
            addr: SocketAddr::from(([127, 0, 0, 1], 1)),
        }
    }
}
