//! `get` / `get_details`: routed to the root in one payload, answered directly with one page.
//!
//! OpenDHT pages carry about one maximal value, so a page always fits one direct message; the
//! root halves `maxvals` in the rare case that many tiny values with their hashes do not.

use std::time::Instant;

use super::api::{DhtError, GetReq, Outcome};
use super::placement::node_id;
use super::wire::{Msg, WireValue};
use super::write::Request;
use super::{Dht, ReqId, Sent};
use crate::overlay::NodeInfo;
use crate::store::{DhtKey, Page, StoreError, ValueDetails};

/// Error code in a get reply: the root could not read (try again).
const GET_TRY_AGAIN: u8 = 2;
/// Error code in a get reply: the placemark is not one a root hands out.
const GET_BAD_PLACEMARK: u8 = 3;

impl Dht {
    /// Starts a `get` / `get_details` of one page. Completes with [`Outcome::Get`]; pass the
    /// page's placemark back for the next page until it is empty.
    pub fn get(&mut self, now: Instant, req: GetReq) -> ReqId {
        let id = self.fresh_id();
        self.route_get(id, &req);
        self.track(now, id, Request::Get { req, attempt: 1 });
        ReqId(id)
    }

    pub(super) fn route_get(&mut self, id: u64, req: &GetReq) {
        let msg = Msg::Get {
            req: id,
            key: req.key.0,
            maxvals: req.maxvals.max(1),
            placemark: req.placemark.clone(),
        };
        self.route_to(node_id(req.key), &msg);
    }

    /// Root side: reads one page and answers the origin directly.
    fn on_get(&mut self, now: Instant, origin: NodeInfo, msg: (u64, DhtKey, u16, &[u8])) {
        let (req, key, mut maxvals, placemark) = msg;
        let ms = self.unix_ms(now);
        for _ in 0..8 {
            let page = match self
                .store
                .get_details(ms, key, usize::from(maxvals), placemark)
            {
                Ok(p) => Ok(to_wire(p)),
                Err(StoreError::BadPlacemark(_)) => Err(GET_BAD_PLACEMARK),
                Err(_) => Err(GET_TRY_AGAIN),
            };
            let reply = Msg::GetReply { req, page };
            match super::wire::encode(&reply) {
                Ok(bytes) => {
                    self.send_encoded(origin, bytes, Sent::Other);
                    return;
                }
                // Even one value does not fit: a send error, as for any message too large.
                Err(_) if maxvals <= 1 => {
                    self.metrics.send_errors += 1;
                    return;
                }
                Err(_) => {}
            }
            maxvals /= 2;
        }
    }

    /// Origin side: a page arrived.
    fn on_get_reply(&mut self, req: u64, page: Result<(Vec<WireValue>, Vec<u8>), u8>) {
        if !matches!(self.writes.requests.get(&req), Some(Request::Get { .. })) {
            return;
        }
        self.writes.requests.remove(&req);
        let result = match page {
            Ok((values, placemark)) => Ok(Page {
                values: values.into_iter().map(from_wire).collect(),
                placemark,
            }),
            Err(GET_BAD_PLACEMARK) => Err(DhtError::BadPlacemark),
            Err(_) => Err(DhtError::Timeout),
        };
        self.finish(req, Outcome::Get(result));
    }

    /// Messages handled where values are stored (root or replica).
    pub(super) fn on_root_msg(&mut self, now: Instant, from: NodeInfo, msg: Msg) {
        match msg {
            Msg::Get {
                req,
                key,
                maxvals,
                placemark,
            } => self.on_get(now, from, (req, DhtKey(key), maxvals.max(1), &placemark)),
            Msg::Write { req, body } => self.on_write(now, from, req, body),
            Msg::Replicate { token, record } => {
                let op = crate::store::Op::Replica(record.into());
                self.on_replicate(now, from, token, op);
            }
            Msg::ReplicaAck { token, ok } => self.on_replica_ack(token, ok),
            _ => {}
        }
    }

    /// Answers arriving at the origin of a request.
    pub(super) fn on_origin_msg(&mut self, now: Instant, msg: Msg) {
        match msg {
            Msg::GetReply { req, page } => self.on_get_reply(req, page),
            Msg::WriteReply { req, answer } => self.on_write_reply(now, req, answer),
            _ => {}
        }
    }
}

pub(super) fn to_wire(page: Page<ValueDetails>) -> (Vec<WireValue>, Vec<u8>) {
    let values = page
        .values
        .into_iter()
        .map(|d| WireValue {
            value: d.value,
            ttl_remaining_secs: u32::try_from(d.ttl_remaining_secs).unwrap_or(u32::MAX),
            secret_hash: d.secret_hash,
        })
        .collect();
    (values, page.placemark)
}

fn from_wire(v: WireValue) -> ValueDetails {
    ValueDetails {
        value: v.value,
        ttl_remaining_secs: u64::from(v.ttl_remaining_secs),
        hash_alg: if v.secret_hash.is_some() { "SHA" } else { "" },
        secret_hash: v.secret_hash,
    }
}
