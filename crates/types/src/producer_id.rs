//! [`ProducerId`]: which idempotent producer.

use serde::{Deserialize, Serialize};

/// The id of an idempotent (or transactional) producer, handed out by the controller in
/// blocks and stamped into every batch that producer writes.
///
/// Batches from producers that are not idempotent carry [`ProducerId::NONE`] (-1), as
/// on Kafka's wire: it is a value stored on disk, so it is kept as a value here too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProducerId(i64);

int_newtype_impls!(ProducerId, i64);

impl ProducerId {
    /// The producer id of a batch written without idempotence.
    pub const NONE: ProducerId = ProducerId(-1);

    /// Whether this is a real producer id (not [`ProducerId::NONE`] or another negative).
    pub fn is_some(self) -> bool {
        self.0 >= 0
    }
}
