//! Shared harness for the end-to-end tests: starting and stopping real daemons.
