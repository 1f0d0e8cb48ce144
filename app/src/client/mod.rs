//! The What's UP client library: the whole social network as put/get/rm on SCOPE's DHT.
//!
//! [`Client`] is the one entry point the command line and the desktop app use. It holds a
//! [`Dht`] (a real gateway or the in-process [`MemoryDht`]), the user's [`Identity`] and a
//! cache of verified username→key bindings. Each feature lives in its own module and adds
//! methods to `Client`; [`keys`] documents what is stored under which key. Every value read is
//! untrusted: records are verified ([`records`]) and bound to their author's claimed username
//! ([`users`]) before they are shown.

pub mod alerts;
pub mod capability;
pub mod clock;
pub mod communities;
pub mod dht;
pub mod discovery;
pub mod error;
pub mod events;
pub mod feed;
pub mod gateway;
pub mod identity;
pub mod keys;
pub mod media;
pub mod memory;
pub mod messages;
pub mod polls;
pub mod posts;
pub mod presence;
pub mod profile;
pub mod records;
pub mod refresh;
pub mod search;
pub mod services;
pub mod text;
pub mod users;
pub mod vcard;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use clock::{Clock, ManualClock, SystemClock};
pub use dht::{Dht, DhtError, Key};
pub use error::ClientError;
pub use gateway::GatewayDht;
pub use identity::Identity;
pub use memory::MemoryDht;

use records::{Opened, Record};

/// Lifetime of everything a user writes: the DHT's maximum, one week (a conference's length).
pub const RECORD_TTL: u32 = dht::MAX_TTL_SECS;

/// A What's UP user's view of the network.
#[derive(Debug, Clone)]
pub struct Client {
    dht: Arc<dyn Dht>,
    me: Option<Identity>,
    clock: Arc<dyn Clock>,
    owners: Arc<Mutex<HashMap<String, [u8; 32]>>>,
}

impl Client {
    /// A client over `dht`, acting as `me` (or read-only with `None`), on the system clock.
    #[must_use]
    pub fn new(dht: Arc<dyn Dht>, me: Option<Identity>) -> Client {
        Client {
            dht,
            me,
            clock: Arc::new(SystemClock),
            owners: Arc::default(),
        }
    }

    /// The same client on another clock (tests, the GUI's fake client).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Client {
        self.clock = clock;
        self
    }

    /// The same DHT and caches acting as another identity (several users in one test).
    #[must_use]
    pub fn as_user(&self, me: Identity) -> Client {
        Client {
            me: Some(me),
            ..self.clone()
        }
    }

    /// The identity this client acts as.
    pub fn me(&self) -> Result<&Identity, ClientError> {
        self.me.as_ref().ok_or(ClientError::NoIdentity)
    }

    /// The DHT underneath (for raw access in tools and tests).
    #[must_use]
    pub fn dht(&self) -> &Arc<dyn Dht> {
        &self.dht
    }

    /// Now, in Unix milliseconds.
    #[must_use]
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Signs `record` as me and adds it to `key`.
    pub(crate) async fn write<T: Record>(&self, key: Key, record: &T) -> Result<(), ClientError> {
        let bytes = self.seal(key, record)?;
        Ok(self.dht.put(key, bytes, RECORD_TTL).await?)
    }

    /// Signs `record` as me and adds it to `key` removably; returns its value hash for [`Client::remove`].
    pub(crate) async fn write_removable<T: Record>(
        &self,
        key: Key,
        record: &T,
        ttl: u32,
    ) -> Result<[u8; 20], ClientError> {
        let bytes = self.seal(key, record)?;
        let hash = dht::sha1(&bytes);
        let secret = self.me()?.removal_secret(&key);
        self.dht
            .put_removable(key, bytes, dht::sha1(&secret), ttl)
            .await?;
        Ok(hash)
    }

    /// Removes a value I wrote with [`Client::write_removable`].
    pub(crate) async fn remove(&self, key: Key, value_hash: [u8; 20]) -> Result<(), ClientError> {
        let secret = self.me()?.removal_secret(&key);
        Ok(self.dht.rm(key, value_hash, secret, RECORD_TTL).await?)
    }

    /// Seals `record` as me for `key` without writing it (to check sizes before any write).
    pub(crate) fn seal<T: Record>(&self, key: Key, record: &T) -> Result<Vec<u8>, ClientError> {
        let me = self.me()?;
        Ok(records::seal(me.signing_key(), &me.username, &key, record)?)
    }

    /// Every record of type `T` under `key` that is correctly signed by the user it names.
    pub(crate) async fn read<T: Record>(&self, key: Key) -> Result<Vec<Opened<T>>, ClientError> {
        let values = self.dht.get_all(key).await?;
        let opened = values.iter().filter_map(|value| {
            let opened = records::open::<T>(value, &key);
            if opened.is_none() {
                tracing::debug!("ignoring a value that is not a signed record");
            }
            opened.map(|o| (o, ()))
        });
        let opened: Vec<_> = opened.collect();
        Ok(self
            .verified(opened)
            .await?
            .into_iter()
            .map(|(o, ())| o)
            .collect())
    }

    /// The records (each with a tag of the caller's) whose signing key is the one bound to
    /// the username they name. Claims not yet cached are looked up concurrently, once per
    /// distinct author.
    pub(crate) async fn verified<T, X>(
        &self,
        items: impl IntoIterator<Item = (Opened<T>, X)>,
    ) -> Result<Vec<(Opened<T>, X)>, ClientError> {
        let items: Vec<(Opened<T>, X)> = items.into_iter().collect();
        let mut owners: HashMap<String, Option<ed25519_dalek::VerifyingKey>> = HashMap::new();
        let mut lookups = tokio::task::JoinSet::new();
        for (opened, _) in &items {
            if owners.contains_key(&opened.author) {
                continue;
            }
            let cached = self.cached_owner(&opened.author);
            owners.insert(opened.author.clone(), cached);
            if cached.is_none() {
                let (client, name) = (self.clone(), opened.author.clone());
                lookups.spawn(async move {
                    let owner = client.owner_of(&name).await;
                    (name, owner)
                });
                while lookups.len() >= MAX_CONCURRENT {
                    collect_owner(&mut lookups, &mut owners).await?;
                }
            }
        }
        while !lookups.is_empty() {
            collect_owner(&mut lookups, &mut owners).await?;
        }
        Ok(items
            .into_iter()
            .filter(|(opened, _)| {
                let ok = owners
                    .get(&opened.author)
                    .is_some_and(|owner| *owner == Some(opened.key));
                if !ok {
                    tracing::debug!(author = %opened.author, "ignoring a record signed with the wrong key");
                }
                ok
            })
            .collect())
    }

    /// Puts `(key, value, secret hash for a removable put)` concurrently; the first error wins.
    pub(crate) async fn put_many(&self, writes: Vec<Write>) -> Result<(), ClientError> {
        let mut puts = tokio::task::JoinSet::new();
        let mut first_error = None;
        for (key, value, secret_hash) in writes {
            let dht = self.dht.clone();
            puts.spawn(async move {
                match secret_hash {
                    Some(hash) => dht.put_removable(key, value, hash, RECORD_TTL).await,
                    None => dht.put(key, value, RECORD_TTL).await,
                }
            });
            while puts.len() >= MAX_CONCURRENT {
                if let Some(Err(e)) = join_put(&mut puts).await {
                    first_error.get_or_insert(e);
                }
            }
        }
        while !puts.is_empty() {
            if let Some(Err(e)) = join_put(&mut puts).await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// One write for [`Client::put_many`]: key, value, and the secret hash of a removable put.
pub(crate) type Write = (Key, Vec<u8>, Option<[u8; 20]>);

/// Most DHT calls one client action has in flight at once.
const MAX_CONCURRENT: usize = 16;

type OwnerLookup = (
    String,
    Result<Option<ed25519_dalek::VerifyingKey>, ClientError>,
);

async fn collect_owner(
    lookups: &mut tokio::task::JoinSet<OwnerLookup>,
    owners: &mut HashMap<String, Option<ed25519_dalek::VerifyingKey>>,
) -> Result<(), ClientError> {
    if let Some(joined) = lookups.join_next().await {
        let (name, owner) =
            joined.map_err(|e| ClientError::Invalid(format!("lookup failed: {e}")))?;
        owners.insert(name, owner?);
    }
    Ok(())
}

async fn join_put(
    puts: &mut tokio::task::JoinSet<Result<(), DhtError>>,
) -> Option<Result<(), ClientError>> {
    let joined = puts.join_next().await?;
    Some(match joined {
        Ok(result) => result.map_err(ClientError::from),
        Err(e) => Err(ClientError::Invalid(format!("write failed: {e}"))),
    })
}

#[cfg(test)]
mod cost_tests;
#[cfg(test)]
pub(crate) mod test_support;
