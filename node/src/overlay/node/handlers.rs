//! Dispatch of received messages.

use std::net::SocketAddr;
use std::time::Instant;

use serde::Serialize;

use super::super::id::NodeId;
use super::super::node_info::NodeInfo;
use super::super::wire::{
    Body, LeafSetContent, LeafSetKind, Message, Purpose, Reliable, RouteMsg, RowContent, Signed,
    pong_proof_bytes,
};
use super::{Node, Phase};

impl Node {
    pub(super) fn handle_message(&mut self, now: Instant, from: SocketAddr, msg: Message) {
        let sender = msg.sender;
        if sender == self.me.id {
            self.metrics.dropped.replayed += 1;
            return;
        }
        match msg.body {
            Body::Ping { nonce, prove } => self.on_ping(now, from, sender, nonce, prove),
            Body::Pong {
                nonce,
                observed,
                proof,
            } => self.on_pong(now, from, sender, nonce, observed, proof),
            Body::Ack { seq } => self.on_ack(now, from, seq),
            Body::Acks(seqs) => {
                for seq in seqs {
                    self.on_ack(now, from, seq);
                }
            }
            Body::Reliable { seq, inner } => self.on_reliable(now, from, sender, seq, inner),
            Body::JoinRequest(req) => self.on_join_request(now, from, sender, &req),
            Body::RowRequest { row } => self.send_row(now, from, usize::from(row)),
            Body::Row(row) => self.on_row(now, from, sender, &row),
            Body::LeafSet(ls) => self.on_leaf_set(now, from, sender, &ls),
            Body::Datagram(payload) => self.on_datagram(now, from, sender, payload),
        }
    }

    /// An unacknowledged application payload: delivered like a direct message, but it creates
    /// no peer state (nothing is owed to its sender).
    fn on_datagram(&mut self, now: Instant, from: SocketAddr, sender: NodeId, payload: Vec<u8>) {
        let verified = match self.peers.get_mut(&sender) {
            Some(p) if p.addr == from => {
                p.last_heard = Some(now);
                p.verified
            }
            _ => false,
        };
        self.events.push_back(super::Event::Direct {
            from: NodeInfo {
                id: sender,
                addr: from,
            },
            verified,
            payload,
        });
    }

    fn on_ping(&mut self, now: Instant, from: SocketAddr, sender: NodeId, nonce: u64, prove: bool) {
        if let Some(p) = self.peers.get_mut(&sender)
            && p.addr == from
        {
            p.last_heard = Some(now);
        }
        let proof = prove.then(|| {
            self.metrics.signatures_made += 1;
            self.identity.prove(&pong_proof_bytes(&self.me.id, nonce))
        });
        self.send(
            from,
            Body::Pong {
                nonce,
                observed: from,
                proof,
            },
        );
    }

    fn on_reliable(
        &mut self,
        now: Instant,
        from: SocketAddr,
        sender: NodeId,
        seq: u64,
        inner: Reliable,
    ) {
        self.send(from, Body::Ack { seq });
        let info = NodeInfo {
            id: sender,
            addr: from,
        };
        let peer = self.peer_mut(info);
        if peer.addr == from {
            peer.last_heard = Some(now);
        }
        if !peer.first_time(seq) {
            self.metrics.dropped.replayed += 1;
            return;
        }
        match inner {
            Reliable::Route(msg) => self.on_route(now, msg),
            Reliable::LookupReply {
                lookup,
                root,
                hops,
                path,
            } => self.on_lookup_reply(from, lookup, root, hops, path),
            Reliable::Announce(signed) => self.on_announce(now, info, &signed),
            Reliable::Direct(payload) => {
                let verified = self
                    .peers
                    .get(&sender)
                    .is_some_and(|p| p.verified && p.addr == from);
                self.events.push_back(super::Event::Direct {
                    from: info,
                    verified,
                    payload,
                });
            }
        }
    }

    /// Verifies a signed message from `info` and its stamp; counts and rejects failures.
    fn accept_signed<T: Serialize>(
        &mut self,
        now: Instant,
        info: NodeInfo,
        signed: &Signed<T>,
    ) -> bool {
        // The cheap replay check first, so a flood of replays costs no signature checks.
        if self
            .peers
            .get(&info.id)
            .is_some_and(|p| !p.would_accept_stamp(signed.stamp))
        {
            self.metrics.dropped.replayed += 1;
            return false;
        }
        let message = signed.signed_bytes(&info.id);
        if !self.verify_from(info, &signed.proof, &message) {
            self.metrics.dropped.bad_signature += 1;
            return false;
        }
        self.fresh_stamp(info, signed.stamp);
        self.mark_verified(now, info);
        true
    }

    fn on_join_request(
        &mut self,
        now: Instant,
        from: SocketAddr,
        sender: NodeId,
        req: &Signed<u64>,
    ) {
        self.metrics.signatures_checked += 1;
        if !req.verify(&sender) {
            self.metrics.dropped.bad_signature += 1;
            return;
        }
        if !matches!(self.phase, Phase::Joined) {
            return;
        }
        let origin = NodeInfo {
            id: sender,
            addr: from,
        };
        let msg = RouteMsg {
            key: sender,
            origin,
            lookup: req.content,
            hops: 0,
            path: vec![self.me.id],
            purpose: Purpose::Join,
        };
        self.send_rows_to_joiner(now, &msg);
        self.forward(now, msg, Vec::new());
    }

    fn on_row(&mut self, now: Instant, from: SocketAddr, sender: NodeId, row: &Signed<RowContent>) {
        let info = NodeInfo {
            id: sender,
            addr: from,
        };
        if !self.accept_signed(now, info, row) {
            return;
        }
        self.insert_verified(now, info, false);
        // Rows asked for by table maintenance are measured for proximity; a joining node only
        // fills empty slots and leaves proximity to maintenance, which keeps joins cheap.
        let measure = !matches!(self.phase, Phase::Joining { .. });
        for entry in &row.content.entries {
            self.consider_candidate(now, *entry, measure);
        }
        self.check_join_progress(now);
    }

    fn on_leaf_set(
        &mut self,
        now: Instant,
        from: SocketAddr,
        sender: NodeId,
        ls: &Signed<LeafSetContent>,
    ) {
        let info = NodeInfo {
            id: sender,
            addr: from,
        };
        if !self.accept_signed(now, info, ls) {
            return;
        }
        match ls.content.kind {
            LeafSetKind::Leaving => {
                self.forget(now, sender);
            }
            LeafSetKind::JoinReply => {
                if let Phase::Joining {
                    leaf_set_received, ..
                } = &mut self.phase
                {
                    *leaf_set_received = true;
                }
                self.insert_verified(now, info, false);
            }
            LeafSetKind::Push => {
                self.insert_verified(now, info, false);
                if matches!(self.phase, Phase::Joined | Phase::Announcing) {
                    self.send_leaf_set(now, from, LeafSetKind::Reply);
                }
            }
            LeafSetKind::Reply => self.insert_verified(now, info, false),
        }
        for entry in &ls.content.entries {
            self.consider_candidate(now, *entry, false);
        }
        self.check_join_progress(now);
    }

    fn on_announce(&mut self, now: Instant, info: NodeInfo, ls: &Signed<LeafSetContent>) {
        if !self.accept_signed(now, info, ls) {
            return;
        }
        self.insert_verified(now, info, false);
        for entry in &ls.content.entries {
            self.consider_candidate(now, *entry, false);
        }
        if matches!(self.phase, Phase::Joined | Phase::Announcing) {
            self.send_leaf_set(now, info.addr, LeafSetKind::Reply);
        }
    }

    /// Drops a node that said it is leaving from every table, without waiting for timeouts.
    fn forget(&mut self, now: Instant, id: NodeId) {
        self.dead.insert(id, now + self.config.dead_memory);
        let in_leaves = self.leaf_set.remove(&id);
        self.table.remove(&id);
        self.fail_inflight_to(now, id);
        self.peers.remove(&id);
        if in_leaves {
            self.events.push_back(super::Event::LeafSetChanged);
        }
    }
}
