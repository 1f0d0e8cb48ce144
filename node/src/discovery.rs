//! LAN discovery over mDNS / DNS-SD.
//!
//! A super-node advertises two services: `_scope._udp` (its overlay socket, so another
//! super-node can join through it) and `_scope-gw._tcp` (its HTTP/XML-RPC gateway, so the app
//! on a phone or laptop finds a super-node with no configuration). Both carry the node ID in
//! the TXT record (`id=<40 hex>`), so a browser can skip itself and tell nodes apart.
//!
//! Discovery is a convenience: every failure here is reported to the caller, which logs it and
//! runs on (with `--bootstrap`, or as a new overlay).

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mdns_sd::{ServiceDaemon, ServiceEvent, ServiceInfo};

use crate::overlay::NodeId;

/// DNS-SD type of the overlay service.
pub const OVERLAY_SERVICE: &str = "_scope._udp.local.";
/// DNS-SD type of the gateway service.
pub const GATEWAY_SERVICE: &str = "_scope-gw._tcp.local.";

/// Once one super-node answered, how long to wait for more before going on.
const SETTLE: Duration = Duration::from_millis(300);

/// An mDNS failure. Its message includes the cause, because callers only log it.
#[derive(Debug, thiserror::Error)]
#[error("mDNS: {0}")]
pub struct DiscoveryError(mdns_sd::Error);

impl From<mdns_sd::Error> for DiscoveryError {
    fn from(e: mdns_sd::Error) -> Self {
        Self(e)
    }
}

/// A running mDNS responder advertising this node. Dropping it does not withdraw the
/// advertisement; call [`Mdns::shutdown`] for that.
pub struct Mdns {
    daemon: ServiceDaemon,
}

impl std::fmt::Debug for Mdns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mdns").finish_non_exhaustive()
    }
}

impl Mdns {
    /// Starts the responder (it runs on its own thread).
    ///
    /// # Errors
    /// When no multicast socket can be opened.
    pub fn start() -> Result<Self, DiscoveryError> {
        Ok(Self {
            daemon: ServiceDaemon::new()?,
        })
    }

    /// Advertises the overlay and gateway services of node `id`. A wildcard address is
    /// advertised with every address of the host (kept current as interfaces change).
    ///
    /// # Errors
    /// When a service record cannot be built or registered.
    pub fn advertise(
        &self,
        id: NodeId,
        overlay: SocketAddr,
        gateway: SocketAddr,
    ) -> Result<(), DiscoveryError> {
        let host = format!("scope-{}.local.", &id.to_string()[..12]);
        let instance = format!("scope-{}", id.short());
        let id_text = id.to_string();
        let txt = [("id", id_text.as_str())];
        for (ty, addr) in [(OVERLAY_SERVICE, overlay), (GATEWAY_SERVICE, gateway)] {
            let info = if addr.ip().is_unspecified() {
                ServiceInfo::new(ty, &instance, &host, "", addr.port(), &txt[..])?
                    .enable_addr_auto()
            } else {
                ServiceInfo::new(ty, &instance, &host, addr.ip(), addr.port(), &txt[..])?
            };
            self.daemon.register(info)?;
        }
        Ok(())
    }

    /// Browses for other super-nodes' overlay sockets and returns their IPv4 addresses (the
    /// overlay socket is IPv4), leaving out node `me`. Waits up to `wait`, but only
    /// [`SETTLE`] more once something was found. Loopback addresses come last: they only work
    /// for a node on this very host, and peers would learn them as its address.
    ///
    /// # Errors
    /// When browsing cannot start.
    pub fn find_overlay_peers(
        &self,
        me: NodeId,
        wait: Duration,
    ) -> Result<Vec<SocketAddr>, DiscoveryError> {
        let rx = self.daemon.browse(OVERLAY_SERVICE)?;
        let mut deadline = crate::runtime::now() + wait;
        let mut found = BTreeSet::new();
        let me = me.to_string();
        while let Ok(event) = rx.recv_deadline(deadline) {
            let ServiceEvent::ServiceResolved(service) = event else {
                continue;
            };
            if service.get_property_val_str("id") == Some(me.as_str()) {
                continue;
            }
            let port = service.get_port();
            for ip in service.get_addresses_v4() {
                found.insert((ip.is_loopback(), SocketAddr::new(IpAddr::V4(ip), port)));
            }
            deadline = deadline.min(crate::runtime::now() + SETTLE);
        }
        let _ = self.daemon.stop_browse(OVERLAY_SERVICE);
        Ok(found.into_iter().map(|(_, addr)| addr).collect())
    }

    /// Withdraws the advertisements and stops the responder thread.
    pub fn shutdown(self) {
        if let Err(e) = self.daemon.shutdown() {
            tracing::debug!(error = %e, "mDNS shutdown");
        }
    }
}
