//! Addresses-of-record in the overlay domain and their DHT keys.

use sha1::{Digest, Sha1};

use super::RegistrarConfig;
use crate::sip::error::RegisterError;
use crate::sip::uri::{DEFAULT_PORT, SipUri, Uri};

/// A canonical address-of-record, `sip:user@DOMAIN`.
///
/// Canonical means: scheme `sip` (sips identifies the same user), the overlay domain in
/// lowercase whatever host the request named (the domain or a super-node address), no
/// password, no port, no parameters. Every super-node therefore derives the same DHT key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Aor(String);

impl Aor {
    /// The AOR of a URI inside the overlay.
    pub fn from_uri(uri: &Uri, config: &RegistrarConfig) -> Result<Self, RegisterError> {
        let sip = uri.as_sip().ok_or(RegisterError::BadAor)?;
        if !config.is_overlay(sip) {
            return Err(RegisterError::NotOverlay);
        }
        let user = sip
            .user_name()
            .filter(|u| !u.is_empty())
            .ok_or(RegisterError::BadAor)?;
        let mut aor = String::with_capacity(5 + user.len() + config.domain.len());
        aor.push_str("sip:");
        aor.push_str(user);
        aor.push('@');
        let domain = aor.len();
        aor.push_str(&config.domain);
        aor[domain..].make_ascii_lowercase();
        Ok(Self(aor))
    }

    /// The canonical text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The DHT key: SHA-1 of the canonical AOR text (DESIGN.md §5).
    #[must_use]
    pub fn dht_key(&self) -> [u8; 20] {
        Sha1::digest(self.0.as_bytes()).into()
    }
}

impl RegistrarConfig {
    /// True when the URI's host is the overlay domain or a listed super-node address
    /// (`host` or `host:port`).
    ///
    /// Compared in place, without lower-cased copies: this runs for every REGISTER.
    #[must_use]
    pub fn is_overlay(&self, uri: &SipUri) -> bool {
        let host = uri.host.as_bytes();
        if host.eq_ignore_ascii_case(self.domain.as_bytes()) {
            return true;
        }
        let mut port = itoa::Buffer::new();
        let port = uri.port.map(|p| port.format(p).as_bytes());
        // A bare host is that host's port 5060 (RFC 3261 §19.1.2), not every port of it: a
        // phone on a super-node's machine is a phone.
        let default_port = uri.port.is_none_or(|p| p == DEFAULT_PORT);
        self.super_nodes.iter().any(|n| {
            let n = n.as_bytes();
            (default_port && n.eq_ignore_ascii_case(host))
                || port.is_some_and(|port| {
                    n.len() == host.len() + 1 + port.len()
                        && n[..host.len()].eq_ignore_ascii_case(host)
                        && n[host.len()] == b':'
                        && &n[host.len() + 1..] == port
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RegistrarConfig {
        RegistrarConfig {
            super_nodes: vec!["10.0.0.1:5060".into()],
            ..RegistrarConfig::default()
        }
    }

    #[test]
    fn canonical_forms_share_a_key() {
        let c = config();
        let a = Aor::from_uri(&Uri::parse("sip:alice@SCOPE;transport=tcp").unwrap(), &c).unwrap();
        let b = Aor::from_uri(&Uri::parse("sips:alice:pw@10.0.0.1:5060").unwrap(), &c).unwrap();
        assert_eq!(a.as_str(), "sip:alice@scope");
        assert_eq!(a, b);
        assert_eq!(
            hex::encode(a.dht_key()),
            hex::encode(Sha1::digest(b"sip:alice@scope"))
        );
    }

    #[test]
    fn a_bare_host_is_its_port_5060_only() {
        let c = RegistrarConfig {
            super_nodes: vec!["10.0.0.1".into(), "10.0.0.1:5060".into()],
            ..RegistrarConfig::default()
        };
        let overlay = |u: &str| c.is_overlay(Uri::parse(u).unwrap().as_sip().unwrap());
        assert!(overlay("sip:alice@10.0.0.1"));
        assert!(overlay("sip:alice@10.0.0.1:5060"));
        assert!(!overlay("sip:alice@10.0.0.1:5062"), "a phone on that host");
    }

    #[test]
    fn foreign_and_userless_uris_are_refused() {
        let c = config();
        let foreign = Uri::parse("sip:alice@example.com").unwrap();
        assert_eq!(Aor::from_uri(&foreign, &c), Err(RegisterError::NotOverlay));
        let other_port = Uri::parse("sip:alice@10.0.0.1:5070").unwrap();
        assert_eq!(
            Aor::from_uri(&other_port, &c),
            Err(RegisterError::NotOverlay)
        );
        assert_eq!(
            Aor::from_uri(&Uri::parse("sip:scope").unwrap(), &c),
            Err(RegisterError::BadAor)
        );
        assert_eq!(
            Aor::from_uri(&Uri::parse("tel:+1").unwrap(), &c),
            Err(RegisterError::BadAor)
        );
    }
}
