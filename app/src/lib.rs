//! What's UP: spontaneous peer-to-peer social networking over SCOPE.
//!
//! [`client`] is the whole social network as DHT operations, with no user interface in it;
//! the `whatsup` command line and the desktop app ([`gui`]) sit on top of it.

#![warn(missing_docs)]

pub mod client;
pub mod gui;
