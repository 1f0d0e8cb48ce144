//! A bounded token stream over quick-xml events.
//!
//! The grammar in `parse.rs` only needs three kinds of token: an opening tag, a closing tag and a
//! run of character data. This layer turns quick-xml's events into those, and is the one place
//! where the security limits are enforced: DTDs are refused, entity references are resolved only
//! for the five predefined entities and character references, and every opening tag is counted
//! against the depth and element limits *before* the grammar recurses into it.

use std::collections::VecDeque;

use quick_xml::Reader;
use quick_xml::events::{BytesDecl, BytesRef, Event};

use super::ParseError;

/// Structural limits for one XML-RPC document.
///
/// The body size is bounded by the caller before parsing; these bound what a body of that size can
/// still do (deep recursion, millions of tiny elements).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlLimits {
    /// Maximum element nesting depth, counting the root as 1. A `get_details` response needs 13,
    /// a `system.multicall` of them about 16.
    pub max_depth: usize,
    /// Maximum number of elements in the whole document.
    pub max_elements: usize,
}

impl Default for XmlLimits {
    /// Depth 32 (deep enough for every method, shallow enough that recursion is harmless) and
    /// 262,144 elements (a full multicall of gets, with room to spare).
    fn default() -> Self {
        XmlLimits {
            max_depth: 32,
            max_elements: 262_144,
        }
    }
}

/// One token of the simplified stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// `<name ...>` (attributes ignored; empty elements arrive as `Open` + `Close`).
    Open(String),
    /// `</name>`.
    Close(String),
    /// Character data, with references resolved and adjacent runs joined.
    Text(String),
    /// End of input.
    Eof,
}

/// The token stream: quick-xml reader plus limits and one token of look-ahead.
pub(crate) struct Tokens<'a> {
    reader: Reader<&'a [u8]>,
    /// Tokens already read (past the end of a text run, or the close of an empty element),
    /// returned before reading on.
    stashed: VecDeque<Tok>,
    depth: usize,
    elements: usize,
    limits: XmlLimits,
}

impl<'a> Tokens<'a> {
    /// A stream over `xml`, which the caller has already checked is UTF-8.
    pub(crate) fn new(xml: &'a str, limits: XmlLimits) -> Tokens<'a> {
        let mut reader = Reader::from_str(xml);
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.trim_text(false);
        Tokens {
            reader,
            stashed: VecDeque::new(),
            depth: 0,
            elements: 0,
            limits,
        }
    }

    /// The next token, joining consecutive pieces of character data into one `Text`.
    pub(crate) fn next(&mut self) -> Result<Tok, ParseError> {
        let first = match self.stashed.pop_front() {
            Some(tok) => tok,
            None => self.read_raw()?,
        };
        let Tok::Text(mut text) = first else {
            return Ok(first);
        };
        loop {
            match self.read_raw()? {
                Tok::Text(more) => text.push_str(&more),
                other => {
                    self.stashed.push_front(other);
                    return Ok(Tok::Text(text));
                }
            }
        }
    }

    /// Reads events until one maps to a token (comments, PIs and the declaration are skipped).
    fn read_raw(&mut self) -> Result<Tok, ParseError> {
        loop {
            let event = self
                .reader
                .read_event()
                .map_err(|e| ParseError::Malformed(e.to_string()))?;
            let tok = match event {
                Event::Start(start) => self.open(start.name().as_ref())?,
                Event::Empty(start) => {
                    // Not produced with `expand_empty_elements`; handled for robustness.
                    let name = start.name();
                    self.stashed.push_back(Tok::Close(name.as_ref().to_owned()));
                    self.open(name.as_ref())?
                }
                Event::End(end) => {
                    self.depth = self.depth.saturating_sub(1);
                    Tok::Close(end.name().as_ref().to_owned())
                }
                Event::Text(text) => Tok::Text(text.xml10_content().into_owned()),
                Event::CData(data) => Tok::Text(data.xml10_content().into_owned()),
                Event::GeneralRef(reference) => Tok::Text(resolve_reference(&reference)?),
                Event::Decl(decl) => {
                    check_encoding(&decl)?;
                    continue;
                }
                Event::DocType(_) => return Err(ParseError::Doctype),
                Event::Comment(_) | Event::PI(_) => continue,
                Event::Eof => Tok::Eof,
            };
            return Ok(tok);
        }
    }

    /// Counts an opening tag against the limits.
    fn open(&mut self, name: &str) -> Result<Tok, ParseError> {
        self.depth += 1;
        self.elements += 1;
        if self.depth > self.limits.max_depth {
            return Err(ParseError::TooDeep(self.limits.max_depth));
        }
        if self.elements > self.limits.max_elements {
            return Err(ParseError::TooManyElements(self.limits.max_elements));
        }
        Ok(Tok::Open(name.to_owned()))
    }
}

/// Resolves `&...;`: character references and the five predefined entities only. Anything else
/// would need a DTD, which is refused, so it is an error.
fn resolve_reference(reference: &BytesRef<'_>) -> Result<String, ParseError> {
    let name: &str = reference;
    if reference.is_char_ref() {
        return match reference.resolve_char_ref() {
            Ok(Some(ch)) => Ok(ch.to_string()),
            _ => Err(ParseError::Malformed(format!(
                "invalid character reference &{name};"
            ))),
        };
    }
    let ch = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => return Err(ParseError::UnknownEntity(name.chars().take(64).collect())),
    };
    Ok(ch.to_string())
}

/// Accepts a missing encoding, UTF-8 and ASCII (a subset of UTF-8); the body was already checked
/// to be UTF-8, so declaring anything else would make the text mean something different.
fn check_encoding(decl: &BytesDecl<'_>) -> Result<(), ParseError> {
    let Some(encoding) = decl.encoding() else {
        return Ok(());
    };
    let encoding = encoding.map_err(|e| ParseError::Malformed(e.to_string()))?;
    let name = encoding.to_ascii_lowercase();
    match name.as_str() {
        "utf-8" | "utf8" | "us-ascii" | "ascii" => Ok(()),
        _ => Err(ParseError::UnsupportedEncoding(
            name.chars().take(64).collect(),
        )),
    }
}
