//! Scenario tests of the store.
