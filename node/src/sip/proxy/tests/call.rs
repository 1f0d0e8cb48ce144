//! Calls and other proxied requests.
