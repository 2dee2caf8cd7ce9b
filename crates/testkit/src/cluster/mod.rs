//! [`Cluster`]: controllers and brokers as real `rill` processes on 127.0.0.1, with the
//! knobs tests turn (signals, restarts, link faults, power cuts).
//!
//! Each broker also listens for Kafka clients ([`Cluster::kafka_addr`],
//! [`Cluster::kafka_bootstrap`]).
//!
//! Everything lives in one temporary directory: each node's data directory
//! (`controller-N/`, `broker-N/`) and log (`controller-N.log`, `broker-N.log`, stderr of
//! every run appended). The cluster owns a small tokio runtime for its fault proxies and
//! its controller calls, so it works the same from sync and async tests.
//!
//! On drop it kills every process it started (its own children, by PID). If the thread
//! is panicking, it first prints the tail of every log, and keeps the directory when
//! `RILL_KEEP_DATA` is set (`RILL_KEEP_DATA=always` keeps it even after a pass).

mod launch;
mod links;
mod ready;
mod topics;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rill_proto::controller_client::ControllerClient;
use rill_types::{BrokerId, NodeId};
use tokio::runtime::{Handle, Runtime};

use crate::binary::rill_binary;
use crate::error::{Error, IoContext as _, Result};
use crate::process::Process;
use crate::proxy::FaultProxy;
use crate::spec::ClusterSpec;

/// Lines of each log printed by [`Cluster::dump_logs`].
const DUMPED_LINES: usize = 200;
/// Attempts `start` makes when a server finds its port taken.
const START_ATTEMPTS: usize = 3;
/// What a server's log says when its port was taken (std's text for `AddrInUse`).
const ADDR_IN_USE: &str = "Address already in use";

/// A running cluster; see the module doc.
///
/// Invariant: the maps hold every process ever started for this cluster (running or
/// not), keyed by id; ids, ports and data directories never change after `start`.
#[derive(Debug)]
pub struct Cluster {
    controllers: BTreeMap<NodeId, Process>,
    brokers: BTreeMap<BrokerId, Process>,
    /// Each broker's Kafka listener address ("127.0.0.1:port"), by broker id.
    kafka_addrs: BTreeMap<BrokerId, String>,
    /// Each broker's second Kafka listener, when the spec asks for one.
    second_kafka_addrs: BTreeMap<BrokerId, String>,
    /// Each controller's HTTP endpoint address, by node id.
    controller_http: BTreeMap<NodeId, String>,
    /// Each broker's HTTP endpoint address, by broker id.
    broker_http: BTreeMap<BrokerId, String>,
    /// (follower, leader) → the proxy the follower reaches the leader through.
    links: BTreeMap<(BrokerId, BrokerId), FaultProxy>,
    /// `Some` until drop.
    runtime: Option<Runtime>,
    /// `Some` until drop.
    dir: Option<tempfile::TempDir>,
    /// `start` failed: dump and keep as if panicking.
    failed: bool,
}

impl Cluster {
    /// Starts the cluster `spec` describes and waits (up to `spec.start_timeout`) for
    /// the quorum to have a leader and every broker to be registered and unfenced. On
    /// failure it prints every log's tail and stops whatever it started.
    pub fn start(spec: ClusterSpec) -> Result<Cluster> {
        assert!(spec.controllers >= 1, "a cluster needs a controller");
        if let Some(racks) = &spec.racks {
            assert_eq!(racks.len(), spec.brokers, "one rack per broker");
        }
        let binary = rill_binary()?;
        for attempt in 1.. {
            let mut cluster = Self::launch(&spec, &binary)?;
            let Err(e) = cluster.wait_ready(spec.start_timeout) else {
                return Ok(cluster);
            };
            if attempt < START_ATTEMPTS
                && matches!(e, Error::EarlyExit { .. })
                && cluster.any_log_contains(ADDR_IN_USE)
            {
                eprintln!("[testkit] a port was taken before its server bound it; retrying");
                continue; // dropping `cluster` stops it and removes its directory
            }
            cluster.failed = true;
            cluster.dump_logs();
            return Err(e);
        }
        unreachable!("the loop returns")
    }

    /// Lays the cluster out in a new directory and starts every process.
    fn launch(spec: &ClusterSpec, binary: &Path) -> Result<Cluster> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("testkit")
            .enable_all()
            .build()
            .io("start runtime", "tokio")?;
        let dir = tempfile::Builder::new()
            .prefix("rill-cluster-")
            .tempdir()
            .io("create temp dir", std::env::temp_dir())?;
        eprintln!("[testkit] cluster directory {}", dir.path().display());
        let layout = launch::layout(spec, binary, runtime.handle(), dir.path())?;
        let mut cluster = Cluster {
            controllers: layout.controllers,
            brokers: layout.brokers,
            kafka_addrs: layout.kafka_addrs,
            second_kafka_addrs: layout.second_kafka_addrs,
            controller_http: layout.controller_http,
            broker_http: layout.broker_http,
            links: layout.links,
            runtime: Some(runtime),
            dir: Some(dir),
            failed: false,
        };
        let spawned = cluster.processes_mut().try_for_each(Process::start);
        if let Err(e) = spawned {
            cluster.failed = true;
            return Err(e);
        }
        Ok(cluster)
    }

    /// Whether any process's log (its recent part) contains `text`.
    fn any_log_contains(&self, text: &str) -> bool {
        self.controllers
            .values()
            .chain(self.brokers.values())
            .any(|p| p.log_tail(DUMPED_LINES).contains(text))
    }

    /// The broker with this id. Panics if there is none (a bug in the test).
    pub fn broker(&mut self, id: impl Into<BrokerId>) -> &mut Process {
        let id = id.into();
        self.brokers
            .get_mut(&id)
            .unwrap_or_else(|| panic!("no broker {id} in this cluster"))
    }

    /// The controller with this node id. Panics if there is none (a bug in the test).
    pub fn controller(&mut self, id: impl Into<NodeId>) -> &mut Process {
        let id = id.into();
        self.controllers
            .get_mut(&id)
            .unwrap_or_else(|| panic!("no controller {id} in this cluster"))
    }

    /// Every broker id, ascending.
    pub fn broker_ids(&self) -> Vec<BrokerId> {
        self.brokers.keys().copied().collect()
    }

    /// Every controller node id, ascending.
    pub fn controller_ids(&self) -> Vec<NodeId> {
        self.controllers.keys().copied().collect()
    }

    /// The address ("127.0.0.1:port") broker `id` serves gRPC on.
    pub fn broker_addr(&self, id: impl Into<BrokerId>) -> String {
        let id = id.into();
        self.brokers
            .get(&id)
            .unwrap_or_else(|| panic!("no broker {id} in this cluster"))
            .addr()
            .to_owned()
    }

    /// Every broker's address, by ascending id (a client's bootstrap list).
    pub fn broker_addrs(&self) -> Vec<String> {
        self.brokers.values().map(|p| p.addr().to_owned()).collect()
    }

    /// The address ("127.0.0.1:port") broker `id` serves the Kafka protocol on, as it
    /// advertises it to Kafka clients; the same across restarts.
    pub fn kafka_addr(&self, id: impl Into<BrokerId>) -> String {
        let id = id.into();
        self.kafka_addrs
            .get(&id)
            .unwrap_or_else(|| panic!("no broker {id} in this cluster"))
            .clone()
    }

    /// The address ("127.0.0.2:port") of broker `id`'s second Kafka listener
    /// ([`ClusterSpec::second_kafka_listener`]), as it advertises it.
    pub fn kafka_addr_of_second(&self, id: impl Into<BrokerId>) -> String {
        let id = id.into();
        self.second_kafka_addrs
            .get(&id)
            .unwrap_or_else(|| panic!("broker {id} has no second Kafka listener"))
            .clone()
    }

    /// The address ("127.0.0.1:port") of broker `id`'s HTTP endpoint (/metrics,
    /// /healthz, /readyz); the same across restarts.
    pub fn broker_http_addr(&self, id: impl Into<BrokerId>) -> String {
        let id = id.into();
        self.broker_http
            .get(&id)
            .unwrap_or_else(|| panic!("no broker {id} in this cluster"))
            .clone()
    }

    /// The address of controller `id`'s HTTP endpoint; the same across restarts.
    pub fn controller_http_addr(&self, id: impl Into<NodeId>) -> String {
        let id = id.into();
        self.controller_http
            .get(&id)
            .unwrap_or_else(|| panic!("no controller {id} in this cluster"))
            .clone()
    }

    /// Every broker's Kafka address, by ascending id, comma-separated: a Kafka client's
    /// `bootstrap.servers`.
    pub fn kafka_bootstrap(&self) -> String {
        let addrs: Vec<&str> = self.kafka_addrs.values().map(String::as_str).collect();
        addrs.join(",")
    }

    /// Every controller's address, by ascending node id.
    pub fn controller_addrs(&self) -> Vec<String> {
        self.controllers
            .values()
            .map(|p| p.addr().to_owned())
            .collect()
    }

    /// A client of the quorum giving each call up to `deadline`. Its connections belong
    /// to the runtime current where it is created: call this inside the runtime that
    /// will use it (or inside [`Cluster::block_on`]).
    pub fn controller_client(&self, deadline: Duration) -> Result<ControllerClient> {
        Ok(ControllerClient::new(&self.controller_addrs(), deadline)?)
    }

    /// The cluster's own runtime (where its proxies run).
    pub fn handle(&self) -> &Handle {
        self.runtime.as_ref().expect("present until drop").handle()
    }

    /// Runs `future` to completion on the cluster's runtime and returns its output.
    /// Works from sync tests and from inside another runtime (it blocks that thread).
    pub fn block_on<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle().spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv()
            .expect("the future panicked on the cluster runtime")
    }

    /// The temporary directory holding every data directory and log.
    pub fn dir(&self) -> &Path {
        self.dir.as_ref().expect("present until drop").path()
    }

    /// Broker `id`'s data directory.
    pub fn broker_data_dir(&self, id: impl Into<BrokerId>) -> PathBuf {
        self.dir().join(format!("broker-{}", id.into()))
    }

    /// Controller `id`'s data directory.
    pub fn controller_data_dir(&self, id: impl Into<NodeId>) -> PathBuf {
        self.dir().join(format!("controller-{}", id.into()))
    }

    /// The directory of `broker`'s replica of `topic`-`partition`.
    pub fn log_dir(&self, broker: impl Into<BrokerId>, topic: &str, partition: i32) -> PathBuf {
        self.broker_data_dir(broker)
            .join(format!("{topic}-{partition}"))
    }

    /// Simulates a power cut on `broker`'s replica of `topic`-`partition`: the bytes not
    /// covered by its recovery-point checkpoint vanish (see
    /// [`segments::cut_to_flushed`](crate::segments::cut_to_flushed)). The broker must be
    /// stopped. Returns how many log bytes were cut.
    pub fn cut_to_flushed(
        &mut self,
        broker: impl Into<BrokerId>,
        topic: &str,
        partition: i32,
    ) -> Result<u64> {
        let broker = broker.into();
        let process = self.broker(broker);
        if process.is_running() {
            return Err(Error::ProcessState {
                name: process.name().to_owned(),
                reason: "running: stop it before cutting its log".into(),
            });
        }
        crate::segments::cut_to_flushed(&self.log_dir(broker, topic, partition))
    }

    /// Prints the last lines of every process's log to stderr (captured by the test
    /// harness and shown when the test fails).
    pub fn dump_logs(&self) {
        for process in self.controllers.values().chain(self.brokers.values()) {
            eprintln!(
                "----- {} ({}, last {DUMPED_LINES} lines) -----",
                process.name(),
                process.log_path().display()
            );
            eprintln!("{}", process.log_tail(DUMPED_LINES));
        }
        eprintln!("----- end of logs -----");
    }

    fn processes_mut(&mut self) -> impl Iterator<Item = &mut Process> {
        self.controllers
            .values_mut()
            .chain(self.brokers.values_mut())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let panicking = std::thread::panicking();
        if panicking && !self.failed {
            self.dump_logs();
        }
        for process in self.processes_mut() {
            if let Err(e) = process.kill9() {
                eprintln!("[testkit] could not kill {}: {e}", process.name());
            }
        }
        self.links.clear();
        if let Some(runtime) = self.runtime.take() {
            // Not a blocking shutdown: dropping a runtime inside an async test panics.
            runtime.shutdown_background();
        }
        let keep = std::env::var("RILL_KEEP_DATA").ok();
        if let Some(dir) = self.dir.take()
            && let Some(keep) = keep
            && (panicking || self.failed || keep == "always")
        {
            eprintln!("[testkit] kept cluster data in {}", dir.keep().display());
        }
    }
}
