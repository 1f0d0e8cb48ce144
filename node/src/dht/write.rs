//! Writes (put, put_removable, rm) on both ends, replication to the replica set, and the group
//! commit that every store write goes through.
//!
//! ```text
//! origin ──Lookup(key)──▶ overlay ──root──▶ origin ──Write──▶ root   (no lookup when the
//!                                                                  origin's leaf set covers key)
//! root: stage → group commit → Replicate ──▶ r − 1 replicas: stage → commit → ReplicaAck ──▶ root
//! root ──WriteReply(status)──▶ origin   (after the first ReplicaAck; at once with no neighbours)
//! ```
//!
//! Soft writes ([`StorageClass::Soft`]: SIP bindings, service adverts) are answered as soon
//! as the root has applied them and sent their copies, and replicas do not acknowledge them:
//! such state is refreshed by its owner and restored by repair, so waiting for a replica
//! would cost every REGISTER a second round trip for a guarantee soft state does not need.
//! A root that fails in the instant between answering and its copies arriving loses that
//! write until the owner refreshes it; Kamailio's in-memory location table, the reference we
//! measure against, replicates (if at all) the same way.
//!
//! A root that knows a closer node answers `Redirect`; an origin whose attempt times out or
//! whose root is unreachable looks the root up again (the overlay has routed round a dead node
//! by then). Writes are idempotent (same item again only extends its TTL), so retries are safe.
//!
//! An update ([`Dht::update`]) carries several writes under one key in one message; the root
//! first compares the key's live value set with the update's guard and answers `Stale` if
//! it changed, else stages every write and answers once each has reached a replica.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use super::api::{DhtError, Outcome, PutReq, RmReq, Status, UpdateOp, UpdateReq, Updated};
use super::placement::node_id;
use super::wire::{MAX_PAGE_VALUES, Msg, WireChange, WriteAnswer, WriteBody};
use super::{Deadline, Dht, ReqId, Sent};
use crate::overlay::NodeInfo;
use crate::store::{
    ApplyOutcome, DhtKey, ItemId, Op, OpOutcome, PutRequest, RemoveOutcome, RemoveRequest,
    StorageClass, Store, StoreError, ZERO_HASH, sha1,
};

/// A client request in flight at its origin.
#[derive(Debug)]
pub(super) enum Request {
    /// A put or rm: looking up the root, or waiting for its answer.
    Write { body: WriteBody, attempt: u32 },
    /// A get routed to the root.
    Get { req: super::GetReq, attempt: u32 },
}

/// A write the root has committed and copied, waiting for replica acknowledgements.
#[derive(Debug)]
pub(super) struct Replication {
    /// Whom to answer; taken by the first acknowledgement.
    answer: Option<Answer>,
    /// Replicas not yet heard from.
    pending: usize,
}

/// Whom a root answers when a write is stored (or fails).
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// The origin of a single write, under its request number.
    Origin(NodeInfo, u64),
    /// One write of an update: the update's [`Group`].
    Group(u64),
}

/// An update at its root: answered when every write has reached a replica, or at the first
/// failure.
#[derive(Debug)]
pub(super) struct Group {
    origin: NodeInfo,
    req: u64,
    /// Writes not yet stored on a replica.
    left: usize,
}

/// What to do once a staged store operation is committed.
#[derive(Debug)]
enum After {
    /// A client write at its root (alone, or one of an update's): replicate, then answer.
    Client { answer: Answer, id: ItemId },
    /// A copy from the root: acknowledge it.
    Replica { root: NodeInfo, token: u64 },
    /// A record moved by repair.
    Repair,
}

/// Origin and root state of writes, and the staged group commit.
#[derive(Debug, Default)]
pub(super) struct Writes {
    pub(super) requests: HashMap<u64, Request>,
    replications: HashMap<u64, Replication>,
    groups: HashMap<u64, Group>,
    staged: Vec<(Op, After)>,
    /// Unix ms of the latest staged operation (the commit's `now`).
    staged_ms: u64,
    /// When the oldest staged operation was staged.
    staged_since: Option<Instant>,
    /// When the last commit ran.
    last_commit: Option<Instant>,
    /// The latest `now` seen by staging or a timeout: the clock of the commit decision.
    clock: Option<Instant>,
    /// Whether durable writes wait for [`Dht::commit_durable`] (see there).
    pub(super) defer_durable: bool,
}

impl Writes {
    /// Notes the time of an input, for the commit decision.
    pub(super) fn tick(&mut self, now: Instant) {
        self.clock = Some(self.clock.map_or(now, |c| c.max(now)));
    }

    /// When the staged writes are due for commit under an adaptive group commit of `delay`
    /// (`None`: nothing staged, or no delay).
    pub(super) fn commit_due(&self, delay: std::time::Duration) -> Option<Instant> {
        if delay.is_zero() {
            return None;
        }
        let since = self.staged_since?;
        Some(
            self.last_commit
                .map_or(since, |last| since.max(last + delay)),
        )
    }
}

impl Dht {
    // ---- client API ----------------------------------------------------------------------

    /// Starts a `put` or `put_removable` on behalf of `client` (the fair-share identity).
    /// Completes with [`Outcome::Write`].
    pub fn put(&mut self, now: Instant, req: PutReq, client: IpAddr) -> ReqId {
        let body = WriteBody::Put {
            key: req.key.0,
            value: req.value,
            secret_hash: req.secret_hash,
            ttl_secs: req.ttl_secs,
            client,
            class: req.class,
        };
        self.start_write(now, body)
    }

    /// Starts an `rm` on behalf of `client`. Completes with [`Outcome::Write`]; as in OpenDHT a
    /// wrong secret still gives status 0 and removes nothing.
    pub fn rm(&mut self, now: Instant, req: RmReq, client: IpAddr) -> ReqId {
        let body = WriteBody::Rm {
            key: req.key.0,
            value_hash: req.value_hash,
            secret: req.secret,
            ttl_secs: req.ttl_secs,
            client,
            class: req.class,
        };
        self.start_write(now, body)
    }

    /// Starts a guarded update on behalf of `client`. Completes with [`Outcome::Update`].
    pub fn update(&mut self, now: Instant, req: UpdateReq, client: IpAddr) -> ReqId {
        let body = WriteBody::Update {
            key: req.key.0,
            guard: req.guard,
            ops: req.ops,
            client,
            class: req.class,
        };
        self.start_write(now, body)
    }

    fn start_write(&mut self, now: Instant, body: WriteBody) -> ReqId {
        let id = self.fresh_id();
        if let Err(why) = check_write(&body, self.store.limits().max_value_len) {
            self.finish(id, write_outcome(&body, Err(DhtError::Invalid(why))));
            return ReqId(id);
        }
        // Inside the leaf set's range the root is known: write to it at once and save the
        // lookup's round trip. A root that knows better redirects; one that does not answer
        // sends the next attempt through a lookup, which routes round dead nodes.
        match self.place.known_root(body.key()) {
            Some(root) if root.id != self.place.me().id => {
                let msg = Msg::Write {
                    req: id,
                    body: body.clone(),
                };
                self.send_direct(root, &msg, Sent::Write(id));
            }
            _ => self.lookup(node_id(body.key()), id),
        }
        self.track(now, id, Request::Write { body, attempt: 1 });
        ReqId(id)
    }

    /// Keeps a request sent for its first attempt, with the deadline that retries it.
    pub(super) fn track(&mut self, now: Instant, id: u64, request: Request) {
        self.writes.requests.insert(id, request);
        self.at(
            now + self.config.request_timeout,
            Deadline::Request {
                req: id,
                attempt: 1,
            },
        );
    }

    // ---- origin side ---------------------------------------------------------------------

    /// A lookup for a write finished: send the write to the root, or try again.
    pub(super) fn on_lookup_done(&mut self, now: Instant, req: u64, root: Option<NodeInfo>) {
        let Some(Request::Write { body, .. }) = self.writes.requests.get(&req) else {
            return;
        };
        match root {
            Some(root) => {
                let msg = Msg::Write {
                    req,
                    body: body.clone(),
                };
                self.send_direct(root, &msg, Sent::Write(req));
            }
            None => self.next_attempt(now, req, None),
        }
    }

    /// The root of a write never acknowledged it: look the root up again.
    pub(super) fn on_write_unreachable(&mut self, now: Instant, req: u64) {
        self.next_attempt(now, req, None);
    }

    pub(super) fn on_request_timeout(&mut self, now: Instant, req: u64, attempt: u32) {
        let current = match self.writes.requests.get(&req) {
            Some(Request::Write { attempt, .. } | Request::Get { attempt, .. }) => *attempt,
            None => return,
        };
        if current == attempt {
            self.next_attempt(now, req, None);
        }
    }

    /// Starts the next attempt of `req` (to `to` if given, else through a fresh lookup or
    /// route), or ends it when every attempt is used.
    fn next_attempt(&mut self, now: Instant, req: u64, to: Option<NodeInfo>) {
        let max = self.config.attempts;
        let Some(r) = self.writes.requests.get_mut(&req) else {
            return;
        };
        let (Request::Write { attempt, .. } | Request::Get { attempt, .. }) = r;
        *attempt += 1;
        let attempt = *attempt;
        if attempt > max {
            self.give_up(req);
            return;
        }
        match self.writes.requests.get(&req) {
            Some(Request::Write { body, .. }) => {
                let (key, body) = (node_id(body.key()), body.clone());
                match to {
                    Some(to) => self.send_direct(to, &Msg::Write { req, body }, Sent::Write(req)),
                    None => self.lookup(key, req),
                }
            }
            Some(Request::Get { req: get, .. }) => {
                let get = get.clone();
                self.route_get(req, &get);
            }
            None => return,
        }
        let deadline = Deadline::Request { req, attempt };
        self.at(now + self.config.request_timeout, deadline);
    }

    /// Ends `req` after its last attempt: a write is "try again", a get a timeout.
    fn give_up(&mut self, req: u64) {
        match self.writes.requests.remove(&req) {
            Some(Request::Write { body, .. }) => {
                self.finish(req, write_outcome(&body, Ok(Status::TryAgain)));
            }
            Some(Request::Get { .. }) => self.finish(req, Outcome::Get(Err(DhtError::Timeout))),
            None => {}
        }
    }

    /// A root's answer to a write.
    pub(super) fn on_write_reply(&mut self, now: Instant, req: u64, answer: WriteAnswer) {
        if !matches!(self.writes.requests.get(&req), Some(Request::Write { .. })) {
            return;
        }
        let result = match answer {
            WriteAnswer::Redirect(to) => return self.next_attempt(now, req, Some(to)),
            WriteAnswer::Status(code) => Ok(Status::from_code(code)),
            WriteAnswer::Stale => Err(None),
            WriteAnswer::StaleValues(values) => {
                Err(Some(values.into_iter().map(|v| v.value).collect()))
            }
        };
        let Some(Request::Write { body, .. }) = self.writes.requests.remove(&req) else {
            return;
        };
        let outcome = match (result, &body) {
            (Err(values), WriteBody::Update { .. }) => Outcome::Update(Ok(Updated::Stale(values))),
            // Only an update can be stale; a root saying so of a plain write is confused.
            (Err(_), _) => Outcome::Write(Ok(Status::TryAgain)),
            (Ok(status), _) => write_outcome(&body, Ok(status)),
        };
        self.finish(req, outcome);
    }

    // ---- root and replica side -----------------------------------------------------------

    /// A write from an origin: redirect if a closer node is known, else stage it.
    pub(super) fn on_write(&mut self, now: Instant, origin: NodeInfo, req: u64, body: WriteBody) {
        if let Some(closer) = self.place.closer_root(body.key()) {
            let answer = WriteAnswer::Redirect(closer);
            self.send_direct(origin, &Msg::WriteReply { req, answer }, Sent::Other);
            return;
        }
        let single = !matches!(body, WriteBody::Update { .. });
        let (key, guard, ops, client, class) = into_parts(body);
        if let Some(guard) = guard
            && let Err(status) = self.check_guard(now, DhtKey(key), guard)
        {
            match status {
                Some(s) => {
                    let answer = WriteAnswer::Status(s.code());
                    self.send_direct(origin, &Msg::WriteReply { req, answer }, Sent::Other);
                }
                None => self.answer_stale(now, origin, req, DhtKey(key)),
            }
            return;
        }
        if single {
            for op in ops {
                let (op, id) = store_op(key, op, client, class);
                let answer = Answer::Origin(origin, req);
                self.stage(now, op, After::Client { answer, id });
            }
            return;
        }
        if ops.is_empty() {
            return self.reply_status(origin, req, Status::Ok);
        }
        let group = self.fresh_id();
        let left = ops.len();
        self.writes
            .groups
            .insert(group, Group { origin, req, left });
        for op in ops {
            let (op, id) = store_op(key, op, client, class);
            let answer = Answer::Group(group);
            self.stage(now, op, After::Client { answer, id });
        }
    }

    /// Whether `key`'s live values still have the digest `guard`: `Err(None)` when they do
    /// not, `Err(Some(status))` when the store cannot tell. Writes to the key still staged are
    /// committed first, so the comparison sees every write that arrived before this one.
    fn check_guard(
        &mut self,
        now: Instant,
        key: DhtKey,
        guard: crate::store::Hash,
    ) -> Result<(), Option<Status>> {
        if self.writes.staged.iter().any(|(op, _)| op.key() == key) {
            self.commit_all();
        }
        let ms = self.unix_ms(now).max(self.writes.staged_ms);
        match self.store.value_set(ms, key) {
            Ok(digest) if digest == guard => Ok(()),
            Ok(_) => Err(None),
            Err(_) => Err(Some(Status::TryAgain)),
        }
    }

    /// Answers a stale update with the key's live values when they all fit one answer, so the
    /// writer can plan again at once instead of reading them in another round trip (a
    /// registrar whose cached view of an AOR was evicted pays one extra round trip, not two);
    /// with more than fit, plain [`WriteAnswer::Stale`] and the writer reads.
    fn answer_stale(&mut self, now: Instant, origin: NodeInfo, req: u64, key: DhtKey) {
        let ms = self.unix_ms(now).max(self.writes.staged_ms);
        let values = match self.store.get_details(ms, key, MAX_PAGE_VALUES, &[]) {
            Ok(page) if page.placemark.is_empty() => Some(super::get::to_wire(page).0),
            _ => None,
        };
        if let Some(values) = values {
            let answer = WriteAnswer::StaleValues(values);
            if let Ok(bytes) = super::wire::encode(&Msg::WriteReply { req, answer }) {
                return self.send_encoded(origin, bytes, Sent::Other);
            }
        }
        let answer = WriteAnswer::Stale;
        self.send_direct(origin, &Msg::WriteReply { req, answer }, Sent::Other);
    }

    /// A copy from a root: stage it; it is acknowledged after the commit.
    pub(super) fn on_replicate(&mut self, now: Instant, root: NodeInfo, token: u64, rec: Op) {
        self.stage(now, rec, After::Replica { root, token });
    }

    /// A record received through repair: stage it.
    pub(super) fn stage_repair(&mut self, now: Instant, rec: Op) {
        self.stage(now, rec, After::Repair);
    }

    /// A replica committed (or refused) a copy.
    pub(super) fn on_replica_ack(&mut self, token: u64, ok: bool) {
        let Some(rep) = self.writes.replications.get_mut(&token) else {
            return;
        };
        rep.pending = rep.pending.saturating_sub(1);
        if ok && let Some(answer) = rep.answer.take() {
            self.answer(answer, Status::Ok);
        }
        self.settle_replication(token);
    }

    /// A copy never reached its replica.
    pub(super) fn on_replica_failed(&mut self, token: u64) {
        if let Some(rep) = self.writes.replications.get_mut(&token) {
            rep.pending = rep.pending.saturating_sub(1);
        }
        self.settle_replication(token);
    }

    /// Forgets a replication every replica answered; "try again" if none stored it.
    fn settle_replication(&mut self, token: u64) {
        if self
            .writes
            .replications
            .get(&token)
            .is_some_and(|r| r.pending == 0)
            && let Some(rep) = self.writes.replications.remove(&token)
            && let Some(answer) = rep.answer
        {
            self.answer(answer, Status::TryAgain);
        }
    }

    /// Reports how one write ended: to its origin, or into its update's group, which answers
    /// its origin once every write is stored, or at the first failure.
    fn answer(&mut self, answer: Answer, status: Status) {
        match answer {
            Answer::Origin(origin, req) => self.reply_status(origin, req, status),
            Answer::Group(group) => {
                let Some(g) = self.writes.groups.get_mut(&group) else {
                    return;
                };
                g.left = g.left.saturating_sub(1);
                if status == Status::Ok && g.left > 0 {
                    return;
                }
                if let Some(g) = self.writes.groups.remove(&group) {
                    self.reply_status(g.origin, g.req, status);
                }
            }
        }
    }

    fn reply_status(&mut self, origin: NodeInfo, req: u64, status: Status) {
        let answer = WriteAnswer::Status(status.code());
        self.send_direct(origin, &Msg::WriteReply { req, answer }, Sent::Other);
    }

    fn stage(&mut self, now: Instant, op: Op, then: After) {
        self.writes.staged_ms = self.writes.staged_ms.max(self.unix_ms(now));
        self.writes.tick(now);
        // Only durable writes wait for company: there is no fsync for soft ones to share.
        if op.class() == StorageClass::Durable {
            self.writes.staged_since.get_or_insert(now);
        }
        self.writes.staged.push((op, then));
    }

    /// Commits every staged operation in one transaction (group commit), then sends what
    /// depended on it. A database failure answers "try again" / not stored to everyone.
    /// With [`DhtConfig::commit_delay`](super::DhtConfig::commit_delay) set, waits until the
    /// commit is due (see [`Writes::commit_due`]) or enough writes are staged; soft writes
    /// are committed at once all the same.
    pub(super) fn flush(&mut self) {
        self.flush_staged(!self.writes.defer_durable);
    }

    /// Whether durable writes are staged, waiting for [`Dht::commit_durable`].
    #[must_use]
    pub fn durable_staged(&self) -> bool {
        self.writes
            .staged
            .iter()
            .any(|(op, _)| op.class() == StorageClass::Durable)
    }

    /// Commits the staged durable writes (when the group commit is due). With
    /// [`Dht::set_defer_durable`] on, polling commits only soft writes, and the runtime calls
    /// this once the datagrams of the current step are sent: a durable commit waits for an
    /// fsync, and hop acknowledgements or replies held behind it would make peers retransmit.
    pub fn commit_durable(&mut self) {
        self.flush_staged(true);
    }

    /// Lets durable writes wait for [`Dht::commit_durable`] instead of committing whenever
    /// the DHT is polled (off by default: the sans-IO harnesses poll and expect commits).
    pub fn set_defer_durable(&mut self, on: bool) {
        self.writes.defer_durable = on;
    }

    /// Commits soft writes, and durable ones too when `durable` (and the group commit is due).
    fn flush_staged(&mut self, durable: bool) {
        if self.writes.staged.is_empty() {
            return;
        }
        let hold = !durable
            || matches!((
                self.writes.commit_due(self.config.commit_delay),
                self.writes.clock,
            ), (Some(due), Some(clock)) if clock < due
                && self.writes.staged.len() < self.config.commit_batch);
        let staged = if hold {
            let (soft, durable) = std::mem::take(&mut self.writes.staged)
                .into_iter()
                .partition(|(op, _)| op.class() == StorageClass::Soft);
            self.writes.staged = durable;
            soft
        } else {
            self.writes.last_commit = self.writes.clock;
            self.writes.staged_since = None;
            std::mem::take(&mut self.writes.staged)
        };
        self.commit(staged);
    }

    /// Commits every staged operation now, whatever the group-commit delay.
    fn commit_all(&mut self) {
        self.writes.last_commit = self.writes.clock;
        self.writes.staged_since = None;
        let staged = std::mem::take(&mut self.writes.staged);
        self.commit(staged);
    }

    /// Applies `staged` in one batch and sends what depended on it.
    fn commit(&mut self, staged: Vec<(Op, After)>) {
        if staged.is_empty() {
            return;
        }
        let ms = self.writes.staged_ms;
        let (ops, afters): (Vec<Op>, Vec<After>) = staged.into_iter().unzip();
        let results = match self.store.apply_batch(ms, &ops) {
            Ok(r) => r,
            Err(_) => ops
                .iter()
                .map(|_| Err(StoreError::Corrupt("batch")))
                .collect(),
        };
        self.metrics.commits += 1;
        self.metrics.committed_ops += ops.len() as u64;
        for ((op, after), result) in ops.into_iter().zip(afters).zip(results) {
            self.after_commit(ms, op, after, result);
        }
    }

    fn after_commit(
        &mut self,
        ms: u64,
        op: Op,
        after: After,
        result: Result<OpOutcome, StoreError>,
    ) {
        let change = result.as_ref().ok().and_then(|o| change_of(&op, *o));
        if let Some((id, change)) = change {
            self.notify_subscribers(id, change);
        }
        match after {
            After::Client { answer, id } => match result {
                Ok(_) => self.replicate(ms, answer, id),
                Err(e) => {
                    let status = match e.opendht_status() {
                        Some(1) => Status::OverCapacity,
                        _ => Status::TryAgain,
                    };
                    self.answer(answer, status);
                }
            },
            // The root of a soft copy waits for no acknowledgement.
            After::Replica { root, token } if op.class() == StorageClass::Durable => {
                let ok = result.is_ok();
                self.send_direct(root, &Msg::ReplicaAck { token, ok }, Sent::Other);
            }
            After::Replica { .. } => {}
            After::Repair => {
                if result.is_ok() {
                    self.metrics.repaired_in += 1;
                }
            }
        }
    }

    /// Copies the committed record `id` to the replica set and answers once one replica has it
    /// (at once when this node has no neighbours).
    fn replicate(&mut self, ms: u64, answer: Answer, id: ItemId) {
        let targets = self.place.replica_targets(id.key);
        let record = load(&self.store, ms, id);
        let (Some(record), false) = (record, targets.is_empty()) else {
            self.answer(answer, Status::Ok);
            return;
        };
        if record.class == StorageClass::Soft {
            // Soft state is answered once the root holds it and its copies are on their way,
            // with no acknowledgements: its owner refreshes it, and repair restores a copy
            // that did not arrive. This is what keeps a REGISTER at one round trip to the
            // root (see the module doc). Nor does the overlay acknowledge the copies: an ack
            // and a retransmission timer per copy were a third of a REGISTER's overlay
            // messages, for a loss repair covers anyway.
            let msg = Msg::Replicate {
                token: 0,
                record: record.into(),
            };
            if let Ok(bytes) = super::wire::encode(&msg) {
                for t in targets {
                    self.send_encoded_datagram(t, bytes.clone());
                }
            } else {
                self.metrics.send_errors += 1;
            }
            self.answer(answer, Status::Ok);
            return;
        }
        let token = self.fresh_id();
        self.writes.replications.insert(
            token,
            Replication {
                answer: Some(answer),
                pending: targets.len(),
            },
        );
        let msg = Msg::Replicate {
            token,
            record: record.into(),
        };
        for t in targets {
            self.send_direct(t, &msg, Sent::Replica(token));
        }
    }
}

/// The committed record with this identity, if live.
fn load(store: &Store, ms: u64, id: ItemId) -> Option<crate::store::Record> {
    store.records(ms, &[id]).ok()?.into_iter().next()
}

/// The outcome a write request ends with: an update reports through [`Outcome::Update`].
fn write_outcome(body: &WriteBody, result: Result<Status, DhtError>) -> Outcome {
    match body {
        WriteBody::Update { .. } => Outcome::Update(result.map(Updated::Done)),
        _ => Outcome::Write(result),
    }
}

/// Refuses what the gateway should already have refused, and updates too large for one
/// message (the writer then sends the writes one by one).
fn check_write(body: &WriteBody, max_value: usize) -> Result<(), &'static str> {
    match body {
        WriteBody::Put {
            value, ttl_secs, ..
        } => check_put(value, *ttl_secs, max_value),
        WriteBody::Rm {
            secret, ttl_secs, ..
        } => check_rm(secret, *ttl_secs),
        WriteBody::Update { ops, .. } => {
            if ops.len() > super::wire::MAX_UPDATE_OPS {
                return Err("too many writes in one update");
            }
            for op in ops {
                match op {
                    UpdateOp::Put {
                        value, ttl_secs, ..
                    } => check_put(value, *ttl_secs, max_value)?,
                    UpdateOp::Rm {
                        secret, ttl_secs, ..
                    } => check_rm(secret, *ttl_secs)?,
                }
            }
            // A bound on the encoded size, not the size itself: the message is encoded once,
            // when sent. Each write costs its bytes plus at most a secret hash or a value hash,
            // a TTL and the length prefixes; the rest is the key, guard, client and framing.
            let bound = 96
                + ops
                    .iter()
                    .map(|op| match op {
                        UpdateOp::Put { value, .. } => value.len() + 32,
                        UpdateOp::Rm { secret, .. } => secret.len() + 32,
                    })
                    .sum::<usize>();
            if bound > crate::overlay::wire::MAX_DIRECT_PAYLOAD {
                return Err("update larger than one message");
            }
            Ok(())
        }
    }
}

/// The limits of one put: value length and a positive TTL.
fn check_put(value: &[u8], ttl_secs: u32, max_value: usize) -> Result<(), &'static str> {
    if value.len() > max_value {
        return Err("value too long");
    }
    check_ttl(ttl_secs)
}

/// The limits of one rm: OpenDHT's 40-byte secret and a positive TTL.
fn check_rm(secret: &[u8], ttl_secs: u32) -> Result<(), &'static str> {
    if secret.len() > 40 {
        return Err("secret too long");
    }
    check_ttl(ttl_secs)
}

fn check_ttl(ttl_secs: u32) -> Result<(), &'static str> {
    if ttl_secs == 0 {
        return Err("ttl must be positive");
    }
    Ok(())
}

/// A write as an update: its key, guard, writes, client and class. A single put or rm is an
/// update of one write with no guard.
fn into_parts(
    body: WriteBody,
) -> (
    [u8; 20],
    Option<crate::store::Hash>,
    Vec<UpdateOp>,
    IpAddr,
    StorageClass,
) {
    match body {
        WriteBody::Put {
            key,
            value,
            secret_hash,
            ttl_secs,
            client,
            class,
        } => {
            let op = UpdateOp::Put {
                value,
                secret_hash,
                ttl_secs,
            };
            (key, None, vec![op], client, class)
        }
        WriteBody::Rm {
            key,
            value_hash,
            secret,
            ttl_secs,
            client,
            class,
        } => {
            let op = UpdateOp::Rm {
                value_hash,
                secret,
                ttl_secs,
            };
            (key, None, vec![op], client, class)
        }
        WriteBody::Update {
            key,
            guard,
            ops,
            client,
            class,
        } => (key, guard, ops, client, class),
    }
}

/// The store operation of one write under `key`, and the identity of the item it stores.
fn store_op(key: [u8; 20], op: UpdateOp, client: IpAddr, class: StorageClass) -> (Op, ItemId) {
    match op {
        UpdateOp::Put {
            value,
            secret_hash,
            ttl_secs,
        } => {
            let id = ItemId {
                key: DhtKey(key),
                secret_hash: secret_hash.unwrap_or(ZERO_HASH),
                value_hash: sha1(&value),
            };
            let req = PutRequest {
                key: DhtKey(key),
                value,
                secret_hash,
                ttl_secs: i64::from(ttl_secs),
                client,
                class,
            };
            (Op::Put(req), id)
        }
        UpdateOp::Rm {
            value_hash,
            secret,
            ttl_secs,
        } => {
            let id = ItemId {
                key: DhtKey(key),
                secret_hash: sha1(&secret),
                value_hash,
            };
            let req = RemoveRequest {
                key: DhtKey(key),
                value_hash,
                secret,
                ttl_secs: i64::from(ttl_secs),
                client,
                class,
            };
            (Op::Remove(req), id)
        }
    }
}

/// The change a committed operation made that watchers care about: a new value, or a value
/// removed. TTL extensions, suppressed copies and removals that matched nothing are not changes.
fn change_of(op: &Op, outcome: OpOutcome) -> Option<(ItemId, WireChange)> {
    match (op, outcome) {
        (Op::Put(p), OpOutcome::Applied(ApplyOutcome::Stored)) => {
            let id = ItemId {
                key: p.key,
                secret_hash: p.secret_hash.unwrap_or(ZERO_HASH),
                value_hash: sha1(&p.value),
            };
            Some((id, WireChange::Put(p.value.clone())))
        }
        (Op::Remove(r), OpOutcome::Removed(RemoveOutcome::Removed)) => {
            let id = ItemId {
                key: r.key,
                secret_hash: sha1(&r.secret),
                value_hash: r.value_hash,
            };
            Some((id, WireChange::Rm))
        }
        (Op::Replica(rec), OpOutcome::Applied(ApplyOutcome::Stored)) => match &rec.payload {
            crate::store::Payload::Value(v) => Some((rec.id, WireChange::Put(v.clone()))),
            crate::store::Payload::Tombstone { .. } => None,
        },
        (Op::Replica(rec), OpOutcome::Applied(ApplyOutcome::Removed)) => {
            Some((rec.id, WireChange::Rm))
        }
        _ => None,
    }
}
