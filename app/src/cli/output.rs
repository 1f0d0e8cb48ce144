//! What a command prints: the same result as text for people and as JSON for scripts.

use serde::Serialize;
use serde_json::Value;

/// A command's result.
#[derive(Debug)]
pub struct Output {
    /// Printed with `--json`.
    pub json: Value,
    /// Printed otherwise.
    pub text: String,
}

impl Output {
    /// Output from a serialisable value and its text form.
    pub fn new(value: &impl Serialize, text: impl Into<String>) -> Output {
        Output {
            json: serde_json::to_value(value).unwrap_or(Value::Null),
            text: text.into(),
        }
    }

    /// The string to print.
    #[must_use]
    pub fn render(&self, json: bool) -> String {
        if json {
            serde_json::to_string_pretty(&self.json).unwrap_or_default()
        } else {
            self.text.clone()
        }
    }
}

/// Text lines joined, or `empty` when there are none.
pub fn lines(items: impl IntoIterator<Item = String>, empty: &str) -> String {
    let text: Vec<String> = items.into_iter().collect();
    if text.is_empty() {
        empty.to_owned()
    } else {
        text.join("\n")
    }
}
