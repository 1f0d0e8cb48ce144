//! Keeping long-lived records alive: everything in the DHT expires after at most a week
//! ([`super::RECORD_TTL`]), so the records that must outlive that — the username claim, the
//! profile and its index entries, memberships, follows, event subscriptions and the
//! communities one created — are put again, byte for byte, before they run out. Re-putting the
//! same value only extends its TTL (its place in `get` order is kept, so a claim stays first).
//!
//! The command line calls [`Client::refresh_if_due`] on every start with the time of the last
//! refresh it saved in the home directory; a refresh is due once [`REFRESH_AFTER_MS`] have
//! passed, well inside the week, so a user who runs `whatsup` at least every six days never
//! loses a record.

use std::collections::BTreeSet;

use super::dht::{Key, sha1};
use super::profile::profile_entries;
use super::records;
use super::{Client, ClientError, keys};

/// A refresh is due this long after the last one: a day.
pub const REFRESH_AFTER_MS: u64 = 24 * 3600 * 1000;

impl Client {
    /// Refreshes my long-lived records if the last refresh (`last_ms`, Unix ms; `None` if never)
    /// is [`REFRESH_AFTER_MS`] old; returns the time to save as the new last refresh, or
    /// `None` if nothing was due.
    pub async fn refresh_if_due(&self, last_ms: Option<u64>) -> Result<Option<u64>, ClientError> {
        let now = self.now_ms();
        if last_ms.is_some_and(|last| now.saturating_sub(last) < REFRESH_AFTER_MS) {
            return Ok(None);
        }
        self.refresh().await?;
        Ok(Some(now))
    }

    /// Puts every long-lived value I wrote again with a full TTL; returns how many.
    pub async fn refresh(&self) -> Result<usize, ClientError> {
        let me = self.me()?.clone();
        let name = me.username.clone();
        let mut standing: BTreeSet<Key> = ["profile", "communities", "follows", "events"]
            .iter()
            .map(|list| keys::user_list(&name, list))
            .collect();
        standing.insert(keys::user(&name));
        let joined = self.joined(&name).await?;
        for id in &joined {
            standing.insert(keys::community_list(id, "members"));
            if self
                .find_community(id)
                .await?
                .is_some_and(|(creator, _)| creator == name)
            {
                standing.insert(keys::community(id));
                standing.insert(keys::all_communities());
            }
        }
        if let Some(profile) = self.profile(&name).await? {
            standing.extend(
                profile_entries(&profile)
                    .iter()
                    .map(|e| keys::keyword(e.index.name(), &e.word)),
            );
        }
        let mut writes = Vec::new();
        for key in standing {
            for value in self.dht.get_all_details(key).await? {
                let mine = records::signer(&value.value, &key)
                    .is_some_and(|(author, k)| author == name && k == me.verifying_key());
                // Only values I can still remove stay removable: the secret is derived.
                let secret_hash = value
                    .secret_hash
                    .filter(|h| *h == sha1(&me.removal_secret(&key)));
                if mine && (value.secret_hash.is_none() || secret_hash.is_some()) {
                    writes.push((key, value.value, secret_hash));
                }
            }
        }
        let count = writes.len();
        self.put_many(writes).await?;
        tracing::info!(count, "refreshed long-lived records");
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::super::profile::ProfileUpdate;
    use super::super::search::Index;
    use super::super::test_support::user;
    use super::super::{ManualClock, MemoryDht};
    use super::*;

    const DAY_MS: u64 = 24 * 3600 * 1000;

    /// Moves both clocks, the DHT's (TTLs) and the client's (when a refresh is due).
    fn advance(dht: &MemoryDht, clock: &ManualClock, days: f64) {
        let ms = (days * DAY_MS as f64) as u64;
        dht.advance(Duration::from_millis(ms));
        clock.advance_ms(ms);
    }

    #[tokio::test]
    async fn long_lived_records_outlive_the_max_ttl_when_refreshed_on_start() {
        let dht = Arc::new(MemoryDht::new());
        let clock = Arc::new(ManualClock::new(1_767_225_600_000));
        let net = Client::new(dht.clone(), None).with_clock(clock.clone());
        let alice = user(&net, "alice").await;
        let bob = user(&net, "bob").await;
        let update = ProfileUpdate {
            company: Some("Acme".into()),
            interests: Some(vec!["rust".into()]),
            ..ProfileUpdate::default()
        };
        alice.set_profile(update).await.unwrap();
        alice.create_community("Expo", "").await.unwrap();
        bob.join("expo").await.unwrap();
        alice.follow("bob").await.unwrap();
        // As the command line does: the first start after init refreshes nothing due.
        let mut last = alice.refresh_if_due(None).await.unwrap();
        assert!(last.is_some());
        // Starts every two days for three weeks: a refresh each time, none in between.
        for _ in 0..10 {
            advance(&dht, &clock, 0.5);
            let ops = dht.ops();
            assert_eq!(alice.refresh_if_due(last).await.unwrap(), None);
            assert_eq!(
                dht.ops(),
                ops,
                "a refresh that was not due cost DHT operations"
            );
            advance(&dht, &clock, 1.5);
            last = alice.refresh_if_due(last).await.unwrap();
            assert!(last.is_some());
        }
        // 20 days on, alice's records are all there; bob, who never refreshed, is gone.
        let fresh = Client::new(dht.clone(), None).with_clock(clock.clone());
        assert!(fresh.owner_of("alice").await.unwrap().is_some());
        assert!(fresh.owner_of("bob").await.unwrap().is_none());
        assert_eq!(
            fresh.profile("alice").await.unwrap().unwrap().company,
            "Acme"
        );
        assert_eq!(
            fresh.search(Index::Interest, "rust").await.unwrap().len(),
            1
        );
        assert_eq!(fresh.search(Index::Company, "acme").await.unwrap().len(), 1);
        assert_eq!(fresh.joined("alice").await.unwrap(), ["expo"]);
        assert_eq!(fresh.communities().await.unwrap()[0].id, "expo");
        assert_eq!(
            fresh.community_info("expo").await.unwrap().members,
            ["alice"]
        );
        assert_eq!(fresh.follows("alice").await.unwrap(), ["bob"]);
        // Still removable after refreshes: leaving works.
        alice.leave("expo").await.unwrap();
        assert!(fresh.joined("alice").await.unwrap().is_empty());
        // A start more than a week after the last one is too late for what was not refreshed.
        advance(&dht, &clock, 8.0);
        assert!(alice.refresh_if_due(last).await.unwrap().is_some());
        let later = Client::new(dht.clone(), None).with_clock(clock.clone());
        assert!(later.owner_of("alice").await.unwrap().is_none());
        assert!(
            later
                .search(Index::Company, "acme")
                .await
                .unwrap()
                .is_empty()
        );
    }
}
