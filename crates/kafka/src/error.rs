//! [`KafkaError`]: why a connection stopped or a request could not be answered. Refusals of
//! one partition or topic are not errors here: they become Kafka error codes in the
//! response (see [`crate::codes`]).

/// A connection-level failure.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// The peer's size prefix is negative or above `socket.request.max.bytes`.
    #[error("request size {size} is outside 0..={max} (socket.request.max.bytes)")]
    FrameSize {
        /// The size the prefix claimed.
        size: i64,
        /// The limit.
        max: usize,
    },
    /// The request could not be decoded.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The API key is not one rill serves.
    #[error("unknown or unsupported API key {0}")]
    UnknownApi(i16),
    /// The API version is outside the range rill serves for that API.
    #[error("{api} v{version} is not supported (supported: {min}..={max})")]
    UnsupportedVersion {
        /// The API's name.
        api: &'static str,
        /// The version asked for.
        version: i16,
        /// The oldest version served.
        min: i16,
        /// The newest version served.
        max: i16,
    },
    /// The response could not be encoded (a bug: a field out of its version's range).
    #[error("could not encode the response: {0}")]
    Encode(String),
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
