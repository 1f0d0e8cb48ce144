//! Finding super-nodes on the local network: their gateways advertise `_scope-gw._tcp` by
//! mDNS/DNS-SD, so a conference visitor needs no address typed in.

use std::time::{Duration, Instant};

use mdns_sd::{ServiceDaemon, ServiceEvent};

/// The DNS-SD service type super-nodes advertise their XML-RPC gateway under.
pub const GATEWAY_SERVICE: &str = "_scope-gw._tcp.local.";

/// Why discovery failed.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The mDNS responder could not start (no multicast interface, permissions).
    #[error("mDNS discovery failed: {0}")]
    Mdns(String),
}

/// Gateway URLs found within `wait` (blocking: call it from a blocking task). Returns early,
/// after a short grace period, once one gateway has answered.
pub fn discover(wait: Duration) -> Result<Vec<String>, DiscoveryError> {
    let daemon = ServiceDaemon::new().map_err(|e| DiscoveryError::Mdns(e.to_string()))?;
    let events = daemon
        .browse(GATEWAY_SERVICE)
        .map_err(|e| DiscoveryError::Mdns(e.to_string()))?;
    let mut deadline = Instant::now() + wait;
    let mut found: Vec<String> = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Ok(event) = events.recv_timeout(left) else {
            break;
        };
        if let ServiceEvent::ServiceResolved(service) = event {
            for ip in service.get_addresses_v4() {
                let url = format!("http://{ip}:{}/RPC2", service.get_port());
                if !found.contains(&url) {
                    found.push(url);
                }
            }
            // Others answering at about the same time are welcome; do not wait the full time.
            deadline = deadline.min(Instant::now() + Duration::from_millis(300));
        }
    }
    // Shutting down only fails if the daemon already stopped; nothing to do about it.
    let _ = daemon.shutdown();
    Ok(found)
}
