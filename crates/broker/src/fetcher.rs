//! The follower side of replication: one session per leader broker, carrying every
//! partition this broker follows on that leader ([`FetcherManager`]).
//!
//! A session is a loop of long-polling fetches. Each names, per partition, the log end
//! (the offset wanted next) and the epoch of the last batch; the leader answers with
//! batches, appended as they are, or with the end of that epoch in its log, where the
//! follower truncates before fetching again. A follower never truncates by its own high
//! watermark. Partition errors (a leader that moved) leave the partition in the session
//! until the reconciler moves it; the session backs off instead of spinning.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rill_proto::replication::replication_service_client::ReplicationServiceClient;
use rill_proto::replication::{ReplicaFetchPartition, ReplicaFetchRequest};
use rill_types::{BrokerId, LeaderEpoch, Offset, PartitionIndex, TopicId};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

use crate::lifecycle::LeaseStatus;
use crate::partition::{Partition, Role};
use crate::replica_manager::PartitionKey;

/// What sessions need from the broker.
#[derive(Debug, Clone)]
pub struct FetchContext {
    /// This broker.
    pub broker_id: BrokerId,
    /// The lease (for the broker epoch).
    pub lease: watch::Receiver<LeaseStatus>,
    /// `replica.fetch.wait.max.ms`.
    pub max_wait_ms: i32,
    /// `replica.fetch.max.bytes`.
    pub partition_max_bytes: i32,
    /// `replica.fetch.response.max.bytes`.
    pub response_max_bytes: i32,
}

type Members = Arc<Mutex<BTreeMap<PartitionKey, Arc<Partition>>>>;

#[derive(Debug)]
struct Session {
    addr: String,
    members: Members,
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

/// The follower sessions, by leader broker.
#[derive(Debug, Default)]
pub struct FetcherManager {
    sessions: BTreeMap<BrokerId, Session>,
}

impl FetcherManager {
    /// Makes `partition` fetch from `leader` at `addr` (and from no other session).
    /// Idempotent.
    pub fn assign(
        &mut self,
        key: PartitionKey,
        partition: Arc<Partition>,
        leader: BrokerId,
        addr: String,
        ctx: &FetchContext,
    ) {
        for (id, session) in &self.sessions {
            if *id != leader {
                session.members.lock().expect("members lock").remove(&key);
            }
        }
        // A session whose leader moved address is replaced; one whose task ended (it
        // cannot, short of a bug) is restarted with the partitions it had.
        let mut carried: Option<Members> = None;
        if self
            .sessions
            .get(&leader)
            .is_some_and(|s| s.addr != addr || s.task.is_finished())
            && let Some(old) = self.sessions.remove(&leader)
        {
            old.task.abort();
            carried = Some(old.members);
        }
        let session = self.sessions.entry(leader).or_insert_with(|| {
            let members: Members = carried.unwrap_or_default();
            let wake = Arc::new(Notify::new());
            let task = tokio::spawn(run_session(
                leader,
                addr.clone(),
                members.clone(),
                wake.clone(),
                ctx.clone(),
            ));
            Session {
                addr,
                members,
                wake,
                task,
            }
        });
        let added = session
            .members
            .lock()
            .expect("members lock")
            .insert(key, partition)
            .is_none();
        if added {
            session.wake.notify_one();
        }
    }

    /// Stops fetching `key` from any leader.
    pub fn remove(&mut self, key: PartitionKey) {
        for session in self.sessions.values() {
            session.members.lock().expect("members lock").remove(&key);
        }
    }

    /// Stops every session.
    pub fn shutdown(&mut self) {
        for (_, s) in std::mem::take(&mut self.sessions) {
            s.task.abort();
        }
    }
}

impl Drop for FetcherManager {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn client(addr: &str) -> Option<ReplicationServiceClient<Channel>> {
    let endpoint = Endpoint::from_shared(format!("http://{addr}")).ok()?;
    let channel = endpoint
        .connect_timeout(Duration::from_secs(1))
        .tcp_nodelay(true)
        .connect_lazy();
    Some(
        ReplicationServiceClient::new(channel)
            .max_decoding_message_size(256 << 20)
            .max_encoding_message_size(16 << 20),
    )
}

/// One partition as fetched in a round.
struct Asked {
    key: PartitionKey,
    partition: Arc<Partition>,
    epoch: LeaderEpoch,
}

async fn run_session(
    leader: BrokerId,
    addr: String,
    members: Members,
    wake: Arc<Notify>,
    ctx: FetchContext,
) {
    let Some(mut client) = client(&addr) else {
        tracing::error!(leader = leader.get(), %addr, "bad leader address");
        return;
    };
    tracing::info!(leader = leader.get(), %addr, "replication session started");
    let mut backoff = Duration::from_millis(20);
    loop {
        let snapshot: Vec<(PartitionKey, Arc<Partition>)> = members
            .lock()
            .expect("members lock")
            .iter()
            .map(|(k, p)| (*k, p.clone()))
            .collect();
        let mut asked = Vec::new();
        let mut partitions = Vec::new();
        for (key, partition) in snapshot {
            let (role, epoch, log_end, latest) = partition.snapshot();
            if !matches!(role, Role::Follower { leader: Some(l) } if l == leader) {
                continue;
            }
            partitions.push(ReplicaFetchPartition {
                topic_id: Some(key.0.into()),
                partition: Some(key.1.into()),
                current_leader_epoch: Some(epoch.into()),
                fetch_offset: Some(log_end.into()),
                last_fetched_epoch: latest.map(Into::into),
                max_bytes: ctx.partition_max_bytes,
            });
            asked.push(Asked {
                key,
                partition,
                epoch,
            });
        }
        if asked.is_empty() {
            // Woken when a partition is added (the permit is kept if it came first).
            let _ = tokio::time::timeout(Duration::from_secs(1), wake.notified()).await;
            continue;
        }
        let request = ReplicaFetchRequest {
            replica_id: Some(ctx.broker_id.into()),
            broker_epoch: ctx.lease.borrow().broker_epoch,
            max_wait_ms: ctx.max_wait_ms,
            min_bytes: 1,
            max_bytes: ctx.response_max_bytes,
            partitions,
        };
        let wait = Duration::from_millis(u64::try_from(ctx.max_wait_ms).unwrap_or(500));
        let answer =
            tokio::time::timeout(wait + Duration::from_secs(10), client.fetch(request)).await;
        let response = match answer {
            Ok(Ok(r)) => r.into_inner(),
            Ok(Err(status)) => {
                tracing::debug!(leader = leader.get(), error = %status, "replica fetch failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(500));
                continue;
            }
            Err(_) => {
                tracing::warn!(leader = leader.get(), "replica fetch timed out");
                continue;
            }
        };
        // Appends and truncations touch the disk: one blocking hop for the whole answer.
        let applied = tokio::task::spawn_blocking(move || apply(leader, asked, response))
            .await
            .unwrap_or(Applied {
                progressed: false,
                errored: true,
            });
        // An empty answer after the leader's long poll needs no pause; an answer with
        // refusals and no progress does, or a persistent error would spin both brokers.
        if applied.errored && !applied.progressed {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_millis(500));
        } else {
            backoff = Duration::from_millis(20);
        }
    }
}

/// What one answer did.
#[derive(Debug, Default, Clone, Copy)]
struct Applied {
    /// Records appended or a diverging suffix removed.
    progressed: bool,
    /// A partition was refused or failed (worth a pause before asking again).
    errored: bool,
}

/// Applies a leader's answer.
fn apply(
    leader: BrokerId,
    asked: Vec<Asked>,
    response: rill_proto::replication::ReplicaFetchResponse,
) -> Applied {
    let mut out = Applied::default();
    for data in response.partitions {
        let topic: Option<TopicId> = data.topic_id.and_then(|t| t.try_into().ok());
        let index: Option<PartitionIndex> = data.partition.map(Into::into);
        let (Some(topic), Some(index)) = (topic, index) else {
            out.errored = true;
            continue;
        };
        let Some(a) = asked.iter().find(|a| a.key == (topic, index)) else {
            continue;
        };
        if let Some(e) = data.error {
            tracing::debug!(leader = leader.get(), topic = %a.partition.topic, partition = a.partition.index.get(), leader_epoch = %a.epoch, error = %e.name, "replica fetch refused");
            out.errored = true;
            continue;
        }
        let hw: Offset = data.high_watermark.map(Into::into).unwrap_or_default();
        if let Some(d) = data.diverging_epoch {
            // A divergence without its epoch or end is malformed: never guess an offset
            // to truncate to.
            let (Some(epoch), Some(end)) = (d.epoch, d.end_offset) else {
                tracing::warn!(leader = leader.get(), topic = %a.partition.topic, partition = a.partition.index.get(), leader_epoch = %a.partition.hw_view().leader_epoch, "malformed diverging epoch ignored");
                out.errored = true;
                continue;
            };
            match a
                .partition
                .truncate_as_follower(a.epoch, epoch.into(), end.into())
            {
                Ok(removed) => out.progressed |= removed,
                Err(e) => {
                    out.errored = true;
                    tracing::warn!(topic = %a.partition.topic, partition = a.partition.index.get(), leader_epoch = %a.epoch, error = %e, "truncation failed")
                }
            }
            continue;
        }
        match a.partition.append_as_follower(a.epoch, &data.records, hw) {
            Ok(appended) => out.progressed |= appended,
            Err(e) => {
                out.errored = true;
                tracing::warn!(topic = %a.partition.topic, partition = a.partition.index.get(), leader_epoch = %a.epoch, error = %e, "append from the leader failed")
            }
        }
        // After the append, so a start the leader moved into what it just sent is reached.
        if let Some(start) = data.log_start_offset
            && let Err(e) = a.partition.follow_log_start(a.epoch, start.into())
        {
            out.errored = true;
            tracing::warn!(topic = %a.partition.topic, partition = a.partition.index.get(), leader_epoch = %a.epoch, error = %e, "following the leader's log start failed");
        }
    }
    out
}
