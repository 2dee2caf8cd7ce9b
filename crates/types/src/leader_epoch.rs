//! [`LeaderEpoch`]: which leadership term of a partition.

use serde::{Deserialize, Serialize};

/// The leader epoch of a partition: bumped by the controller every time the partition's
/// leader changes. Stamped into every batch the leader appends; followers use it to find
/// where their log diverged from the leader's (KIP-101/279).
///
/// Invariant: never decreases for a partition. Kafka's -1 ("unknown") is
/// `Option<LeaderEpoch>` in rill code.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct LeaderEpoch(i32);

int_newtype_impls!(LeaderEpoch, i32);

impl LeaderEpoch {
    /// The epoch after this one.
    ///
    /// # Panics
    /// On `i32` overflow (2^31 leader changes of one partition).
    #[must_use]
    pub fn next(self) -> LeaderEpoch {
        LeaderEpoch(self.0.checked_add(1).expect("leader epoch overflow"))
    }
}
