//! SCOPE super-node.
//!
//! A super-node of SCOPE's spontaneous peer-to-peer social network: a Pastry-geometry overlay
//! (as Bamboo built it) that routes any 160-bit key to the live node numerically closest to it,
//! the OpenDHT-compatible storage on top of it, and a hybrid P2PSIP proxy/registrar.
//!
//! The protocol cores ([`overlay`], [`sim`]) are sans-IO state machines: events in, datagrams,
//! timers and events out, with time and randomness supplied by the caller. [`runtime`] drives them
//! on real sockets with tokio; [`sim`] drives the very same code in virtual time.

pub mod dht;
pub mod discovery;
pub mod embedded;
pub mod gateway;
pub mod http;
pub mod overlay;
pub mod runtime;
pub mod sim;
pub mod sip;
pub mod sip_runtime;
pub mod store;
pub mod supernode;
