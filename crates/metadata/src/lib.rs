//! rill-metadata: the cluster metadata as KRaft models it.
//!
//! State changes only by replaying records (`proto/metadata.proto`): a
//! [`MetadataDelta`] starts from an image, replays records in log order, and
//! [`MetadataDelta::apply`] yields the next immutable [`MetadataImage`]. The active
//! controller, standby controllers, snapshot loading and brokers all go through the same
//! `replay`, so they cannot disagree about what a record means.
//!
//! Pure: no tokio, no tonic, no I/O. Maps are `BTreeMap`s so that every iteration (and
//! so every snapshot and every response built from an image) has one order.

mod broker;
mod config_resource;
mod delta;
mod error;
mod image;
mod partition;
mod topic;

pub use broker::BrokerRegistration;
pub use config_resource::ConfigResource;
pub use delta::{Changes, MetadataDelta};
pub use error::ReplayError;
pub use image::MetadataImage;
pub use partition::PartitionState;
pub use rill_proto::metadata::{self as records, MetadataRecord, metadata_record::Record};
pub use topic::TopicImage;
