//! `rill_types::LeaderEpoch` ↔ `common::LeaderEpoch`.

use crate::common;

super::int_message_conversions!(rill_types::LeaderEpoch, common::LeaderEpoch, epoch);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::common;

    proptest! {
        #[test]
        fn round_trip(raw in any::<i32>()) {
            let domain = rill_types::LeaderEpoch::new(raw);
            let wire = common::LeaderEpoch::from(domain);
            prop_assert_eq!(wire.epoch, raw);
            prop_assert_eq!(rill_types::LeaderEpoch::from(wire), domain);
        }
    }
}
