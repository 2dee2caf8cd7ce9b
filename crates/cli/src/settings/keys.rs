//! Every process key of `rill controller`, `rill broker` and `rill server`, declared
//! once here (keys whose meaning a library crate owns take its declaration), and the
//! table of each command: its process keys, then the library tunables its config file
//! and `--set` accept.

use rill_broker::BrokerConfig;
use rill_controller::config_keys::{BROKER_SESSION_TIMEOUT_MS, METADATA_SNAPSHOT_ENTRIES};
use rill_types::config::{ConfigType, INT_MAX};

use super::setting::{DefaultValue as D, Kind, Setting};

/// Node and broker ids are Kafka's `int` and never negative.
const ID: Kind = Kind::Config(ConfigType::Int {
    min: 0,
    max: INT_MAX,
});

/// `node.id` of a controller or combined server.
pub const NODE_ID: Setting = Setting::process(
    "node.id",
    ID,
    D::Required,
    "node-id",
    "RILL_NODE_ID",
    "This node's id: one of the ids in controller.quorum.voters (and, in `rill server`, also its broker id).",
);
/// `data.dir` of every server.
pub const DATA_DIR: Setting = Setting::process(
    "data.dir",
    Kind::Path,
    D::Required,
    "data-dir",
    "RILL_DATA_DIR",
    "The data directory: a controller's Raft log and snapshots, a broker's partition logs (one folder per replica); `rill server` uses its controller/ and broker/ subfolders.",
);
/// `controller.quorum.voters`.
pub const VOTERS: Setting = Setting::process(
    "controller.quorum.voters",
    Kind::Voters,
    D::Required,
    "voters",
    "RILL_VOTERS",
    "The controller quorum, as Kafka's controller.quorum.voters: every voter's id and gRPC address, ID@HOST:PORT, comma-separated (the same on every node).",
);
/// `listen` of a controller.
pub const CONTROLLER_LISTEN: Setting = Setting::process(
    "listen",
    Kind::Address,
    D::Derived("0.0.0.0 with the port of this node's voter address"),
    "listen",
    "RILL_LISTEN",
    "Where the controller serves gRPC (RaftService between voters, ControllerService for brokers and admin clients).",
);
/// `broker.session.timeout.ms` (the controller fences brokers by it).
pub const SESSION_TIMEOUT: Setting = Setting::declared(
    &BROKER_SESSION_TIMEOUT_MS,
    "broker-session-timeout-ms",
    "RILL_BROKER_SESSION_TIMEOUT_MS",
);
/// `metadata.snapshot.entries`.
pub const SNAPSHOT_ENTRIES: Setting = Setting::declared(
    &METADATA_SNAPSHOT_ENTRIES,
    "metadata-snapshot-entries",
    "RILL_METADATA_SNAPSHOT_ENTRIES",
);
/// `cluster.id`.
pub const CLUSTER_ID: Setting = Setting::process(
    "cluster.id",
    Kind::Config(ConfigType::String),
    D::Unset,
    "cluster-id",
    "RILL_CLUSTER_ID",
    "Refuse to start if the data directory belongs to another cluster (the id `rill cluster describe` shows).",
);
/// `http.listen` of a controller.
pub const CONTROLLER_HTTP: Setting = Setting::process(
    "http.listen",
    Kind::AddressOrNone,
    D::Value("0.0.0.0:9645"),
    "http-listen",
    "RILL_HTTP_LISTEN",
    "Where /metrics, /healthz and /readyz are served; none serves no HTTP endpoint.",
);
/// `http.listen` of a broker or combined server.
pub const BROKER_HTTP: Setting = Setting {
    default: D::Value("0.0.0.0:9644"),
    ..CONTROLLER_HTTP
};

/// `broker.id`.
pub const BROKER_ID: Setting = Setting::process(
    "broker.id",
    ID,
    D::Required,
    "broker-id",
    "RILL_BROKER_ID",
    "This broker's id, unique in the cluster.",
);
/// `listen` of a broker.
pub const BROKER_LISTEN: Setting = Setting::process(
    "listen",
    Kind::Address,
    D::Value("0.0.0.0:9094"),
    "listen",
    "RILL_LISTEN",
    "Where the broker serves gRPC: the data API for admin clients and replication between brokers.",
);
/// `broker.listen` of a combined server.
pub const SERVER_BROKER_LISTEN: Setting = Setting::process(
    "broker.listen",
    Kind::Address,
    D::Value("0.0.0.0:9096"),
    "broker-listen",
    "RILL_BROKER_LISTEN",
    "Where the broker role serves gRPC: the data API for admin clients and replication between brokers.",
);
/// `controller.listen` of a combined server.
pub const SERVER_CONTROLLER_LISTEN: Setting = Setting {
    name: "controller.listen",
    flag: Some("controller-listen"),
    env: Some("RILL_CONTROLLER_LISTEN"),
    ..CONTROLLER_LISTEN
};
/// `advertised.host`.
pub const ADVERTISED_HOST: Setting = Setting::process(
    "advertised.host",
    Kind::Config(ConfigType::String),
    D::Derived("the listen host, or 127.0.0.1 when listening on all interfaces"),
    "advertised-host",
    "RILL_ADVERTISED_HOST",
    "The host other brokers and clients reach this broker's gRPC port at (and Kafka listeners on a wildcard host advertise).",
);
/// `controller.quorum.bootstrap.servers`.
pub const CONTROLLERS: Setting = Setting::process(
    "controller.quorum.bootstrap.servers",
    Kind::AddressList,
    D::Required,
    "controllers",
    "RILL_CONTROLLERS",
    "The controllers' gRPC addresses, HOST:PORT comma-separated; the broker finds the active one among them.",
);
/// `broker.rack`.
pub const RACK: Setting = Setting::process(
    "broker.rack",
    Kind::Config(ConfigType::String),
    D::Unset,
    "rack",
    "RILL_RACK",
    "The broker's rack, reported to clients in Metadata.",
);
/// `kafka.listen`.
pub const KAFKA_LISTEN: Setting = Setting::process(
    "kafka.listen",
    Kind::Listeners,
    D::Value("0.0.0.0:9092"),
    "kafka-listen",
    "RILL_KAFKA_LISTEN",
    "The Kafka listeners, as Kafka's listeners: NAME://HOST:PORT comma-separated, a bare HOST:PORT being PLAINTEXT; none serves no Kafka listener.",
);
/// `kafka.advertised`.
pub const KAFKA_ADVERTISED: Setting = Setting::process(
    "kafka.advertised",
    Kind::Listeners,
    D::Derived("each listener's own address, with advertised.host for a wildcard host"),
    "kafka-advertised",
    "RILL_KAFKA_ADVERTISED",
    "What Kafka clients are told to connect to, per listener name, as Kafka's advertised.listeners.",
);

/// `rill controller`'s process keys.
pub const CONTROLLER: &[Setting] = &[
    NODE_ID,
    DATA_DIR,
    CONTROLLER_LISTEN,
    VOTERS,
    SESSION_TIMEOUT,
    SNAPSHOT_ENTRIES,
    CLUSTER_ID,
    CONTROLLER_HTTP,
];

/// `rill broker`'s process keys.
pub const BROKER: &[Setting] = &[
    BROKER_ID,
    DATA_DIR,
    BROKER_LISTEN,
    ADVERTISED_HOST,
    CONTROLLERS,
    RACK,
    KAFKA_LISTEN,
    KAFKA_ADVERTISED,
    BROKER_HTTP,
];

/// `rill server`'s process keys.
pub const SERVER: &[Setting] = &[
    NODE_ID,
    DATA_DIR,
    VOTERS,
    SERVER_CONTROLLER_LISTEN,
    SERVER_BROKER_LISTEN,
    ADVERTISED_HOST,
    RACK,
    SESSION_TIMEOUT,
    SNAPSHOT_ENTRIES,
    CLUSTER_ID,
    KAFKA_LISTEN,
    KAFKA_ADVERTISED,
    BROKER_HTTP,
];

/// The broker tunables (`BrokerConfig::KEYS`) as settings: file and `--set` only.
pub fn broker_tunables() -> Vec<Setting> {
    BrokerConfig::KEYS.iter().map(Setting::tunable).collect()
}

/// Which process a command runs: its process keys and whether broker tunables apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    /// `rill controller`.
    Controller,
    /// `rill broker`.
    Broker,
    /// `rill server`.
    Server,
}

impl Process {
    /// The command's process keys.
    pub fn process_keys(self) -> &'static [Setting] {
        match self {
            Process::Controller => CONTROLLER,
            Process::Broker => BROKER,
            Process::Server => SERVER,
        }
    }

    /// Every key the command accepts: process keys, then broker tunables.
    pub fn all_keys(self) -> Vec<Setting> {
        let mut all = self.process_keys().to_vec();
        if self != Process::Controller {
            all.extend(broker_tunables());
        }
        all
    }

    /// `rill <command>`.
    pub fn command(self) -> &'static str {
        match self {
            Process::Controller => "controller",
            Process::Broker => "broker",
            Process::Server => "server",
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_key_is_unique_documented_and_its_default_valid() {
        for p in [Process::Controller, Process::Broker, Process::Server] {
            let all = p.all_keys();
            let names: BTreeSet<&str> = all.iter().map(|s| s.name).collect();
            assert_eq!(names.len(), all.len(), "{p:?} declares a key twice");
            let flags: BTreeSet<&str> = all.iter().filter_map(|s| s.flag).collect();
            assert_eq!(flags.len(), p.process_keys().len(), "{p:?} reuses a flag");
            for s in &all {
                assert!(s.doc.ends_with('.'), "{}", s.name);
                if let D::Value(v) = s.default {
                    assert_eq!(s.check(v), Ok(()), "default of {}", s.name);
                }
                if let Some(env) = s.env {
                    assert!(env.starts_with("RILL_"), "{env}");
                }
            }
        }
    }
}
