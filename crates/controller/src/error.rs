//! The one error type of this crate: a refused request, with the Kafka error it maps to
//! at the edge (the mapping itself lives in the gRPC/Kafka adapters).

/// Why the controller refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControllerError {
    /// Kafka's INVALID_REPLICATION_FACTOR.
    #[error("invalid replication factor: {0}")]
    InvalidReplicationFactor(String),
    /// Kafka's INVALID_PARTITIONS.
    #[error("invalid partitions: {0}")]
    InvalidPartitions(String),
}
