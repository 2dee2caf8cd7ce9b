//! The one place internal errors become Kafka error codes on the wire. Every handler
//! answers a refusal through [`code`] or [`partition_error`], so a code is always one of
//! Kafka's (declared in `rill_types::ErrorCode`) and 0 always means success.

use rill_broker::PartitionError;
use rill_types::ErrorCode;

/// Kafka's "no error".
pub const NONE: i16 = 0;

/// The wire form of `code`.
pub fn code(code: ErrorCode) -> i16 {
    // Kafka's codes fit in i16 (the wire type); the table in rill-types holds only those.
    i16::try_from(code.code()).unwrap_or(-1)
}

/// The wire code of a partition's refusal.
pub fn partition_error(e: &PartitionError) -> i16 {
    code(e.code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_code_fits_the_wire() {
        for c in ErrorCode::ALL {
            assert_eq!(i32::from(code(*c)), c.code(), "{}", c.name());
        }
    }
}
