//! [`DataError`]: why a data-plane call (produce, fetch, list offsets, metadata) failed.
//!
//! # The write contract
//!
//! A failed [`Producer::send`](crate::Producer::send) is one of two kinds, told apart by
//! [`DataError::is_definitely_not_written`]:
//!
//! - **definitely not written** (`true`): no attempt of this send can have appended the
//!   records. Every attempt either sent nothing (bad input, no leader in the metadata, no
//!   connection could be made) or was refused by the leader *before* its append, with
//!   one of the codes listed in `retry.rs` (NOT_ENOUGH_REPLICAS, CORRUPT_MESSAGE,
//!   MESSAGE_TOO_LARGE, UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE,
//!   FENCED_LEADER_EPOCH, INVALID_*, and NOT_LEADER_OR_FOLLOWER unless acks=all). A
//!   checker may treat the records as absent, forever.
//! - **outcome unknown** (`false`): some attempt may have appended them: the answer was
//!   lost (timeout, broken connection, a gRPC error after the request left), or the
//!   leader answered a code it may give after appending (NOT_ENOUGH_REPLICAS_AFTER_APPEND,
//!   REQUEST_TIMED_OUT, KAFKA_STORAGE_ERROR, UNKNOWN_SERVER_ERROR, any code rill does not
//!   know, and NOT_LEADER_OR_FOLLOWER with acks=all). The records may show up later,
//!   possibly more than once.
//!
//! The flag covers the whole send, not only its last attempt: a send whose first attempt
//! timed out and whose retry was refused with NOT_ENOUGH_REPLICAS reports that code with
//! the outcome unknown.
//!
//! NOT_LEADER_OR_FOLLOWER with acks=all is "unknown" because a leader that loses
//! leadership while waiting for its ISR answers it after appending (Kafka does, and so
//! does rill's broker); the records may survive on the new leader. With acks=1 the
//! leader answers it only before appending. The broker's side of the contract: it answers
//! the other "before append" codes only when it appended nothing.
//!
//! With acks=0 a send succeeds once the request is sent: the broker answers before
//! (and whether or not) it appends, so success means nothing about the records.
//!
//! Calls that write nothing (fetch, list offsets, metadata) always report `true`.

use std::fmt;
use std::time::Duration;

use rill_types::ErrorCode;

/// Why a produce, fetch, offset lookup or metadata call failed.
///
/// `maybe_written` fields follow the contract of the module docs: set when this or an
/// earlier attempt of the same produce may have appended the records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataError {
    /// The caller's input cannot be sent (no bootstrap address, a malformed address, no
    /// records, a negative partition, a record too large to encode). Nothing was sent.
    InvalidArgument(String),
    /// A Kafka error for the partition: answered by a broker, or read from the metadata
    /// (a topic the brokers do not know, a partition without leader).
    Broker {
        /// Kafka's numeric code, kept even when rill-types does not know it.
        code: i32,
        /// Kafka's name for the code, e.g. "NOT_ENOUGH_REPLICAS".
        name: String,
        /// What the broker (or the client's metadata) said was wrong.
        message: String,
        /// Whether the records may have been appended (see the module docs).
        maybe_written: bool,
    },
    /// No connection to the broker could be made: this attempt sent nothing.
    Unreachable {
        /// The broker's address, "host:port".
        broker: String,
        /// Why the connection failed.
        message: String,
        /// Whether an earlier attempt may have appended the records.
        maybe_written: bool,
    },
    /// The call failed after the request may have reached the broker: the connection
    /// broke, or the server answered with a gRPC status instead of an answer.
    Transport {
        /// The broker's address, "host:port".
        broker: String,
        /// The gRPC status code.
        code: tonic::Code,
        /// The status message.
        message: String,
        /// Whether the records may have been appended (true for any produce that got
        /// this far).
        maybe_written: bool,
    },
    /// No answer came within the time allowed.
    Timeout {
        /// What was waited for, e.g. "Produce to 127.0.0.1:9092".
        operation: String,
        /// How long.
        after: Duration,
        /// Whether the records may have been appended.
        maybe_written: bool,
    },
    /// A broker's answer breaks the protocol (a missing field, a partition not asked for,
    /// records at or above the high watermark).
    Protocol {
        /// What was wrong with the answer.
        message: String,
        /// Whether the records may have been appended.
        maybe_written: bool,
    },
    /// Record bytes that are not valid RecordBatch v2 (bad CRC, truncated, bad lengths).
    Corrupt(String),
    /// Valid record bytes that use what this client does not implement (compression,
    /// message format v0/v1).
    Unsupported(String),
}

impl DataError {
    /// A Kafka error for the partition with the given code.
    pub(crate) fn kafka(code: ErrorCode, message: impl Into<String>) -> DataError {
        DataError::Broker {
            code: code.code(),
            name: code.name().to_owned(),
            message: message.into(),
            maybe_written: false,
        }
    }

    /// The Kafka error code, when this is a [`DataError::Broker`] error with a code
    /// rill knows.
    pub fn kafka_code(&self) -> Option<ErrorCode> {
        match self {
            DataError::Broker { code, .. } => ErrorCode::from_code(*code),
            _ => None,
        }
    }

    /// True only when no attempt of the failed call can have appended records; false when
    /// the outcome is unknown. The module docs state the full contract.
    pub fn is_definitely_not_written(&self) -> bool {
        !self.maybe_written()
    }

    /// Whether some attempt of the failed call may have appended records.
    pub fn maybe_written(&self) -> bool {
        match self {
            DataError::Broker { maybe_written, .. }
            | DataError::Unreachable { maybe_written, .. }
            | DataError::Transport { maybe_written, .. }
            | DataError::Timeout { maybe_written, .. }
            | DataError::Protocol { maybe_written, .. } => *maybe_written,
            DataError::InvalidArgument(_) | DataError::Corrupt(_) | DataError::Unsupported(_) => {
                false
            }
        }
    }

    /// This error with `maybe_written` set when `earlier` is (an earlier attempt of the
    /// same call may have appended); the flag is never cleared.
    pub(crate) fn or_maybe_written(mut self, earlier: bool) -> DataError {
        match &mut self {
            DataError::Broker { maybe_written, .. }
            | DataError::Unreachable { maybe_written, .. }
            | DataError::Transport { maybe_written, .. }
            | DataError::Timeout { maybe_written, .. }
            | DataError::Protocol { maybe_written, .. } => *maybe_written |= earlier,
            // Raised before anything is sent, never after an attempt.
            DataError::InvalidArgument(_) | DataError::Corrupt(_) | DataError::Unsupported(_) => {}
        }
        self
    }

    /// A malformed answer.
    pub(crate) fn protocol(message: impl Into<String>, maybe_written: bool) -> DataError {
        DataError::Protocol {
            message: message.into(),
            maybe_written,
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::InvalidArgument(m) => write!(f, "invalid argument: {m}")?,
            DataError::Broker {
                code,
                name,
                message,
                ..
            } => write!(f, "{name} (Kafka error {code}): {message}")?,
            DataError::Unreachable {
                broker, message, ..
            } => write!(f, "broker {broker} unreachable: {message}")?,
            DataError::Transport {
                broker,
                code,
                message,
                ..
            } => write!(f, "call to broker {broker} failed ({code:?}): {message}")?,
            DataError::Timeout {
                operation, after, ..
            } => write!(f, "{operation}: no answer within {after:?}")?,
            DataError::Protocol { message, .. } => write!(f, "malformed answer: {message}")?,
            DataError::Corrupt(m) => write!(f, "corrupt record batch: {m}")?,
            DataError::Unsupported(m) => write!(f, "unsupported record batch: {m}")?,
        }
        if self.maybe_written() {
            write!(f, " (outcome unknown: the records may have been appended)")?;
        }
        Ok(())
    }
}

impl std::error::Error for DataError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_code_keeps_the_brokers_code() {
        let err = DataError::kafka(ErrorCode::NotEnoughReplicas, "isr 1 < 2");
        assert_eq!(err.kafka_code(), Some(ErrorCode::NotEnoughReplicas));
        assert!(
            err.to_string()
                .contains("NOT_ENOUGH_REPLICAS (Kafka error 19)")
        );
        let unknown = DataError::Broker {
            code: 9999,
            name: "FUTURE".into(),
            message: String::new(),
            maybe_written: true,
        };
        assert_eq!(unknown.kafka_code(), None);
    }

    #[test]
    fn maybe_written_is_sticky_across_attempts() {
        let refused = DataError::kafka(ErrorCode::NotLeaderOrFollower, "moved");
        assert!(refused.is_definitely_not_written());
        let after_unknown = refused.clone().or_maybe_written(true);
        assert!(!after_unknown.is_definitely_not_written());
        assert_eq!(
            after_unknown.kafka_code(),
            Some(ErrorCode::NotLeaderOrFollower)
        );
        assert!(after_unknown.to_string().contains("outcome unknown"));
        // Never cleared by a later refusal.
        assert!(after_unknown.or_maybe_written(false).maybe_written());
    }
}
