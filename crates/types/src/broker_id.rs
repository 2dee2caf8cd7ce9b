//! [`BrokerId`]: which broker.

use serde::{Deserialize, Serialize};

/// The id of a broker, Kafka's `broker.id` / `node.id` of a process with the broker role.
///
/// Invariant: non-negative for a real broker. Kafka's wire uses -1 for "no broker"
/// (e.g. a partition without a leader); rill code says `Option<BrokerId>` instead and
/// turns `None` into -1 only at the Kafka edge.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct BrokerId(i32);

int_newtype_impls!(BrokerId, i32);
