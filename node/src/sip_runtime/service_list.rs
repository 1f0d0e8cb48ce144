//! The P2PSIP service-list advertisement (DESIGN.md §3 and §5): every SIP super-node keeps
//! `"ip:port"` under SHA-1(`"P2PSIP"`), refreshed before its TTL runs out and removed on a
//! graceful leave, so any node can list the live SIP super-nodes.
//!
//! The service ID itself is kept in the global service list under SHA-1(`"ServiceList"`)
//! (DESIGN.md §4), where `whatsup services` finds it. Written against the small
//! [`ServiceDirectory`] trait; the daemon implements it with the DHT ([`super::DhtLocation`]).

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
