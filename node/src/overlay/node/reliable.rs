//! Reliable messages: per-hop acknowledgement, RTT-based retransmission timeouts and a per-peer
//! congestion window. A routed message whose hop times out is routed around at once; a message
//! with only one possible destination is retransmitted a few times before the peer is declared
//! failed.

use std::time::Instant;

use super::super::id::NodeId;
use super::super::node_info::NodeInfo;
use super::super::timer::Deadline;
use super::super::wire::{Body, Reliable};
use super::Node;

/// A reliable message not yet acknowledged.
#[derive(Clone, Debug)]
pub(super) struct Inflight {
    pub to: NodeInfo,
    pub msg: Reliable,
    pub sent: Option<Instant>,
    pub tries: u32,
    /// Next hops already tried for a routed message (routed around on timeout).
    pub tried: Vec<NodeId>,
}

impl Node {
    /// Sends `msg` to `to`, now if its congestion window allows, else once it does.
    pub(super) fn send_reliable(
        &mut self,
        now: Instant,
        to: NodeInfo,
        msg: Reliable,
        tried: Vec<NodeId>,
    ) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.inflight.insert(
            seq,
            Inflight {
                to,
                msg,
                sent: None,
                tries: 0,
                tried,
            },
        );
        let limit = self.config.max_queue_per_peer;
        let peer = self.peer_mut(to);
        if peer.window.can_send() && peer.queue.is_empty() {
            self.transmit_reliable(now, seq);
        } else if peer.queue.len() < limit {
            peer.queue.push_back(seq);
        } else {
            self.give_up(now, seq);
        }
        seq
    }

    fn transmit_reliable(&mut self, now: Instant, seq: u64) {
        let Some(inf) = self.inflight.get_mut(&seq) else {
            return;
        };
        inf.sent = Some(now);
        inf.tries += 1;
        let (to, inner) = (inf.to, inf.msg.clone());
        let rto = self.rto(&to.id);
        self.peer_mut(to).window.on_send();
        self.deadlines.push(now + rto, Deadline::Retransmit(seq));
        self.send(to.addr, Body::Reliable { seq, inner });
    }

    /// Sends queued messages to `id` while its window has room.
    fn drain_queue(&mut self, now: Instant, id: &NodeId) {
        loop {
            let Some(peer) = self.peers.get_mut(id) else {
                return;
            };
            if !peer.window.can_send() {
                return;
            }
            let Some(seq) = peer.queue.pop_front() else {
                return;
            };
            self.transmit_reliable(now, seq);
        }
    }

    pub(super) fn on_ack(&mut self, now: Instant, from: std::net::SocketAddr, seq: u64) {
        let Some(inf) = self.inflight.get(&seq) else {
            self.metrics.dropped.replayed += 1;
            return;
        };
        if inf.to.addr != from || inf.sent.is_none() {
            self.metrics.dropped.replayed += 1;
            return;
        }
        let Some(inf) = self.inflight.remove(&seq) else {
            return;
        };
        let id = inf.to.id;
        if let Some(peer) = self.peers.get_mut(&id) {
            if inf.tries == 1
                && let Some(sent) = inf.sent
            {
                let rtt = now.saturating_duration_since(sent);
                peer.rtt.sample(rtt);
                self.all_peers_rtt.sample(rtt);
            }
            peer.window.on_ack();
            peer.last_heard = Some(now);
            peer.suspect = false;
        }
        if let Reliable::Announce(_) = inf.msg {
            self.announcing_to.remove(&id);
            self.check_join_progress(now);
        }
        self.drain_queue(now, &id);
    }

    pub(super) fn on_retransmit_timeout(&mut self, now: Instant, seq: u64) {
        let Some(inf) = self.inflight.get(&seq) else {
            return;
        };
        let (to, tries, is_route) = (inf.to, inf.tries, matches!(inf.msg, Reliable::Route(_)));
        let sent = inf.sent;
        if let Some(peer) = self.peers.get_mut(&to.id) {
            peer.window.on_loss(sent, now);
            peer.rtt.back_off();
        }
        if is_route {
            self.suspect(now, to);
            if tries <= self.config.max_retries && self.would_deliver_here_without(seq) {
                // The silent hop is the root as far as we know: keep trying it until the
                // liveness check settles whether it is gone, rather than answer in its place.
                self.metrics.retransmits += 1;
                self.transmit_reliable(now, seq);
            } else {
                self.metrics.reroutes += 1;
                self.reroute(now, seq);
            }
        } else if tries <= self.config.max_retries {
            self.metrics.retransmits += 1;
            self.transmit_reliable(now, seq);
        } else {
            self.drop_inflight(seq);
            self.declare_failed(now, to.id);
        }
        self.drain_queue(now, &to.id);
    }

    /// True when routing `seq` again without its current hop would end at this node.
    fn would_deliver_here_without(&self, seq: u64) -> bool {
        let Some(inf) = self.inflight.get(&seq) else {
            return false;
        };
        let Reliable::Route(msg) = &inf.msg else {
            return false;
        };
        let mut skip = inf.tried.clone();
        skip.push(inf.to.id);
        self.next_hop(&msg.key, &skip).is_none()
    }

    /// Takes a routed message off a hop that failed and routes it again, excluding that hop.
    fn reroute(&mut self, now: Instant, seq: u64) {
        let Some(inf) = self.inflight.remove(&seq) else {
            return;
        };
        if let Reliable::Route(msg) = inf.msg {
            let mut tried = inf.tried;
            tried.push(inf.to.id);
            self.forward(now, msg, tried);
        }
    }

    /// Gives up on a message that cannot be queued (the peer's queue is full).
    fn give_up(&mut self, now: Instant, seq: u64) {
        let Some(inf) = self.inflight.get(&seq) else {
            return;
        };
        if matches!(inf.msg, Reliable::Route(_)) {
            self.metrics.reroutes += 1;
            self.reroute(now, seq);
        } else {
            self.drop_inflight(seq);
        }
    }

    /// Forgets a message that will not be delivered; tells the application about its own.
    fn drop_inflight(&mut self, seq: u64) {
        if let Some(inf) = self.inflight.remove(&seq)
            && let Reliable::Direct(_) = inf.msg
        {
            self.events.push_back(super::Event::DirectFailed {
                id: seq,
                to: inf.to,
            });
        }
    }

    /// Reroutes or drops everything in flight or queued towards a failed peer.
    pub(super) fn fail_inflight_to(&mut self, now: Instant, id: NodeId) {
        let mut seqs: Vec<u64> = self
            .inflight
            .iter()
            .filter(|(_, inf)| inf.to.id == id)
            .map(|(seq, _)| *seq)
            .collect();
        seqs.sort_unstable();
        for seq in seqs {
            let is_route = self
                .inflight
                .get(&seq)
                .is_some_and(|inf| matches!(inf.msg, Reliable::Route(_)));
            if is_route {
                self.reroute(now, seq);
            } else {
                self.drop_inflight(seq);
            }
        }
    }
}
