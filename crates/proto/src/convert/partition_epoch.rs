//! `rill_types::PartitionEpoch` ↔ `common::PartitionEpoch`.

use crate::common;

super::int_message_conversions!(rill_types::PartitionEpoch, common::PartitionEpoch, epoch);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::common;

    proptest! {
        #[test]
        fn round_trip(raw in any::<i32>()) {
            let domain = rill_types::PartitionEpoch::new(raw);
            let wire = common::PartitionEpoch::from(domain);
            prop_assert_eq!(wire.epoch, raw);
            prop_assert_eq!(rill_types::PartitionEpoch::from(wire), domain);
        }
    }
}
