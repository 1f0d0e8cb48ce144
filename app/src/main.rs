//! `whatsup`: the What's UP command line and desktop app.
fn main() {}
