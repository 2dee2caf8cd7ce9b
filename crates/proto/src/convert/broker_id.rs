//! `rill_types::BrokerId` ↔ `common::BrokerId`.

use crate::common;

super::int_message_conversions!(rill_types::BrokerId, common::BrokerId, id);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::common;

    proptest! {
        #[test]
        fn round_trip(raw in any::<i32>()) {
            let domain = rill_types::BrokerId::new(raw);
            let wire = common::BrokerId::from(domain);
            prop_assert_eq!(wire.id, raw);
            prop_assert_eq!(rill_types::BrokerId::from(wire), domain);
        }
    }
}
