//! Communities: create (first creator keeps the name), join, leave, list, show, and news.

use serde::{Deserialize, Serialize};

use super::posts::check_len;
use super::records::Record;
use super::search::{Index, entries};
use super::text::keywords;
use super::{Client, ClientError, keys};

/// A community, as created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Community {
    /// Id: the lower-case words of the name joined by `-`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: String,
    /// When, Unix ms.
    pub at: u64,
}

impl Record for Community {
    const KIND: &'static str = "community";
}

/// A membership (removable: leaving removes it).
///
/// Each join writes a new record (its time and a random nonce make it a new value): leaving
/// removes the record, and the DHT's tombstone for it would hide an identical record put again,
/// so a re-join must not be byte-identical to the membership it replaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The community id.
    pub community: String,
    /// When joined, Unix ms.
    pub at: u64,
    /// Random, so two joins never seal to the same bytes.
    pub nonce: u64,
}

impl Record for Membership {
    const KIND: &'static str = "member";
}

/// A news item in a community.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct News {
    /// The community id.
    pub community: String,
    /// The text.
    pub text: String,
    /// When, Unix ms.
    pub at: u64,
}

impl Record for News {
    const KIND: &'static str = "news";
}

/// A community with what `community show` prints.
#[derive(Debug, Clone, Serialize)]
pub struct CommunityInfo {
    /// The community.
    pub community: Community,
    /// Who created it.
    pub creator: String,
    /// Current members.
    pub members: Vec<String>,
}

/// The id of a community name: its words, lower case, joined by `-`.
pub fn community_id(name: &str) -> Result<String, ClientError> {
    let words = keywords(name);
    let id = words.join("-");
    if id.is_empty() || id.len() > 64 {
        return Err(ClientError::Invalid(format!(
            "invalid community name {name:?}: use 1-64 characters of letters and digits"
        )));
    }
    Ok(id)
}

impl Client {
    /// Creates a community and joins it; fails if the name is taken.
    pub async fn create_community(
        &self,
        name: &str,
        description: &str,
    ) -> Result<Community, ClientError> {
        let id = community_id(name)?;
        check_len("description", description, 400)?;
        if self.find_community(&id).await?.is_some() {
            return Err(ClientError::CommunityExists(id));
        }
        let community = Community {
            id: id.clone(),
            name: name.trim().to_owned(),
            description: description.to_owned(),
            at: self.now_ms(),
        };
        let text = format!("{} {}", community.name, community.description);
        let index = self.seal_entries(&entries(
            Index::Community,
            &text,
            &id,
            &community.name,
            community.at,
        ))?;
        self.seal(keys::community(&id), &community)?;
        self.write(keys::community(&id), &community).await?;
        match self.find_community(&id).await? {
            Some((creator, _)) if creator == self.me()?.username => {}
            _ => return Err(ClientError::CommunityExists(id)),
        }
        self.write(keys::all_communities(), &community).await?;
        self.put_sealed(index).await?;
        self.join(&id).await?;
        Ok(community)
    }

    /// The community `id` and its creator: the first valid creation record.
    pub async fn find_community(
        &self,
        id: &str,
    ) -> Result<Option<(String, Community)>, ClientError> {
        let found = self.read::<Community>(keys::community(id)).await?;
        Ok(found
            .into_iter()
            .find(|r| r.body.id == id)
            .map(|r| (r.author, r.body)))
    }

    /// The community named `name`, or [`ClientError::UnknownCommunity`].
    pub async fn require_community(&self, name: &str) -> Result<Community, ClientError> {
        let id = community_id(name).map_err(|_| ClientError::UnknownCommunity(name.into()))?;
        match self.find_community(&id).await? {
            Some((_, community)) => Ok(community),
            None => Err(ClientError::UnknownCommunity(name.to_owned())),
        }
    }

    /// Joins a community (both in my list and in its member list).
    pub async fn join(&self, name: &str) -> Result<Community, ClientError> {
        let community = self.require_community(name).await?;
        let me = self.me()?.username.clone();
        if self.joined(&me).await?.contains(&community.id) {
            return Ok(community);
        }
        let record = Membership {
            community: community.id.clone(),
            at: self.now_ms(),
            nonce: rand::random(),
        };
        let mut writes = Vec::new();
        for key in [
            keys::user_list(&me, "communities"),
            keys::community_list(&community.id, "members"),
        ] {
            writes.push((key, self.seal(key, &record)?));
        }
        self.put_sealed(writes).await?;
        Ok(community)
    }

    /// Leaves a community: removes my membership records.
    pub async fn leave(&self, name: &str) -> Result<Community, ClientError> {
        let community = self.require_community(name).await?;
        let me = self.me()?.username.clone();
        for key in [
            keys::user_list(&me, "communities"),
            keys::community_list(&community.id, "members"),
        ] {
            let mine = self.read::<Membership>(key).await?;
            let mine = mine
                .into_iter()
                .filter(|r| r.author == me && r.body.community == community.id);
            for record in mine {
                self.remove(key, record.value_hash).await?;
            }
        }
        Ok(community)
    }

    /// The ids of the communities `user` belongs to.
    pub async fn joined(&self, user: &str) -> Result<Vec<String>, ClientError> {
        let mut ids: Vec<String> = self
            .read::<Membership>(keys::user_list(user, "communities"))
            .await?
            .into_iter()
            .filter(|r| r.author == user)
            .map(|r| r.body.community)
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// Every community (from the global list), by name.
    pub async fn communities(&self) -> Result<Vec<Community>, ClientError> {
        let mut list: Vec<Community> = Vec::new();
        for record in self.read::<Community>(keys::all_communities()).await? {
            let first = self.find_community(&record.body.id).await?;
            if first.is_some_and(|(creator, c)| creator == record.author && c == record.body)
                && !list.iter().any(|c| c.id == record.body.id)
            {
                list.push(record.body);
            }
        }
        list.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(list)
    }

    /// A community with its creator and members.
    pub async fn community_info(&self, name: &str) -> Result<CommunityInfo, ClientError> {
        let id = community_id(name).map_err(|_| ClientError::UnknownCommunity(name.into()))?;
        let (creator, community) = self
            .find_community(&id)
            .await?
            .ok_or_else(|| ClientError::UnknownCommunity(name.to_owned()))?;
        let mut members: Vec<String> = self
            .read::<Membership>(keys::community_list(&id, "members"))
            .await?
            .into_iter()
            .filter(|r| r.body.community == id)
            .map(|r| r.author)
            .collect();
        members.sort();
        members.dedup();
        Ok(CommunityInfo {
            community,
            creator,
            members,
        })
    }

    /// Posts news in a community I belong to.
    pub async fn post_news(&self, name: &str, text: &str) -> Result<News, ClientError> {
        check_len("news", text, 600)?;
        let community = self.require_member(name).await?;
        let news = News {
            community: community.id.clone(),
            text: text.to_owned(),
            at: self.now_ms(),
        };
        let summary: String = text.chars().take(80).collect();
        let index = self.seal_entries(&entries(
            Index::Content,
            text,
            &community.id,
            &summary,
            news.at,
        ))?;
        self.write(keys::community_list(&community.id, "news"), &news)
            .await?;
        self.put_sealed(index).await?;
        Ok(news)
    }

    /// A community's news, newest first, as (author, news).
    pub async fn news(&self, name: &str) -> Result<Vec<(String, News)>, ClientError> {
        let community = self.require_community(name).await?;
        let mut list: Vec<_> = self
            .read::<News>(keys::community_list(&community.id, "news"))
            .await?
            .into_iter()
            .filter(|r| r.body.community == community.id)
            .map(|r| (r.author, r.body))
            .collect();
        list.sort_by_key(|(_, news)| std::cmp::Reverse(news.at));
        Ok(list)
    }

    /// The community, if I am a member; an error saying "join first" otherwise.
    pub(crate) async fn require_member(&self, name: &str) -> Result<Community, ClientError> {
        let community = self.require_community(name).await?;
        let me = self.me()?.username.clone();
        if self.joined(&me).await?.contains(&community.id) {
            Ok(community)
        } else {
            Err(ClientError::Invalid(format!(
                "you are not a member of {}: `whatsup community join {}` first",
                community.id, community.id
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{network, user};
    use super::*;

    #[tokio::test]
    async fn create_join_leave_list_show_and_news() {
        let net = network();
        let alice = user(&net, "alice").await;
        let bob = user(&net, "bob").await;
        alice
            .create_community("Rust Devs", "All about Rust")
            .await
            .unwrap();
        assert!(matches!(
            bob.create_community("rust devs", "").await,
            Err(ClientError::CommunityExists(_))
        ));
        assert!(bob.post_news("rust-devs", "hi").await.is_err());
        bob.join("Rust Devs").await.unwrap();
        bob.post_news("rust-devs", "Meetup tonight").await.unwrap();
        let info = net.community_info("rust-devs").await.unwrap();
        assert_eq!((info.creator.as_str(), info.members.len()), ("alice", 2));
        assert_eq!(
            net.news("rust-devs").await.unwrap()[0].1.text,
            "Meetup tonight"
        );
        bob.leave("rust-devs").await.unwrap();
        assert_eq!(
            net.community_info("rust-devs").await.unwrap().members,
            ["alice"]
        );
        assert!(bob.joined("bob").await.unwrap().is_empty());
        // Re-joining after leaving works: the new membership is not the removed value.
        bob.join("rust-devs").await.unwrap();
        assert_eq!(bob.joined("bob").await.unwrap(), ["rust-devs"]);
        assert_eq!(
            net.community_info("rust-devs").await.unwrap().members,
            ["alice", "bob"]
        );
        bob.leave("rust-devs").await.unwrap();
        assert!(bob.joined("bob").await.unwrap().is_empty());
        assert_eq!(net.communities().await.unwrap().len(), 1);
        assert!(matches!(
            bob.join("nope").await,
            Err(ClientError::UnknownCommunity(_))
        ));
        assert_eq!(net.search(Index::Community, "rust").await.unwrap().len(), 1);
    }
}
