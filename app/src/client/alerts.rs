//! Alerts: new news and events in my communities, events about to start, comments on my
//! posts and new messages, as they happen.
//!
//! [`Alerts`] follows the relevant keys with one long-poll `scope.watch` (no busy polling): my
//! inbox, my activity list and each joined community's news and events. Every value it is told
//! about is verified like any read. Events about to start are found from my subscriptions and
//! my communities' events, checked whenever a watch returns (at least every
//! [`MAX_WAIT_S`] seconds).

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::communities::News;
use super::dht::{Change, DhtError, Key, MAX_WATCH_KEYS};
use super::events::{Event, starts_in};
use super::messages::{Sealed, decrypt};
use super::posts::Comment;
use super::records::{self, Opened, Record};
use super::{Client, ClientError, keys};

/// Longest single wait, so "about to start" warnings are never late by more than this.
pub const MAX_WAIT_S: u32 = 60;
/// How long before an event's start it is announced, ms.
pub const SOON_MS: u64 = 15 * 60_000;

/// Something that just happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Alert {
    /// News in a community I belong to.
    News {
        /// Author.
        author: String,
        /// The news.
        news: News,
    },
    /// A new event in a community I belong to.
    Event {
        /// Author.
        author: String,
        /// The event.
        event: Event,
    },
    /// An event I follow starts soon.
    EventSoon {
        /// The event.
        event: Event,
        /// "starts in 10m".
        starts_in: String,
    },
    /// A comment on one of my posts.
    Comment {
        /// Author.
        author: String,
        /// The comment.
        comment: Comment,
    },
    /// A message to me.
    Message {
        /// Sender.
        from: String,
        /// The text.
        text: String,
    },
}

impl std::fmt::Display for Alert {
    /// One line for people: what happened, who did it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Alert::News { author, news } => {
                write!(f, "news in {} from {author}: {}", news.community, news.text)
            }
            Alert::Event { author, event } => write!(
                f,
                "new event {} in {} by {author}: {}",
                event.id, event.community, event.title
            ),
            Alert::EventSoon { event, starts_in } => {
                write!(f, "event {} {starts_in}: {}", event.id, event.title)
            }
            Alert::Comment { author, comment } => write!(
                f,
                "comment by {author} on post {}: {}",
                comment.post_id, comment.text
            ),
            Alert::Message { from, text } => write!(f, "message from {from}: {text}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Inbox,
    Activity,
    News,
    Events,
}

/// A subscription to my alerts; call [`Alerts::next`] in a loop.
#[derive(Debug)]
pub struct Alerts {
    client: Client,
    sources: HashMap<Key, Source>,
    cursor: String,
    upcoming: Vec<Event>,
    announced: HashSet<String>,
}

impl Alerts {
    /// Starts following my keys from `cursor` (`""` = from now; a saved cursor resumes).
    pub async fn start(client: &Client, cursor: &str) -> Result<Alerts, ClientError> {
        let me = client.me()?.username.clone();
        let mut sources = HashMap::new();
        sources.insert(keys::user_list(&me, "inbox"), Source::Inbox);
        sources.insert(keys::user_list(&me, "activity"), Source::Activity);
        let mut upcoming = client.subscriptions(&me).await?;
        for id in client.joined(&me).await? {
            if sources.len() + 2 > MAX_WATCH_KEYS {
                tracing::warn!("too many communities to watch; alerts for the rest are skipped");
                break;
            }
            sources.insert(keys::community_list(&id, "news"), Source::News);
            sources.insert(keys::community_list(&id, "events"), Source::Events);
            upcoming.extend(client.events(&id).await?.into_iter().map(|(_, e)| e));
        }
        Ok(Alerts {
            client: client.clone(),
            sources,
            cursor: cursor.to_owned(),
            upcoming,
            announced: HashSet::new(),
        })
    }

    /// The cursor to save, so a later run resumes where this one stopped.
    #[must_use]
    pub fn cursor(&self) -> &str {
        &self.cursor
    }

    /// Waits up to `timeout_s` (capped at [`MAX_WAIT_S`]) for something new; returns it.
    pub async fn next(&mut self, timeout_s: u32) -> Result<Vec<Alert>, ClientError> {
        let mut alerts = self.events_soon();
        if !alerts.is_empty() {
            return Ok(alerts);
        }
        let watched: Vec<Key> = self.sources.keys().copied().collect();
        let wait = timeout_s.min(MAX_WAIT_S);
        let result = match self.client.dht.watch(&watched, &self.cursor, wait).await {
            Err(DhtError::BadCursor) => self.client.dht.watch(&watched, "", wait).await,
            other => other,
        }?;
        self.cursor = result.cursor;
        for change in result.changes {
            if let Change::Put { key, value } = change
                && let Some(alert) = self.alert(key, &value).await?
            {
                alerts.push(alert);
            }
        }
        alerts.extend(self.events_soon());
        Ok(alerts)
    }

    fn events_soon(&mut self) -> Vec<Alert> {
        let now = self.client.now_ms();
        let mut alerts = Vec::new();
        for event in &self.upcoming {
            let soon = event.starts_at >= now && event.starts_at - now <= SOON_MS;
            if soon && self.announced.insert(event.id.clone()) {
                let starts_in = starts_in(event.starts_at, now);
                alerts.push(Alert::EventSoon {
                    event: event.clone(),
                    starts_in,
                });
            }
        }
        alerts
    }

    async fn alert(&mut self, key: Key, value: &[u8]) -> Result<Option<Alert>, ClientError> {
        let Some(source) = self.sources.get(&key).copied() else {
            return Ok(None);
        };
        Ok(match source {
            Source::News => self
                .verified::<News>(key, value)
                .await?
                .map(|r| Alert::News {
                    author: r.author,
                    news: r.body,
                }),
            Source::Events => self.verified::<Event>(key, value).await?.map(|r| {
                self.upcoming.push(r.body.clone());
                Alert::Event {
                    author: r.author,
                    event: r.body,
                }
            }),
            Source::Activity => {
                self.verified::<Comment>(key, value)
                    .await?
                    .map(|r| Alert::Comment {
                        author: r.author,
                        comment: r.body,
                    })
            }
            Source::Inbox => {
                let me = self.client.me()?.clone();
                self.verified::<Sealed>(key, value).await?.and_then(|r| {
                    let text = decrypt(&me, &r.key, &r.body)?;
                    Some(Alert::Message {
                        from: r.author,
                        text,
                    })
                })
            }
        })
    }

    async fn verified<T: Record>(
        &self,
        key: Key,
        value: &[u8],
    ) -> Result<Option<Opened<T>>, ClientError> {
        let Some(opened) = records::open::<T>(value, &key) else {
            return Ok(None);
        };
        let owner = self.client.is_owner(&opened.author, &opened.key).await?;
        Ok(owner.then_some(opened))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{network, user};
    use super::*;

    #[tokio::test]
    async fn alerts_report_news_events_comments_messages_and_soon_events() {
        let net = network();
        let alice = user(&net, "alice").await;
        let bob = user(&net, "bob").await;
        alice.create_community("Expo", "").await.unwrap();
        bob.join("expo").await.unwrap();
        let post = bob.post_text("my post").await.unwrap();
        let mut alerts = Alerts::start(&bob, "").await.unwrap();
        let writer = alice.clone();
        let id = post.id.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            writer.post_news("expo", "doors open").await.unwrap();
            let soon = writer.now_ms() + 60_000;
            writer
                .create_event("expo", "Keynote", soon, "")
                .await
                .unwrap();
            writer.comment(&id, "great").await.unwrap();
            writer.send_message("bob", "hello bob").await.unwrap();
        });
        let mut seen = Vec::new();
        while seen.len() < 5 {
            let batch = alerts.next(5).await.unwrap();
            assert!(!batch.is_empty(), "timed out with {seen:?}");
            seen.extend(batch);
        }
        let kinds: HashSet<&str> = seen
            .iter()
            .map(|a| match a {
                Alert::News { .. } => "news",
                Alert::Event { .. } => "event",
                Alert::EventSoon { .. } => "soon",
                Alert::Comment { .. } => "comment",
                Alert::Message { text, .. } if text == "hello bob" => "message",
                Alert::Message { .. } => "bad",
            })
            .collect();
        assert_eq!(
            kinds,
            HashSet::from(["news", "event", "soon", "comment", "message"])
        );
    }
}
