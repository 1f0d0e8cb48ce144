//! The library's error type: one message a person can act on for every failure.

use super::dht::DhtError;
use super::identity::IdentityError;
use super::records::SealError;

/// Why a client operation failed. Every variant is reported before anything is written, except
/// [`ClientError::Dht`], which can interrupt a multi-step write.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Loading or creating the identity failed.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The DHT failed (unreachable, over capacity, bad reply).
    #[error(transparent)]
    Dht(#[from] DhtError),
    /// A record did not fit.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The operation needs an identity and this client has none.
    #[error("no identity: run `whatsup init USERNAME` first")]
    NoIdentity,
    /// Another key claimed the username first.
    #[error("username taken: {0}")]
    UsernameTaken(String),
    /// No one claimed this username.
    #[error("unknown user: {0}")]
    UnknownUser(String),
    /// No community of that name exists.
    #[error("no such community: {0}")]
    UnknownCommunity(String),
    /// The community name is already taken.
    #[error("community already exists: {0}")]
    CommunityExists(String),
    /// A post, event, poll or comment id that names nothing.
    #[error("no such {what}: {id}")]
    NotFound {
        /// What was looked for.
        what: &'static str,
        /// The id given.
        id: String,
    },
    /// Input over a size limit.
    #[error("{what} is too large: {len} bytes (limit {limit})")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// An image that cannot be read or decoded.
    #[error("unreadable image {0}")]
    BadImage(String),
    /// A file that cannot be read or written.
    #[error("{0}")]
    File(String),
    /// Any other invalid input, with the reason.
    #[error("{0}")]
    Invalid(String),
}
