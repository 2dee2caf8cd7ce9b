//! `rill_types::Offset` ↔ `common::Offset`.

use crate::common;

super::int_message_conversions!(rill_types::Offset, common::Offset, offset);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::common;

    proptest! {
        #[test]
        fn round_trip(raw in any::<i64>()) {
            let domain = rill_types::Offset::new(raw);
            let wire = common::Offset::from(domain);
            prop_assert_eq!(wire.offset, raw);
            prop_assert_eq!(rill_types::Offset::from(wire), domain);
        }
    }
}
