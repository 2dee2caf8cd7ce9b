//! `rill_types::MetadataOffset` ↔ `common::MetadataOffset`.

use crate::common;

super::int_message_conversions!(rill_types::MetadataOffset, common::MetadataOffset, offset);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::common;

    proptest! {
        #[test]
        fn round_trip(raw in any::<u64>()) {
            let domain = rill_types::MetadataOffset::new(raw);
            let wire = common::MetadataOffset::from(domain);
            prop_assert_eq!(wire.offset, raw);
            prop_assert_eq!(rill_types::MetadataOffset::from(wire), domain);
        }
    }
}
