//! [`GroupCoordinator`]: the async shell around [`Group`]s. It holds the groups of the
//! `__consumer_offsets` partitions this broker leads (and has loaded), runs the
//! requests against them, parks the requests that must wait (JoinGroup, a follower's
//! SyncGroup) until their slot is filled, ticks time every [`TICK`], and writes
//! state changes to `__consumer_offsets` with acks=all.
//!
//! Contracts:
//! - a request for a group whose partition this broker does not lead (at the loaded
//!   leader epoch) gets NOT_COORDINATOR; while the partition loads,
//!   COORDINATOR_LOAD_IN_PROGRESS;
//! - an offset commit is answered without error only once its records are replicated
//!   (acks=all), and only then is it visible to OffsetFetch;
//! - writes go through one writer lock and snapshot the group when written, so the
//!   last metadata record of a group is its latest state.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use rill_broker::data_plane::ProduceInput;
use rill_broker::replica_manager::ReplicaManager;
use rill_types::{ErrorCode, LeaderEpoch};
use tokio::sync::Notify;

use super::records::{self, OffsetValue, RecordKey, RecordValue};
use super::state::{Group, GroupLimits};
use super::{CONSUMER_OFFSETS, MAX_GROUPS, partition_for};

/// How often time is ticked (session expiry, rebalance deadlines) and leadership of
/// `__consumer_offsets` partitions is checked.
pub const TICK: Duration = Duration::from_millis(100);

/// `offsets.commit.timeout.ms`: the longest a write waits for replication.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// A `__consumer_offsets` partition this broker leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Load {
    /// Being read, at this leader epoch.
    Loading(LeaderEpoch),
    /// Loaded at this leader epoch; its groups are in memory.
    Loaded(LeaderEpoch),
}

#[derive(Debug, Default)]
pub(super) struct Inner {
    pub(super) partitions: BTreeMap<i32, Load>,
    pub(super) groups: HashMap<String, Group>,
}

/// The group coordinator of one broker.
#[derive(Debug)]
pub struct GroupCoordinator {
    pub(super) rm: Arc<ReplicaManager>,
    /// Limits and timings of groups.
    pub limits: GroupLimits,
    pub(super) inner: Mutex<Inner>,
    /// Woken after every change, for parked requests.
    notify: Notify,
    /// Serialises writes (see the module docs).
    writer: tokio::sync::Mutex<()>,
    started: AtomicBool,
}

impl GroupCoordinator {
    /// A coordinator over the broker's replicas; its background task starts with the
    /// first group request ([`GroupCoordinator::start`]).
    pub fn new(rm: Arc<ReplicaManager>, limits: GroupLimits) -> Arc<Self> {
        Arc::new(Self {
            rm,
            limits,
            inner: Mutex::new(Inner::default()),
            notify: Notify::new(),
            writer: tokio::sync::Mutex::new(()),
            started: AtomicBool::new(false),
        })
    }

    /// Starts the background task (ticks, leadership watch, loads), once.
    pub fn start(self: &Arc<Self>) {
        if !self.started.swap(true, Ordering::SeqCst) {
            let me = Arc::clone(self);
            tokio::spawn(async move { me.run().await });
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().expect("group coordinator lock poisoned")
    }

    pub(super) fn wake(&self) {
        self.notify.notify_waiters();
    }

    /// The clock's now (ms).
    pub fn now(&self) -> i64 {
        self.rm.now_ms()
    }

    /// The number of `__consumer_offsets` partitions, once the topic exists.
    pub fn offsets_partitions(&self) -> Option<i32> {
        let image = self.rm.metadata.borrow().image.clone();
        image
            .topic_by_name(CONSUMER_OFFSETS)
            .map(|t| t.partitions.len() as i32)
            .filter(|n| *n > 0)
    }

    /// The partition of `group`, if this broker coordinates it now.
    fn route(&self, inner: &Inner, group: &str) -> Result<i32, ErrorCode> {
        let n = self
            .offsets_partitions()
            .ok_or(ErrorCode::CoordinatorNotAvailable)?;
        let p = partition_for(group, n);
        match inner.partitions.get(&p) {
            None => Err(ErrorCode::NotCoordinator),
            Some(Load::Loading(_)) => Err(ErrorCode::CoordinatorLoadInProgress),
            Some(Load::Loaded(epoch)) => {
                let leads = self
                    .rm
                    .by_name(CONSUMER_OFFSETS, p)
                    .map(|part| part.hw_view())
                    .is_ok_and(|v| v.leading && v.leader_epoch == *epoch);
                if leads {
                    Ok(p)
                } else {
                    Err(ErrorCode::NotCoordinator)
                }
            }
        }
    }

    /// Whether this broker coordinates `group` now (its partition loaded here).
    pub fn check(&self, group: &str) -> Result<i32, ErrorCode> {
        let inner = self.lock();
        self.route(&inner, group)
    }

    /// Runs `f` on `group` (created Empty first when `create`; absent and not created:
    /// `Ok(None)`), then wakes parked requests.
    pub fn with_group<T>(
        &self,
        group: &str,
        create: bool,
        f: impl FnOnce(&mut Group, i64) -> T,
    ) -> Result<Option<T>, ErrorCode> {
        let out = self.run_on(group, create, f);
        self.wake();
        out
    }

    /// [`GroupCoordinator::with_group`] without the wake-up (for the parked requests'
    /// own checks, which must not wake themselves).
    fn run_on<T>(
        &self,
        group: &str,
        create: bool,
        f: impl FnOnce(&mut Group, i64) -> T,
    ) -> Result<Option<T>, ErrorCode> {
        let now = self.now();
        let mut inner = self.lock();
        self.route(&inner, group)?;
        if !inner.groups.contains_key(group) {
            if !create {
                return Ok(None);
            }
            if inner.groups.len() >= MAX_GROUPS {
                return Err(ErrorCode::GroupMaxSizeReached);
            }
            inner
                .groups
                .insert(group.to_owned(), Group::new(group, self.limits, now));
        }
        let g = inner.groups.get_mut(group).expect("present");
        let out = f(g, now);
        if g.is_vacant() && !g.dirty {
            inner.groups.remove(group);
        }
        Ok(Some(out))
    }

    /// Waits until `f` yields (it runs after every change), the group's partition moves
    /// (its error), or `deadline` (REBALANCE_IN_PROGRESS: the client retries).
    pub async fn wait<T>(
        &self,
        group: &str,
        deadline: tokio::time::Instant,
        mut f: impl FnMut(&mut Group) -> Option<T>,
    ) -> Result<T, ErrorCode> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.run_on(group, false, |g, _| f(g))? {
                None => return Err(ErrorCode::UnknownMemberId),
                Some(Some(t)) => return Ok(t),
                Some(None) => {}
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(ErrorCode::RebalanceInProgress);
            }
        }
    }

    /// Writes `group`'s metadata if it changed since the last write.
    pub async fn flush(&self, group: &str) -> Result<(), ErrorCode> {
        let _w = self.writer.lock().await;
        let (p, record) = {
            let mut inner = self.lock();
            let p = self.route(&inner, group)?;
            let Some(g) = inner.groups.get_mut(group) else {
                return Ok(());
            };
            if !g.dirty {
                return Ok(());
            }
            g.dirty = false;
            let key = records::encode_key(&RecordKey::Group {
                group: group.to_owned(),
            });
            let value = records::encode_value(&RecordValue::Group(g.to_value()));
            (p, (key, Some(value)))
        };
        let r = self.append(p, vec![record]).await;
        if let Err(e) = r {
            tracing::info!(group, error = e.name(), "group metadata write failed");
            if let Some(g) = self.lock().groups.get_mut(group) {
                g.dirty = true;
            }
        }
        r
    }

    /// Commits `items` ((topic, partition), value) for `group` once the commit check
    /// `check` (run on the group) passes; answers once replicated.
    pub async fn commit(
        &self,
        group: &str,
        items: Vec<((String, i32), OffsetValue)>,
        check: impl FnOnce(&mut Group, i64) -> Result<(), ErrorCode>,
    ) -> Result<(), ErrorCode> {
        self.with_group(group, true, check)?.expect("created")?;
        if items.is_empty() {
            return Ok(());
        }
        let _w = self.writer.lock().await;
        let p = self.check(group)?;
        let batch = items
            .iter()
            .map(|((topic, partition), v)| {
                let key = RecordKey::Offset {
                    group: group.to_owned(),
                    topic: topic.clone(),
                    partition: *partition,
                };
                (
                    records::encode_key(&key),
                    Some(records::encode_value(&RecordValue::Offset(v.clone()))),
                )
            })
            .collect();
        self.append(p, batch).await?;
        self.with_group(group, true, |g, _| {
            for (k, v) in items {
                g.offsets.insert(k, v);
            }
        })?;
        Ok(())
    }

    /// Writes tombstones for `group`'s offsets of `keys` (and its metadata when
    /// `whole`), then forgets them.
    pub async fn delete(
        &self,
        group: &str,
        keys: Vec<(String, i32)>,
        whole: bool,
    ) -> Result<(), ErrorCode> {
        let _w = self.writer.lock().await;
        let p = self.check(group)?;
        let mut batch: Vec<(Bytes, Option<Bytes>)> = keys
            .iter()
            .map(|(topic, partition)| {
                let key = RecordKey::Offset {
                    group: group.to_owned(),
                    topic: topic.clone(),
                    partition: *partition,
                };
                (records::encode_key(&key), None)
            })
            .collect();
        if whole {
            let key = RecordKey::Group {
                group: group.to_owned(),
            };
            batch.push((records::encode_key(&key), None));
        }
        if !batch.is_empty() {
            self.append(p, batch).await?;
        }
        let mut inner = self.lock();
        if whole {
            if let Some(mut g) = inner.groups.remove(group) {
                g.state = super::state::GroupState::Dead;
            }
        } else if let Some(g) = inner.groups.get_mut(group) {
            for k in &keys {
                g.offsets.remove(k);
            }
        }
        drop(inner);
        self.wake();
        Ok(())
    }

    /// Deletes `group` with its offsets: refused with NON_EMPTY_GROUP while it has
    /// members (or is rebalancing), GROUP_ID_NOT_FOUND when this coordinator does not
    /// know it. DeleteGroups and the gRPC group admin service both use this.
    pub async fn delete_group(&self, group: &str) -> Result<(), ErrorCode> {
        let keys = self
            .with_group(group, false, |g, _| {
                if g.state == super::state::GroupState::Empty {
                    Ok(g.offsets.keys().cloned().collect::<Vec<_>>())
                } else {
                    Err(ErrorCode::NonEmptyGroup)
                }
            })?
            .ok_or(ErrorCode::GroupIdNotFound)??;
        self.delete(group, keys, true).await
    }

    /// Appends one batch to partition `p` of `__consumer_offsets`, acks=all.
    async fn append(&self, p: i32, batch: Vec<(Bytes, Option<Bytes>)>) -> Result<(), ErrorCode> {
        let input = ProduceInput {
            topic: CONSUMER_OFFSETS.to_owned(),
            partition: p,
            records: records::batch(&batch, self.now()),
        };
        let mut out = self.rm.produce(-1, WRITE_TIMEOUT, vec![input]).await;
        match out.pop().expect("one result per input") {
            Ok(_) => Ok(()),
            Err(e) => Err(match e.code {
                ErrorCode::NotLeaderOrFollower
                | ErrorCode::UnknownTopicOrPartition
                | ErrorCode::FencedLeaderEpoch => ErrorCode::NotCoordinator,
                ErrorCode::NotEnoughReplicas
                | ErrorCode::NotEnoughReplicasAfterAppend
                | ErrorCode::RequestTimedOut => ErrorCode::CoordinatorNotAvailable,
                other => {
                    tracing::warn!(code = other.name(), message = %e.message, "__consumer_offsets write failed");
                    ErrorCode::UnknownServerError
                }
            }),
        }
    }

    /// The background task: every [`TICK`], follow leadership of `__consumer_offsets`
    /// (loading partitions newly led, dropping the others), tick every group and write
    /// the groups that changed.
    async fn run(self: Arc<Self>) {
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            self.follow_leadership();
            let now = self.now();
            let dirty: Vec<String> = {
                let mut inner = self.lock();
                for g in inner.groups.values_mut() {
                    g.tick(now);
                }
                inner.groups.retain(|_, g| !g.is_vacant() || g.dirty);
                inner
                    .groups
                    .iter()
                    .filter(|(_, g)| g.dirty)
                    .map(|(id, _)| id.clone())
                    .collect()
            };
            self.wake();
            for id in dirty {
                let _ = self.flush(&id).await;
            }
        }
    }
}

impl GroupCoordinator {
    /// A copy of every group this broker holds now (for admin listings).
    pub fn snapshot(&self) -> Vec<super::state::Group> {
        self.lock().groups.values().cloned().collect()
    }

    /// Every group this broker coordinates: (id, protocol type, state).
    pub fn list(&self) -> Vec<(String, String, String)> {
        self.lock()
            .groups
            .values()
            .map(|g| {
                (
                    g.id.clone(),
                    g.protocol_type.clone().unwrap_or_default(),
                    g.state.name().to_owned(),
                )
            })
            .collect()
    }
}
