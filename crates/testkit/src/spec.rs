//! [`ClusterSpec`]: what [`Cluster::start`](crate::Cluster::start) starts.

use std::time::Duration;

/// The shape and settings of a test cluster. Controllers get node ids `1..=controllers`,
/// brokers get broker ids `1..=brokers`.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// Controller processes (the Raft quorum's voters). Default 3.
    pub controllers: usize,
    /// Broker processes. Default 3.
    pub brokers: usize,
    /// Broker config keys, passed to every broker as `--set key=value`.
    pub broker_settings: Vec<(String, String)>,
    /// The controllers' `--broker-session-timeout-ms`; `None` keeps their default.
    pub broker_session_timeout_ms: Option<u64>,
    /// Puts a [`FaultProxy`](crate::FaultProxy) on every inter-broker link: one per
    /// ordered (follower, leader) pair, each broker started with `--peer-address` for
    /// every other broker pointing at its own proxy. Default off.
    pub fault_proxies: bool,
    /// Each broker's rack, by position (broker 1 first); `None` starts them without one.
    /// Must have exactly `brokers` entries when set.
    pub racks: Option<Vec<String>>,
    /// How long `start` waits for the quorum and every broker. Default 60 s.
    pub start_timeout: Duration,
    /// A second Kafka listener per broker under this name, on 127.0.0.2 (also loopback,
    /// so a client can tell the two listeners' advertised addresses apart). Default none.
    pub second_kafka_listener: Option<String>,
    /// Extra environment variables of every server process (e.g. `RILL_LOG_FORMAT`).
    pub env: Vec<(String, String)>,
}

impl Default for ClusterSpec {
    fn default() -> Self {
        Self {
            controllers: 3,
            brokers: 3,
            broker_settings: Vec::new(),
            broker_session_timeout_ms: None,
            fault_proxies: false,
            racks: None,
            start_timeout: Duration::from_secs(60),
            second_kafka_listener: None,
            env: Vec::new(),
        }
    }
}

impl ClusterSpec {
    /// The default spec: 3 controllers, 3 brokers, no proxies.
    pub fn new() -> Self {
        Self::default()
    }

    /// With `controllers` controllers and `brokers` brokers.
    pub fn nodes(mut self, controllers: usize, brokers: usize) -> Self {
        self.controllers = controllers;
        self.brokers = brokers;
        self
    }

    /// With one more broker setting (`--set key=value`).
    pub fn broker_setting(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.broker_settings.push((key.into(), value.to_string()));
        self
    }

    /// With the controllers' broker session timeout set.
    pub fn broker_session_timeout(mut self, timeout: Duration) -> Self {
        self.broker_session_timeout_ms =
            Some(u64::try_from(timeout.as_millis()).expect("a sane timeout"));
        self
    }

    /// With timeouts shortened so that a killed broker is fenced, replaced as leader
    /// and dropped from ISRs within about 3 s (and rejoins as quickly).
    pub fn quick_failover(self) -> Self {
        self.broker_session_timeout(Duration::from_millis(3000))
            .broker_setting("broker.heartbeat.interval.ms", 200)
            .broker_setting("replica.lag.time.max.ms", 3000)
            .broker_setting("replica.fetch.wait.max.ms", 200)
    }

    /// With one more environment variable for every server process.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// With fault proxies on every inter-broker link.
    pub fn with_fault_proxies(mut self) -> Self {
        self.fault_proxies = true;
        self
    }

    /// With a second Kafka listener named `name` on every broker (see
    /// [`Cluster::kafka_addr_of_second`](crate::Cluster::kafka_addr_of_second)).
    pub fn second_kafka_listener(mut self, name: impl Into<String>) -> Self {
        self.second_kafka_listener = Some(name.into());
        self
    }

    /// With these racks, broker 1 first.
    pub fn racks<S: Into<String>>(mut self, racks: impl IntoIterator<Item = S>) -> Self {
        self.racks = Some(racks.into_iter().map(Into::into).collect());
        self
    }
}
