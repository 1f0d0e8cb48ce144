//! The key scheme: every DHT key is SHA-1 of a typed name.
//!
//! Each name says what set of values lives there. A user action touches a fixed number of
//! these keys (plus one per keyword of what it writes), never one per other user.
//!
//! | name | values |
//! |---|---|
//! | `user:<name>` | username claims; the first valid one binds the name to a key |
//! | `user:<name>/profile` | signed profiles; the newest wins |
//! | `user:<name>/posts` | the user's posts (full records) |
//! | `user:<name>/follows` | whom the user follows |
//! | `user:<name>/communities` | the user's memberships (removable: leave removes; each join is a new record, so a re-join is not hidden by the tombstone of the last leave) |
//! | `user:<name>/events` | events the user subscribed to |
//! | `user:<name>/inbox` | end-to-end encrypted messages to the user |
//! | `user:<name>/activity` | comments on the user's posts (for alerts) |
//! | `user:<name>/presence` | presence records; the newest wins |
//! | `post:<id>` / `post:<id>/comments` | one post / its comments |
//! | `community:<id>` | community creations; the first valid one wins |
//! | `community:<id>/members`, `/news`, `/events`, `/polls` | what the name says |
//! | `CommunityList` | one entry per community (grows with communities, not users) |
//! | `event:<id>`, `event:<id>/subscribers` | one event / its subscriptions |
//! | `poll:<id>`, `poll:<id>/votes` | one poll / its votes |
//! | `kw:<index>:<word>` | keyword index entries; index = people, interest, company, name, content, community; a search reads a bounded prefix (see [`super::search`]) |
//! | `ServiceList`, `<service id>` | the global service list and each service's providers (DESIGN §4) |

use super::dht::{Key, sha1};

fn named(name: &str) -> Key {
    sha1(name.as_bytes())
}

/// `user:<name>`: username claims.
#[must_use]
pub fn user(name: &str) -> Key {
    named(&format!("user:{name}"))
}

/// `user:<name>/<list>`: one of a user's lists (profile, posts, follows, inbox, …).
#[must_use]
pub fn user_list(name: &str, list: &str) -> Key {
    named(&format!("user:{name}/{list}"))
}

/// `post:<id>`: one post, so a post id alone finds it.
#[must_use]
pub fn post(id: &str) -> Key {
    named(&format!("post:{id}"))
}

/// `post:<id>/comments`.
#[must_use]
pub fn comments(post_id: &str) -> Key {
    named(&format!("post:{post_id}/comments"))
}

/// `community:<id>`: creation records.
#[must_use]
pub fn community(id: &str) -> Key {
    named(&format!("community:{id}"))
}

/// `community:<id>/<list>`: members, news, events, polls.
#[must_use]
pub fn community_list(id: &str, list: &str) -> Key {
    named(&format!("community:{id}/{list}"))
}

/// `CommunityList`: every community, one entry each.
#[must_use]
pub fn all_communities() -> Key {
    named("CommunityList")
}

/// `event:<id>` or `event:<id>/subscribers` (with `list`).
#[must_use]
pub fn event(id: &str, list: Option<&str>) -> Key {
    match list {
        Some(list) => named(&format!("event:{id}/{list}")),
        None => named(&format!("event:{id}")),
    }
}

/// `poll:<id>` or `poll:<id>/votes` (with `list`).
#[must_use]
pub fn poll(id: &str, list: Option<&str>) -> Key {
    match list {
        Some(list) => named(&format!("poll:{id}/{list}")),
        None => named(&format!("poll:{id}")),
    }
}

/// `kw:<index>:<word>`: a keyword index.
#[must_use]
pub fn keyword(index: &str, word: &str) -> Key {
    named(&format!("kw:{index}:{word}"))
}

/// SHA-1("ServiceList"): the global service list (DESIGN §4).
#[must_use]
pub fn service_list() -> Key {
    named("ServiceList")
}

/// SHA-1(<service id>): a service's providers (DESIGN §4).
#[must_use]
pub fn service(id: &str) -> Key {
    named(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sha1_of_typed_names() {
        assert_eq!(user("alice"), sha1(b"user:alice"));
        assert_eq!(user_list("alice", "posts"), sha1(b"user:alice/posts"));
        assert_eq!(keyword("interest", "rust"), sha1(b"kw:interest:rust"));
        assert_ne!(user("alice"), user("bob"));
        assert_eq!(service_list(), sha1(b"ServiceList"));
    }
}
