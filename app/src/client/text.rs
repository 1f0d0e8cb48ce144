//! Text helpers: keyword extraction for the indexes and cleaning of untrusted strings.

use std::collections::BTreeSet;

/// Most keywords indexed for one record, so one put cannot fan out without bound.
pub const MAX_KEYWORDS: usize = 24;

/// The distinct lower-case words of `text` worth indexing (two characters or more), at most
/// [`MAX_KEYWORDS`], in order of first appearance.
#[must_use]
pub fn keywords(text: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_lowercase)
        .filter(|w| seen.insert(w.clone()))
        .take(MAX_KEYWORDS)
        .collect()
}

/// Splits a comma-separated list (`--interests a,b`) into trimmed, non-empty items.
#[must_use]
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Removes control characters from an untrusted string so it cannot mess up a terminal.
#[must_use]
pub fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_lowercase_distinct_words() {
        assert_eq!(
            keywords("Rust, rust & P2P-networks a"),
            ["rust", "p2p", "networks"]
        );
        assert_eq!(split_list(" a, ,b "), ["a", "b"]);
        assert_eq!(clean("x\u{1b}[31my"), "x[31my");
    }
}
