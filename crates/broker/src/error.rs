//! [`BrokerError`]: why a broker operation failed, and [`PartitionError`]: a per-partition
//! refusal carrying the Kafka error code every API answers with.

use rill_types::ErrorCode;

/// Broker-level failures (start-up, configuration, the controller link).
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// A configuration value was refused.
    #[error("config: {0}")]
    Config(String),
    /// The storage layer failed.
    #[error(transparent)]
    Storage(#[from] rill_storage::StorageError),
    /// The controller quorum could not be reached or refused.
    #[error("controller: {0}")]
    Controller(String),
    /// Binding or serving failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// A refusal of one partition of a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} ({}): {message}", code.name(), code.code())]
pub struct PartitionError {
    /// The Kafka error.
    pub code: ErrorCode,
    /// What was wrong.
    pub message: String,
}

impl PartitionError {
    /// A refusal with `code`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The wire form.
    pub fn to_proto(&self) -> rill_proto::common::Error {
        rill_proto::common::Error {
            code: self.code.code(),
            name: self.code.name().to_owned(),
            message: self.message.clone(),
        }
    }

    /// The Kafka error for a storage failure.
    pub fn from_storage(e: &rill_storage::StorageError) -> Self {
        use rill_storage::StorageError as S;
        let code = match e {
            S::InvalidBatch { .. } => ErrorCode::CorruptMessage,
            S::BatchTooLarge { .. } => ErrorCode::MessageTooLarge,
            S::OffsetOutOfRange { .. } => ErrorCode::OffsetOutOfRange,
            S::InvalidConfig { .. } | S::InvalidOffset { .. } => ErrorCode::InvalidRequest,
            S::OutOfOrderSequence { .. } => ErrorCode::OutOfOrderSequenceNumber,
            S::InvalidProducerEpoch { .. } => ErrorCode::InvalidProducerEpoch,
            _ => ErrorCode::KafkaStorageError,
        };
        Self::new(code, e.to_string())
    }
}
