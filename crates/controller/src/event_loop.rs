//! The controller's one event loop: it owns the managers' soft state (heartbeat leases,
//! the leader term it has caught up with) and serializes every write, so each write is
//! validated against an image that already holds every earlier write (KRaft's
//! QuorumController model).
//!
//! A command is a closure over the current image that returns a manager's [`Write`];
//! the loop proposes its records through Raft and answers once they are applied (openraft's
//! `client_write` returns after apply). Before serving commands in a new term, the loop
//! calls `ensure_linearizable`, which waits until everything committed before the term
//! is applied; within the term it is the only writer, so the image stays current without
//! asking again. Reads that must be current ([`ControllerHandle::read`]) ask every time.
//! Leadership is never taken from `is_leader`-style metrics alone.
//!
//! A tick (a quarter of the session timeout, at most 250 ms) fences brokers whose lease
//! expired, and on a new term resets the leases (a new active controller starts every
//! registered broker's lease afresh, as KRaft does) and writes the cluster id if the
//! quorum has none yet.

use std::sync::Arc;
use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use openraft::{Raft, ServerState};
use prost::Message as _;
use rill_metadata::records::{ClusterRecord, MetadataBatch};
use rill_metadata::{MetadataImage, MetadataRecord, Record};
use tokio::sync::{mpsc, oneshot};

use crate::heartbeats::Heartbeats;
use crate::manager::{self, Write};
use crate::raft::{MetadataStateMachine, MetadataWrite, NodeId, TypeConfig};
use crate::refusal::{ErrorCode, Refusal};

/// A source of milliseconds for leases; tests pass a paused tokio clock.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since an arbitrary fixed start.
    fn now_ms(&self) -> u64;
}

/// The tokio clock (pausable in tests).
#[derive(Debug, Clone, Copy)]
pub struct TokioClock(tokio::time::Instant);

impl Default for TokioClock {
    fn default() -> Self {
        Self(tokio::time::Instant::now())
    }
}

impl Clock for TokioClock {
    fn now_ms(&self) -> u64 {
        self.0.elapsed().as_millis() as u64
    }
}

/// Why a call did not get a manager's answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// This controller is not the active one; the leader if known (id, address).
    #[error("NOT_CONTROLLER: {}", match .0 { Some((id, addr)) => format!("the active controller is node {id} at {addr}"), None => "no active controller is known yet; retry".to_owned() })]
    NotController(Option<(NodeId, String)>),
    /// The manager refused the request.
    #[error("{0}")]
    Refused(Refusal),
    /// The quorum did not commit in time, or the controller is stopping.
    #[error("{0}")]
    Unavailable(String),
}

/// The soft state the loop owns, passed to command closures.
pub struct LoopState {
    /// Broker heartbeat leases.
    pub leases: Heartbeats,
    /// The controller's clock.
    pub clock: Arc<dyn Clock>,
    /// 128 random bits per call (topic ids).
    pub random: Box<dyn FnMut() -> u128 + Send + Sync>,
    /// The term whose leadership is confirmed and whose log is applied.
    leader_term: Option<u64>,
    /// The term the leases were last reset for.
    leases_term: Option<u64>,
}

type Done = Box<dyn FnOnce(Result<u64, CallError>) + Send>;
type Run = Box<
    dyn FnOnce(
            &mut LoopState,
            Result<&MetadataImage, CallError>,
        ) -> Option<(Vec<MetadataRecord>, Done)>
        + Send,
>;

enum Command {
    Tick(oneshot::Sender<()>),
    Write(Run),
    Read(Box<dyn FnOnce(Result<Arc<MetadataImage>, CallError>) + Send>),
}

/// A cheap handle to send commands to the loop.
#[derive(Clone)]
pub struct ControllerHandle {
    tx: mpsc::Sender<Command>,
}

impl std::fmt::Debug for ControllerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ControllerHandle")
    }
}

const STOPPED: &str = "the controller is shutting down";

/// The largest encoded write (one Raft entry): half the Raft transport's message limit,
/// leaving room for the entries it travels with.
pub const MAX_WRITE_BYTES: usize = 32 << 20;

impl ControllerHandle {
    /// Runs a manager write on the current image and answers once its records are
    /// applied: the response and the metadata offset they committed at (`None` when the
    /// write had no records).
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut LoopState, &MetadataImage) -> Result<Write<T>, Refusal> + Send + 'static,
    ) -> Result<(T, Option<u64>), CallError> {
        let (tx, rx) = oneshot::channel();
        let run: Run = Box::new(move |state, image| {
            let image = match image {
                Ok(i) => i,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return None;
                }
            };
            match f(state, image) {
                Err(r) => {
                    let _ = tx.send(Err(CallError::Refused(r)));
                    None
                }
                Ok(w) if w.records.is_empty() => {
                    let _ = tx.send(Ok((w.response, None)));
                    None
                }
                Ok(w) => {
                    let response = w.response;
                    let done: Done = Box::new(move |r| {
                        let _ = tx.send(r.map(|index| (response, Some(index))));
                    });
                    Some((w.records, done))
                }
            }
        });
        self.tx
            .send(Command::Write(run))
            .await
            .map_err(|_| CallError::Unavailable(STOPPED.into()))?;
        rx.await
            .map_err(|_| CallError::Unavailable(STOPPED.into()))?
    }

    /// Runs the periodic work (lease expiry, new-term set-up) now, and returns when it
    /// is done: lets tests with an injected clock step the loop deterministically.
    pub async fn tick(&self) -> Result<(), CallError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Tick(tx))
            .await
            .map_err(|_| CallError::Unavailable(STOPPED.into()))?;
        rx.await.map_err(|_| CallError::Unavailable(STOPPED.into()))
    }

    /// The current image, confirmed current by the quorum (`ensure_linearizable`).
    pub async fn read(&self) -> Result<Arc<MetadataImage>, CallError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Read(Box::new(move |r| {
                let _ = tx.send(r);
            })))
            .await
            .map_err(|_| CallError::Unavailable(STOPPED.into()))?;
        rx.await
            .map_err(|_| CallError::Unavailable(STOPPED.into()))?
    }
}

/// Settings of the loop.
pub struct LoopConfig {
    /// This controller's node id.
    pub node_id: NodeId,
    /// `broker.session.timeout.ms`.
    pub session_timeout_ms: u64,
    /// How long a write may wait for the quorum.
    pub write_timeout: Duration,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Randomness for ids.
    pub random: Box<dyn FnMut() -> u128 + Send + Sync>,
    /// The cluster id to fix when this quorum forms (`--cluster-id`); random if `None`.
    pub expected_cluster_id: Option<String>,
}

/// Starts the loop; it ends when every handle is dropped.
pub fn spawn(
    raft: Raft<TypeConfig>,
    sm: MetadataStateMachine,
    config: LoopConfig,
) -> (ControllerHandle, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(1024);
    let state = LoopState {
        leases: Heartbeats::new(config.session_timeout_ms),
        clock: config.clock,
        random: config.random,
        leader_term: None,
        leases_term: None,
    };
    let tick = Duration::from_millis((config.session_timeout_ms / 4).clamp(10, 250));
    let event_loop = EventLoop {
        raft,
        sm,
        node_id: config.node_id,
        write_timeout: config.write_timeout,
        expected_cluster_id: config.expected_cluster_id,
        state,
    };
    let task = tokio::spawn(event_loop.run(rx, tick));
    (ControllerHandle { tx }, task)
}

struct EventLoop {
    raft: Raft<TypeConfig>,
    sm: MetadataStateMachine,
    node_id: NodeId,
    write_timeout: Duration,
    expected_cluster_id: Option<String>,
    state: LoopState,
}

impl EventLoop {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>, tick: Duration) {
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = rx.recv() => {
                    let Some(command) = command else { return };
                    self.handle(command).await;
                }
                _ = ticker.tick() => self.tick().await,
            }
        }
    }

    fn not_controller(&self) -> CallError {
        let metrics = self.raft.metrics().borrow().clone();
        let leader = metrics
            .current_leader
            .filter(|l| *l != self.node_id)
            .and_then(|l| {
                metrics
                    .membership_config
                    .membership()
                    .get_node(&l)
                    .map(|n| (l, n.addr.clone()))
            });
        CallError::NotController(leader)
    }

    /// Makes sure this node is the leader and its image holds every entry of its log:
    /// everything committed before its term (`ensure_linearizable`) and every entry it
    /// appended itself, including one whose proposal timed out (it may still commit;
    /// validating the next write without it could propose records that no longer
    /// replay). On a new term it resets the leases and writes the cluster id if none.
    async fn ensure_leader(&mut self) -> Result<(), CallError> {
        // Copy the two fields out: the whole metrics (membership, replication map) need
        // not be cloned for every command, and the borrow must not outlive this line.
        let (state, term) = {
            let m = self.raft.metrics();
            let m = m.borrow();
            (m.state, m.current_term)
        };
        if state != ServerState::Leader {
            return Err(self.not_controller());
        }
        if self.state.leader_term == Some(term) {
            return Ok(());
        }
        self.linearize().await?;
        self.catch_up_with_own_log().await?;
        if self.state.leases_term != Some(term) {
            // A new active controller cannot know how stale the old one's leases were.
            let image = self.sm.image();
            let now = self.state.clock.now_ms();
            self.state.leases.reset(
                image
                    .brokers()
                    .values()
                    .filter(|b| !b.fenced)
                    .map(|b| (b.id, b.epoch)),
                now,
            );
            self.state.leases_term = Some(term);
            tracing::info!(node = self.node_id, term, "active controller");
        }
        if self.sm.image().cluster_id().is_none() {
            let id = match &self.expected_cluster_id {
                Some(id) => id.clone(),
                None => rill_types::TopicId::from_random_bits((self.state.random)())
                    .unwrap_or(rill_types::TopicId::from_bytes([7; 16]))
                    .to_string(),
            };
            let record = MetadataRecord {
                record: Some(Record::Cluster(ClusterRecord {
                    cluster_id: id.clone(),
                })),
            };
            self.propose(vec![record]).await?;
            tracing::info!(cluster_id = %id, "cluster id fixed");
        }
        // Only now: a failure above leaves the term unconfirmed for the next command.
        self.state.leader_term = Some(term);
        Ok(())
    }

    /// Waits until the state machine has applied every entry of this leader's log.
    async fn catch_up_with_own_log(&self) -> Result<(), CallError> {
        let last = self.raft.metrics().borrow().last_log_index;
        let Some(last) = last else { return Ok(()) };
        match self
            .raft
            .wait(Some(self.write_timeout))
            .applied_index_at_least(Some(last), "leader applies its own log")
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => Err(CallError::Unavailable(format!(
                "entries up to {last} are not applied yet ({e}); retry"
            ))),
        }
    }

    async fn linearize(&self) -> Result<(), CallError> {
        match tokio::time::timeout(self.write_timeout, self.raft.ensure_linearizable()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(RaftError::APIError(_))) => Err(self.not_controller()),
            Ok(Err(RaftError::Fatal(e))) => {
                Err(CallError::Unavailable(format!("raft stopped: {e}")))
            }
            Err(_) => Err(CallError::Unavailable(
                "timed out confirming leadership with the quorum".into(),
            )),
        }
    }

    async fn propose(&self, records: Vec<MetadataRecord>) -> Result<u64, CallError> {
        // A leader change is a PartitionChange that names a leader (or none: offline).
        let elections = records
            .iter()
            .filter(|r| matches!(&r.record, Some(Record::PartitionChange(c)) if c.leader.is_some()))
            .count();
        let batch = MetadataBatch { records }.encode_to_vec();
        if batch.len() > MAX_WRITE_BYTES {
            // Refused before it reaches Raft: an entry above the transport's message
            // limit would be re-sent forever and never commit.
            return Err(CallError::Refused(Refusal::new(
                ErrorCode::InvalidRequest,
                format!(
                    "the request's metadata records take {} bytes; one write may take at most {MAX_WRITE_BYTES}; split the request",
                    batch.len()
                ),
            )));
        }
        match tokio::time::timeout(
            self.write_timeout,
            self.raft.client_write(MetadataWrite { batch }),
        )
        .await
        {
            Ok(Ok(r)) => {
                crate::metrics::leader_elections(elections);
                Ok(r.log_id.index)
            }
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_)))) => {
                Err(self.not_controller())
            }
            Ok(Err(RaftError::APIError(e))) => Err(CallError::Unavailable(e.to_string())),
            Ok(Err(RaftError::Fatal(e))) => {
                Err(CallError::Unavailable(format!("raft stopped: {e}")))
            }
            Err(_) => Err(CallError::Refused(Refusal::new(
                ErrorCode::RequestTimedOut,
                "the quorum did not commit the write in time; it may still commit",
            ))),
        }
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::Tick(done) => {
                self.tick().await;
                let _ = done.send(());
            }
            Command::Read(reply) => {
                let result = match self.ensure_leader().await {
                    Ok(()) => match self.linearize().await {
                        Ok(()) => Ok(self.sm.image()),
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(e),
                };
                reply(result);
            }
            Command::Write(run) => {
                if let Err(e) = self.ensure_leader().await {
                    run(&mut self.state, Err(e));
                    return;
                }
                let image = self.sm.image();
                if let Some((records, done)) = run(&mut self.state, Ok(&image)) {
                    let result = self.propose(records).await;
                    if result.is_err() {
                        // Whatever happened, the next command re-checks leadership.
                        self.state.leader_term = None;
                    }
                    done(result);
                }
            }
        }
    }

    async fn tick(&mut self) {
        let is_leader = self.raft.metrics().borrow().state == ServerState::Leader;
        if !is_leader {
            self.state.leader_term = None;
            return;
        }
        if self.ensure_leader().await.is_err() {
            return;
        }
        let image = self.sm.image();
        let now = self.state.clock.now_ms();
        let records = manager::cluster::fence_expired(&image, &self.state.leases, now);
        if records.is_empty() {
            return;
        }
        if let Err(e) = manager::dry_run(&image, &records) {
            tracing::error!(error = %e, "fencing records do not apply; not proposed");
            return;
        }
        match self.propose(records).await {
            Ok(index) => tracing::info!(offset = index, "fenced brokers whose session expired"),
            Err(e) => {
                self.state.leader_term = None;
                tracing::warn!(error = %e, "could not fence expired brokers");
            }
        }
    }
}
