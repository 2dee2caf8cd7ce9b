//! `rill_types::TopicId` ↔ `common::TopicId`: fallible from the wire, since the bytes
//! field may hold anything but a UUID is exactly 16 bytes.

use rill_types::TopicId;

use crate::{ConvertError, common};

impl From<TopicId> for common::TopicId {
    fn from(value: TopicId) -> Self {
        Self {
            uuid: value.as_bytes().to_vec(),
        }
    }
}

impl TryFrom<common::TopicId> for TopicId {
    type Error = ConvertError;

    fn try_from(value: common::TopicId) -> Result<Self, Self::Error> {
        let len = value.uuid.len();
        let bytes: [u8; 16] = value
            .uuid
            .try_into()
            .map_err(|_| ConvertError::InvalidField {
                field: "uuid",
                reason: format!("a topic id is 16 bytes, got {len}"),
            })?;
        Ok(TopicId::from_bytes(bytes))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rill_types::TopicId;

    use crate::{ConvertError, common};

    proptest! {
        #[test]
        fn round_trip(bytes in any::<[u8; 16]>()) {
            let id = TopicId::from_bytes(bytes);
            let wire = common::TopicId::from(id);
            prop_assert_eq!(TopicId::try_from(wire).unwrap(), id);
        }

        #[test]
        fn wrong_length_is_refused(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            prop_assume!(bytes.len() != 16);
            let err = TopicId::try_from(common::TopicId { uuid: bytes }).unwrap_err();
            let is_invalid_uuid = matches!(err, ConvertError::InvalidField { field: "uuid", .. });
            prop_assert!(is_invalid_uuid);
        }
    }
}
