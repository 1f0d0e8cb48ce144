//! Keyword indexes, maintained on put, and search over them.
//!
//! An entry under `kw:<index>:<word>` says "`target` matches `word`"; it is signed by the
//! author of what it points to, so only Alice can list Alice under `kw:interest:rust`. Entries
//! carry no timestamp, so the same entry always seals to the same bytes: re-putting it only
//! extends its TTL and its owner can recompute its hash to remove it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::records::Record;
use super::text::keywords;
use super::{Client, ClientError, RECORD_TTL, dht, keys};

/// Most hits a search returns, so its cost is bounded by the page, not by the number of users.
pub const MAX_HITS: usize = 50;

/// The indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Index {
    /// Any word of a profile.
    People,
    /// Interests of a profile.
    Interest,
    /// Company of a profile.
    Company,
    /// Full name or username of a profile.
    Name,
    /// Words of posts, news and events.
    Content,
    /// Community names and descriptions.
    Community,
}

impl Index {
    /// The name used in the key `kw:<index>:<word>`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Index::People => "people",
            Index::Interest => "interest",
            Index::Company => "company",
            Index::Name => "name",
            Index::Content => "content",
            Index::Community => "community",
        }
    }
}

/// One index entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IndexEntry {
    /// Which index.
    pub index: Index,
    /// The word (lower case).
    pub word: String,
    /// What matches: a username, a post id, a community id.
    pub target: String,
    /// A short label to show without another lookup.
    pub label: String,
}

impl Record for IndexEntry {
    const KIND: &'static str = "index";
}

/// A search result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// A username, post id or community id.
    pub target: String,
    /// Short description.
    pub label: String,
    /// Who indexed it (the author of the target).
    pub author: String,
}

/// Entries for `target` in `index` for every word of `text`.
#[must_use]
pub fn entries(index: Index, text: &str, target: &str, label: &str) -> Vec<IndexEntry> {
    keywords(text)
        .into_iter()
        .map(|word| IndexEntry {
            index,
            word,
            target: target.to_owned(),
            label: label.chars().take(80).collect(),
        })
        .collect()
}

fn entry_key(entry: &IndexEntry) -> dht::Key {
    keys::keyword(entry.index.name(), &entry.word)
}

impl Client {
    /// Seals index entries, failing before any write if one does not fit.
    pub(crate) fn seal_entries(
        &self,
        entries: &[IndexEntry],
    ) -> Result<Vec<(dht::Key, Vec<u8>)>, ClientError> {
        entries
            .iter()
            .map(|e| Ok((entry_key(e), self.seal(entry_key(e), e)?)))
            .collect()
    }

    /// Writes sealed values (index entries) removably.
    pub(crate) async fn put_sealed(
        &self,
        sealed: Vec<(dht::Key, Vec<u8>)>,
    ) -> Result<(), ClientError> {
        for (key, bytes) in sealed {
            let secret = self.me()?.removal_secret(&key);
            self.dht
                .put_removable(key, bytes, dht::sha1(&secret), RECORD_TTL)
                .await?;
        }
        Ok(())
    }

    /// Replaces my entries `old` by `new`: removes those no longer wanted, puts the others.
    pub(crate) async fn reindex(
        &self,
        old: &[IndexEntry],
        new: &[IndexEntry],
    ) -> Result<(), ClientError> {
        let sealed = self.seal_entries(new)?;
        let keep: BTreeSet<&IndexEntry> = new.iter().collect();
        for stale in old.iter().filter(|e| !keep.contains(e)) {
            let key = entry_key(stale);
            let bytes = self.seal(key, stale)?;
            self.remove(key, dht::sha1(&bytes)).await?;
        }
        self.put_sealed(sealed).await
    }

    /// Targets in `index` matching every word of `query` (case-insensitive), at most
    /// [`MAX_HITS`]. Costs one `get` per query word plus one per distinct unknown author.
    pub async fn search(&self, index: Index, query: &str) -> Result<Vec<Hit>, ClientError> {
        let words = keywords(query);
        if words.is_empty() {
            return Err(ClientError::Invalid(format!(
                "nothing to search for in {query:?}: give a word of two letters or more"
            )));
        }
        let mut matches: Option<BTreeMap<String, Hit>> = None;
        for word in &words {
            let found = self.word_hits(index, word).await?;
            matches = Some(match matches {
                None => found,
                Some(so_far) => so_far
                    .into_iter()
                    .filter(|(target, _)| found.contains_key(target))
                    .collect(),
            });
        }
        Ok(matches
            .unwrap_or_default()
            .into_values()
            .take(MAX_HITS)
            .collect())
    }

    async fn word_hits(
        &self,
        index: Index,
        word: &str,
    ) -> Result<BTreeMap<String, Hit>, ClientError> {
        let key = keys::keyword(index.name(), word);
        let found = self.read::<IndexEntry>(key).await?;
        Ok(found
            .into_iter()
            .filter(|e| e.body.index == index && e.body.word == word)
            .filter(|e| index_owned_by(&e.body, &e.author))
            .map(|e| {
                let hit = Hit {
                    target: e.body.target.clone(),
                    label: super::text::clean(&e.body.label),
                    author: e.author,
                };
                (e.body.target, hit)
            })
            .collect())
    }
}

/// People entries may only point at their author: nobody can list someone else.
fn index_owned_by(entry: &IndexEntry, author: &str) -> bool {
    match entry.index {
        Index::People | Index::Interest | Index::Company | Index::Name => entry.target == author,
        Index::Content | Index::Community => true,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{network, user};
    use super::*;

    #[tokio::test]
    async fn search_matches_all_words_case_insensitively() {
        let net = network();
        let alice = user(&net, "alice").await;
        let e = entries(Index::Content, "Rust on P2P overlays", "p1", "Rust on P2P");
        alice.reindex(&[], &e).await.unwrap();
        let hits = net.search(Index::Content, "RUST overlays").await.unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].author, "alice");
        assert!(
            net.search(Index::Content, "rust java")
                .await
                .unwrap()
                .is_empty()
        );
        alice.reindex(&e, &[]).await.unwrap();
        assert!(net.search(Index::Content, "rust").await.unwrap().is_empty());
        assert!(net.search(Index::Content, "!").await.is_err());
    }
}
