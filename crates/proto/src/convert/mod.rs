//! Conversions between generated messages and rill-types newtypes, one file per type.
//!
//! Direction and fallibility follow the types: domain → wire is infallible (`From`);
//! wire → domain is `From` where every wire value is a valid domain value and `TryFrom`
//! where it is not (a topic id must be 16 bytes).

mod broker_id;
mod leader_epoch;
mod metadata_offset;
mod node_id;
mod offset;
mod partition_epoch;
mod partition_index;
mod producer_id;
mod topic_id;

use crate::ConvertError;

/// Unwraps a message-typed field that must be present, naming it when it is not.
///
/// ```
/// use rill_proto::{required, ConvertError};
/// assert_eq!(required(Some(3), "x"), Ok(3));
/// assert_eq!(required::<u8>(None, "broker_id"), Err(ConvertError::MissingField("broker_id")));
/// ```
pub fn required<T>(field: Option<T>, name: &'static str) -> Result<T, ConvertError> {
    field.ok_or(ConvertError::MissingField(name))
}

/// Declares the two infallible conversions between a rill-types integer newtype and its
/// one-field message: `$domain` ↔ `$wire { $field }`.
macro_rules! int_message_conversions {
    ($domain:ty, $wire:ty, $field:ident) => {
        impl From<$domain> for $wire {
            fn from(value: $domain) -> Self {
                Self {
                    $field: value.get(),
                }
            }
        }

        impl From<$wire> for $domain {
            fn from(value: $wire) -> Self {
                <$domain>::new(value.$field)
            }
        }
    };
}
pub(crate) use int_message_conversions;
