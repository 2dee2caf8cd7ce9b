//! The one error type of this crate: a message that does not convert to a domain type.

/// A protobuf message could not be converted to its rill-types counterpart.
///
/// Protobuf has no required fields and accepts any bytes, so every conversion from the
/// wire is fallible; the error names the field so that the caller can answer the peer
/// with a precise message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// A message-typed field that the receiver needs was not set.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A field was set to a value its type does not allow.
    #[error("invalid field `{field}`: {reason}")]
    InvalidField {
        /// The field's name.
        field: &'static str,
        /// Why the value is not allowed.
        reason: String,
    },
}
