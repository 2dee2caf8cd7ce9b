//! Broker keys that more than one crate reads: the controller accepts them as dynamic
//! broker configs and the broker applies them as its own tunables, so each is declared
//! here, once, and both tables name the constant.

use super::{ConfigKey, ConfigType, decl};

/// `replica.lag.time.max.ms`. Kafka leaves it unbounded; 0 would drop every follower
/// from the ISR at once, and over an hour is almost certainly a unit mistake.
pub const REPLICA_LAG_TIME_MAX_MS: ConfigKey = decl(
    "replica.lag.time.max.ms",
    ConfigType::Long {
        min: 1,
        max: 3_600_000,
    },
    "30000",
    "How long, in milliseconds, a follower may go without catching up to the leader's log end before it is removed from the ISR.",
);
