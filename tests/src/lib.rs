//! Helpers for the black-box tests in `tests/tests/`.
//!
//! [`architecture`] holds the workspace's dependency rules as data and a pure checker,
//! so the rules are unit-tested on made-up graphs (the checker must catch a forbidden
//! edge) and then applied to the real graph that `cargo metadata` reports.

pub mod architecture;
