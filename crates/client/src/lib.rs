//! rill-client: Rust clients of rill's gRPC services.
//!
//! # Layout
//!
//! - [`ControllerClient`] talks to the controller quorum: it is given every controller's
//!   address, and sends each call to the one it believes active; when a controller answers
//!   NOT_CONTROLLER (naming the leader, or not yet knowing one), or cannot be reached, it
//!   moves on and retries, within a deadline.
//! - [`Producer`] and [`Consumer`] are the data plane: they call the brokers'
//!   `DataService` (`proto/data.proto`), following partition leaders with the metadata
//!   cache of `cluster.rs` ([`ClusterView`] is its typed snapshot).
//! - [`GroupAdmin`] administers consumer groups through the brokers' group admin
//!   service (`proto/group.proto`), sending each call to the group's coordinator.
//! - [`batch`] encodes and decodes Kafka RecordBatch v2 bytes, the records' only form on
//!   the wire.
//! - [`DataError`] is every data-plane failure. Its [`DataError::is_definitely_not_written`]
//!   is the contract tests rely on to classify a failed produce: see `error.rs`.
//!
//! # Bounds
//!
//! Every call ends by its deadline (`delivery_timeout` for a produce, `fetch_timeout` for
//! reads), each attempt by `request_timeout`; backoff doubles up to `retry_backoff_max`.
//! No call retries forever and no call blocks without a timer.

pub mod batch;
mod call;
mod cluster;
mod cluster_view;
mod config;
mod consumer;
mod error;
mod group_admin;
mod partitioner;
mod producer;
mod retry;

pub use batch::{ConsumedRecord, ProducerRecord, RecordHeader, decode_batches, encode_batch};
pub use cluster_view::{BrokerView, ClusterView, KafkaError, Leader, PartitionView, TopicView};
pub use config::{ConsumerConfig, ProducerConfig};
pub use consumer::{Consumer, FetchOutcome, OffsetSpec};
pub use error::DataError;
pub use group_admin::{
    CommittedOffset, DescribeGroupResponse, GroupAdmin, GroupMember, ListedGroup, TopicPartitions,
};
pub use partitioner::{murmur2, partition_for_key};
pub use producer::{Producer, SendOutcome};
pub use rill_proto::controller_client::{ClientError, ControllerClient};
