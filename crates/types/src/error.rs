//! The one error type of this crate: a string that does not name a valid id.

/// A string could not be parsed as one of this crate's types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {input:?}: {reason}")]
pub struct ParseIdError {
    kind: &'static str,
    input: String,
    reason: String,
}

impl ParseIdError {
    pub(crate) fn new(kind: &'static str, input: &str, reason: impl Into<String>) -> Self {
        Self {
            kind,
            input: input.to_owned(),
            reason: reason.into(),
        }
    }

    /// The name of the type that was being parsed, e.g. `"BrokerId"`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }
}
