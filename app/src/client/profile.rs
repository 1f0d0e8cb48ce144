//! Profiles: who a user is, signed by them, newest version wins, indexed for people search.

use serde::{Deserialize, Serialize};

use super::media::ImageRef;
use super::records::Record;
use super::search::{Index, IndexEntry, entries};
use super::{Client, ClientError, RECORD_TTL, keys};

/// Longest `about` text.
pub const MAX_ABOUT: usize = 400;

/// A user's profile (the v-card).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The username (must match the signer).
    pub username: String,
    /// Full name.
    pub full_name: String,
    /// Company.
    pub company: String,
    /// Job title.
    pub title: String,
    /// Interests.
    pub interests: Vec<String>,
    /// E-mail address.
    pub email: String,
    /// Phone number.
    pub phone: String,
    /// Free text.
    pub about: String,
    /// Photo, if any.
    pub photo: Option<ImageRef>,
    /// When this version was written, Unix ms.
    pub at: u64,
}

impl Record for Profile {
    const KIND: &'static str = "profile";
}

/// Changes to a profile: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    /// New full name.
    pub full_name: Option<String>,
    /// New company.
    pub company: Option<String>,
    /// New title.
    pub title: Option<String>,
    /// New interests.
    pub interests: Option<Vec<String>>,
    /// New e-mail.
    pub email: Option<String>,
    /// New phone.
    pub phone: Option<String>,
    /// New about text.
    pub about: Option<String>,
    /// New photo (already stored).
    pub photo: Option<ImageRef>,
}

impl ProfileUpdate {
    /// `profile` with these changes applied.
    #[must_use]
    pub fn apply(self, mut profile: Profile) -> Profile {
        let set = |field: &mut String, value: Option<String>| {
            if let Some(value) = value {
                *field = value.trim().to_owned();
            }
        };
        set(&mut profile.full_name, self.full_name);
        set(&mut profile.company, self.company);
        set(&mut profile.title, self.title);
        set(&mut profile.email, self.email);
        set(&mut profile.phone, self.phone);
        set(&mut profile.about, self.about);
        if let Some(interests) = self.interests {
            profile.interests = interests;
        }
        if self.photo.is_some() {
            profile.photo = self.photo;
        }
        profile
    }
}

/// The index entries a profile is found by.
#[must_use]
pub fn profile_entries(p: &Profile) -> Vec<IndexEntry> {
    let label = if p.full_name.is_empty() {
        p.username.clone()
    } else {
        p.full_name.clone()
    };
    let interests = p.interests.join(" ");
    let names = format!("{} {}", p.full_name, p.username);
    let all = format!("{names} {} {} {interests}", p.company, p.title);
    let mut list = entries(Index::Interest, &interests, &p.username, &label, p.at);
    list.extend(entries(
        Index::Company,
        &p.company,
        &p.username,
        &label,
        p.at,
    ));
    list.extend(entries(Index::Name, &names, &p.username, &label, p.at));
    list.extend(entries(Index::People, &all, &p.username, &label, p.at));
    list
}

impl Client {
    /// The current profile of `name`: the newest version signed by its owner, if any.
    pub async fn profile(&self, name: &str) -> Result<Option<Profile>, ClientError> {
        let name = self.require_user(name).await?;
        Ok(self
            .profile_versions(&name)
            .await?
            .into_iter()
            .map(|(p, _)| p)
            .next_back())
    }

    /// All verified versions of `name`'s profile, oldest first, with their value hashes.
    async fn profile_versions(&self, name: &str) -> Result<Vec<(Profile, [u8; 20])>, ClientError> {
        let mut versions: Vec<_> = self
            .read::<Profile>(keys::user_list(name, "profile"))
            .await?
            .into_iter()
            .filter(|r| r.author == name && r.body.username == name)
            .map(|r| (r.body, r.value_hash))
            .collect();
        versions.sort_by_key(|(p, _)| p.at);
        Ok(versions)
    }

    /// Changes my profile: writes the new version, removes the old ones, updates the indexes.
    pub async fn set_profile(&self, update: ProfileUpdate) -> Result<Profile, ClientError> {
        let name = self.me()?.username.clone();
        check_update(&update)?;
        let old = self.profile_versions(&name).await?;
        let current = old
            .last()
            .map(|(p, _)| p.clone())
            .unwrap_or_else(|| Profile {
                username: name.clone(),
                ..Profile::default()
            });
        let mut profile = update.apply(current.clone());
        profile.at = self.now_ms();
        let key = keys::user_list(&name, "profile");
        self.seal(key, &profile)?;
        let old_entries = if old.is_empty() {
            Vec::new()
        } else {
            profile_entries(&current)
        };
        let new_entries = profile_entries(&profile);
        self.seal_entries(&new_entries)?;
        self.write_removable(key, &profile, RECORD_TTL).await?;
        for (_, hash) in &old {
            self.remove(key, *hash).await?;
        }
        self.reindex(&old_entries, &new_entries).await?;
        Ok(profile)
    }
}

fn check_update(update: &ProfileUpdate) -> Result<(), ClientError> {
    let about = update.about.as_deref().unwrap_or_default();
    if about.len() > MAX_ABOUT {
        return Err(ClientError::TooLarge {
            what: "about text",
            len: about.len(),
            limit: MAX_ABOUT,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Identity;
    use super::super::records;
    use super::super::test_support::{network, user};
    use super::*;

    fn update(company: &str, interests: &[&str]) -> ProfileUpdate {
        ProfileUpdate {
            full_name: Some("Alice Liddell".into()),
            company: Some(company.into()),
            interests: Some(interests.iter().map(|s| (*s).to_owned()).collect()),
            ..ProfileUpdate::default()
        }
    }

    #[tokio::test]
    async fn profiles_update_and_people_are_found_by_interest_company_name() {
        let net = network();
        let alice = user(&net, "alice").await;
        alice
            .set_profile(update("Acme Corp", &["Rust", "DHTs"]))
            .await
            .unwrap();
        alice
            .set_profile(update("Initech", &["rust"]))
            .await
            .unwrap();
        let shown = net.profile("alice").await.unwrap().unwrap();
        assert_eq!(shown.company, "Initech");
        let by = |i, q: &'static str| {
            let net = net.clone();
            async move { net.search(i, q).await.unwrap().len() }
        };
        assert_eq!(by(Index::Interest, "RUST").await, 1);
        assert_eq!(by(Index::Interest, "dhts").await, 0);
        assert_eq!(by(Index::Company, "initech").await, 1);
        assert_eq!(by(Index::Company, "acme").await, 0);
        assert_eq!(by(Index::Name, "liddell").await, 1);
        // Back to the first company: the removed entry's tombstone does not hide the new one.
        alice
            .set_profile(update("Acme Corp", &["Rust"]))
            .await
            .unwrap();
        assert_eq!(by(Index::Company, "acme").await, 1);
        assert_eq!(by(Index::Company, "initech").await, 0);
        assert!(net.profile("nobody").await.is_err());
    }

    #[tokio::test]
    async fn a_forged_profile_is_ignored() {
        let net = network();
        let alice = user(&net, "alice").await;
        alice.set_profile(update("Acme", &[])).await.unwrap();
        // Mallory signs a newer "alice" profile with her own key and puts it raw.
        let mallory = Identity::from_seed("alice", [66; 32]);
        let key = keys::user_list("alice", "profile");
        let forged = Profile {
            username: "alice".into(),
            company: "Evil".into(),
            at: u64::MAX,
            ..Profile::default()
        };
        let bytes = records::seal(mallory.signing_key(), "alice", &key, &forged).unwrap();
        net.dht().put(key, bytes, 60).await.unwrap();
        net.dht().put(key, b"garbage".to_vec(), 60).await.unwrap();
        assert_eq!(net.profile("alice").await.unwrap().unwrap().company, "Acme");
    }
}
