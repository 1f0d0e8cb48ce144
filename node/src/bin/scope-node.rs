//! `scope-node`: the headless SCOPE super-node daemon.
fn main() {}
