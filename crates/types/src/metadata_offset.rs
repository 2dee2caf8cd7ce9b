//! [`MetadataOffset`]: a position in the metadata log.

use serde::{Deserialize, Serialize};

/// The position of a record in the cluster metadata log: the openraft log index of the
/// entry that carried it. A broker's "last applied metadata offset" is one of these, and
/// it fetches records after it.
///
/// `u64` because that is openraft's log index type.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct MetadataOffset(u64);

int_newtype_impls!(MetadataOffset, u64);
