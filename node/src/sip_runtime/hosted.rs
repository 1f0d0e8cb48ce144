//! The overlay's driver hosted in the proxy's own task, on a node that runs on one thread.
//!
//! There the proxy and the DHT share a thread anyway, and a lookup through a
//! [`NodeHandle`](crate::runtime::NodeHandle) costs two hand-overs between tasks (a command
//! channel on the way out, a oneshot and a wakeup on the way back) around a DHT request that
//! itself takes a few microseconds: measured, a lookup whose root was the proxy's own node
//! took 40–60 µs, nearly all of it hand-overs with cold caches between calls. Hosted, the
//! proxy starts the get on the [`Driver`] directly and the answer goes to the proxy in the same
//! step that decodes its datagram. Everything else (stores, the gateway, the service list)
//! still talks to the driver through its channel, which this task also serves.

use std::collections::HashMap;
use std::time::Instant;

use super::dht_location::{PagedGet, decode_bindings};
use crate::dht::{Outcome, ReqId};
use crate::runtime::{Driver, Wake};
use crate::sip::proxy::{DhtError, DhtId};
use crate::sip::registrar::Binding;

/// A finished lookup: the proxy's id, its result and when it started.
pub(super) type LookupDone = (DhtId, Result<Vec<Binding>, DhtError>, Instant);

/// One lookup in flight on the hosted DHT.
#[derive(Debug)]
struct Lookup {
    id: DhtId,
    started: Instant,
    paged: PagedGet,
}

/// The hosted overlay driver and the proxy's lookups on it.
#[derive(Debug)]
pub(super) struct HostedDht {
    driver: Driver,
    buf: Vec<u8>,
    lookups: HashMap<ReqId, Lookup>,
}

impl HostedDht {
    /// Hosts `driver`, which must already be bootstrapped.
    pub(super) fn new(driver: Driver) -> Self {
        Self {
            driver,
            buf: Driver::recv_buffer(),
            lookups: HashMap::new(),
        }
    }

    /// The driver's next input.
    pub(super) async fn wait(&mut self) -> Wake {
        self.driver.wait(&mut self.buf).await
    }

    /// Handles the driver's input; true when the overlay has stopped (the node left).
    pub(super) async fn handle(&mut self, wake: Wake) -> bool {
        self.driver.handle(wake, &mut self.buf).await
    }

    /// Sends what the overlay has queued (after [`HostedDht::take_done`] found nothing for the
    /// proxy, so that a forwarded request leaves before acknowledgements do).
    pub(super) async fn flush(&mut self) {
        self.driver.flush().await;
    }

    /// Starts reading the bindings under `key` for the proxy's request `id`.
    pub(super) fn lookup(&mut self, id: DhtId, key: [u8; 20], started: Instant) {
        let (paged, req) = PagedGet::start(key);
        let req = self.driver.get_hosted(req);
        self.lookups.insert(req, Lookup { id, started, paged });
    }

    /// Lets the DHT run and returns the lookups that finished; a lookup with more pages to
    /// read asks for the next one instead.
    pub(super) fn take_done(&mut self) -> Vec<LookupDone> {
        let mut done = Vec::new();
        for (req, outcome) in self.driver.take_hosted() {
            let Some(mut lookup) = self.lookups.remove(&req) else {
                continue;
            };
            let result = match outcome {
                Outcome::Get(Ok(page)) => {
                    let values = page.values.into_iter().map(|d| d.value).collect();
                    match lookup.paged.page(values, page.placemark) {
                        Some(next) => {
                            let req = self.driver.get_hosted(next);
                            self.lookups.insert(req, lookup);
                            continue;
                        }
                        None => Ok(decode_bindings(&lookup.paged.into_values())),
                    }
                }
                Outcome::Get(Err(e)) => Err(DhtError::Failed(e.to_string())),
                other => Err(DhtError::Failed(format!(
                    "internal error: a lookup finished as {other:?}"
                ))),
            };
            done.push((lookup.id, result, lookup.started));
        }
        done
    }

    /// The overlay has stopped: fails every lookup still in flight and hands the driver back.
    pub(super) fn stop(self) -> (Driver, Vec<LookupDone>) {
        let failed = self
            .lookups
            .into_values()
            .map(|l| {
                let why = DhtError::Failed("the overlay driver has stopped".into());
                (l.id, Err(why), l.started)
            })
            .collect();
        (self.driver, failed)
    }
}
