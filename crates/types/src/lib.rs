//! Newtypes shared by every rill crate.
//!
//! Identifiers, offsets and epochs are distinct types so that a broker id can never be
//! passed where a partition index is expected, and an offset never compared with an
//! epoch. The crate has no I/O and no async so that every other crate, including the
//! pure cores (`metadata`, `storage`), can use it.
//!
//! Widths follow Kafka's wire types (`int32` broker ids, partition indexes and epochs;
//! `int64` offsets and producer ids), so conversion at the Kafka edge is lossless.
//! Raft-side numbers (`NodeId`, `MetadataOffset`) follow openraft (`u64`).

#[macro_use]
mod macros;

pub mod config;

mod broker_id;
mod error;
mod error_code;
mod leader_epoch;
mod metadata_offset;
mod node_id;
mod offset;
mod partition_epoch;
mod partition_index;
mod producer_id;
mod topic_id;

pub use broker_id::BrokerId;
pub use error::ParseIdError;
pub use error_code::ErrorCode;
pub use leader_epoch::LeaderEpoch;
pub use metadata_offset::MetadataOffset;
pub use node_id::NodeId;
pub use offset::Offset;
pub use partition_epoch::PartitionEpoch;
pub use partition_index::PartitionIndex;
pub use producer_id::ProducerId;
pub use topic_id::TopicId;
