//! `rill_types::NodeId` ↔ `common::NodeId`.

use crate::common;

super::int_message_conversions!(rill_types::NodeId, common::NodeId, id);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::common;

    proptest! {
        #[test]
        fn round_trip(raw in any::<u64>()) {
            let domain = rill_types::NodeId::new(raw);
            let wire = common::NodeId::from(domain);
            prop_assert_eq!(wire.id, raw);
            prop_assert_eq!(rill_types::NodeId::from(wire), domain);
        }
    }
}
