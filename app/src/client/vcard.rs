//! vCard 4.0 (RFC 6350) export and import of profiles, so contacts move into any address book.
//!
//! Export writes FN, N, NICKNAME (the username), ORG, TITLE, EMAIL, TEL, NOTE, CATEGORIES
//! (interests) and, for a photo, a `PHOTO` URI naming the blob. Text is escaped (§3.4) and
//! lines folded at 75 octets (§3.2). Import unfolds, unescapes, ignores parameters and unknown
//! properties, and fills a [`ProfileUpdate`].

use super::profile::{Profile, ProfileUpdate};

/// Why a vCard could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VcardError {
    /// No `BEGIN:VCARD` … `END:VCARD`.
    #[error("not a vCard: missing BEGIN:VCARD/END:VCARD")]
    NotVcard,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets without splitting a UTF-8 character.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
    out
}

/// The vCard 4.0 text of `profile`.
#[must_use]
pub fn export(profile: &Profile) -> String {
    let mut lines = vec!["BEGIN:VCARD".to_owned(), "VERSION:4.0".to_owned()];
    let full_name = if profile.full_name.is_empty() {
        &profile.username
    } else {
        &profile.full_name
    };
    lines.push(format!("FN:{}", escape(full_name)));
    let (given, family) = split_name(&profile.full_name);
    lines.push(format!("N:{};{};;;", escape(&family), escape(&given)));
    lines.push(format!("NICKNAME:{}", escape(&profile.username)));
    let optional = [
        ("ORG", &profile.company),
        ("TITLE", &profile.title),
        ("EMAIL", &profile.email),
        ("TEL", &profile.phone),
        ("NOTE", &profile.about),
    ];
    for (name, value) in optional.iter().filter(|(_, v)| !v.is_empty()) {
        lines.push(format!("{name}:{}", escape(value)));
    }
    if !profile.interests.is_empty() {
        let items: Vec<String> = profile.interests.iter().map(|i| escape(i)).collect();
        lines.push(format!("CATEGORIES:{}", items.join(",")));
    }
    if let Some(photo) = &profile.photo {
        lines.push(format!("PHOTO:urn:scope:blob:{}", hex::encode(photo.blob)));
    }
    lines.push("END:VCARD".to_owned());
    lines.iter().map(|l| fold(l)).collect()
}

fn split_name(full: &str) -> (String, String) {
    match full.trim().rsplit_once(' ') {
        Some((given, family)) => (given.to_owned(), family.to_owned()),
        None => (full.trim().to_owned(), String::new()),
    }
}

/// Splits a value on unescaped `sep` and unescapes each part.
fn unescape_list(value: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        let last = parts.last_mut();
        match (c, last) {
            ('\\', Some(part)) => match chars.next() {
                Some('n' | 'N') => part.push('\n'),
                Some(other) => part.push(other),
                None => {}
            },
            (c, _) if c == sep => parts.push(String::new()),
            (c, Some(part)) => part.push(c),
            (_, None) => {}
        }
    }
    parts
}

fn unescape(value: &str) -> String {
    unescape_list(value, '\u{0}').concat()
}

/// Reads the first vCard in `text` into profile changes.
pub fn import(text: &str) -> Result<ProfileUpdate, VcardError> {
    let unfolded = text
        .replace("\r\n ", "")
        .replace("\r\n\t", "")
        .replace("\n ", "")
        .replace("\n\t", "");
    let lines: Vec<&str> = unfolded.lines().map(str::trim_end).collect();
    let begin = lines
        .iter()
        .position(|l| l.eq_ignore_ascii_case("BEGIN:VCARD"));
    let end = lines
        .iter()
        .position(|l| l.eq_ignore_ascii_case("END:VCARD"));
    let (Some(begin), Some(end)) = (begin, end) else {
        return Err(VcardError::NotVcard);
    };
    let mut update = ProfileUpdate::default();
    for line in lines.get(begin + 1..end).unwrap_or_default() {
        let Some((head, value)) = line.split_once(':') else {
            continue;
        };
        let name = head.split(';').next().unwrap_or_default();
        let name = name
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        apply_property(&mut update, &name, value);
    }
    Ok(update)
}

fn apply_property(update: &mut ProfileUpdate, name: &str, value: &str) {
    let text = || Some(unescape(value));
    match name {
        "FN" => update.full_name = text(),
        "ORG" => update.company = unescape_list(value, ';').into_iter().next(),
        "TITLE" => update.title = text(),
        "EMAIL" if update.email.is_none() => update.email = text(),
        "TEL" if update.phone.is_none() => {
            update.phone = text().map(|t| t.trim_start_matches("tel:").to_owned());
        }
        "NOTE" => update.about = text(),
        "CATEGORIES" => update.interests = Some(unescape_list(value, ',')),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_survives_export_and_import() {
        let profile = Profile {
            username: "alice".into(),
            full_name: "Alice Liddell-Ümlaut".into(),
            company: "Acme; Widgets, Inc.".into(),
            title: "Engineer".into(),
            interests: vec!["rust".into(), "p2p, dht".into()],
            email: "alice@example.org".into(),
            phone: "+44 1234".into(),
            about: format!("Line one\nline two \\ {}", "long ".repeat(30) + "end"),
            ..Profile::default()
        };
        let card = export(&profile);
        assert!(card.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\n"));
        assert!(card.lines().all(|l| l.len() <= 75));
        let back = import(&card).unwrap().apply(Profile {
            username: "alice".into(),
            ..Profile::default()
        });
        assert_eq!(back, profile);
        assert!(matches!(import("hello"), Err(VcardError::NotVcard)));
    }

    #[test]
    fn foreign_cards_with_parameters_import() {
        let card = "BEGIN:VCARD\nVERSION:4.0\nFN:Bob\nitem1.EMAIL;TYPE=work:bob@x.org\nTEL;VALUE=uri:tel:+1-555\nEND:VCARD\n";
        let update = import(card).unwrap();
        assert_eq!(update.full_name.as_deref(), Some("Bob"));
        assert_eq!(update.email.as_deref(), Some("bob@x.org"));
        assert_eq!(update.phone.as_deref(), Some("+1-555"));
    }
}
