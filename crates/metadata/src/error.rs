//! The one error type of this crate.

/// A record could not be replayed against the image it was given.
///
/// Records in the committed log were validated by the controller before they were
/// written, so a replay error means a bug or a corrupted log: the caller stops applying
/// (never skips a record).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// A required field is missing or malformed.
    #[error("malformed {record} record: {reason}")]
    Malformed {
        /// The record kind.
        record: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The record names something the image does not have.
    #[error("{record} record names unknown {what}")]
    Unknown {
        /// The record kind.
        record: &'static str,
        /// What was not found, e.g. "topic AAAA…".
        what: String,
    },
    /// Applying the record would break an invariant.
    #[error("{record} record breaks an invariant: {reason}")]
    Invariant {
        /// The record kind.
        record: &'static str,
        /// Which invariant.
        reason: String,
    },
}
