//! Parser tests: typical messages, RFC 4475 torture messages, stream framing, fuzzing.

mod framing;
mod fuzz;
mod messages;
mod torture;
