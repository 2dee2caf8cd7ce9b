//! [`NodeId`]: which member of the controller quorum.

use serde::{Deserialize, Serialize};

/// The id of a controller quorum member: the openraft node id.
///
/// `u64` because that is openraft's node id type; the number is the process's
/// configured `node.id`, so in combined mode (one process with both roles) the same
/// number is also its [`crate::BrokerId`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct NodeId(u64);

int_newtype_impls!(NodeId, u64);
