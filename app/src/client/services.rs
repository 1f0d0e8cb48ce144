//! The global service list of the service-classified overlay (DESIGN §4): service ids under
//! SHA-1("ServiceList"), each service's providers ("ip:port") under SHA-1(service id). These
//! values are written by super-nodes, unsigned, so they are only shown, never trusted.

use serde::Serialize;

use super::text::clean;
use super::{Client, ClientError, keys};

/// The id P2PSIP proxies/registrars advertise under.
pub const P2PSIP: &str = "P2PSIP";
/// Longest service id or provider shown.
const MAX_SHOWN: usize = 128;

/// A service and its providers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    /// The service id.
    pub id: String,
    /// Its providers, `ip:port`.
    pub providers: Vec<String>,
}

fn text_value(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    (!text.is_empty() && text.len() <= MAX_SHOWN).then(|| clean(text))
}

impl Client {
    /// Every advertised service with its live providers, by id.
    pub async fn services(&self) -> Result<Vec<Service>, ClientError> {
        let mut ids: Vec<String> = self
            .dht
            .get_all(keys::service_list())
            .await?
            .iter()
            .filter_map(|v| text_value(v))
            .collect();
        ids.sort();
        ids.dedup();
        let mut services = Vec::new();
        for id in ids {
            let mut providers: Vec<String> = self
                .dht
                .get_all(keys::service(&id))
                .await?
                .iter()
                .filter_map(|v| text_value(v))
                .collect();
            providers.sort();
            providers.dedup();
            services.push(Service { id, providers });
        }
        Ok(services)
    }

    /// Services whose id contains `query` (case-insensitive).
    pub async fn search_services(&self, query: &str) -> Result<Vec<Service>, ClientError> {
        let query = query.to_lowercase();
        let all = self.services().await?;
        Ok(all
            .into_iter()
            .filter(|s| s.id.to_lowercase().contains(&query))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::network;
    use super::*;

    #[tokio::test]
    async fn services_list_their_providers() {
        let net = network();
        let dht = net.dht();
        dht.put(keys::service_list(), P2PSIP.as_bytes().to_vec(), 60)
            .await
            .unwrap();
        dht.put(keys::service_list(), vec![0xff, 0xfe], 60)
            .await
            .unwrap();
        dht.put(keys::service(P2PSIP), b"10.0.0.1:5060".to_vec(), 60)
            .await
            .unwrap();
        let list = net.services().await.unwrap();
        assert_eq!(
            list,
            [Service {
                id: P2PSIP.into(),
                providers: vec!["10.0.0.1:5060".into()]
            }]
        );
        assert_eq!(net.search_services("sip").await.unwrap().len(), 1);
        assert!(net.search_services("ftp").await.unwrap().is_empty());
    }
}
