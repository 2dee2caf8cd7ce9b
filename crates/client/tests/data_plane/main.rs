//! Producer, Consumer and GroupAdmin against an in-process fake cluster (`fake_broker.rs`): retries,
//! leader changes, deadlines and the write contract, without a real broker.
//!
//! Every test is bounded: client deadlines are short, and [`bounded`] fails a test that
//! runs past 20 s instead of letting it hang.

mod consumer;
mod fake_broker;
mod fake_groups;
mod group_admin;
mod producer;

use std::future::Future;
use std::time::Duration;

/// Runs `test`, failing if it takes longer than 20 s.
pub async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), test)
        .await
        .expect("test took longer than 20 s")
}
