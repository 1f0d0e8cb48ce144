//! Community events: create, subscribe, list, and "starts in".

use serde::{Deserialize, Serialize};

use super::posts::{check_len, new_id};
use super::records::Record;
use super::search::{Index, entries};
use super::{Client, ClientError, keys};

/// An event in a community.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Random id.
    pub id: String,
    /// The community id.
    pub community: String,
    /// Title.
    pub title: String,
    /// Place (may be empty).
    pub place: String,
    /// Start, Unix ms.
    pub starts_at: u64,
    /// When created, Unix ms.
    pub at: u64,
}

impl Record for Event {
    const KIND: &'static str = "event";
}

/// "I will attend `event`" (kept in the event's and in my list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// The event.
    pub event: Event,
}

impl Record for Subscription {
    const KIND: &'static str = "subscription";
}

/// Parses an RFC 3339 time into Unix ms.
pub fn parse_time(text: &str) -> Result<u64, ClientError> {
    let parsed = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| ClientError::Invalid(format!("bad time {text:?} (want RFC 3339): {e}")))?;
    u64::try_from(parsed.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| ClientError::Invalid(format!("time before 1970: {text}")))
}

/// Formats Unix ms as RFC 3339 (UTC).
#[must_use]
pub fn format_time(ms: u64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// "starts in 2h 5m", "started 3m ago".
#[must_use]
pub fn starts_in(starts_at: u64, now: u64) -> String {
    let (delta, future) = if starts_at >= now {
        (starts_at - now, true)
    } else {
        (now - starts_at, false)
    };
    let minutes = delta / 60_000;
    let text = match (minutes / 1440, (minutes / 60) % 24, minutes % 60) {
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    };
    if future {
        format!("starts in {text}")
    } else {
        format!("started {text} ago")
    }
}

impl Client {
    /// Creates an event in a community I belong to.
    pub async fn create_event(
        &self,
        community: &str,
        title: &str,
        starts_at: u64,
        place: &str,
    ) -> Result<Event, ClientError> {
        check_len("title", title, 200)?;
        check_len("place", place, 200)?;
        if title.trim().is_empty() {
            return Err(ClientError::Invalid("an event needs a title".into()));
        }
        let community = self.require_member(community).await?;
        let event = Event {
            id: new_id(),
            community: community.id.clone(),
            title: title.to_owned(),
            place: place.to_owned(),
            starts_at,
            at: self.now_ms(),
        };
        let text = format!("{} {}", event.title, event.place);
        let index = self.seal_entries(&entries(
            Index::Content,
            &text,
            &event.id,
            &event.title,
            event.at,
        ))?;
        self.seal(keys::event(&event.id, None), &event)?;
        self.write(keys::event(&event.id, None), &event).await?;
        self.write(keys::community_list(&community.id, "events"), &event)
            .await?;
        self.put_sealed(index).await?;
        Ok(event)
    }

    /// The event with this id.
    pub async fn event(&self, id: &str) -> Result<(String, Event), ClientError> {
        self.read::<Event>(keys::event(id, None))
            .await?
            .into_iter()
            .find(|r| r.body.id == id)
            .map(|r| (r.author, r.body))
            .ok_or_else(|| ClientError::NotFound {
                what: "event",
                id: id.to_owned(),
            })
    }

    /// Subscribes to an event: it shows in my alerts when about to start.
    pub async fn subscribe(&self, id: &str) -> Result<Event, ClientError> {
        let (_, event) = self.event(id).await?;
        let me = self.me()?.username.clone();
        let record = Subscription { event };
        self.write(keys::event(id, Some("subscribers")), &record)
            .await?;
        self.write(keys::user_list(&me, "events"), &record).await?;
        Ok(record.event)
    }

    /// Events `user` subscribed to, soonest first.
    pub async fn subscriptions(&self, user: &str) -> Result<Vec<Event>, ClientError> {
        let mut list: Vec<Event> = self
            .read::<Subscription>(keys::user_list(user, "events"))
            .await?
            .into_iter()
            .filter(|r| r.author == user)
            .map(|r| r.body.event)
            .collect();
        list.sort_by_key(|e| e.starts_at);
        list.dedup_by(|a, b| a.id == b.id);
        Ok(list)
    }

    /// Who subscribed to an event.
    pub async fn subscribers(&self, id: &str) -> Result<Vec<String>, ClientError> {
        let mut list: Vec<String> = self
            .read::<Subscription>(keys::event(id, Some("subscribers")))
            .await?
            .into_iter()
            .filter(|r| r.body.event.id == id)
            .map(|r| r.author)
            .collect();
        list.sort();
        list.dedup();
        Ok(list)
    }

    /// A community's events, soonest first, as (author, event).
    pub async fn events(&self, community: &str) -> Result<Vec<(String, Event)>, ClientError> {
        let community = self.require_community(community).await?;
        let mut list: Vec<_> = self
            .read::<Event>(keys::community_list(&community.id, "events"))
            .await?
            .into_iter()
            .filter(|r| r.body.community == community.id)
            .map(|r| (r.author, r.body))
            .collect();
        list.sort_by_key(|(_, e)| e.starts_at);
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{network, user};
    use super::*;

    #[test]
    fn times_parse_and_read_as_starts_in() {
        let at = parse_time("2026-01-01T10:00:00Z").unwrap();
        assert_eq!(format_time(at), "2026-01-01T10:00:00Z");
        assert!(parse_time("tomorrow").is_err());
        assert_eq!(starts_in(at + 7_500_000, at), "starts in 2h 5m");
        assert_eq!(starts_in(at, at + 180_000), "started 3m ago");
        assert_eq!(starts_in(at + 90_000_000, at), "starts in 1d 1h");
    }

    #[tokio::test]
    async fn events_are_created_listed_and_subscribed() {
        let net = network();
        let alice = user(&net, "alice").await;
        let bob = user(&net, "bob").await;
        alice.create_community("Expo", "").await.unwrap();
        let now = alice.now_ms();
        let later = alice
            .create_event("expo", "Party", now + 7_200_000, "Hall B")
            .await
            .unwrap();
        let soon = alice
            .create_event("expo", "Keynote", now + 600_000, "")
            .await
            .unwrap();
        assert!(bob.create_event("expo", "x", now, "").await.is_err());
        let list = bob.events("expo").await.unwrap();
        assert_eq!(
            (list[0].1.id.as_str(), list[1].1.id.as_str()),
            (soon.id.as_str(), later.id.as_str())
        );
        bob.subscribe(&later.id).await.unwrap();
        assert_eq!(net.subscribers(&later.id).await.unwrap(), ["bob"]);
        assert_eq!(bob.subscriptions("bob").await.unwrap()[0].title, "Party");
        assert!(bob.subscribe("0000").await.is_err());
    }
}
