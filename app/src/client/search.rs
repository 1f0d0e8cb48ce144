//! Keyword indexes, maintained on put, and search over them.
//!
//! An entry under `kw:<index>:<word>` says "`target` matches `word`"; it is signed by the
//! author of what it points to, so only Alice can list Alice under `kw:interest:rust`. An entry
//! carries the version (the write time) of what it indexes, so the same entry always seals to
//! the same bytes (re-putting it only extends its TTL, and its owner can recompute its hash to
//! remove it), while a later version is a new value that the tombstone of a removed earlier
//! one cannot hide (a company changed and changed back is found again).
//!
//! A popular word's key holds one entry per user who wrote it, so reading all of it would cost
//! operations in proportion to the number of users. A search therefore reads at most
//! [`SCAN_PAGES`] pages per word (in the order the entries were stored) and returns at most
//! [`MAX_HITS`] hits, checking their authors' claims concurrently: its cost is bounded by
//! those constants, whatever the number of users.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::records::{self, Opened, Record};
use super::text::keywords;
use super::{Client, ClientError, dht, keys};

/// Most hits a search returns, so its cost is bounded by the page, not by the number of users.
pub const MAX_HITS: usize = 20;
/// Most `get` pages read per query word (a page holds about 1 KB, 5-7 entries).
pub const SCAN_PAGES: usize = 8;

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
    /// Version of what is indexed (its write time, Unix ms).
    pub version: u64,
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
pub fn entries(
    index: Index,
    text: &str,
    target: &str,
    label: &str,
    version: u64,
) -> Vec<IndexEntry> {
    keywords(text)
        .into_iter()
        .map(|word| IndexEntry {
            index,
            word,
            target: target.to_owned(),
            label: label.chars().take(80).collect(),
            version,
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

    /// Sealed values (index entries) as removable writes for [`Client::put_many`].
    pub(crate) fn removable(
        &self,
        sealed: Vec<(dht::Key, Vec<u8>)>,
    ) -> Result<Vec<super::Write>, ClientError> {
        let me = self.me()?;
        Ok(sealed
            .into_iter()
            .map(|(key, bytes)| {
                let secret_hash = dht::sha1(&me.removal_secret(&key));
                (key, bytes, Some(secret_hash))
            })
            .collect())
    }

    /// Writes sealed values (index entries) removably, concurrently.
    pub(crate) async fn put_sealed(
        &self,
        sealed: Vec<(dht::Key, Vec<u8>)>,
    ) -> Result<(), ClientError> {
        let writes = self.removable(sealed)?;
        self.put_many(writes).await
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
    /// [`MAX_HITS`]. Costs at most [`SCAN_PAGES`] `get`s per query word plus one per distinct
    /// unknown author among the hits (at most [`MAX_HITS`] for a one-word query).
    pub async fn search(&self, index: Index, query: &str) -> Result<Vec<Hit>, ClientError> {
        let words = keywords(query);
        if words.is_empty() {
            return Err(ClientError::Invalid(format!(
                "nothing to search for in {query:?}: give a word of two letters or more"
            )));
        }
        // The words' first pages, read concurrently; unverified so far.
        let mut reads = tokio::task::JoinSet::new();
        for (i, word) in words.iter().enumerate() {
            let (client, word, single) = (self.clone(), word.clone(), words.len() == 1);
            reads.spawn(async move { (i, client.word_candidates(index, &word, single).await) });
        }
        let mut per_word: Vec<Vec<Opened<IndexEntry>>> = vec![Vec::new(); words.len()];
        while let Some(joined) = reads.join_next().await {
            let (i, found) = joined.map_err(|e| ClientError::Invalid(e.to_string()))?;
            if let Some(slot) = per_word.get_mut(i) {
                *slot = found?;
            }
        }
        // Targets every word names, in the order the first word's key stored them.
        let mut wanted: Vec<String> = Vec::new();
        for e in per_word.first().into_iter().flatten() {
            let target = &e.body.target;
            let everywhere = per_word
                .iter()
                .all(|list| list.iter().any(|o| &o.body.target == target));
            if everywhere && !wanted.contains(target) && wanted.len() < MAX_HITS {
                wanted.push(target.clone());
            }
        }
        let candidates: Vec<(usize, Opened<IndexEntry>)> = per_word
            .into_iter()
            .enumerate()
            .flat_map(|(i, list)| list.into_iter().map(move |e| (i, e)))
            .filter(|(_, e)| wanted.contains(&e.body.target))
            .collect();
        let verified = self
            .verified(candidates.into_iter().map(|(i, e)| (e, i)))
            .await?;
        let mut hits: BTreeMap<String, (BTreeSet<usize>, Hit)> = BTreeMap::new();
        for (e, word) in verified {
            let slot = hits.entry(e.body.target.clone()).or_insert_with(|| {
                let hit = Hit {
                    target: e.body.target.clone(),
                    label: super::text::clean(&e.body.label),
                    author: e.author.clone(),
                };
                (BTreeSet::new(), hit)
            });
            slot.0.insert(word);
        }
        Ok(wanted
            .iter()
            .filter_map(|t| hits.remove(t))
            .filter(|(found, _)| found.len() == words.len())
            .map(|(_, hit)| hit)
            .collect())
    }

    /// Well-formed entries for `word`, signed as the user they name (claims not yet checked):
    /// at most [`SCAN_PAGES`] pages, and for a one-word query no more than [`MAX_HITS`]
    /// targets.
    async fn word_candidates(
        &self,
        index: Index,
        word: &str,
        single: bool,
    ) -> Result<Vec<Opened<IndexEntry>>, ClientError> {
        let key = keys::keyword(index.name(), word);
        let mut candidates = Vec::new();
        let mut targets = BTreeSet::new();
        let mut placemark = Vec::new();
        for _ in 0..SCAN_PAGES {
            let page = self.dht.get_page(key, placemark).await?;
            for value in page.values {
                let Some(e) = records::open::<IndexEntry>(&value, &key) else {
                    continue;
                };
                let full = single && targets.len() >= MAX_HITS && !targets.contains(&e.body.target);
                if e.body.index == index
                    && e.body.word == word
                    && index_owned_by(&e.body, &e.author)
                    && !full
                {
                    targets.insert(e.body.target.clone());
                    candidates.push(e);
                }
            }
            if page.placemark.is_empty() || (single && targets.len() >= MAX_HITS) {
                break;
            }
            placemark = page.placemark;
        }
        Ok(candidates)
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
        let e = entries(
            Index::Content,
            "Rust on P2P overlays",
            "p1",
            "Rust on P2P",
            1,
        );
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
