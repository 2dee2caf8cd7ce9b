//! Shared helpers of the black-box tests.

pub mod scenario;
