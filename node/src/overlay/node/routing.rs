//! Pastry routing: choosing the next hop, forwarding with per-hop acknowledgement, and answering
//! at the root.

use std::net::SocketAddr;
use std::time::Instant;

use super::super::id::NodeId;
use super::super::node_info::NodeInfo;
use super::super::wire::{
    Body, LeafSetKind, MAX_DIRECT_PAYLOAD, MAX_PATH, MAX_ROUTED_PAYLOAD, Purpose, Reliable,
    RouteMsg,
};
use super::{Event, LookupError, Node, Route, SendError};

/// A routed message that has made this many hops is looping and is dropped.
const MAX_HOPS: u8 = 64;
/// Lookups remembered at the root to answer each only once.
const SEEN_LOOKUPS: usize = 4096;

impl Node {
    /// The next hop towards `key`, or `None` when this node is the root as far as it knows.
    /// Suspect peers and those in `skip` are passed over.
    ///
    /// Pastry's rule: inside the leaf set's range, the numerically closest member; otherwise the
    /// routing-table entry that extends the shared prefix by one digit; failing that, any known
    /// node that shares as long a prefix and is numerically closer.
    pub(super) fn next_hop(&self, key: &NodeId, skip: &[NodeId]) -> Option<NodeInfo> {
        // A suspect is avoided when there is another way on, but not at the price of answering
        // here for a key whose root may well still be alive: that would be a wrong root.
        self.next_hop_avoiding(key, skip, true)
            .or_else(|| self.next_hop_avoiding(key, skip, false))
    }

    fn next_hop_avoiding(
        &self,
        key: &NodeId,
        skip: &[NodeId],
        avoid_suspects: bool,
    ) -> Option<NodeInfo> {
        let excluded = |id: &NodeId| skip.contains(id) || (avoid_suspects && self.is_suspect(id));
        if self.leaf_set.covers(key) {
            return self.leaf_set.closest(key, excluded);
        }
        if let Some(e) = self.table.lookup(key).filter(|e| !excluded(&e.node.id)) {
            return Some(e.node);
        }
        let prefix = self.me.id.shared_prefix_len(key);
        let candidates = self
            .leaf_set
            .members()
            .copied()
            .chain(self.table.entries().map(|e| e.node))
            .filter(|n| !excluded(&n.id) && n.id.shared_prefix_len(key) >= prefix);
        candidates
            .filter(|n| key.closer(&n.id, &self.me.id).is_lt())
            .min_by(|a, b| key.closer(&a.id, &b.id))
    }

    pub(super) fn start_lookup(&mut self, now: Instant, key: NodeId, lookup: u64) {
        let msg = RouteMsg {
            key,
            origin: self.me,
            lookup,
            hops: 0,
            path: vec![self.me.id],
            purpose: Purpose::Lookup,
        };
        self.forward(now, msg, Vec::new());
    }

    /// A routed message arrived from a previous hop (already acknowledged).
    pub(super) fn on_route(&mut self, now: Instant, mut msg: RouteMsg) {
        if msg.hops >= MAX_HOPS {
            self.metrics.dropped.malformed += 1;
            return;
        }
        msg.hops += 1;
        let records_path = !matches!(msg.purpose, Purpose::App(_));
        if records_path && msg.path.len() < MAX_PATH {
            msg.path.push(self.me.id);
        }
        if msg.purpose == Purpose::Join {
            self.send_rows_to_joiner(now, &msg);
        }
        self.forward(now, msg, Vec::new());
    }

    /// Sends `msg` on to its next hop, or handles it here when this node is the root.
    pub(super) fn forward(&mut self, now: Instant, msg: RouteMsg, mut tried: Vec<NodeId>) {
        if msg.purpose == Purpose::Join && !tried.contains(&msg.origin.id) {
            // A joining node is never its own root, even if we still know it from an earlier life.
            tried.push(msg.origin.id);
        }
        match self.next_hop(&msg.key, &tried) {
            Some(next) => {
                self.metrics.forwarded += 1;
                self.send_reliable(now, next, Reliable::Route(msg), tried);
            }
            None => self.deliver(now, msg),
        }
    }

    fn deliver(&mut self, now: Instant, msg: RouteMsg) {
        match msg.purpose {
            Purpose::Join => {
                self.send_leaf_set(now, msg.origin.addr, LeafSetKind::JoinReply);
            }
            Purpose::Lookup if msg.origin.id == self.me.id => {
                let route = Route {
                    key: msg.key,
                    root: self.me,
                    hops: u32::from(msg.hops),
                    path: msg.path,
                };
                if self.lookups.contains_key(&msg.lookup) {
                    self.finish_lookup(msg.lookup, Ok(route));
                }
            }
            Purpose::Lookup => {
                if !self.first_delivery(msg.origin.id, msg.lookup) {
                    return;
                }
                let reply = Reliable::LookupReply {
                    lookup: msg.lookup,
                    root: self.me,
                    hops: msg.hops,
                    path: msg.path,
                };
                self.send_reliable(now, msg.origin, reply, Vec::new());
            }
            Purpose::App(payload) => {
                if msg.origin.id != self.me.id && !self.first_delivery(msg.origin.id, msg.lookup) {
                    return;
                }
                self.events.push_back(Event::Deliver {
                    key: msg.key,
                    origin: msg.origin,
                    hops: u32::from(msg.hops),
                    payload,
                });
            }
        }
    }

    /// Routes an application payload to the root of `key`, where it comes out as
    /// [`Event::Deliver`]. Replies, if any, are the application's business ([`Node::send_direct`]).
    ///
    /// # Errors
    /// [`SendError::TooLarge`] over [`MAX_ROUTED_PAYLOAD`] bytes, [`SendError::NotJoined`] before
    /// the node is part of an overlay.
    pub fn route_payload(
        &mut self,
        now: Instant,
        key: NodeId,
        payload: Vec<u8>,
    ) -> Result<(), SendError> {
        if payload.len() > MAX_ROUTED_PAYLOAD {
            return Err(SendError::TooLarge {
                max: MAX_ROUTED_PAYLOAD,
            });
        }
        if !self.can_route() {
            return Err(SendError::NotJoined);
        }
        let lookup = self.next_lookup;
        self.next_lookup += 1;
        let msg = RouteMsg {
            key,
            origin: self.me,
            lookup,
            hops: 0,
            path: Vec::new(),
            purpose: Purpose::App(payload),
        };
        self.forward(now, msg, Vec::new());
        Ok(())
    }

    /// Sends an application payload straight to `to`, acknowledged and retransmitted by the
    /// overlay; it comes out there as [`Event::Direct`]. If `to` never acknowledges it, the
    /// overlay reports [`Event::DirectFailed`] with the returned number.
    ///
    /// # Errors
    /// [`SendError::TooLarge`] over [`MAX_DIRECT_PAYLOAD`] bytes.
    pub fn send_direct(
        &mut self,
        now: Instant,
        to: NodeInfo,
        payload: Vec<u8>,
    ) -> Result<u64, SendError> {
        let Some(payload) = self.outgoing_payload(to, payload)? else {
            return Ok(0);
        };
        Ok(self.send_reliable(now, to, Reliable::Direct(payload), Vec::new()))
    }

    /// Sends `payload` straight to `to` in one unacknowledged datagram body: it arrives as
    /// [`Event::Direct`], or is lost with nothing reported. For copies that something else
    /// repairs; it costs no ack, no retransmission timer and no congestion-window slot.
    ///
    /// # Errors
    /// [`SendError::TooLarge`] over [`MAX_DIRECT_PAYLOAD`] bytes.
    pub fn send_datagram(&mut self, to: NodeInfo, payload: Vec<u8>) -> Result<(), SendError> {
        if let Some(payload) = self.outgoing_payload(to, payload)? {
            self.send(to.addr, Body::Datagram(payload));
        }
        Ok(())
    }

    /// Checks a direct payload's size and delivers one addressed to this node at once
    /// (`None`); any other comes back to be sent.
    fn outgoing_payload(
        &mut self,
        to: NodeInfo,
        payload: Vec<u8>,
    ) -> Result<Option<Vec<u8>>, SendError> {
        if payload.len() > MAX_DIRECT_PAYLOAD {
            return Err(SendError::TooLarge {
                max: MAX_DIRECT_PAYLOAD,
            });
        }
        if to.id == self.me.id {
            self.events.push_back(Event::Direct {
                from: self.me,
                verified: true,
                payload,
            });
            return Ok(None);
        }
        Ok(Some(payload))
    }

    /// True the first time a lookup reaches this root (a rerouted copy may arrive twice).
    fn first_delivery(&mut self, origin: NodeId, lookup: u64) -> bool {
        if !self.seen_lookups.insert((origin, lookup)) {
            return false;
        }
        self.seen_order.push_back((origin, lookup));
        if self.seen_order.len() > SEEN_LOOKUPS
            && let Some(old) = self.seen_order.pop_front()
        {
            self.seen_lookups.remove(&old);
        }
        true
    }

    pub(super) fn on_lookup_reply(
        &mut self,
        from: SocketAddr,
        lookup: u64,
        root: NodeInfo,
        hops: u8,
        path: Vec<NodeId>,
    ) {
        let Some(pending) = self.lookups.get(&lookup) else {
            return;
        };
        if root.id != path.last().copied().unwrap_or(root.id) || root.addr != from {
            self.metrics.dropped.malformed += 1;
            return;
        }
        let route = Route {
            key: pending.key,
            root,
            hops: u32::from(hops),
            path,
        };
        self.finish_lookup(lookup, Ok(route));
    }

    /// Fails every lookup when the node leaves; used by `leave`.
    pub(super) fn fail_all_lookups(&mut self) {
        let pending: Vec<u64> = self.lookups.keys().copied().collect();
        for id in pending {
            self.finish_lookup(id, Err(LookupError::NotJoined));
        }
    }

    /// Sends the joining node every routing-table row it shares a prefix with us for.
    pub(super) fn send_rows_to_joiner(&mut self, now: Instant, msg: &RouteMsg) {
        let shared = self.me.id.shared_prefix_len(&msg.origin.id);
        let rows = self.table.row_count().min(shared + 1);
        for row in 0..rows {
            self.send_row(now, msg.origin.addr, row);
        }
        if rows == 0 {
            // Nothing in our table yet: still introduce ourselves with an empty row 0.
            self.send_row(now, msg.origin.addr, 0);
        }
    }
}
