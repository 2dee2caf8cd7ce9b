//! [`Partition`]: one hosted replica — its log, its role (leader or follower at a leader
//! epoch) and the high watermark — and the operations produce, fetch and replication
//! perform on it.
//!
//! Locking: `log` (held across appends, truncations and fsyncs; only on blocking
//! threads) is always taken before `state` (short, in-memory). Taking the log lock
//! around "check role, append" makes the role check and the append one step: a replica
//! that became a follower never appends as leader afterwards.
//!
//! Safety contracts:
//! - a leader appends only while the state says it leads at the epoch it stamps;
//! - acks=all completes only when the high watermark passes the batch and the epoch has
//!   not changed in between; a leader that learns of a newer epoch fails every waiter
//!   with NOT_LEADER_OR_FOLLOWER at once (the watch below is updated on every role change);
//! - a follower appends the leader's batches as they are and truncates only where the
//!   leader said its log diverged.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rill_storage::leader_epoch_cache::LeaderEpochCache;
use rill_storage::{AppendInfo, Log, LogReader, ReadResult};
use rill_types::{
    BrokerId, ErrorCode, LeaderEpoch, Offset, PartitionEpoch, PartitionIndex, TopicId,
};
use tokio::sync::watch;

use crate::error::PartitionError;
use crate::leader_state::LeaderState;

/// The role a replica plays.
#[derive(Debug, Clone)]
pub enum Role {
    /// This broker leads.
    Leader(LeaderState),
    /// This broker follows `leader` (none while the partition is offline).
    Follower {
        /// The leader to fetch from.
        leader: Option<BrokerId>,
    },
}

/// The mutable, in-memory part of a replica.
#[derive(Debug)]
pub struct ReplicaState {
    /// Leader or follower.
    pub role: Role,
    /// The newest leader epoch this replica has been told of.
    pub leader_epoch: LeaderEpoch,
    /// `min.insync.replicas` of the topic.
    pub min_isr: usize,
    /// The log end offset (mirrors the log; updated under the log lock).
    pub log_end: Offset,
    /// The epoch of the last batch in the log.
    pub latest_log_epoch: Option<LeaderEpoch>,
    /// A follower's high watermark (the leader's, capped by its own log end).
    pub follower_high_watermark: Offset,
    /// A copy of the log's leader-epoch cache, refreshed whenever the log's epochs
    /// change, so a follower's divergence check never waits for the log lock.
    pub epochs: LeaderEpochCache,
}

/// What waiters watch: the epoch, whether this broker leads in it, and the high watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HwView {
    /// The current leader epoch.
    pub leader_epoch: LeaderEpoch,
    /// Whether this broker leads in it.
    pub leading: bool,
    /// The high watermark.
    pub high_watermark: Offset,
    /// The committed ISR's size.
    pub isr_size: usize,
}

/// A led partition's replication health, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaderHealth {
    /// Replicas assigned (the leader included).
    pub replicas: usize,
    /// Members of the committed ISR.
    pub isr: usize,
    /// The topic's `min.insync.replicas`.
    pub min_isr: usize,
}

/// What a replica fetch got from the leader's log.
#[derive(Debug)]
pub enum ReplicaRead {
    /// Batches from the fetch offset (possibly none).
    Records {
        /// The read.
        read: ReadResult,
        /// The leader's high watermark after recording this fetch.
        high_watermark: Offset,
    },
    /// The follower must truncate to `end_offset` first.
    Diverging {
        /// The largest epoch ≤ the follower's last epoch the leader knows.
        epoch: LeaderEpoch,
        /// Where that epoch ends in the leader's log.
        end_offset: Offset,
        /// The leader's high watermark.
        high_watermark: Offset,
    },
}

/// One hosted replica.
#[derive(Debug)]
pub struct Partition {
    /// The topic's name.
    pub topic: String,
    /// The topic's id.
    pub topic_id: TopicId,
    /// The partition index.
    pub index: PartitionIndex,
    log: Mutex<Option<Log>>,
    reader: LogReader,
    state: Mutex<ReplicaState>,
    hw: watch::Sender<HwView>,
    wakeups: Arc<Wakeups>,
}

/// The broker's long-poll notifications: change counters that waiting fetches watch.
/// Consumers wait for data to become visible (a high-watermark move); followers wait for
/// appends. Both are bumped when a replica's role or epoch changes, so a parked fetch
/// answers its refusal at once.
#[derive(Debug)]
pub struct Wakeups {
    /// Bumped when a high watermark moves (consumer fetches).
    pub visible: watch::Sender<u64>,
    /// Bumped on every leader append (follower fetches).
    pub appended: watch::Sender<u64>,
}

impl Default for Wakeups {
    fn default() -> Self {
        Self {
            visible: watch::channel(0).0,
            appended: watch::channel(0).0,
        }
    }
}

fn bump(tx: &watch::Sender<u64>) {
    tx.send_modify(|v| *v = v.wrapping_add(1));
}

impl Partition {
    /// Wraps an opened log; the replica starts as a follower of nobody at epoch -1.
    pub fn new(
        topic: String,
        topic_id: TopicId,
        index: PartitionIndex,
        log: Log,
        min_isr: usize,
        wakeups: Arc<Wakeups>,
    ) -> Self {
        let mut log = log;
        log.defer_policy_flush(true);
        let reader = log.reader();
        let state = ReplicaState {
            role: Role::Follower { leader: None },
            leader_epoch: LeaderEpoch::new(-1),
            min_isr,
            log_end: log.log_end_offset(),
            latest_log_epoch: log.latest_epoch(),
            follower_high_watermark: Offset::new(0),
            epochs: log.epoch_cache().clone(),
        };
        let (hw, _) = watch::channel(HwView {
            leader_epoch: LeaderEpoch::new(-1),
            leading: false,
            high_watermark: Offset::new(0),
            isr_size: 0,
        });
        Self {
            topic,
            topic_id,
            index,
            log: Mutex::new(Some(log)),
            reader,
            state: Mutex::new(state),
            hw,
            wakeups,
        }
    }

    /// "topic-index", for logs.
    pub fn name(&self) -> String {
        format!("{}-{}", self.topic, self.index)
    }

    fn state(&self) -> MutexGuard<'_, ReplicaState> {
        self.state.lock().expect("replica state lock poisoned")
    }

    fn log(&self) -> MutexGuard<'_, Option<Log>> {
        self.log.lock().expect("log lock poisoned")
    }

    /// Refuses follower work (appending or truncating fetched data) unless this replica
    /// still follows at `epoch`.
    fn check_following(&self, epoch: LeaderEpoch) -> Result<(), PartitionError> {
        let s = self.state();
        if s.leader_epoch != epoch || matches!(s.role, Role::Leader(_)) {
            return Err(not_leader(&self.name()));
        }
        Ok(())
    }

    /// Runs `f` on the open log (blocking: call from a blocking thread).
    pub fn with_log<T>(
        &self,
        f: impl FnOnce(&mut Log) -> Result<T, rill_storage::StorageError>,
    ) -> Result<T, PartitionError> {
        // Storage logs name only the directory: the span adds the partition's names.
        let _span = self.span().entered();
        let mut guard = self.log();
        let log = guard.as_mut().ok_or_else(closed)?;
        f(log).map_err(|e| PartitionError::from_storage(&e))
    }

    /// A span naming this partition (topic, index, current leader epoch): log lines
    /// emitted inside it, by storage too, carry those fields.
    pub fn span(&self) -> tracing::Span {
        tracing::info_span!(
            "partition",
            topic = %self.topic,
            partition = self.index.get(),
            leader_epoch = %self.hw_view().leader_epoch
        )
    }

    /// A copy of the replica state's key facts.
    pub fn snapshot(&self) -> (Role, LeaderEpoch, Offset, Option<LeaderEpoch>) {
        let s = self.state();
        (
            s.role.clone(),
            s.leader_epoch,
            s.log_end,
            s.latest_log_epoch,
        )
    }

    /// The replication health when this replica leads; `None` when it follows.
    pub fn leader_health(&self) -> Option<LeaderHealth> {
        let s = self.state();
        match &s.role {
            Role::Leader(l) => Some(LeaderHealth {
                replicas: l.followers.len() + 1,
                isr: l.isr.len(),
                min_isr: s.min_isr,
            }),
            Role::Follower { .. } => None,
        }
    }

    /// The replica's current epoch and whether it leads.
    pub fn hw_view(&self) -> HwView {
        *self.hw.borrow()
    }

    fn publish(&self, s: &ReplicaState) {
        let view = match &s.role {
            Role::Leader(l) => HwView {
                leader_epoch: s.leader_epoch,
                leading: true,
                high_watermark: l.high_watermark(),
                isr_size: l.isr.len(),
            },
            Role::Follower { .. } => HwView {
                leader_epoch: s.leader_epoch,
                leading: false,
                high_watermark: s.follower_high_watermark,
                isr_size: 0,
            },
        };
        let mut role_changed = false;
        let changed = self.hw.send_if_modified(|old| {
            role_changed = old.leader_epoch != view.leader_epoch || old.leading != view.leading;
            let changed = *old != view;
            *old = view;
            changed
        });
        if changed {
            bump(&self.wakeups.visible);
        }
        if role_changed {
            bump(&self.wakeups.appended);
        }
    }

    /// Makes this replica the leader at `epoch` (ignored when not newer, except that the
    /// same epoch with a newer partition epoch updates the ISR). Blocking.
    #[allow(clippy::too_many_arguments)]
    pub fn become_leader(
        &self,
        me: BrokerId,
        epoch: LeaderEpoch,
        partition_epoch: PartitionEpoch,
        replicas: &[BrokerId],
        isr: Vec<BrokerId>,
        min_isr: usize,
        now_ms: i64,
    ) -> bool {
        let _log = self.log();
        let mut s = self.state();
        s.min_isr = min_isr;
        if epoch < s.leader_epoch {
            return false;
        }
        let end = s.log_end;
        if epoch == s.leader_epoch
            && let Role::Leader(l) = &mut s.role
        {
            // An ISR the controller changed itself (it drops a fenced broker from every
            // ISR) reaches the leader only here; its own proposals are counted when
            // answered, and their metadata record then changes nothing.
            let before = l.isr.len();
            let changed = l.apply_isr(isr, partition_epoch);
            if changed {
                crate::metrics::isr_changed(before, l.isr.len());
            }
            l.update_high_watermark(end);
            self.publish(&s);
            return changed;
        }
        let start_hw = match &s.role {
            Role::Leader(l) => l.high_watermark(),
            Role::Follower { .. } => s.follower_high_watermark,
        };
        let mut leader = LeaderState::new(
            me,
            epoch,
            partition_epoch,
            replicas,
            isr,
            s.log_end,
            start_hw,
            now_ms,
        );
        leader.update_high_watermark(s.log_end);
        s.role = Role::Leader(leader);
        s.leader_epoch = epoch;
        tracing::info!(topic = %self.topic, partition = self.index.get(), leader_epoch = %epoch, log_end = %s.log_end, "became leader");
        self.publish(&s);
        true
    }

    /// Makes this replica a follower of `leader` at `epoch` (ignored when not newer).
    /// Returns whether the role changed.
    pub fn become_follower(&self, leader: Option<BrokerId>, epoch: LeaderEpoch) -> bool {
        // The log lock first: an append that passed its role check finishes before the
        // role changes, and none starts after.
        let _log = self.log();
        let mut s = self.state();
        if epoch < s.leader_epoch {
            return false;
        }
        if epoch == s.leader_epoch
            && matches!(&s.role, Role::Follower { leader: l } if *l == leader)
        {
            return false;
        }
        if let Role::Leader(l) = &s.role {
            s.follower_high_watermark = l.high_watermark();
        }
        s.role = Role::Follower { leader };
        s.leader_epoch = epoch;
        tracing::info!(topic = %self.topic, partition = self.index.get(), leader_epoch = %epoch, leader = ?leader.map(|b| b.get()), "became follower");
        self.publish(&s);
        true
    }

    /// Appends a producer's batches as the leader. With `acks_all`, refuses when the ISR
    /// is below `min.insync.replicas`. Returns what was appended and the epoch it was
    /// stamped with; a retry of an idempotent producer's batches returns the originals'
    /// offsets (`info.duplicate`) and leaves the replica's state as it was. Blocking.
    pub fn append_as_leader(
        &self,
        records: &mut [u8],
        acks_all: bool,
    ) -> Result<(AppendInfo, LeaderEpoch), PartitionError> {
        let mut guard = self.log();
        let log = guard.as_mut().ok_or_else(closed)?;
        let epoch = {
            let s = self.state();
            let Role::Leader(l) = &s.role else {
                return Err(not_leader(&self.name()));
            };
            if acks_all && l.isr.len() < s.min_isr {
                return Err(PartitionError::new(
                    ErrorCode::NotEnoughReplicas,
                    format!(
                        "{}: the ISR {:?} is smaller than min.insync.replicas {}",
                        self.name(),
                        l.isr.iter().map(|b| b.get()).collect::<Vec<_>>(),
                        s.min_isr
                    ),
                ));
            }
            s.leader_epoch
        };
        let info = log
            .append_as_leader(records, epoch)
            .map_err(|e| PartitionError::from_storage(&e))?;
        if info.duplicate {
            // A retry of batches appended before: the log did not change, so neither do
            // the log end, the epochs or the high watermark (the originals may lie far
            // below the log end, or be from an older epoch). They are acknowledged again:
            // make them as durable as the first acknowledgement did.
            if log.policy_flush_due() {
                log.flush_up_to(info.last_offset.next())
                    .map_err(|e| PartitionError::from_storage(&e))?;
            }
            return Ok((info, epoch));
        }
        {
            let mut s = self.state();
            s.log_end = info.last_offset.next();
            if s.latest_log_epoch != Some(epoch) {
                s.epochs = log.epoch_cache().clone();
            }
            s.latest_log_epoch = Some(epoch);
            let end = s.log_end;
            if let Role::Leader(l) = &mut s.role {
                l.update_high_watermark(end);
            }
            self.publish(&s);
        }
        bump(&self.wakeups.appended);
        // Group commit: the fsync `flush.messages` asks for happens after the log is
        // released, so writers that appended meanwhile share it (flush_up_to returns at
        // once when another writer's fsync already covered these records).
        if log.policy_flush_due() {
            drop(guard);
            self.with_log(|log| {
                if log.policy_flush_due() {
                    log.flush_up_to(info.last_offset.next())
                } else {
                    Ok(())
                }
            })?;
        }
        Ok((info, epoch))
    }

    /// Waits until the high watermark passes `last_offset` in `epoch` (acks=all), failing
    /// at once when the epoch changes or leadership is lost, and after `timeout`.
    pub async fn wait_replicated(
        &self,
        last_offset: Offset,
        epoch: LeaderEpoch,
        timeout: Duration,
    ) -> Result<(), PartitionError> {
        let mut rx = self.hw.subscribe();
        let wait = async {
            loop {
                let view = *rx.borrow_and_update();
                if view.leader_epoch != epoch || !view.leading {
                    return Err(not_leader(&self.name()));
                }
                if view.high_watermark > last_offset {
                    let min_isr = self.state().min_isr;
                    if view.isr_size < min_isr {
                        return Err(PartitionError::new(
                            ErrorCode::NotEnoughReplicasAfterAppend,
                            format!(
                                "{}: replicated, but the ISR shrank to {} below min.insync.replicas {min_isr}",
                                self.name(),
                                view.isr_size
                            ),
                        ));
                    }
                    return Ok(());
                }
                if rx.changed().await.is_err() {
                    return Err(not_leader(&self.name()));
                }
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(r) => r,
            Err(_) => Err(PartitionError::new(
                ErrorCode::RequestTimedOut,
                format!(
                    "{}: offset {last_offset} was not replicated to the ISR within {timeout:?}",
                    self.name()
                ),
            )),
        }
    }

    /// Reads for a consumer: whole batches from `offset`, below the high watermark.
    /// Only the leader serves consumers.
    pub fn read_for_consumer(
        &self,
        offset: Offset,
        max_bytes: usize,
    ) -> Result<(ReadResult, Offset), PartitionError> {
        let (hw, end) = {
            let s = self.state();
            let Role::Leader(l) = &s.role else {
                return Err(not_leader(&self.name()));
            };
            (l.high_watermark(), s.log_end)
        };
        if offset > end {
            return Err(PartitionError::new(
                ErrorCode::OffsetOutOfRange,
                format!(
                    "{}: offset {offset} is above the log end {end}",
                    self.name()
                ),
            ));
        }
        let read = self
            .reader
            .read(offset, max_bytes, hw)
            .map_err(|e| PartitionError::from_storage(&e))?;
        Ok((read, hw))
    }

    /// Kafka's ListOffsets on the leader: -2 the log start, -1 the high watermark, else
    /// the first offset whose timestamp is at or after `timestamp` (below the high
    /// watermark), with that record's timestamp. Blocking.
    pub fn list_offset(&self, timestamp: i64) -> Result<(Option<Offset>, i64), PartitionError> {
        let hw = {
            let s = self.state();
            let Role::Leader(l) = &s.role else {
                return Err(not_leader(&self.name()));
            };
            l.high_watermark()
        };
        match timestamp {
            -1 => Ok((Some(hw), -1)),
            -2 => Ok((Some(self.log_start(hw)?), -1)),
            ts => match self
                .reader
                .offset_for_timestamp(ts)
                .map_err(|e| PartitionError::from_storage(&e))?
            {
                Some((offset, found)) if offset < hw => Ok((Some(offset), found)),
                _ => Ok((None, -1)),
            },
        }
    }

    /// Serves one partition of a follower's fetch (the leader side of replication).
    #[allow(clippy::too_many_arguments)] // the fields of one fetched partition, as on the wire
    pub fn read_for_follower(
        &self,
        follower: BrokerId,
        broker_epoch: i64,
        current_epoch: LeaderEpoch,
        fetch_offset: Offset,
        last_fetched_epoch: Option<LeaderEpoch>,
        max_bytes: usize,
        now_ms: i64,
    ) -> Result<ReplicaRead, PartitionError> {
        let (end, latest, hw, looked_up) = {
            let s = self.state();
            let Role::Leader(l) = &s.role else {
                return Err(not_leader(&self.name()));
            };
            check_epoch(&self.name(), current_epoch, s.leader_epoch)?;
            // The common case needs no epoch lookup: the follower is in the latest epoch.
            // Otherwise the state's copy of the epoch cache answers, without the log lock.
            let looked_up = last_fetched_epoch
                .filter(|last| Some(*last) != s.latest_log_epoch)
                .map(|last| s.epochs.end_offset_for(last, s.log_end));
            (s.log_end, s.latest_log_epoch, l.high_watermark(), looked_up)
        };
        if let Some(last) = last_fetched_epoch {
            let (epoch, epoch_end) = match looked_up {
                None => (last, end),
                Some(found) => match found {
                    Some(found) => found,
                    None => (LeaderEpoch::new(-1), self.log_start(end)?),
                },
            };
            if epoch < last || epoch_end < fetch_offset {
                return Ok(ReplicaRead::Diverging {
                    epoch,
                    end_offset: epoch_end.min(fetch_offset),
                    high_watermark: hw,
                });
            }
        }
        if fetch_offset > end {
            return Ok(ReplicaRead::Diverging {
                epoch: latest.unwrap_or(LeaderEpoch::new(-1)),
                end_offset: end,
                high_watermark: hw,
            });
        }
        let read = self
            .reader
            .read(fetch_offset, max_bytes, Offset::new(i64::MAX))
            .map_err(|e| PartitionError::from_storage(&e))?;
        let mut s = self.state();
        let end = s.log_end;
        let Role::Leader(l) = &mut s.role else {
            return Err(not_leader(&self.name()));
        };
        let advanced = l.on_follower_fetch(follower, broker_epoch, fetch_offset, end, now_ms);
        let high_watermark = l.high_watermark();
        if advanced {
            self.publish(&s);
        }
        Ok(ReplicaRead::Records {
            read,
            high_watermark,
        })
    }

    /// The log start offset, from an empty read at `bound` (at most the log end); no
    /// log lock.
    fn log_start(&self, bound: Offset) -> Result<Offset, PartitionError> {
        self.reader
            .read(bound, 0, bound)
            .map(|r| r.log_start_offset)
            .map_err(|e| PartitionError::from_storage(&e))
    }

    /// Appends batches fetched from the leader while following it at `epoch`, and takes
    /// the leader's high watermark. Returns whether records were appended. Blocking.
    pub fn append_as_follower(
        &self,
        epoch: LeaderEpoch,
        records: &[u8],
        leader_high_watermark: Offset,
    ) -> Result<bool, PartitionError> {
        let mut guard = self.log();
        let log = guard.as_mut().ok_or_else(closed)?;
        self.check_following(epoch)?;
        if !records.is_empty() {
            log.append_as_follower(records)
                .map_err(|e| PartitionError::from_storage(&e))?;
            // Durable before the next fetch tells the leader this replica has them.
            if log.policy_flush_due() {
                log.flush().map_err(|e| PartitionError::from_storage(&e))?;
            }
        }
        let mut s = self.state();
        s.log_end = log.log_end_offset();
        if s.latest_log_epoch != log.latest_epoch() {
            s.epochs = log.epoch_cache().clone();
        }
        s.latest_log_epoch = log.latest_epoch();
        let hw = leader_high_watermark.min(s.log_end);
        if hw > s.follower_high_watermark || !records.is_empty() {
            s.follower_high_watermark = s.follower_high_watermark.max(hw);
            self.publish(&s);
        }
        Ok(!records.is_empty())
    }

    /// Truncates a follower's log where the leader said it diverged: the leader's
    /// `diverging_epoch` ends at `leader_end` in its log (KIP-279). The follower cuts at
    /// the smaller of that and where the same epoch ends in its own log; when its own
    /// log has only an older epoch there, it cuts at that epoch's end and asks again.
    /// Returns whether anything was removed. Blocking.
    pub fn truncate_as_follower(
        &self,
        epoch: LeaderEpoch,
        diverging_epoch: LeaderEpoch,
        leader_end: Offset,
    ) -> Result<bool, PartitionError> {
        let mut guard = self.log();
        let log = guard.as_mut().ok_or_else(closed)?;
        self.check_following(epoch)?;
        let before = log.log_end_offset();
        let offset = match log.end_offset_for_epoch(diverging_epoch) {
            Some((_, own_end)) => leader_end.min(own_end),
            None => leader_end.min(log.log_start_offset()),
        };
        let end = log
            .truncate_to(offset.max(log.log_start_offset()))
            .map_err(|e| PartitionError::from_storage(&e))?;
        tracing::info!(topic = %self.topic, partition = self.index.get(), leader_epoch = %epoch, from = %before, to = %end, "truncated diverging suffix");
        let mut s = self.state();
        s.log_end = end;
        s.latest_log_epoch = log.latest_epoch();
        s.epochs = log.epoch_cache().clone();
        s.follower_high_watermark = s.follower_high_watermark.min(end);
        Ok(end < before)
    }

    /// Applies a committed ISR from the controller's AlterPartition answer, if this
    /// replica still leads at `epoch`.
    pub fn apply_isr(
        &self,
        epoch: LeaderEpoch,
        isr: Vec<BrokerId>,
        partition_epoch: PartitionEpoch,
    ) -> bool {
        let mut s = self.state();
        if s.leader_epoch != epoch {
            return false;
        }
        let end = s.log_end;
        let Role::Leader(l) = &mut s.role else {
            return false;
        };
        let before = l.isr.len();
        let applied = l.apply_isr(isr, partition_epoch);
        if applied {
            crate::metrics::isr_changed(before, l.isr.len());
            l.update_high_watermark(end);
            self.publish(&s);
        }
        applied
    }

    /// The ISR change to propose now, if this replica leads and one is due; marks it
    /// pending. Returns (epoch, partition epoch it is based on, proposed ISR).
    pub fn take_isr_proposal(
        &self,
        now_ms: i64,
        lag_max_ms: i64,
        eligible: impl Fn(BrokerId, i64) -> bool,
    ) -> Option<(LeaderEpoch, PartitionEpoch, Vec<BrokerId>)> {
        let mut s = self.state();
        let epoch = s.leader_epoch;
        let Role::Leader(l) = &mut s.role else {
            return None;
        };
        let proposal = l.isr_proposal(now_ms, lag_max_ms, eligible)?;
        l.pending_isr = Some(proposal.clone());
        Some((epoch, l.partition_epoch, proposal))
    }

    /// Forgets a pending ISR proposal that failed, so a later one can be made.
    pub fn clear_pending_isr(&self, epoch: LeaderEpoch) {
        let mut s = self.state();
        if s.leader_epoch == epoch
            && let Role::Leader(l) = &mut s.role
        {
            l.pending_isr = None;
        }
    }

    /// Flushes per the topic's flush.ms and writes the checkpoints. Blocking.
    pub fn flush_and_checkpoint(&self) -> Result<(), PartitionError> {
        self.with_log(|log| {
            log.maybe_flush()?;
            log.checkpoint()
        })
    }

    /// Closes the log cleanly (flush, checkpoints, clean-shutdown marker). Blocking.
    pub fn close(&self) -> Result<(), PartitionError> {
        let mut guard = self.log();
        let Some(log) = guard.take() else {
            return Ok(());
        };
        drop(guard);
        // Waiters must not wait for a log that is gone.
        {
            let mut s = self.state();
            s.role = Role::Follower { leader: None };
            self.publish(&s);
        }
        log.close().map_err(|e| PartitionError::from_storage(&e))
    }
}

fn closed() -> PartitionError {
    PartitionError::new(ErrorCode::NotLeaderOrFollower, "the replica is closed")
}

fn not_leader(name: &str) -> PartitionError {
    PartitionError::new(
        ErrorCode::NotLeaderOrFollower,
        format!("this broker does not lead {name}"),
    )
}

fn check_epoch(name: &str, asked: LeaderEpoch, current: LeaderEpoch) -> Result<(), PartitionError> {
    if asked < current {
        return Err(PartitionError::new(
            ErrorCode::FencedLeaderEpoch,
            format!("{name}: leader epoch {asked} is older than {current}"),
        ));
    }
    if asked > current {
        return Err(PartitionError::new(
            ErrorCode::UnknownLeaderEpoch,
            format!("{name}: leader epoch {asked} is newer than {current}"),
        ));
    }
    Ok(())
}

/// Kafka-client-facing checks and lookups (the leader epoch a client names, its
/// divergence lookup), kept apart from the replication paths above.
impl Partition {
    /// Refuses a client request that names a leader epoch other than this leader's
    /// (KIP-320): FENCED_LEADER_EPOCH when the client's is older, UNKNOWN_LEADER_EPOCH
    /// when newer (this broker has not heard of it yet), NOT_LEADER_OR_FOLLOWER when
    /// this broker does not lead.
    pub fn check_leader_epoch(&self, asked: LeaderEpoch) -> Result<(), PartitionError> {
        let view = self.hw_view();
        if !view.leading {
            return Err(not_leader(&self.name()));
        }
        let code = match asked.cmp(&view.leader_epoch) {
            std::cmp::Ordering::Equal => return Ok(()),
            std::cmp::Ordering::Less => ErrorCode::FencedLeaderEpoch,
            std::cmp::Ordering::Greater => ErrorCode::UnknownLeaderEpoch,
        };
        Err(PartitionError::new(
            code,
            format!(
                "{}: the request names leader epoch {asked}, the leader is at {}",
                self.name(),
                view.leader_epoch
            ),
        ))
    }

    /// OffsetForLeaderEpoch on the leader: the largest epoch at or below `epoch` this
    /// log knows and the offset where it ends (the log end for the latest epoch), or
    /// `None` when the log has no epoch at or below it.
    pub fn end_offset_for_epoch(
        &self,
        epoch: LeaderEpoch,
    ) -> Result<Option<(LeaderEpoch, Offset)>, PartitionError> {
        let s = self.state();
        if !matches!(s.role, Role::Leader(_)) {
            return Err(not_leader(&self.name()));
        }
        Ok(s.epochs.end_offset_for(epoch, s.log_end))
    }

    /// DeleteRecords on the leader: moves the log start offset up to `offset` (-1: the
    /// high watermark) and returns the log start after it (the new low watermark; an
    /// offset at or below the current start changes nothing). OFFSET_OUT_OF_RANGE above
    /// the high watermark or below -1, NOT_LEADER_OR_FOLLOWER on a non-leader. The log
    /// lock is held across the role check and the move, so a replica that stopped
    /// leading never moves its start on a client's word. Blocking.
    pub fn delete_records(&self, offset: i64) -> Result<Offset, PartitionError> {
        let mut guard = self.log();
        let log = guard.as_mut().ok_or_else(closed)?;
        let hw = {
            let s = self.state();
            let Role::Leader(l) = &s.role else {
                return Err(not_leader(&self.name()));
            };
            l.high_watermark()
        };
        let target = match offset {
            -1 => hw,
            o if o < 0 || o > hw.get() => {
                return Err(PartitionError::new(
                    ErrorCode::OffsetOutOfRange,
                    format!(
                        "{}: offset {o} is outside [0, the high watermark {hw}]",
                        self.name()
                    ),
                ));
            }
            o => Offset::new(o),
        };
        let start = log
            .delete_records(target)
            .map_err(|e| PartitionError::from_storage(&e))?;
        self.state().epochs = log.epoch_cache().clone();
        Ok(start)
    }

    /// A follower takes the leader's log start offset (moved by DeleteRecords or
    /// retention on the leader), capped at its own log end, so records deleted on the
    /// leader cannot come back if this replica becomes leader. Returns whether it moved.
    /// Blocking.
    pub fn follow_log_start(
        &self,
        epoch: LeaderEpoch,
        leader_log_start: Offset,
    ) -> Result<bool, PartitionError> {
        let mut guard = self.log();
        let log = guard.as_mut().ok_or_else(closed)?;
        {
            let s = self.state();
            if s.leader_epoch != epoch || matches!(s.role, Role::Leader(_)) {
                return Ok(false);
            }
        }
        let target = leader_log_start.min(log.log_end_offset());
        if target <= log.log_start_offset() {
            return Ok(false);
        }
        log.delete_records(target)
            .map_err(|e| PartitionError::from_storage(&e))?;
        self.state().epochs = log.epoch_cache().clone();
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rill_storage::testing::batch_of_size;
    use rill_storage::{FaultyDisk, LogConfig, ManualClock};

    use super::*;

    fn b(i: i32) -> BrokerId {
        BrokerId::new(i)
    }

    fn partition(dir: &std::path::Path, config: LogConfig, disk: Arc<FaultyDisk>) -> Partition {
        let log = Log::open(dir, config, Arc::new(ManualClock::new(0)), disk).unwrap();
        Partition::new(
            "t".into(),
            TopicId::from_bytes([1; 16]),
            PartitionIndex::new(0),
            log,
            2,
            Arc::default(),
        )
    }

    fn lead(p: &Partition, epoch: i32, isr: &[i32]) {
        p.become_leader(
            b(1),
            LeaderEpoch::new(epoch),
            PartitionEpoch::new(epoch),
            &[b(1), b(2), b(3)],
            isr.iter().map(|i| b(*i)).collect(),
            2,
            0,
        );
    }

    #[test]
    fn acks_all_is_refused_below_min_isr_and_nothing_is_appended() {
        let dir = tempfile::tempdir().unwrap();
        let p = partition(dir.path(), LogConfig::default(), Arc::default());
        lead(&p, 0, &[1]);
        let mut batch = batch_of_size(3, 10, 0);
        let e = p.append_as_leader(&mut batch, true).unwrap_err();
        assert_eq!(e.code, ErrorCode::NotEnoughReplicas);
        assert_eq!(p.snapshot().2, Offset::new(0));
        // acks=1 is not subject to min.insync.replicas.
        let (info, _) = p.append_as_leader(&mut batch, false).unwrap();
        assert_eq!(info.last_offset, Offset::new(2));
    }

    #[test]
    fn flush_messages_one_fsyncs_before_the_append_returns() {
        let dir = tempfile::tempdir().unwrap();
        let disk = Arc::new(FaultyDisk::default());
        let config = LogConfig::from_pairs([("flush.messages", "1")]).unwrap();
        let p = partition(dir.path(), config, disk.clone());
        lead(&p, 0, &[1, 2]);
        let before = disk.file_syncs();
        let mut batch = batch_of_size(2, 10, 0);
        p.append_as_leader(&mut batch, true).unwrap();
        assert!(
            disk.file_syncs() > before,
            "no fsync before the append returned"
        );
        let recovery_point = p.with_log(|l| Ok(l.recovery_point())).unwrap();
        assert_eq!(recovery_point, Offset::new(2));

        // Kafka's default leaves flushing to flush.ms.
        let dir = tempfile::tempdir().unwrap();
        let disk = Arc::new(FaultyDisk::default());
        let p = partition(dir.path(), LogConfig::default(), disk.clone());
        lead(&p, 0, &[1, 2]);
        // (The first append of an epoch persists the epoch cache.)
        p.append_as_leader(&mut batch, true).unwrap();
        let before = disk.file_syncs();
        p.append_as_leader(&mut batch, true).unwrap();
        assert_eq!(disk.file_syncs(), before);
    }

    #[tokio::test]
    async fn a_newer_epoch_fails_acks_all_waiters_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = Arc::new(partition(dir.path(), LogConfig::default(), Arc::default()));
        lead(&p, 0, &[1, 2]);
        let mut batch = batch_of_size(1, 10, 0);
        let (info, epoch) = p.append_as_leader(&mut batch, true).unwrap();
        let waiter = {
            let p = p.clone();
            tokio::spawn(async move {
                p.wait_replicated(info.last_offset, epoch, Duration::from_secs(60))
                    .await
            })
        };
        tokio::task::yield_now().await;
        assert!(p.become_follower(Some(b(2)), LeaderEpoch::new(1)));
        let e = tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("the waiter is woken, not timed out")
            .unwrap()
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::NotLeaderOrFollower);
        // And a follower never appends as leader.
        let e = p.append_as_leader(&mut batch, false).unwrap_err();
        assert_eq!(e.code, ErrorCode::NotLeaderOrFollower);
    }

    #[test]
    fn acks_all_completes_when_the_isr_has_the_batch() {
        let dir = tempfile::tempdir().unwrap();
        let p = partition(dir.path(), LogConfig::default(), Arc::default());
        lead(&p, 3, &[1, 2]);
        let mut batch = batch_of_size(4, 10, 0);
        p.append_as_leader(&mut batch, true).unwrap();
        assert_eq!(p.hw_view().high_watermark, Offset::new(0));
        let e3 = LeaderEpoch::new(3);
        // Follower 3 is not in the ISR: its fetch does not move the high watermark.
        p.read_for_follower(b(3), 1, e3, Offset::new(0), None, 1 << 20, 1)
            .unwrap();
        assert_eq!(p.hw_view().high_watermark, Offset::new(0));
        p.read_for_follower(b(2), 1, e3, Offset::new(2), Some(e3), 1 << 20, 1)
            .unwrap();
        assert_eq!(p.hw_view().high_watermark, Offset::new(2));
        p.read_for_follower(b(2), 1, e3, Offset::new(4), Some(e3), 1 << 20, 2)
            .unwrap();
        assert_eq!(p.hw_view().high_watermark, Offset::new(4));
        // A stale or future epoch is refused.
        let e = p
            .read_for_follower(b(2), 1, LeaderEpoch::new(2), Offset::new(4), None, 1, 3)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::FencedLeaderEpoch);
        let e = p
            .read_for_follower(b(2), 1, LeaderEpoch::new(4), Offset::new(4), None, 1, 3)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::UnknownLeaderEpoch);
    }

    #[test]
    fn a_follower_with_an_older_epoch_suffix_is_told_where_it_diverged() {
        let dir = tempfile::tempdir().unwrap();
        let p = partition(dir.path(), LogConfig::default(), Arc::default());
        // Epoch 1 wrote offsets 0..3, epoch 5 wrote 3..5.
        lead(&p, 1, &[1]);
        p.append_as_leader(&mut batch_of_size(3, 10, 0), false)
            .unwrap();
        lead(&p, 5, &[1]);
        p.append_as_leader(&mut batch_of_size(2, 10, 0), false)
            .unwrap();
        // The follower has epoch 1 up to offset 6 (a suffix the leader never had).
        match p
            .read_for_follower(
                b(2),
                1,
                LeaderEpoch::new(5),
                Offset::new(6),
                Some(LeaderEpoch::new(1)),
                1 << 20,
                0,
            )
            .unwrap()
        {
            ReplicaRead::Diverging {
                epoch, end_offset, ..
            } => {
                assert_eq!(epoch, LeaderEpoch::new(1));
                assert_eq!(end_offset, Offset::new(3));
            }
            other => panic!("expected divergence, got {other:?}"),
        }
        // One in the latest epoch but past the log end is cut back to the log end.
        match p
            .read_for_follower(
                b(2),
                1,
                LeaderEpoch::new(5),
                Offset::new(9),
                Some(LeaderEpoch::new(5)),
                1 << 20,
                0,
            )
            .unwrap()
        {
            ReplicaRead::Diverging { end_offset, .. } => assert_eq!(end_offset, Offset::new(5)),
            other => panic!("expected divergence, got {other:?}"),
        }
        // A follower in step gets records.
        assert!(matches!(
            p.read_for_follower(
                b(2),
                1,
                LeaderEpoch::new(5),
                Offset::new(3),
                Some(LeaderEpoch::new(5)),
                1 << 20,
                0
            )
            .unwrap(),
            ReplicaRead::Records { .. }
        ));
    }

    #[test]
    fn a_follower_truncates_to_the_smaller_end_of_the_diverging_epoch() {
        // The leader's log: epoch 5 at 0..10, epoch 7 at 10..15.
        let ld = tempfile::tempdir().unwrap();
        let leader = partition(ld.path(), LogConfig::default(), Arc::default());
        lead(&leader, 5, &[1]);
        leader
            .append_as_leader(&mut batch_of_size(10, 10, 0), false)
            .unwrap();
        lead(&leader, 7, &[1]);
        leader
            .append_as_leader(&mut batch_of_size(5, 10, 0), false)
            .unwrap();
        let bytes = leader
            .with_log(|l| {
                Ok(l.read(Offset::new(0), 1 << 20, Offset::new(i64::MAX))?
                    .records)
            })
            .unwrap();
        // A follower with that log learns that the new leader's epoch 5 ends at 12: it
        // keeps only its own epoch 5 (to 10), never the epoch-7 batches at 10..12.
        let fd = tempfile::tempdir().unwrap();
        let f = partition(fd.path(), LogConfig::default(), Arc::default());
        let e8 = LeaderEpoch::new(8);
        assert!(f.become_follower(Some(b(2)), e8));
        f.append_as_follower(e8, &bytes, Offset::new(0)).unwrap();
        assert_eq!(f.snapshot().2, Offset::new(15));
        assert!(
            f.truncate_as_follower(e8, LeaderEpoch::new(5), Offset::new(12))
                .unwrap()
        );
        assert_eq!(f.snapshot().2, Offset::new(10));
        assert_eq!(f.snapshot().3, Some(LeaderEpoch::new(5)));
        // Asked again, nothing more goes (and it is not reported as progress).
        assert!(
            !f.truncate_as_follower(e8, LeaderEpoch::new(5), Offset::new(12))
                .unwrap()
        );
    }
}
