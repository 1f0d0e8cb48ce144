//! The feed: news, events and posts from my communities and the people I follow, newest first.
//!
//! Cost: one `get` for my memberships, one for my follows, two per community and one per
//! followed person (more pages only for lists over about 1 KB), all but the first two made
//! concurrently, plus one claim look-up per distinct author not yet cached. None of it depends
//! on the number of users in the network, only on what I joined and follow.

use serde::Serialize;

use super::communities::News;
use super::dht::Key;
use super::events::Event;
use super::posts::Post;
use super::records;
use super::{Client, ClientError, keys};

/// Items per feed page.
pub const PAGE_SIZE: usize = 20;

/// What a feed item is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum FeedKind {
    /// A post by someone I follow.
    Post {
        /// The post.
        post: Post,
    },
    /// News in one of my communities.
    News {
        /// The news.
        news: News,
    },
    /// An event in one of my communities.
    Event {
        /// The event.
        event: Event,
    },
}

/// One feed item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedItem {
    /// When it was written, Unix ms (the sort key).
    pub at: u64,
    /// Who wrote it.
    pub author: String,
    /// What it is.
    #[serde(flatten)]
    pub kind: FeedKind,
}

/// Sorts newest first and cuts page `page` (from 1).
#[must_use]
pub fn paginate(mut items: Vec<FeedItem>, page: usize) -> Vec<FeedItem> {
    items.sort_by_key(|item| std::cmp::Reverse(item.at));
    items
        .into_iter()
        .skip(page.saturating_sub(1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect()
}

impl Client {
    /// Page `page` (from 1) of my feed. Every list is read concurrently, then the authors'
    /// claims are checked once each.
    pub async fn feed(&self, page: usize) -> Result<Vec<FeedItem>, ClientError> {
        let me = self.me()?.username.clone();
        let (joined, follows) = tokio::try_join!(self.joined(&me), self.follows(&me))?;
        let mut lists: Vec<(Source, Key)> = Vec::new();
        for id in &joined {
            lists.push((Source::News(id.clone()), keys::community_list(id, "news")));
            lists.push((
                Source::Events(id.clone()),
                keys::community_list(id, "events"),
            ));
        }
        for user in &follows {
            lists.push((Source::Posts(user.clone()), keys::user_list(user, "posts")));
        }
        let mut reads = tokio::task::JoinSet::new();
        for (source, key) in lists {
            let dht = self.dht.clone();
            reads.spawn(async move { (source, key, dht.get_all(key).await) });
        }
        let (mut news, mut events, mut posts) = (Vec::new(), Vec::new(), Vec::new());
        while let Some(joined) = reads.join_next().await {
            let (source, key, values) =
                joined.map_err(|e| ClientError::Invalid(format!("feed read failed: {e}")))?;
            for value in values? {
                match &source {
                    Source::News(id) => news.extend(
                        records::open::<News>(&value, &key)
                            .filter(|r| &r.body.community == id)
                            .map(|r| (r, ())),
                    ),
                    Source::Events(id) => events.extend(
                        records::open::<Event>(&value, &key)
                            .filter(|r| &r.body.community == id)
                            .map(|r| (r, ())),
                    ),
                    Source::Posts(user) => posts.extend(
                        records::open::<Post>(&value, &key)
                            .filter(|r| &r.author == user)
                            .map(|r| (r, ())),
                    ),
                }
            }
        }
        let mut items = Vec::new();
        for (r, ()) in self.verified(news).await? {
            items.push(FeedItem {
                at: r.body.at,
                author: r.author,
                kind: FeedKind::News { news: r.body },
            });
        }
        for (r, ()) in self.verified(events).await? {
            items.push(FeedItem {
                at: r.body.at,
                author: r.author,
                kind: FeedKind::Event { event: r.body },
            });
        }
        for (r, ()) in self.verified(posts).await? {
            items.push(FeedItem {
                at: r.body.at,
                author: r.author,
                kind: FeedKind::Post { post: r.body },
            });
        }
        Ok(paginate(items, page))
    }
}

/// Which list a feed read comes from.
#[derive(Debug)]
enum Source {
    News(String),
    Events(String),
    Posts(String),
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{network, user};
    use super::*;

    #[tokio::test]
    async fn feed_merges_sources_newest_first_and_pages() {
        let net = network();
        let alice = user(&net, "alice").await;
        let bob = user(&net, "bob").await;
        let carol = user(&net, "carol").await;
        alice.create_community("Expo", "").await.unwrap();
        bob.join("expo").await.unwrap();
        bob.follow("carol").await.unwrap();
        for i in 0..15 {
            carol.post_text(&format!("post {i}")).await.unwrap();
            alice.post_news("expo", &format!("news {i}")).await.unwrap();
        }
        let start = alice.now_ms() + 3_600_000;
        alice
            .create_event("expo", "Party", start, "")
            .await
            .unwrap();
        alice.post_text("not followed").await.unwrap();
        let first = bob.feed(1).await.unwrap();
        let second = bob.feed(2).await.unwrap();
        assert_eq!((first.len(), second.len()), (20, 11));
        assert!(matches!(first[0].kind, FeedKind::Event { .. }));
        assert!(first.windows(2).all(|w| w[0].at >= w[1].at));
        assert!(first.last().unwrap().at >= second[0].at);
        let all: Vec<_> = first.iter().chain(&second).collect();
        assert!(
            all.iter()
                .all(|i| i.author != "alice" || !matches!(i.kind, FeedKind::Post { .. }))
        );
        assert!(bob.feed(3).await.unwrap().is_empty());
    }
}
