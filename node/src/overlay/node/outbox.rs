//! Outgoing messages wait here, unencoded, until the next [`Node::poll_transmit`]; then all of
//! them are packed per destination into as few datagrams as fit.
//!
//! Under load the runtime handles many datagrams per step and the answers go to the same few
//! peers; one datagram each would cost a `sendto` here and a wake-up and `recvfrom` there per
//! message. Nothing waits for a timer: whatever is queued when the caller drains
//! `poll_transmit` leaves at once, so acks still go out before the DHT's group commit.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::super::wire::{self, Body, MAX_ACKS};
use super::{Node, Transmit};

/// Messages queued since the last drain, in the order they were sent.
#[derive(Debug, Default)]
pub(super) struct Outbox {
    queued: Vec<(SocketAddr, Body)>,
}

impl Outbox {
    pub(super) fn push(&mut self, dst: SocketAddr, body: Body) {
        self.queued.push((dst, body));
    }

    pub(super) fn is_empty(&self) -> bool {
        self.queued.is_empty()
    }

    /// Takes every queued message, grouped by destination: destinations in order of their first
    /// message, each destination's messages in the order they were sent.
    fn take_grouped(&mut self) -> Vec<(SocketAddr, Vec<Body>)> {
        let mut groups: Vec<(SocketAddr, Vec<Body>)> = Vec::new();
        let mut index: HashMap<SocketAddr, usize> = HashMap::new();
        for (dst, body) in self.queued.drain(..) {
            let i = *index.entry(dst).or_insert_with(|| {
                groups.push((dst, Vec::new()));
                groups.len() - 1
            });
            if let Some((_, bodies)) = groups.get_mut(i) {
                bodies.push(body);
            }
        }
        groups
    }
}

/// Turns each run of consecutive acks into [`Body::Acks`] bodies (a lone ack stays a
/// [`Body::Ack`]); everything else keeps its place, so the order of messages is unchanged.
fn coalesce_acks(bodies: Vec<Body>) -> Vec<Body> {
    let mut out = Vec::with_capacity(bodies.len());
    let mut run = Vec::new();
    for body in bodies {
        if let Body::Ack { seq } = body {
            run.push(seq);
            continue;
        }
        flush_acks(&mut run, &mut out);
        out.push(body);
    }
    flush_acks(&mut run, &mut out);
    out
}

fn flush_acks(run: &mut Vec<u64>, out: &mut Vec<Body>) {
    for chunk in run.chunks(MAX_ACKS) {
        out.push(match chunk {
            [seq] => Body::Ack { seq: *seq },
            seqs => Body::Acks(seqs.to_vec()),
        });
    }
    run.clear();
}

impl Node {
    /// Packs every queued message into datagrams ready for `poll_transmit`.
    pub(super) fn pack_outbox(&mut self) {
        for (dst, bodies) in self.outbox.take_grouped() {
            let encoded = self.encode_bodies(coalesce_acks(bodies));
            for payload in wire::pack(&self.me.id, &encoded) {
                self.metrics.datagrams_out += 1;
                self.metrics.bytes_out += payload.len() as u64;
                if payload.first() == Some(&wire::BUNDLE_VERSION) {
                    self.metrics.bundles_out += 1;
                }
                self.transmits.push_back(Transmit { dst, payload });
            }
        }
    }

    /// Encodes bodies for [`wire::pack`]. Our own messages always fit (lists are capped where
    /// they are built); one that does not is a bug, logged and dropped rather than sent cut.
    fn encode_bodies(&mut self, bodies: Vec<Body>) -> Vec<Vec<u8>> {
        let mut encoded = Vec::with_capacity(bodies.len());
        for body in bodies {
            match wire::encode_body(&body) {
                Ok(bytes) => {
                    self.metrics.messages_out += body.message_count() as u64;
                    encoded.push(bytes);
                }
                Err(e) => tracing::error!(?e, "dropping an overlay message that does not fit"),
            }
        }
        encoded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_coalesce_only_within_runs() {
        let ping = Body::RowRequest { row: 1 };
        let bodies = vec![
            Body::Ack { seq: 1 },
            ping.clone(),
            Body::Ack { seq: 2 },
            Body::Ack { seq: 3 },
            ping.clone(),
        ];
        assert_eq!(
            coalesce_acks(bodies),
            [
                Body::Ack { seq: 1 },
                ping.clone(),
                Body::Acks(vec![2, 3]),
                ping
            ]
        );
    }

    #[test]
    fn long_runs_split_at_the_ack_limit() {
        let bodies = (0..(MAX_ACKS as u64 + 1))
            .map(|seq| Body::Ack { seq })
            .collect();
        let out = coalesce_acks(bodies);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].message_count(), MAX_ACKS);
        assert_eq!(
            out[1],
            Body::Ack {
                seq: MAX_ACKS as u64
            }
        );
    }

    #[test]
    fn grouping_keeps_per_destination_order() {
        let (a, b) = (
            SocketAddr::from(([10, 0, 0, 1], 1)),
            SocketAddr::from(([10, 0, 0, 2], 1)),
        );
        let mut outbox = Outbox::default();
        for (dst, row) in [(b, 0), (a, 1), (b, 2), (a, 3)] {
            outbox.push(dst, Body::RowRequest { row });
        }
        let rows = |v: &[Body]| -> Vec<u8> {
            v.iter()
                .map(|b| match b {
                    Body::RowRequest { row } => *row,
                    _ => u8::MAX,
                })
                .collect()
        };
        let groups = outbox.take_grouped();
        assert_eq!(groups.len(), 2);
        assert_eq!((groups[0].0, rows(&groups[0].1)), (b, vec![0, 2]));
        assert_eq!((groups[1].0, rows(&groups[1].1)), (a, vec![1, 3]));
        assert!(outbox.is_empty());
    }
}
