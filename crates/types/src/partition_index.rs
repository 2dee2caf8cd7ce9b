//! [`PartitionIndex`]: which partition of a topic.

use serde::{Deserialize, Serialize};

/// The index of a partition within its topic, `0..partition_count`.
///
/// `i32` as on Kafka's wire. Invariant: non-negative.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct PartitionIndex(i32);

int_newtype_impls!(PartitionIndex, i32);
