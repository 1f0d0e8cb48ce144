//! Usernames: the first key to claim a name keeps it.
//!
//! A claim is a signed [`Claim`] under `user:<name>`. Values come back in the order the
//! storing node received them, so the first valid claim in a `get` is the oldest one, and a
//! later claimer can neither remove it (plain `put`, not removable) nor sort before it.
//! Bindings are immutable once made, so they are cached for the client's life.

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use super::identity::normalize_username;
use super::records::{self, Record};
use super::{Client, ClientError, keys};

/// A username claim.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claim {
    /// The name claimed (must equal the envelope's author).
    pub username: String,
    /// When, Unix ms (informational; order in the DHT decides).
    pub at: u64,
}

impl Record for Claim {
    const KIND: &'static str = "claim";
}

impl Client {
    /// Claims my username. Succeeds again for the same key (re-running `init` is harmless);
    /// fails with [`ClientError::UsernameTaken`] if another key claimed it first.
    pub async fn claim_username(&self) -> Result<(), ClientError> {
        let me = self.me()?.clone();
        if let Some(owner) = self.owner_of(&me.username).await? {
            return self.check_mine(&me.username, &owner);
        }
        let claim = Claim {
            username: me.username.clone(),
            at: self.now_ms(),
        };
        self.write(keys::user(&me.username), &claim).await?;
        // Someone may have claimed at the same moment: the DHT's order decides.
        let owner = self.first_claim(&me.username).await?;
        match owner {
            Some(owner) => self.check_mine(&me.username, &owner),
            None => Err(ClientError::Invalid(
                "the username claim was not stored; try again".into(),
            )),
        }
    }

    fn check_mine(&self, name: &str, owner: &VerifyingKey) -> Result<(), ClientError> {
        if *owner == self.me()?.verifying_key() {
            Ok(())
        } else {
            Err(ClientError::UsernameTaken(name.to_owned()))
        }
    }

    /// The key bound to `name`, if anyone claimed it.
    pub async fn owner_of(&self, name: &str) -> Result<Option<VerifyingKey>, ClientError> {
        let cached = self.cache().get(name).copied();
        if let Some(key) = cached.and_then(|k| VerifyingKey::from_bytes(&k).ok()) {
            return Ok(Some(key));
        }
        self.first_claim(name).await
    }

    async fn first_claim(&self, name: &str) -> Result<Option<VerifyingKey>, ClientError> {
        let key = keys::user(name);
        let values = self.dht.get_all(key).await?;
        let first = values.iter().find_map(|value| {
            let claim = records::open::<Claim>(value, &key)?;
            (claim.author == name && claim.body.username == name).then_some(claim.key)
        });
        if let Some(owner) = first {
            self.cache().insert(name.to_owned(), owner.to_bytes());
        }
        Ok(first)
    }

    /// Whether `key` is the key bound to `name`.
    pub async fn is_owner(&self, name: &str, key: &VerifyingKey) -> Result<bool, ClientError> {
        Ok(self
            .owner_of(name)
            .await?
            .is_some_and(|owner| owner == *key))
    }

    /// Checks that `name` is a claimed username and returns it normalised.
    pub async fn require_user(&self, name: &str) -> Result<String, ClientError> {
        let name = normalize_username(name).map_err(|_| ClientError::UnknownUser(name.into()))?;
        match self.owner_of(&name).await? {
            Some(_) => Ok(name),
            None => Err(ClientError::UnknownUser(name)),
        }
    }

    /// The key bound to `name` if this client has already verified it (no DHT call).
    pub(crate) fn cached_owner(&self, name: &str) -> Option<VerifyingKey> {
        let cached = self.cache().get(name).copied();
        cached.and_then(|k| VerifyingKey::from_bytes(&k).ok())
    }

    /// The username bindings verified so far, to keep between runs (they never change while
    /// their owner keeps the claim alive, see [`Client::refresh_if_due`]).
    #[must_use]
    pub fn known_owners(&self) -> std::collections::HashMap<String, [u8; 32]> {
        self.cache().clone()
    }

    /// Adds bindings saved by an earlier run.
    pub fn learn_owners(&self, known: impl IntoIterator<Item = (String, [u8; 32])>) {
        self.cache().extend(known);
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, [u8; 32]>> {
        self.owners
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{network, user};
    use super::*;

    #[tokio::test]
    async fn the_first_key_keeps_the_name() {
        let net = network();
        let alice = user(&net, "alice").await;
        alice.claim_username().await.unwrap();
        let impostor = net.as_user(super::super::Identity::from_seed("alice", [9; 32]));
        let err = impostor.claim_username().await.unwrap_err();
        assert!(matches!(err, ClientError::UsernameTaken(ref n) if n == "alice"));
        assert!(err.to_string().contains("username taken"));
        let fresh = super::super::Client::new(net.dht().clone(), None);
        let owner = fresh.owner_of("alice").await.unwrap().unwrap();
        assert_eq!(owner, alice.me().unwrap().verifying_key());
        assert!(matches!(
            fresh.require_user("nobody").await,
            Err(ClientError::UnknownUser(_))
        ));
    }
}
