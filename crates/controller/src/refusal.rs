//! [`Refusal`]: a request (or one item of it) the controller turned down, with the code
//! a Kafka user knows ([`ErrorCode`], declared once in rill-types) and a message saying
//! what was wrong.

use rill_proto::common;

use crate::ControllerError;

pub use rill_types::ErrorCode;

/// A refused request or request item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} ({}): {message}", code.name(), code.code())]
pub struct Refusal {
    /// The Kafka error.
    pub code: ErrorCode,
    /// What was wrong.
    pub message: String,
}

impl Refusal {
    /// A refusal with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The wire form.
    pub fn to_proto(&self) -> common::Error {
        common::Error {
            code: self.code.code(),
            name: self.code.name().to_owned(),
            message: self.message.clone(),
        }
    }
}

impl From<ControllerError> for Refusal {
    fn from(e: ControllerError) -> Self {
        match e {
            ControllerError::InvalidReplicationFactor(m) => {
                Refusal::new(ErrorCode::InvalidReplicationFactor, m)
            }
            ControllerError::InvalidPartitions(m) => Refusal::new(ErrorCode::InvalidPartitions, m),
        }
    }
}
