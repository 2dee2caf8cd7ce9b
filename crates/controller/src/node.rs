//! One controller process's parts, started and stopped together: the sled log, the
//! state machine, openraft, the event loop, and the gRPC server (RaftService and
//! ControllerService on one listener).
//!
//! Data directory layout: `raft/` (sled: log, vote, committed), `metadata.snapshot`
//! (the state machine's snapshot), `node.id` (the node this data belongs to) and
//! `cluster.id` (written once the quorum has fixed its cluster id).
//!
//! Start-up rules: a data directory written by another node id is refused; with an
//! expected cluster id configured, a data directory of another cluster is refused; a
//! node whose Raft log and vote are empty joins the formation of the quorum by calling
//! openraft's `initialize` with the configured voters (every fresh voter may do so: they
//! all write the same first entry), and a node with data never initializes again. Once
//! the quorum's cluster id is applied, a node whose `cluster.id` says otherwise stops
//! with [`NodeError::ForeignCluster`]. Raft messages carry the cluster id, and a node
//! that knows its id refuses messages of another cluster before they touch its log
//! (`raft::admit`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use openraft::storage::RaftLogStorage;
use openraft::{BasicNode, Config, Raft, SnapshotPolicy};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::atomic_file;
use crate::config_keys;
use crate::event_loop::{self, Clock, ControllerHandle, LoopConfig, TokioClock};
use crate::grpc::ControllerGrpc;
use crate::metadata_stream::MetadataStream;
use crate::raft::{
    ClusterIdentity, GrpcNetworkFactory, MetadataStateMachine, NodeId, RaftGrpcService,
    SledLogStore, TypeConfig,
};
use rill_proto::reflection::CONTROLLER_SERVICES;

/// How a controller runs.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// This controller's id; one of `voters`.
    pub node_id: NodeId,
    /// Where its data lives.
    pub data_dir: PathBuf,
    /// The quorum: node id → "host:port" of its gRPC listener.
    pub voters: BTreeMap<NodeId, String>,
    /// `broker.session.timeout.ms`.
    pub session_timeout_ms: u64,
    /// Raft heartbeat interval.
    pub heartbeat_ms: u64,
    /// Raft election timeout, lower bound (the upper bound is twice it).
    pub election_timeout_ms: u64,
    /// Entries between snapshots; also how many entries before the last snapshot the
    /// log keeps (for followers a little behind), capped at 1000.
    pub snapshot_every: u64,
    /// If set, the data must belong to this cluster.
    pub expected_cluster_id: Option<String>,
    /// How long a write may wait for the quorum to commit it.
    pub write_timeout: Duration,
}

impl NodeConfig {
    /// Defaults for `node_id` in `data_dir` with `voters`: Kafka's 9 s session timeout,
    /// 50 ms heartbeats, 200–400 ms election timeouts, a snapshot every 5000 entries.
    pub fn new(node_id: NodeId, data_dir: PathBuf, voters: BTreeMap<NodeId, String>) -> Self {
        Self {
            node_id,
            data_dir,
            voters,
            session_timeout_ms: config_keys::default_u64(&config_keys::BROKER_SESSION_TIMEOUT_MS),
            heartbeat_ms: 50,
            election_timeout_ms: 200,
            snapshot_every: config_keys::default_u64(&config_keys::METADATA_SNAPSHOT_ENTRIES),
            expected_cluster_id: None,
            write_timeout: Duration::from_secs(10),
        }
    }
}

/// Why a controller could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Bad configuration.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The data directory belongs to another node.
    #[error("{dir} holds the data of node {found}, not of node {configured}; refusing to start")]
    ForeignNode {
        /// The directory.
        dir: PathBuf,
        /// The node id recorded there.
        found: String,
        /// Ours.
        configured: NodeId,
    },
    /// The data directory belongs to another cluster.
    #[error(
        "{dir} holds the data of cluster {found}, not of cluster {expected}; refusing to {action}"
    )]
    ForeignCluster {
        /// The directory.
        dir: PathBuf,
        /// The cluster id recorded there.
        found: String,
        /// The cluster id expected (configured or the quorum's).
        expected: String,
        /// What is refused ("start").
        action: &'static str,
    },
    /// The quorum this controller joined is another cluster than its own.
    #[error(
        "this controller belongs to cluster {ours}, but its quorum is cluster {quorum}; stopping"
    )]
    ForeignQuorum {
        /// Its own cluster id (stored or configured).
        ours: String,
        /// The quorum's.
        quorum: String,
    },
    /// Disk trouble.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// openraft or its storage refused.
    #[error("raft: {0}")]
    Raft(String),
}

/// A read-only view of a controller for `/readyz` and `/metrics`.
#[derive(Clone)]
pub struct ControllerProbe {
    raft: Raft<TypeConfig>,
    sm: MetadataStateMachine,
}

impl std::fmt::Debug for ControllerProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControllerProbe").finish_non_exhaustive()
    }
}

impl ControllerProbe {
    /// Ready to serve: this node knows the quorum's leader (itself or another voter), so
    /// admin calls made to it are answered or redirected. The error says why not.
    pub fn readiness(&self) -> Result<(), String> {
        let m = self.raft.metrics().borrow().clone();
        if let Err(e) = &m.running_state {
            return Err(format!("raft stopped: {e}"));
        }
        match m.current_leader {
            Some(_) => Ok(()),
            None => Err(format!(
                "no quorum leader known (term {}, {:?}); a majority of the voters must be up and reachable",
                m.current_term, m.state
            )),
        }
    }

    /// Sets the controller's gauges from Raft's metrics and the image (called before
    /// each scrape).
    pub fn refresh_metrics(&self) {
        let m = self.raft.metrics().borrow().clone();
        crate::metrics::refresh(&m, &self.sm.image());
    }
}

/// A running controller.
pub struct ControllerNode {
    raft: Raft<TypeConfig>,
    sm: MetadataStateMachine,
    handle: ControllerHandle,
    local_addr: SocketAddr,
    stop_server: Option<oneshot::Sender<()>>,
    tasks: Vec<JoinHandle<()>>,
    loop_abort: tokio::task::AbortHandle,
    failed: watch::Receiver<Option<String>>,
}

impl std::fmt::Debug for ControllerNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControllerNode")
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

fn read_text(path: &Path) -> Result<Option<String>, NodeError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s.trim().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(NodeError::Io(format!("reading {}", path.display()), e)),
    }
}

impl ControllerNode {
    /// Starts a controller serving on `listener`.
    pub async fn start(config: NodeConfig, listener: TcpListener) -> Result<Self, NodeError> {
        let dir = config.data_dir.clone();
        if !config.voters.contains_key(&config.node_id) {
            return Err(NodeError::Config(format!(
                "node {} is not among the voters {:?}",
                config.node_id,
                config.voters.keys().collect::<Vec<_>>()
            )));
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| NodeError::Io(format!("creating {}", dir.display()), e))?;
        let node_file = dir.join("node.id");
        match read_text(&node_file)? {
            Some(found) if found != config.node_id.to_string() => {
                return Err(NodeError::ForeignNode {
                    dir,
                    found,
                    configured: config.node_id,
                });
            }
            Some(_) => {}
            None => atomic_file::write(&node_file, config.node_id.to_string().as_bytes())
                .map_err(|e| NodeError::Io(format!("writing {}", node_file.display()), e))?,
        }
        let cluster_file = dir.join("cluster.id");
        let stored_cluster = read_text(&cluster_file)?;
        if let (Some(found), Some(expected)) = (&stored_cluster, &config.expected_cluster_id)
            && found != expected
        {
            return Err(NodeError::ForeignCluster {
                dir,
                found: found.clone(),
                expected: expected.clone(),
                action: "start",
            });
        }

        let db = sled::Config::new()
            .path(dir.join("raft"))
            .open()
            .map_err(|e| NodeError::Raft(format!("opening {}: {e}", dir.join("raft").display())))?;
        let mut log = SledLogStore::open(db).map_err(|e| NodeError::Raft(e.to_string()))?;
        let sm = MetadataStateMachine::open(&dir).map_err(|e| NodeError::Raft(e.to_string()))?;
        let fresh = {
            let state = log
                .get_log_state()
                .await
                .map_err(|e| NodeError::Raft(e.to_string()))?;
            let vote = log
                .read_vote()
                .await
                .map_err(|e| NodeError::Raft(e.to_string()))?;
            state.last_log_id.is_none() && vote.is_none() && stored_cluster.is_none()
        };

        let identity = ClusterIdentity::new(stored_cluster.clone());
        let raft_config = Config {
            cluster_name: "rill".into(),
            heartbeat_interval: config.heartbeat_ms,
            election_timeout_min: config.election_timeout_ms,
            election_timeout_max: config.election_timeout_ms * 2,
            install_snapshot_timeout: 10_000,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(config.snapshot_every),
            max_in_snapshot_log_to_keep: config.snapshot_every.min(1_000),
            ..Config::default()
        }
        .validate()
        .map_err(|e| NodeError::Config(e.to_string()))?;
        let raft = Raft::new(
            config.node_id,
            Arc::new(raft_config),
            GrpcNetworkFactory::with_identity(config.node_id, identity.clone()),
            log.clone(),
            sm.clone(),
        )
        .await
        .map_err(|e| NodeError::Raft(e.to_string()))?;

        let clock: Arc<dyn Clock> = Arc::new(TokioClock::default());
        let (handle, loop_task) = event_loop::spawn(
            raft.clone(),
            sm.clone(),
            LoopConfig {
                node_id: config.node_id,
                session_timeout_ms: config.session_timeout_ms,
                write_timeout: config.write_timeout,
                clock,
                random: Box::new(|| uuid::Uuid::new_v4().as_u128()),
                expected_cluster_id: config.expected_cluster_id.clone(),
            },
        );

        let mut raft_service = RaftGrpcService::with_identity(raft.clone(), identity.clone());
        if fresh {
            // Maybe a wiped voter: sit out any election that was running (decision 34).
            let grace = Duration::from_millis(3 * 2 * config.election_timeout_ms);
            raft_service = raft_service.refuse_votes_until(tokio::time::Instant::now() + grace);
        }
        let local_addr = listener
            .local_addr()
            .map_err(|e| NodeError::Io("listener address".into(), e))?;
        let (stop_server, stopped) = oneshot::channel::<()>();
        let controller = ControllerGrpc::new(
            handle.clone(),
            raft.clone(),
            sm.clone(),
            MetadataStream::new(sm.clone(), log),
        );
        let server = tonic::transport::Server::builder()
            .add_service(raft_service.into_server())
            .add_service(controller.into_server())
            .add_service(rill_proto::reflection::v1(CONTROLLER_SERVICES))
            .add_service(rill_proto::reflection::v1alpha(CONTROLLER_SERVICES))
            .serve_with_incoming_shutdown(rill_proto::incoming(listener), async {
                let _ = stopped.await;
            });
        let (fail_tx, failed) = watch::channel(None);
        let fail_tx = Arc::new(fail_tx);
        let server_failed = fail_tx.clone();
        let server_task = tokio::spawn(async move {
            if let Err(e) = server.await {
                tracing::error!(error = %e, "controller gRPC server failed");
                server_failed.send_replace(Some(format!("the gRPC server failed: {e}")));
            }
        });
        let loop_abort = loop_task.abort_handle();
        let watch_task = tokio::spawn(watch_health(raft.clone(), loop_task, fail_tx.clone()));
        let guard_task = tokio::spawn(guard_cluster_id(
            sm.clone(),
            cluster_file,
            stored_cluster,
            config.expected_cluster_id.clone(),
            identity,
            fail_tx,
        ));

        if fresh {
            let members: BTreeMap<NodeId, BasicNode> = config
                .voters
                .iter()
                .map(|(id, addr)| (*id, BasicNode { addr: addr.clone() }))
                .collect();
            match raft.initialize(members).await {
                Ok(()) => tracing::info!(node = config.node_id, "forming the controller quorum"),
                Err(e) => tracing::info!(error = %e, "not initializing (already part of a quorum)"),
            }
        }
        tracing::info!(node = config.node_id, addr = %local_addr, "controller started");
        Ok(Self {
            raft,
            sm,
            handle,
            local_addr,
            stop_server: Some(stop_server),
            tasks: vec![watch_task, server_task, guard_task],
            loop_abort,
            failed,
        })
    }

    /// The address the gRPC server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The handle to the event loop.
    pub fn handle(&self) -> &ControllerHandle {
        &self.handle
    }

    /// The openraft node.
    pub fn raft(&self) -> &Raft<TypeConfig> {
        &self.raft
    }

    /// The state machine.
    pub fn state_machine(&self) -> &MetadataStateMachine {
        &self.sm
    }

    /// What the health endpoints and metrics read of this controller.
    pub fn probe(&self) -> ControllerProbe {
        ControllerProbe {
            raft: self.raft.clone(),
            sm: self.sm.clone(),
        }
    }

    /// Resolves when the node had to stop, with the reason: its quorum is another
    /// cluster, Raft stopped on a fatal (storage) error, the event loop died, or the gRPC
    /// server failed. The process should then exit rather than linger half-alive.
    pub async fn failed(&mut self) -> String {
        loop {
            if let Some(reason) = self.failed.borrow_and_update().clone() {
                return reason;
            }
            if self.failed.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Stops serving, stops Raft and the loop, and closes the stores (sled flushes on drop).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop_server.take() {
            let _ = stop.send(());
        }
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "raft shutdown");
        }
        self.loop_abort.abort();
        for task in self.tasks.drain(..) {
            task.abort();
            let _ = task.await;
        }
        tracing::info!("controller stopped");
    }
}

/// Writes `cluster.id` once the quorum's cluster id is applied, and reports a node whose
/// stored id differs.
async fn guard_cluster_id(
    sm: MetadataStateMachine,
    file: PathBuf,
    mut stored: Option<String>,
    expected: Option<String>,
    identity: ClusterIdentity,
    fail: Arc<watch::Sender<Option<String>>>,
) {
    let mut images = sm.subscribe();
    loop {
        let current = images.borrow_and_update().cluster_id().map(str::to_owned);
        if let Some(id) = current {
            if let Some(ours) = stored.as_ref().or(expected.as_ref())
                && *ours != id
            {
                let e = NodeError::ForeignQuorum {
                    ours: ours.clone(),
                    quorum: id,
                };
                tracing::error!(error = %e, "stopping");
                let _ = fail.send(Some(e.to_string()));
                return;
            }
            if stored.is_none() {
                match atomic_file::write(&file, id.as_bytes()) {
                    Ok(()) => {
                        tracing::info!(cluster_id = %id, "cluster id stored");
                        identity.set(id.clone());
                        stored = Some(id);
                    }
                    Err(e) => tracing::error!(error = %e, "could not store the cluster id"),
                }
            }
        }
        if images.changed().await.is_err() {
            return;
        }
    }
}

/// Reports a Raft core that stopped on a fatal error, or an event loop that ended while
/// the node was meant to run (a panic).
async fn watch_health(
    raft: Raft<TypeConfig>,
    event_loop: JoinHandle<()>,
    fail: Arc<watch::Sender<Option<String>>>,
) {
    let mut metrics = raft.metrics();
    let raft_failed = async {
        loop {
            let fatal = metrics.borrow_and_update().running_state.clone().err();
            if let Some(e) = fatal {
                return format!("raft stopped: {e}");
            }
            if metrics.changed().await.is_err() {
                return "raft stopped".to_owned();
            }
        }
    };
    let reason = tokio::select! {
        reason = raft_failed => reason,
        ended = event_loop => match ended {
            Err(e) if e.is_panic() => "the event loop panicked".to_owned(),
            _ => return,
        },
    };
    tracing::error!(%reason, "stopping");
    fail.send_replace(Some(reason));
}
