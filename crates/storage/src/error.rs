//! The one error type of rill-storage. Every variant that concerns data on disk names
//! the file and the offset (or position), so an operator can find the bad bytes.

use std::path::PathBuf;

use rill_types::{Offset, ProducerId};

/// Everything that can go wrong in the storage crate.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// An I/O call failed. `context` says what was being done.
    #[error("{context} ({path}): {source}")]
    Io {
        /// What was being done, e.g. "append to segment".
        context: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The log has failed (an fsync or write failed earlier) and refuses all work: after a
    /// failed fsync the page cache may have dropped dirty pages, so nothing written since
    /// the last good flush can be trusted. Reopen the log to recover from disk.
    #[error("log {dir} has failed and refuses all work: {reason}")]
    LogFailed {
        /// The log's directory.
        dir: PathBuf,
        /// The first error that failed it.
        reason: String,
    },

    /// A batch handed to append is malformed (bad magic, length, CRC, counts).
    #[error("invalid record batch at byte {position} of the request: {reason}")]
    InvalidBatch {
        /// Where in the appended buffer the bad batch starts.
        position: usize,
        /// What is wrong with it.
        reason: String,
    },

    /// A batch is larger than `max.message.bytes`.
    #[error("record batch of {size} bytes is larger than max.message.bytes = {max}")]
    BatchTooLarge {
        /// The batch's size in bytes.
        size: usize,
        /// The configured limit.
        max: usize,
    },

    /// A follower append whose first offset is below the log end (it would give an offset
    /// a second value).
    #[error("batch base offset {base} is below the log end offset {log_end}")]
    NonMonotonicOffset {
        /// The batch's base offset.
        base: Offset,
        /// The log end offset.
        log_end: Offset,
    },

    /// An idempotent producer's batch does not follow its previous one: a sequence gap,
    /// a new producer epoch not starting at sequence 0, or a request mixing retried and
    /// new batches. Nothing of the request is appended (Kafka's
    /// OUT_OF_ORDER_SEQUENCE_NUMBER).
    #[error("out-of-order sequence from producer {producer_id} (epoch {epoch}): {reason}")]
    OutOfOrderSequence {
        /// The producer.
        producer_id: ProducerId,
        /// The batch's producer epoch.
        epoch: i16,
        /// What was expected.
        reason: String,
    },

    /// An idempotent producer's batch carries an epoch older than the producer's current
    /// one: a newer instance fenced it. Nothing of the request is appended (Kafka's
    /// INVALID_PRODUCER_EPOCH).
    #[error("producer {producer_id} epoch {epoch} is older than its current epoch {current}")]
    InvalidProducerEpoch {
        /// The producer.
        producer_id: ProducerId,
        /// The batch's producer epoch.
        epoch: i16,
        /// The epoch the partition knows.
        current: i16,
    },

    /// A read below the log start offset or above the log end offset.
    #[error("offset {offset} is out of range [{log_start}, {log_end}]")]
    OffsetOutOfRange {
        /// The requested offset.
        offset: Offset,
        /// The log start offset.
        log_start: Offset,
        /// The log end offset.
        log_end: Offset,
    },

    /// A stored batch failed its length or CRC check where the log trusted it to be whole
    /// (below the recovery point, or in a sealed segment). Never served, never dropped.
    #[error("corrupt batch in {file} at position {position} (offset {offset:?}): {reason}")]
    CorruptBatch {
        /// The segment file.
        file: PathBuf,
        /// The byte position of the batch in the file.
        position: u64,
        /// The batch's base offset, if its header could be read.
        offset: Option<Offset>,
        /// What is wrong.
        reason: String,
    },

    /// A checkpoint file exists but cannot be parsed.
    #[error("corrupt checkpoint file {file}: {reason}")]
    CorruptCheckpoint {
        /// The checkpoint file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// A configuration value is missing its bounds or has the wrong type.
    #[error("invalid config {key}={value:?}: {reason}")]
    InvalidConfig {
        /// The config key, e.g. `segment.bytes`.
        key: String,
        /// The value given.
        value: String,
        /// Why it is refused.
        reason: String,
    },

    /// A truncation below the log start offset or a delete-records above the high bound.
    #[error("invalid {operation} to offset {offset}: {reason}")]
    InvalidOffset {
        /// "truncate" or "delete-records".
        operation: &'static str,
        /// The offset asked for.
        offset: Offset,
        /// Why it is refused.
        reason: String,
    },

    /// Record-level decoding or encoding (compaction, timestamp lookup) failed.
    #[error("record codec error in {file} at offset {offset}: {reason}")]
    Codec {
        /// The segment file.
        file: PathBuf,
        /// The batch's base offset.
        offset: Offset,
        /// The codec's message.
        reason: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Adds file context to an `io::Result`.
pub(crate) trait IoContext<T> {
    /// Maps an I/O error to [`StorageError::Io`] naming `path` and what was being done.
    fn io_context(self, context: &'static str, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn io_context(self, context: &'static str, path: &std::path::Path) -> Result<T> {
        self.map_err(|source| StorageError::Io {
            context,
            path: path.to_owned(),
            source,
        })
    }
}
