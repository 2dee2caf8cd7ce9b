//! [`PartitionEpoch`]: which version of a partition's replica/ISR state.

use serde::{Deserialize, Serialize};

/// The partition epoch: bumped by the controller on every change to a partition's
/// replicas, ISR or leader. A leader's AlterPartition request names the epoch it is
/// based on, and the controller refuses a stale one (KIP-497's fencing).
///
/// Invariant: never decreases for a partition.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct PartitionEpoch(i32);

int_newtype_impls!(PartitionEpoch, i32);

impl PartitionEpoch {
    /// The epoch after this one.
    ///
    /// # Panics
    /// On `i32` overflow.
    #[must_use]
    pub fn next(self) -> PartitionEpoch {
        PartitionEpoch(self.0.checked_add(1).expect("partition epoch overflow"))
    }
}
