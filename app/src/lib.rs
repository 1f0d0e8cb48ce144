//! What's UP: the client library and desktop app (built in later issues).
