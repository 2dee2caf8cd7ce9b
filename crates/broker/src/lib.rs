//! rill-broker: a broker process's core — it follows the committed metadata log, hosts
//! partition replicas on rill-storage logs, serves produce and fetch as a partition
//! leader, and replicates from leaders as a follower (Kafka's leader/ISR protocol).
//!
//! Layout: [`leader_state`] is the pure core of a leader (follower progress, high
//! watermark, ISR decisions); [`partition`] wraps one replica's log and role;
//! [`replica_manager`] reconciles hosted replicas with the metadata image;
//! [`fetcher`] runs the follower sessions; [`metadata_follower`] and [`lifecycle`] talk
//! to the controller; [`grpc`] adapts the data and replication services; [`node`] wires
//! a broker together.

pub mod config;
pub mod data_plane;
pub mod error;
pub mod fetcher;
pub mod grpc;
pub mod leader_state;
pub mod lifecycle;
pub mod metadata_follower;
pub mod metrics;
pub mod node;
pub mod partition;
pub mod replica_manager;

pub use config::BrokerConfig;
pub use error::{BrokerError, PartitionError};
pub use node::BrokerNode;
