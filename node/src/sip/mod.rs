//! Sans-IO SIP core: message model, bounded parser, transaction layer, registrar logic.
//!
//! (Full design notes below are filled in as the modules land.)

mod build;
mod error;
mod header;
mod message;
mod params;
mod parse;
pub mod registrar;
mod text;
pub mod transaction;

#[cfg(test)]
mod tests;
mod uri;

pub use build::{
    decrement_max_forwards, error_response, new_branch, new_tag, response_for, via_value,
};
pub use error::{ParseError, RegisterError, TransactionError};
pub use header::{CSeq, Contact, HeaderName, MAGIC_COOKIE, NameAddr, Via, name};
pub use message::{Header, Headers, Message, Method, Request, Response};
pub use params::Params;
pub use parse::{Frame, Limits, frame_stream, parse_message, parse_message_with};
pub use uri::{SipUri, Uri};
