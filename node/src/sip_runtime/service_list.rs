//! The P2PSIP service-list advertisement (DESIGN.md §3 and §5): every SIP super-node keeps
//! `"ip:port"` under SHA-1(`"P2PSIP"`), refreshed before its TTL runs out and removed on a
//! graceful leave, so any node can list the live SIP super-nodes.
//!
//! The service ID itself is kept in the global service list under SHA-1(`"ServiceList"`)
//! (DESIGN.md §4), where `whatsup services` finds it. Each super-node also follows the list
//! ([`follow`]), so that a URI naming any super-node listed there within the last day counts
//! as the overlay. Written
//! against the small [`ServiceDirectory`] trait; the daemon implements it with the DHT
//! ([`super::DhtLocation`]).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use sha1::{Digest as _, Sha1};
use tokio::sync::watch;

use crate::sip::proxy::DhtError;

/// The service ID of SIP super-nodes in the service-classified overlay.
pub const SERVICE_ID: &str = "P2PSIP";
/// Lifetime of one advertisement; it is renewed at half of it.
pub const ADVERT_TTL: Duration = Duration::from_secs(600);
/// [`follow`] reads the list this soon after starting, then at doubling intervals up to
/// [`FOLLOW_EVERY`]: a new overlay learns its super-nodes within seconds.
const FOLLOW_FIRST: Duration = Duration::from_secs(1);
/// How often [`follow`] reads the list once settled: a new super-node counts as the overlay
/// everywhere within this.
const FOLLOW_EVERY: Duration = Duration::from_secs(60);
/// How long [`follow`] keeps counting a super-node that has left the list (crashed, or
/// gone home): phones set up with its address as their domain keep reaching the overlay
/// through the others for the rest of the event.
const REMEMBER: Duration = Duration::from_secs(24 * 3600);
/// After a failed read, [`follow`] tries again this soon.
const FOLLOW_RETRY: Duration = Duration::from_secs(5);

/// The DHT key of the SIP providers' list: SHA-1(`"P2PSIP"`).
#[must_use]
pub fn service_key() -> [u8; 20] {
    Sha1::digest(SERVICE_ID.as_bytes()).into()
}

/// The DHT key of the global service list: SHA-1(`"ServiceList"`).
#[must_use]
pub fn service_list_key() -> [u8; 20] {
    Sha1::digest(b"ServiceList").into()
}

/// The part of the DHT the advertisement needs.
pub trait ServiceDirectory: Send + Sync + 'static {
    /// Stores `value` under `key` for `ttl`, removable later by this node.
    fn put(
        &self,
        key: [u8; 20],
        value: Vec<u8>,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), DhtError>> + Send;

    /// Removes the `value` this node put under `key`.
    fn remove(
        &self,
        key: [u8; 20],
        value: Vec<u8>,
    ) -> impl Future<Output = Result<(), DhtError>> + Send;

    /// The values stored under `key` (a bounded number of them).
    fn values(&self, key: [u8; 20]) -> impl Future<Output = Result<Vec<Vec<u8>>, DhtError>> + Send;
}

/// The SIP super-nodes among the service list's values, each once, in order. Anyone may put
/// a value under the list's key, so values are untrusted: anything but an `ip:port` with a
/// specified address and a port is skipped, and at most
/// [`MAX_SUPER_NODES`](crate::sip::proxy::MAX_SUPER_NODES) are kept.
#[must_use]
pub fn providers(values: &[Vec<u8>]) -> Vec<SocketAddr> {
    let mut out: Vec<SocketAddr> = Vec::new();
    for v in values {
        if out.len() == crate::sip::proxy::MAX_SUPER_NODES {
            break;
        }
        let Some(addr) = std::str::from_utf8(v)
            .ok()
            .and_then(|s| s.parse::<SocketAddr>().ok())
        else {
            continue;
        };
        if !addr.ip().is_unspecified() && addr.port() != 0 && !out.contains(&addr) {
            out.push(addr);
        }
    }
    out
}

/// Reads the P2PSIP service list now and then and hands the super-nodes to `tell`: those
/// listed, and those listed within the last day, most recently seen first, at most
/// [`MAX_SUPER_NODES`](crate::sip::proxy::MAX_SUPER_NODES); until `tell` returns false (the SIP
/// runtime has stopped).
pub async fn follow<D, F, Fut>(dir: &D, mut tell: F)
where
    D: ServiceDirectory,
    F: FnMut(Vec<SocketAddr>) -> Fut,
    Fut: Future<Output = bool>,
{
    let mut every = FOLLOW_FIRST;
    let mut seen: Vec<(SocketAddr, std::time::Instant)> = Vec::new();
    tokio::time::sleep(FOLLOW_FIRST).await;
    loop {
        let wait = match dir.values(service_key()).await {
            Ok(values) => {
                let now = crate::runtime::now();
                for addr in providers(&values) {
                    match seen.iter_mut().find(|(a, _)| *a == addr) {
                        Some(entry) => entry.1 = now,
                        None => seen.push((addr, now)),
                    }
                }
                seen.retain(|(_, at)| now.saturating_duration_since(*at) < REMEMBER);
                seen.sort_by_key(|(_, at)| std::cmp::Reverse(*at));
                seen.truncate(crate::sip::proxy::MAX_SUPER_NODES);
                if !tell(seen.iter().map(|(a, _)| *a).collect()).await {
                    return;
                }
                every = (every * 2).min(FOLLOW_EVERY);
                every
            }
            Err(e) => {
                tracing::debug!(error = %e, "cannot read the SIP service list; retrying");
                FOLLOW_RETRY
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// Advertises `sip_addr` until `leave` turns true (or its sender is dropped), then removes
/// the advertisement. A failed put is retried after a short pause rather than waiting a
/// whole refresh period, so a node that started before the overlay was ready still shows up.
pub async fn advertise<D: ServiceDirectory>(
    dir: &D,
    sip_addr: SocketAddr,
    mut leave: watch::Receiver<bool>,
) {
    const RETRY: Duration = Duration::from_secs(5);
    let key = service_key();
    let value = sip_addr.to_string().into_bytes();
    loop {
        // The list entry is shared by every SIP super-node, so it is only ever refreshed (it
        // expires with the last provider), never removed.
        let listed = dir
            .put(
                service_list_key(),
                SERVICE_ID.as_bytes().to_vec(),
                ADVERT_TTL,
            )
            .await;
        let put = match listed {
            Ok(()) => dir.put(key, value.clone(), ADVERT_TTL).await,
            Err(e) => Err(e),
        };
        let wait = match put {
            Ok(()) => ADVERT_TTL / 2,
            Err(e) => {
                tracing::warn!(error = %e, "cannot advertise the SIP service; retrying");
                RETRY
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            r = leave.wait_for(|l| *l) => {
                let _ = r;
                break;
            }
        }
    }
    if let Err(e) = dir.remove(key, value).await {
        tracing::warn!(error = %e, "cannot withdraw the SIP service advertisement");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl ServiceDirectory for Recorder {
        async fn put(&self, _: [u8; 20], v: Vec<u8>, _: Duration) -> Result<(), DhtError> {
            self.0
                .lock()
                .unwrap()
                .push(format!("put {}", String::from_utf8_lossy(&v)));
            Ok(())
        }
        async fn remove(&self, _: [u8; 20], v: Vec<u8>) -> Result<(), DhtError> {
            self.0
                .lock()
                .unwrap()
                .push(format!("rm {}", String::from_utf8_lossy(&v)));
            Ok(())
        }
        async fn values(&self, key: [u8; 20]) -> Result<Vec<Vec<u8>>, DhtError> {
            assert_eq!(key, service_key());
            let log = self.0.lock().unwrap();
            Ok(log
                .iter()
                .filter_map(|l| l.strip_prefix("put "))
                .map(|v| v.as_bytes().to_vec())
                .collect())
        }
    }

    #[test]
    fn providers_skips_garbage_repeats_and_unspecified_addresses() {
        let values: Vec<Vec<u8>> = [
            &b"10.0.0.1:5060"[..],
            b"not an address",
            b"\xff\xfe",
            b"0.0.0.0:5060",
            b"10.0.0.2:0",
            b"[fe80::1]:5070",
            b"10.0.0.1:5060",
            b"10.0.0.3",
        ]
        .iter()
        .map(|v| v.to_vec())
        .collect();
        let want: Vec<SocketAddr> = vec![
            "10.0.0.1:5060".parse().unwrap(),
            "[fe80::1]:5070".parse().unwrap(),
        ];
        assert_eq!(providers(&values), want);
        let many: Vec<Vec<u8>> = (0..1000u32)
            .map(|i| format!("10.1.{}.{}:5060", i / 250, i % 250 + 1).into_bytes())
            .collect();
        assert_eq!(providers(&many).len(), crate::sip::proxy::MAX_SUPER_NODES);
    }

    #[tokio::test(start_paused = true)]
    async fn follow_tells_the_listed_super_nodes_and_remembers_those_gone() {
        let dir = Recorder::default();
        dir.0.lock().unwrap().extend([
            "put P2PSIP".to_owned(),
            "put 10.0.0.1:5060".to_owned(),
            "put 10.0.0.2:5070".to_owned(),
        ]);
        let (a, b): (SocketAddr, SocketAddr) = (
            "10.0.0.1:5060".parse().unwrap(),
            "10.0.0.2:5070".parse().unwrap(),
        );
        let mut told = Vec::new();
        follow(&dir, |peers| {
            told.push(peers);
            if told.len() == 1 {
                // A leaves the list (its advertisement expired after a crash).
                dir.0.lock().unwrap().retain(|l| l != "put 10.0.0.1:5060");
            }
            std::future::ready(told.len() < 3)
        })
        .await;
        assert_eq!(told[0], [a, b]);
        // Still told, after those still listed: its address keeps meaning the overlay.
        assert_eq!(told[1], [b, a]);
        assert_eq!(told[2], [b, a]);
        let mut fresh = Vec::new();
        follow(&dir, |peers| {
            fresh.push(peers);
            std::future::ready(false)
        })
        .await;
        assert_eq!(fresh, [vec![b]], "a new follower knows only what is listed");
    }

    #[tokio::test]
    async fn puts_then_removes_on_leave() {
        let dir = Recorder::default();
        let (tx, rx) = watch::channel(false);
        let addr: SocketAddr = "10.0.0.1:5060".parse().unwrap();
        let run = advertise(&dir, addr, rx);
        let stop = async {
            tokio::task::yield_now().await;
            tx.send(true).unwrap();
        };
        tokio::join!(run, stop);
        assert_eq!(
            *dir.0.lock().unwrap(),
            vec![
                "put P2PSIP".to_owned(),
                "put 10.0.0.1:5060".to_owned(),
                "rm 10.0.0.1:5060".to_owned()
            ]
        );
        assert_eq!(hex::encode(service_key()).len(), 40);
    }
}
