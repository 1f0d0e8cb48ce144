//! Change notifications for `scope.watch`.
//!
//! A node that watches a key routes a `Subscribe` to the key's root and renews it every
//! [`DhtConfig::watch_refresh`](super::DhtConfig::watch_refresh), so the subscription follows
//! the key when its root changes. When a put or rm changes a key, the root (and any replica
//! still holding an old subscription) sends `Notify` directly to every subscriber. The
//! subscriber drops duplicates and appends each change to its local change log under a
//! sequence number; a watch returns the changes after its cursor at once, or waits for the next
//! one, so a client resuming from the cursor neither misses nor repeats a change.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use super::api::{Change, ChangeKind, Cursor, Outcome, WatchBatch};
use super::placement::node_id;
use super::wire::{Msg, WireChange, WireId};
use super::{Deadline, Dht, ReqId, Sent};
use crate::overlay::{NodeId, NodeInfo};
use crate::store::{DhtKey, ItemId};

/// Most changes one watch answer carries; the cursor then stops at the last one returned.
const MAX_CHANGES_PER_ANSWER: usize = 256;
/// Most subscribers a root keeps per key.
const MAX_SUBSCRIBERS_PER_KEY: usize = 256;
/// Most keys a root keeps subscriptions for.
const MAX_SUBSCRIBED_KEYS: usize = 100_000;
/// Notifications remembered to drop duplicates (root and replicas may both notify).
const SEEN_LEN: usize = 4096;
/// Longest subscription a root grants.
const MAX_SUBSCRIPTION: Duration = Duration::from_secs(600);

/// A watch waiting for a change.
#[derive(Debug)]
struct Waiting {
    keys: Vec<DhtKey>,
    after: u64,
}

/// Subscriber-side change log and root-side subscriptions.
#[derive(Debug)]
pub(super) struct Watch {
    epoch: u64,
    next_seq: u64,
    log: VecDeque<Change>,
    interest: BTreeMap<DhtKey, Instant>,
    seen: HashSet<(ItemId, bool)>,
    seen_order: VecDeque<(ItemId, bool)>,
    waiting: HashMap<u64, Waiting>,
    subs: HashMap<DhtKey, BTreeMap<NodeId, (NodeInfo, Instant)>>,
}

impl Watch {
    /// An empty log for the incarnation starting at `epoch` (unix ms).
    pub(super) fn new(epoch: u64) -> Watch {
        Watch {
            epoch,
            next_seq: 1,
            log: VecDeque::new(),
            interest: BTreeMap::new(),
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
            waiting: HashMap::new(),
            subs: HashMap::new(),
        }
    }

    fn head(&self) -> u64 {
        self.next_seq - 1
    }

    /// The answer for `keys` after sequence `after`.
    fn batch(&self, keys: &[DhtKey], after: u64) -> WatchBatch {
        let mut changes: Vec<Change> = self
            .log
            .iter()
            .filter(|c| c.seq > after && keys.contains(&c.key))
            .take(MAX_CHANGES_PER_ANSWER + 1)
            .cloned()
            .collect();
        let seq = if changes.len() > MAX_CHANGES_PER_ANSWER {
            changes.truncate(MAX_CHANGES_PER_ANSWER);
            changes.last().map_or(after, |c| c.seq)
        } else {
            self.head().max(after)
        };
        WatchBatch {
            cursor: Cursor {
                epoch: self.epoch,
                seq,
            },
            changes,
        }
    }

    /// Whether `(id, rm)` is new; remembers it.
    fn first_time(&mut self, key: (ItemId, bool)) -> bool {
        if !self.seen.insert(key) {
            return false;
        }
        self.seen_order.push_back(key);
        if self.seen_order.len() > SEEN_LEN
            && let Some(old) = self.seen_order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }
}

impl Dht {
    /// `scope.watch`: changes under `keys` after `cursor` (`None`: from now on). Completes with
    /// [`Outcome::Watch`] as soon as there is one, or with no changes after `timeout`. The keys
    /// stay subscribed at their roots for a while after the last watch that names them; changes
    /// made before the first subscription reached the root are not seen.
    pub fn watch(
        &mut self,
        now: Instant,
        keys: Vec<DhtKey>,
        cursor: Option<Cursor>,
        timeout: Duration,
    ) -> ReqId {
        let id = self.fresh_id();
        for key in &keys {
            if self.watch.interest.insert(*key, now).is_none() {
                self.subscribe(*key);
            }
        }
        let after = match cursor {
            None => self.watch.head(),
            Some(c) if c.epoch == self.watch.epoch => c.seq,
            Some(_) => 0,
        };
        let batch = self.watch.batch(&keys, after);
        if !batch.changes.is_empty() || timeout.is_zero() {
            self.finish(id, Outcome::Watch(batch));
        } else {
            self.watch.waiting.insert(id, Waiting { keys, after });
            self.at(now + timeout, Deadline::Watch(id));
        }
        ReqId(id)
    }

    /// The current watch cursor (the newest change), for a gateway that wants to start a client
    /// "from now" without a long-poll.
    #[must_use]
    pub fn watch_cursor(&self) -> Cursor {
        Cursor {
            epoch: self.watch.epoch,
            seq: self.watch.head(),
        }
    }

    fn subscribe(&mut self, key: DhtKey) {
        let ttl_secs = u32::try_from(self.config.subscription_ttl.as_secs()).unwrap_or(u32::MAX);
        let msg = Msg::Subscribe {
            key: key.0,
            ttl_secs,
        };
        self.route_to(node_id(key), &msg);
    }

    pub(super) fn on_watch_timeout(&mut self, req: u64) {
        if let Some(w) = self.watch.waiting.remove(&req) {
            let batch = self.watch.batch(&w.keys, w.after);
            self.finish(req, Outcome::Watch(batch));
        }
    }

    /// Renews live subscriptions, forgets idle ones, and drops expired subscribers (root side).
    pub(super) fn on_resubscribe(&mut self, now: Instant) {
        let idle = self.config.watch_interest;
        self.watch
            .interest
            .retain(|_, last| now.saturating_duration_since(*last) < idle);
        let keys: Vec<DhtKey> = self.watch.interest.keys().copied().collect();
        for key in keys {
            self.subscribe(key);
        }
        for subs in self.watch.subs.values_mut() {
            subs.retain(|_, (_, until)| *until > now);
        }
        self.watch.subs.retain(|_, s| !s.is_empty());
        self.at(now + self.config.watch_refresh, Deadline::Resubscribe);
    }

    pub(super) fn on_watch_msg(&mut self, now: Instant, from: NodeInfo, msg: Msg) {
        match msg {
            Msg::Subscribe { key, ttl_secs } => {
                let ttl = Duration::from_secs(u64::from(ttl_secs)).min(MAX_SUBSCRIPTION);
                let key = DhtKey(key);
                if self.watch.subs.len() >= MAX_SUBSCRIBED_KEYS
                    && !self.watch.subs.contains_key(&key)
                {
                    return;
                }
                let subs = self.watch.subs.entry(key).or_default();
                if subs.len() < MAX_SUBSCRIBERS_PER_KEY || subs.contains_key(&from.id) {
                    subs.insert(from.id, (from, now + ttl));
                }
            }
            Msg::Notify { id, change } => self.on_notify(id, change),
            _ => {}
        }
    }

    /// Root (or replica) side: tells every subscriber of the key about a committed change.
    pub(super) fn notify_subscribers(&mut self, id: ItemId, change: WireChange) {
        let Some(subs) = self.watch.subs.get(&id.key) else {
            return;
        };
        let to: Vec<NodeInfo> = subs.values().map(|(n, _)| *n).collect();
        let msg = Msg::Notify {
            id: id.into(),
            change,
        };
        for n in to {
            self.send_direct(n, &msg, Sent::Other);
        }
    }

    /// Subscriber side: log a change once and wake the watches it answers.
    fn on_notify(&mut self, id: WireId, change: WireChange) {
        let id = ItemId::from(id);
        let rm = matches!(change, WireChange::Rm);
        if !self.watch.interest.contains_key(&id.key) || !self.watch.first_time((id, rm)) {
            return;
        }
        let kind = match change {
            WireChange::Put(value) => ChangeKind::Put { value },
            WireChange::Rm => ChangeKind::Rm {
                value_hash: id.value_hash,
            },
        };
        let seq = self.watch.next_seq;
        self.watch.next_seq += 1;
        self.watch.log.push_back(Change {
            seq,
            key: id.key,
            kind,
        });
        while self.watch.log.len() > self.config.change_log_len.max(1) {
            self.watch.log.pop_front();
        }
        let mut woken: Vec<u64> = self
            .watch
            .waiting
            .iter()
            .filter(|(_, w)| w.keys.contains(&id.key))
            .map(|(r, _)| *r)
            .collect();
        woken.sort_unstable();
        for req in woken {
            self.on_watch_timeout(req);
        }
    }
}
