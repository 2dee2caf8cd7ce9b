//! [`TopicImage`]: one topic and its partitions.

use std::collections::BTreeMap;

use rill_types::{PartitionIndex, TopicId};

use crate::PartitionState;

/// A topic. Invariant: partition indexes are exactly `0..partitions.len()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicImage {
    /// The topic's name.
    pub name: String,
    /// The topic's id.
    pub id: TopicId,
    /// Its partitions.
    pub partitions: BTreeMap<PartitionIndex, PartitionState>,
}
