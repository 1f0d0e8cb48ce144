//! Polls: one vote per user. A changed vote replaces the old one (the old value is removed),
//! and when counting only each voter's newest valid vote counts, so double votes count once.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::posts::{check_len, new_id};
use super::records::Record;
use super::{Client, ClientError, RECORD_TTL, keys};

/// A poll in a community.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Poll {
    /// Random id.
    pub id: String,
    /// The community id.
    pub community: String,
    /// The question.
    pub question: String,
    /// The options (2 to 10).
    pub options: Vec<String>,
    /// When, Unix ms.
    pub at: u64,
}

impl Record for Poll {
    const KIND: &'static str = "poll";
}

/// A vote: the index of the chosen option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// The poll.
    pub poll: String,
    /// Chosen option, from 0.
    pub option: u32,
    /// When, Unix ms (the newest vote of a voter counts).
    pub at: u64,
}

impl Record for Vote {
    const KIND: &'static str = "vote";
}

/// Poll results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Results {
    /// The poll.
    pub poll: Poll,
    /// (option, votes), in the poll's order.
    pub counts: Vec<(String, u32)>,
    /// Distinct voters.
    pub voters: u32,
}

impl Client {
    /// Creates a poll in a community I belong to.
    pub async fn create_poll(
        &self,
        community: &str,
        question: &str,
        options: &[String],
    ) -> Result<Poll, ClientError> {
        check_len("question", question, 300)?;
        if !(2..=10).contains(&options.len()) || options.iter().any(|o| o.trim().is_empty()) {
            return Err(ClientError::Invalid(
                "a poll needs 2 to 10 non-empty options".into(),
            ));
        }
        let community = self.require_member(community).await?;
        let poll = Poll {
            id: new_id(),
            community: community.id.clone(),
            question: question.to_owned(),
            options: options.to_vec(),
            at: self.now_ms(),
        };
        self.seal(keys::poll(&poll.id, None), &poll)?;
        self.write(keys::poll(&poll.id, None), &poll).await?;
        self.write(keys::community_list(&community.id, "polls"), &poll)
            .await?;
        Ok(poll)
    }

    /// The poll with this id.
    pub async fn poll(&self, id: &str) -> Result<Poll, ClientError> {
        self.read::<Poll>(keys::poll(id, None))
            .await?
            .into_iter()
            .find(|r| r.body.id == id)
            .map(|r| r.body)
            .ok_or_else(|| ClientError::NotFound {
                what: "poll",
                id: id.to_owned(),
            })
    }

    /// Votes for `option` (its text, or its number from 1); replaces my earlier vote.
    pub async fn vote(&self, id: &str, option: &str) -> Result<Poll, ClientError> {
        let poll = self.poll(id).await?;
        let index = option_index(&poll, option)?;
        let me = self.me()?.username.clone();
        let key = keys::poll(id, Some("votes"));
        let old: Vec<_> = self
            .read::<Vote>(key)
            .await?
            .into_iter()
            .filter(|r| r.author == me)
            .collect();
        let vote = Vote {
            poll: id.to_owned(),
            option: index,
            at: self.now_ms(),
        };
        self.write_removable(key, &vote, RECORD_TTL).await?;
        for previous in old {
            self.remove(key, previous.value_hash).await?;
        }
        Ok(poll)
    }

    /// Counts the votes: each voter's newest valid vote, once.
    pub async fn results(&self, id: &str) -> Result<Results, ClientError> {
        let poll = self.poll(id).await?;
        let mut latest: BTreeMap<String, Vote> = BTreeMap::new();
        for record in self.read::<Vote>(keys::poll(id, Some("votes"))).await? {
            let valid =
                record.body.poll == id && (record.body.option as usize) < poll.options.len();
            let newer = latest
                .get(&record.author)
                .is_none_or(|v| v.at < record.body.at);
            if valid && newer {
                latest.insert(record.author, record.body);
            }
        }
        let mut counts: Vec<(String, u32)> = poll.options.iter().map(|o| (o.clone(), 0)).collect();
        for vote in latest.values() {
            if let Some(entry) = counts.get_mut(vote.option as usize) {
                entry.1 += 1;
            }
        }
        Ok(Results {
            poll,
            counts,
            voters: u32::try_from(latest.len()).unwrap_or(u32::MAX),
        })
    }
}

fn option_index(poll: &Poll, option: &str) -> Result<u32, ClientError> {
    let by_text = poll
        .options
        .iter()
        .position(|o| o.eq_ignore_ascii_case(option.trim()));
    let by_number = option
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=poll.options.len()).contains(n))
        .map(|n| n - 1);
    by_text
        .or(by_number)
        .and_then(|i| u32::try_from(i).ok())
        .ok_or_else(|| {
            ClientError::Invalid(format!(
                "no option {option:?}; choose one of: {}",
                poll.options.join(", ")
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::super::Identity;
    use super::super::records;
    use super::super::test_support::{network, user};
    use super::*;

    #[tokio::test]
    async fn one_vote_per_user_changed_votes_replace_forged_votes_ignored() {
        let net = network();
        let alice = user(&net, "alice").await;
        let bob = user(&net, "bob").await;
        alice.create_community("Expo", "").await.unwrap();
        let options = vec!["Pizza".to_owned(), "Sushi".to_owned()];
        let poll = alice.create_poll("expo", "Lunch?", &options).await.unwrap();
        bob.vote(&poll.id, "pizza").await.unwrap();
        bob.vote(&poll.id, "pizza").await.unwrap();
        alice.vote(&poll.id, "1").await.unwrap();
        alice.vote(&poll.id, "Sushi").await.unwrap();
        // A double vote put raw by bob himself (not through vote()) still counts once.
        let key = keys::poll(&poll.id, Some("votes"));
        let bob_id = bob.me().unwrap().clone();
        let twice = Vote {
            poll: poll.id.clone(),
            option: 0,
            at: 1,
        };
        let bytes = records::seal(bob_id.signing_key(), "bob", &key, &twice).unwrap();
        net.dht().put(key, bytes, 60).await.unwrap();
        // Mallory forges votes as "carol" (unclaimed) and as "alice" (wrong key).
        for name in ["carol", "alice"] {
            let mallory = Identity::from_seed(name, [77; 32]);
            let forged = Vote {
                poll: poll.id.clone(),
                option: 0,
                at: u64::MAX,
            };
            let bytes = records::seal(mallory.signing_key(), name, &key, &forged).unwrap();
            net.dht().put(key, bytes, 60).await.unwrap();
        }
        let results = net.results(&poll.id).await.unwrap();
        assert_eq!(
            results.counts,
            [("Pizza".to_owned(), 1), ("Sushi".to_owned(), 1)]
        );
        assert_eq!(results.voters, 2);
        assert!(bob.vote(&poll.id, "Tacos").await.is_err());
        assert!(alice.create_poll("expo", "?", &options[..1]).await.is_err());
    }
}
