//! Thin additions the screens need that the client library does not offer as one call: a
//! community's polls, people as cards (profile + presence), contacts, and grouped search.
//! Each is a composition of the library's own calls; nothing here touches the DHT directly
//! except [`polls_of`], which reads the list `create_poll` already writes.

use crate::client::communities::Community;
use crate::client::events::Event;
use crate::client::polls::{Poll, Results};
use crate::client::presence::Presence;
use crate::client::profile::Profile;
use crate::client::search::{Hit, Index};
use crate::client::services::Service;
use crate::client::{Client, ClientError, keys};

/// A person as shown on a card.
#[derive(Debug, Clone)]
pub struct Person {
    /// Their v-card (a bare one if they never filled it).
    pub profile: Profile,
    /// Their presence.
    pub presence: Presence,
}

/// The polls of community `id` with their results.
pub async fn polls_of(client: &Client, id: &str) -> Result<Vec<Results>, ClientError> {
    let polls = client
        .read::<Poll>(keys::community_list(id, "polls"))
        .await?;
    let mut results = Vec::new();
    for poll in polls.into_iter().filter(|p| p.body.community == id) {
        results.push(client.results(&poll.body.id).await?);
    }
    results.sort_by_key(|r| std::cmp::Reverse(r.poll.at));
    Ok(results)
}

/// `name`'s card.
pub async fn person(client: &Client, name: &str) -> Result<Person, ClientError> {
    let profile = client.profile(name).await?.unwrap_or_else(|| Profile {
        username: name.to_owned(),
        ..Profile::default()
    });
    let presence = client.presence(name).await?;
    Ok(Person { profile, presence })
}

/// People matching `query` in `index`, as cards.
pub async fn find_people(
    client: &Client,
    index: Index,
    query: &str,
) -> Result<Vec<Person>, ClientError> {
    let hits = client.search(index, query).await?;
    let mut people = Vec::new();
    for hit in hits {
        people.push(person(client, &hit.target).await?);
    }
    Ok(people)
}

/// The people I follow and everyone who wrote to me, with presence, sorted by name.
pub async fn contacts(client: &Client) -> Result<Vec<(String, Presence)>, ClientError> {
    let me = client.me()?.username.clone();
    let mut names = client.follows(&me).await?;
    for message in client.inbox().await? {
        if !names.contains(&message.from) {
            names.push(message.from);
        }
    }
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        let presence = client.presence(&name).await?;
        out.push((name, presence));
    }
    Ok(out)
}

/// Everything one search box finds, grouped.
#[derive(Debug, Clone, Default)]
pub struct Grouped {
    /// People.
    pub people: Vec<Hit>,
    /// Posts, news and events.
    pub content: Vec<Hit>,
    /// Communities.
    pub communities: Vec<Hit>,
    /// Services.
    pub services: Vec<Service>,
}

/// Searches every index for `query`.
pub async fn search_all(client: &Client, query: &str) -> Result<Grouped, ClientError> {
    Ok(Grouped {
        people: client.search(Index::People, query).await?,
        content: client.search(Index::Content, query).await?,
        communities: client.search(Index::Community, query).await?,
        services: client.search_services(query).await?,
    })
}

/// A community's page: the community, its members, news, events and polls.
#[derive(Debug, Clone)]
pub struct CommunityPage {
    /// The community.
    pub community: Community,
    /// Who created it.
    pub creator: String,
    /// Its members.
    pub members: Vec<String>,
    /// News, newest first, with authors.
    pub news: Vec<(String, crate::client::communities::News)>,
    /// Events, soonest first.
    pub events: Vec<Event>,
    /// Polls with results.
    pub polls: Vec<Results>,
}

/// Loads a community's page.
pub async fn community_page(client: &Client, name: &str) -> Result<CommunityPage, ClientError> {
    let info = client.community_info(name).await?;
    let id = info.community.id.clone();
    let mut news = client.news(&id).await?;
    news.sort_by_key(|(_, n)| std::cmp::Reverse(n.at));
    let mut events: Vec<Event> = client
        .events(&id)
        .await?
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    events.sort_by_key(|e| e.starts_at);
    let polls = polls_of(client, &id).await?;
    Ok(CommunityPage {
        community: info.community,
        creator: info.creator,
        members: info.members,
        news,
        events,
        polls,
    })
}
