//! `rill_types::ProducerId` ↔ `common::ProducerId`.

use crate::common;

super::int_message_conversions!(rill_types::ProducerId, common::ProducerId, id);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::common;

    proptest! {
        #[test]
        fn round_trip(raw in any::<i64>()) {
            let domain = rill_types::ProducerId::new(raw);
            let wire = common::ProducerId::from(domain);
            prop_assert_eq!(wire.id, raw);
            prop_assert_eq!(rill_types::ProducerId::from(wire), domain);
        }
    }
}
