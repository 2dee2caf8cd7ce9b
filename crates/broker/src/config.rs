//! [`BrokerConfig`]: a broker's settings. Every tunable key is declared once in
//! [`BrokerConfig::KEYS`] (name, type with bounds, default, doc; the one the controller
//! also reads, `replica.lag.time.max.ms`, is declared in `rill_types::config::broker`
//! and named here) and set through [`BrokerConfig::set`], which refuses unknown keys and
//! out-of-bound values with a message naming the key. Every tunable is a non-negative
//! whole number.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rill_types::BrokerId;

use crate::error::BrokerError;

pub use rill_types::config::ConfigKey;
use rill_types::config::broker::REPLICA_LAG_TIME_MAX_MS;
use rill_types::config::{ConfigType, decl};

/// A non-negative whole number in `[min, max]`.
const fn range(min: i64, max: i64) -> ConfigType {
    ConfigType::Long { min, max }
}

/// A broker's settings.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// This broker's id.
    pub broker_id: BrokerId,
    /// Where partition logs live (`<topic>-<partition>/` each).
    pub data_dir: PathBuf,
    /// The host other brokers and clients connect to.
    pub advertised_host: String,
    /// The port advertised (normally the listener's).
    pub advertised_port: u16,
    /// The controller quorum ("host:port" each).
    pub controllers: Vec<String>,
    /// The broker's rack.
    pub rack: Option<String>,
    /// Addresses to use for other brokers' replication listeners instead of the ones they
    /// advertise (tests put a fault proxy there).
    pub peer_addresses: BTreeMap<BrokerId, String>,
    /// The Kafka listeners clients are told to connect to, each registered under its
    /// name (Kafka's `advertised.listeners`); empty when this broker serves no Kafka
    /// listener. Names are unique.
    pub kafka_advertised: Vec<AdvertisedListener>,
    /// Tunables by key; see [`BrokerConfig::KEYS`].
    values: BTreeMap<&'static str, u64>,
}

/// One named Kafka listener as clients are told to reach it (`NAME://HOST:PORT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvertisedListener {
    /// The listener name (`PLAINTEXT` unless named); a client connected to a listener
    /// of this name is told every broker's endpoint of the same name.
    pub name: String,
    /// The advertised host.
    pub host: String,
    /// The advertised port.
    pub port: u16,
}

impl BrokerConfig {
    /// Every tunable key.
    #[rustfmt::skip]
    pub const KEYS: &'static [ConfigKey] = &[
        REPLICA_LAG_TIME_MAX_MS,
        decl("broker.heartbeat.interval.ms", range(10, 60_000), "500",
            "How often, in milliseconds, the broker renews its lease with the controller."),
        decl("replica.fetch.wait.max.ms", range(1, 60_000), "500",
            "How long, in milliseconds, a follower's fetch may wait at the leader for new data."),
        decl("replica.fetch.max.bytes", range(1024, 1 << 30), "1048576",
            "Bytes a follower asks for per partition per fetch."),
        decl("replica.fetch.response.max.bytes", range(1024, 1 << 30), "10485760",
            "Bytes a follower asks for per fetch in all."),
        decl("controlled.shutdown.timeout.ms", range(0, 3_600_000), "30000",
            "How long, in milliseconds, a SIGTERM waits for the controller to move this broker's leaderships away."),
        decl("log.flush.scheduler.interval.ms", range(10, 3_600_000), "1000",
            "How often, in milliseconds, logs are checked against their flush.ms policy and checkpointed."),
    ];

    /// A config with every tunable at its default.
    pub fn new(
        broker_id: BrokerId,
        data_dir: PathBuf,
        advertised_host: String,
        advertised_port: u16,
        controllers: Vec<String>,
    ) -> Self {
        Self {
            broker_id,
            data_dir,
            advertised_host,
            advertised_port,
            controllers,
            rack: None,
            peer_addresses: BTreeMap::new(),
            kafka_advertised: Vec::new(),
            values: Self::KEYS
                .iter()
                .map(|k| (k.name, k.default.parse().expect(k.name)))
                .collect(),
        }
    }

    /// Sets a tunable; refuses unknown keys and values out of bounds.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), BrokerError> {
        let declared = Self::KEYS
            .iter()
            .find(|k| k.name == key)
            .ok_or_else(|| BrokerError::Config(format!("unknown broker config key {key:?}")))?;
        declared
            .check(value)
            .map_err(|rule| BrokerError::Config(format!("{key}={value:?}: {rule}")))?;
        let parsed: u64 = value
            .trim()
            .parse()
            .map_err(|e| BrokerError::Config(format!("{key}={value:?}: {e}")))?;
        self.values.insert(declared.name, parsed);
        Ok(())
    }

    /// A tunable's value.
    ///
    /// # Panics
    /// On a key not in [`BrokerConfig::KEYS`] (a bug).
    pub fn get(&self, key: &str) -> u64 {
        *self
            .values
            .get(key)
            .unwrap_or_else(|| panic!("undeclared broker config key {key}"))
    }

    /// A tunable as milliseconds in an `i64` (for clock arithmetic).
    pub fn ms(&self, key: &str) -> i64 {
        i64::try_from(self.get(key)).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_is_valid_and_non_negative() {
        for k in BrokerConfig::KEYS {
            assert_eq!(k.check(k.default), Ok(()), "{}", k.name);
            assert!(
                matches!(k.kind, ConfigType::Long { min, .. } if min >= 0),
                "{}",
                k.name
            );
        }
    }

    #[test]
    fn keys_are_checked() {
        let mut c = BrokerConfig::new(BrokerId::new(1), "/x".into(), "h".into(), 1, vec![]);
        assert_eq!(c.get("replica.lag.time.max.ms"), 30_000);
        c.set("replica.lag.time.max.ms", "2000").unwrap();
        assert_eq!(c.get("replica.lag.time.max.ms"), 2000);
        let e = c.set("replica.lag.time.max", "1").unwrap_err().to_string();
        assert!(e.contains("replica.lag.time.max"), "{e}");
        let e = c
            .set("broker.heartbeat.interval.ms", "1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("must be at least 10"), "{e}");
    }
}
