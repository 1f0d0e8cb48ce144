//! `scope-sim`: deterministic simulator of a SCOPE overlay.
fn main() {}
