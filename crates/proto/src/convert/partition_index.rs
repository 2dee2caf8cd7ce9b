//! `rill_types::PartitionIndex` ↔ `common::PartitionIndex`.

use crate::common;

super::int_message_conversions!(rill_types::PartitionIndex, common::PartitionIndex, index);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::common;

    proptest! {
        #[test]
        fn round_trip(raw in any::<i32>()) {
            let domain = rill_types::PartitionIndex::new(raw);
            let wire = common::PartitionIndex::from(domain);
            prop_assert_eq!(wire.index, raw);
            prop_assert_eq!(rill_types::PartitionIndex::from(wire), domain);
        }
    }
}
