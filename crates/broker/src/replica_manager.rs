//! [`ReplicaManager`]: the replicas this broker hosts, reconciled with the metadata image.
//!
//! The reconciler compares the image with the hosted replicas: it opens (or creates) the
//! log of every partition that names this broker a replica, makes it leader or follower
//! at the image's leader epoch, points the follower sessions at the right leaders, and
//! closes and deletes replicas the image no longer assigns here. Every step compares
//! epochs and is idempotent, so reconciling the same image twice, or again after a crash
//! at any point, gives the same result; a stray log directory found at start-up is
//! deleted once the first image shows nobody wants it here.
//!
//! It acts only on images at or after this broker's own registration: an older image
//! may still show a previous incarnation of this broker as a leader.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rill_metadata::{ConfigResource, MetadataImage};
use rill_proto::controller::AlterPartitionRequest;
use rill_proto::controller_client::ControllerClient;
use rill_storage::{Clock, LogConfig, RealDisk};
use rill_types::{BrokerId, ErrorCode, PartitionEpoch, PartitionIndex, TopicId};
use tokio::sync::watch;

use crate::config::BrokerConfig;
use crate::error::PartitionError;
use crate::fetcher::{FetchContext, FetcherManager};
use crate::lifecycle::LeaseStatus;
use crate::metadata_follower::MetadataView;
use crate::partition::{Partition, Role, Wakeups};

/// A partition's key.
pub type PartitionKey = (TopicId, PartitionIndex);

/// The file in each log directory naming the topic id it belongs to (as Kafka's
/// `partition.metadata`), so a re-created topic of the same name never reuses old data.
pub const PARTITION_METADATA_FILE: &str = "partition.metadata";

/// How often leaders look for ISR changes to propose.
const ISR_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// The listener name brokers register for gRPC (data and replication).
pub const GRPC_LISTENER: &str = "RILL";

/// The listener name brokers register for Kafka clients (Kafka's default name).
pub const KAFKA_LISTENER: &str = "PLAINTEXT";

/// The replicas this broker hosts.
#[derive(Debug)]
pub struct ReplicaManager {
    /// The broker's settings.
    pub config: BrokerConfig,
    clock: Arc<dyn Clock>,
    partitions: RwLock<HashMap<PartitionKey, Arc<Partition>>>,
    /// What parked fetches wait for.
    pub wakeups: Arc<Wakeups>,
    /// The metadata view.
    pub metadata: watch::Receiver<MetadataView>,
    /// The lease.
    pub lease: watch::Receiver<LeaseStatus>,
    fetchers: Mutex<FetcherManager>,
    stray_checked: Mutex<bool>,
}

impl ReplicaManager {
    /// A manager with no replicas yet.
    pub fn new(
        config: BrokerConfig,
        clock: Arc<dyn Clock>,
        metadata: watch::Receiver<MetadataView>,
        lease: watch::Receiver<LeaseStatus>,
    ) -> Arc<Self> {
        Arc::new(Self {
            config,
            clock,
            partitions: RwLock::new(HashMap::new()),
            wakeups: Arc::default(),
            metadata,
            lease,
            fetchers: Mutex::new(FetcherManager::default()),
            stray_checked: Mutex::new(false),
        })
    }

    /// The clock's now, in milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The hosted replica of a partition.
    pub fn get(&self, key: PartitionKey) -> Option<Arc<Partition>> {
        self.partitions
            .read()
            .expect("partitions lock poisoned")
            .get(&key)
            .cloned()
    }

    /// Every hosted replica.
    pub fn all(&self) -> Vec<Arc<Partition>> {
        self.partitions
            .read()
            .expect("partitions lock poisoned")
            .values()
            .cloned()
            .collect()
    }

    /// The hosted replica of a partition named by topic name, or the Kafka error a
    /// client should get (unknown topic or partition, or not hosted here).
    pub fn by_name(&self, topic: &str, index: i32) -> Result<Arc<Partition>, PartitionError> {
        let image = self.metadata.borrow().image.clone();
        let unknown = || {
            PartitionError::new(
                ErrorCode::UnknownTopicOrPartition,
                format!("this broker does not know partition {topic}-{index}"),
            )
        };
        let t = image.topic_by_name(topic).ok_or_else(unknown)?;
        let index = PartitionIndex::new(index);
        if !t.partitions.contains_key(&index) {
            return Err(unknown());
        }
        self.get((t.id, index)).ok_or_else(|| {
            PartitionError::new(
                ErrorCode::NotLeaderOrFollower,
                format!("this broker does not host {topic}-{index}"),
            )
        })
    }

    /// Where to reach `broker`'s gRPC listener for replication.
    fn peer_address(&self, image: &MetadataImage, broker: BrokerId) -> Option<String> {
        if let Some(addr) = self.config.peer_addresses.get(&broker) {
            return Some(addr.clone());
        }
        let reg = image.broker(broker)?;
        let e = reg.listeners.iter().find(|l| l.name == GRPC_LISTENER)?;
        Some(format!("{}:{}", e.host, e.port))
    }

    /// Brings hosted replicas in line with `image`. Blocking (opens and deletes logs):
    /// call from a blocking thread.
    pub fn reconcile(&self, image: &MetadataImage, ctx: &FetchContext) {
        let me = self.config.broker_id;
        let now = self.now_ms();
        let assigned: BTreeSet<PartitionKey> = image
            .topics()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .filter(|(_, p)| p.replicas.contains(&me))
                    .map(|(i, _)| (t.id, *i))
            })
            .collect();
        // Removals first: a topic deleted and re-created under the same name in one
        // image frees its directory before the new topic's log is opened there.
        let gone: Vec<(PartitionKey, Arc<Partition>)> = self
            .partitions
            .read()
            .expect("partitions lock poisoned")
            .iter()
            .filter(|(k, _)| !assigned.contains(k))
            .map(|(k, p)| (*k, p.clone()))
            .collect();
        for (key, partition) in gone {
            self.remove(key, &partition);
        }
        for topic in image.topics() {
            let min_isr = min_isr(image, &topic.name);
            for (index, state) in &topic.partitions {
                if !state.replicas.contains(&me) {
                    continue;
                }
                let key = (topic.id, *index);
                let partition = match self.get(key) {
                    Some(p) => p,
                    None => match self.open(image, &topic.name, topic.id, *index, min_isr) {
                        Ok(p) => p,
                        Err(e) => {
                            tracing::error!(topic = %topic.name, partition = index.get(), leader_epoch = %state.leader_epoch, error = %e, "cannot open the log");
                            continue;
                        }
                    },
                };
                if state.leader == Some(me) {
                    partition.become_leader(
                        me,
                        state.leader_epoch,
                        state.partition_epoch,
                        &state.replicas,
                        state.isr.clone(),
                        min_isr,
                        now,
                    );
                    if matches!(partition.snapshot().0, Role::Leader(_)) {
                        self.fetchers().remove(key);
                    }
                } else {
                    partition.become_follower(state.leader, state.leader_epoch);
                    let (role, epoch, _, _) = partition.snapshot();
                    // Follow only what the image says at the replica's own epoch (an older
                    // image never moves a newer replica).
                    match (role, state.leader) {
                        (Role::Follower { leader: Some(l) }, Some(_))
                            if epoch == state.leader_epoch =>
                        {
                            match self.peer_address(image, l) {
                                Some(addr) => {
                                    self.fetchers().assign(key, partition.clone(), l, addr, ctx)
                                }
                                None => self.fetchers().remove(key),
                            }
                        }
                        (Role::Follower { .. }, _) => self.fetchers().remove(key),
                        (Role::Leader(_), _) => {}
                    }
                }
            }
        }
        let mut checked = self.stray_checked.lock().expect("stray lock poisoned");
        if !*checked {
            *checked = true;
            self.delete_strays(image, &assigned);
        }
    }

    /// Stops hosting a replica the image no longer assigns here and deletes its log,
    /// if the directory still holds that topic's log.
    fn remove(&self, key: PartitionKey, partition: &Arc<Partition>) {
        self.fetchers().remove(key);
        self.partitions
            .write()
            .expect("partitions lock poisoned")
            .remove(&key);
        if let Err(e) = partition.close() {
            tracing::warn!(topic = %partition.topic, partition = partition.index.get(), leader_epoch = %partition.hw_view().leader_epoch, error = %e, "closing a removed replica");
        }
        let dir = self.log_dir(&partition.topic, partition.index);
        if !marker_names(&dir, partition.topic_id) {
            return;
        }
        tracing::info!(topic = %partition.topic, partition = partition.index.get(), leader_epoch = %partition.hw_view().leader_epoch, "deleting a replica no longer assigned here");
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), error = %e, "deleting a removed replica's log");
        }
    }

    fn fetchers(&self) -> std::sync::MutexGuard<'_, FetcherManager> {
        self.fetchers.lock().expect("fetchers lock poisoned")
    }

    /// `<data dir>/<topic>-<partition>`.
    pub fn log_dir(&self, topic: &str, index: PartitionIndex) -> PathBuf {
        self.config.data_dir.join(format!("{topic}-{index}"))
    }

    fn open(
        &self,
        image: &MetadataImage,
        topic: &str,
        topic_id: TopicId,
        index: PartitionIndex,
        min_isr: usize,
    ) -> Result<Arc<Partition>, PartitionError> {
        let dir = self.log_dir(topic, index);
        // Recovery's log lines (storage names only the directory) carry the partition.
        let leader_epoch = image
            .partition(topic_id, index)
            .map(|p| p.leader_epoch)
            .unwrap_or_default();
        let _span = tracing::info_span!("partition", topic, partition = index.get(), leader_epoch = %leader_epoch).entered();
        let marker = dir.join(PARTITION_METADATA_FILE);
        let expected = marker_text(topic_id);
        match std::fs::read_to_string(&marker) {
            Ok(text) if text == expected => {}
            Ok(_) => {
                tracing::warn!(dir = %dir.display(), "log of an earlier topic of the same name; deleting it");
                std::fs::remove_dir_all(&dir).map_err(io_error)?;
            }
            Err(_) => {}
        }
        let config = log_config(image, topic);
        let log = rill_storage::Log::open(&dir, config, self.clock.clone(), Arc::new(RealDisk))
            .map_err(|e| PartitionError::from_storage(&e))?;
        if !marker.exists() {
            write_marker(&dir, &marker, &expected).map_err(io_error)?;
        }
        let partition = Arc::new(Partition::new(
            topic.to_owned(),
            topic_id,
            index,
            log,
            min_isr,
            self.wakeups.clone(),
        ));
        self.partitions
            .write()
            .expect("partitions lock poisoned")
            .insert((topic_id, index), partition.clone());
        Ok(partition)
    }

    /// Deletes log directories of partitions the image does not assign here. A directory
    /// the image assigns is kept even when its log failed to open.
    fn delete_strays(&self, image: &MetadataImage, assigned: &BTreeSet<PartitionKey>) {
        let Ok(entries) = std::fs::read_dir(&self.config.data_dir) else {
            return;
        };
        let keep: BTreeSet<PathBuf> = assigned
            .iter()
            .filter_map(|(t, i)| image.topic(*t).map(|topic| self.log_dir(&topic.name, *i)))
            .collect();
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.join(PARTITION_METADATA_FILE).exists() || keep.contains(&path) {
                continue;
            }
            tracing::info!(dir = %path.display(), offset = %image.offset(), "deleting a stray log directory");
            if let Err(e) = std::fs::remove_dir_all(&path) {
                tracing::warn!(dir = %path.display(), error = %e, "deleting a stray log directory");
            }
        }
    }

    /// Proposes due ISR changes to the controller, forever (until `stop`).
    pub async fn run_isr_maintenance(
        self: Arc<Self>,
        controllers: ControllerClient,
        mut stop: watch::Receiver<bool>,
    ) {
        let lag_max = self.config.ms("replica.lag.time.max.ms");
        loop {
            tokio::select! {
                _ = tokio::time::sleep(ISR_CHECK_INTERVAL) => {}
                _ = stop.changed() => return,
            }
            let image = self.metadata.borrow().image.clone();
            let eligible = |b: BrokerId, epoch: i64| {
                image
                    .broker(b)
                    .is_some_and(|r| r.is_active() && r.epoch == epoch)
            };
            let now = self.now_ms();
            for partition in self.all() {
                let Some((epoch, partition_epoch, isr)) =
                    partition.take_isr_proposal(now, lag_max, eligible)
                else {
                    continue;
                };
                tracing::info!(topic = %partition.topic, partition = partition.index.get(), leader_epoch = %epoch, proposed_isr = ?isr.iter().map(|b| b.get()).collect::<Vec<_>>(), "proposing an ISR change");
                let request = AlterPartitionRequest {
                    broker_id: Some(self.config.broker_id.into()),
                    broker_epoch: self.lease.borrow().broker_epoch,
                    topic_id: Some(partition.topic_id.into()),
                    partition: Some(partition.index.into()),
                    leader_epoch: Some(epoch.into()),
                    partition_epoch: Some(partition_epoch.into()),
                    new_isr: isr.iter().map(|b| (*b).into()).collect(),
                };
                let mut controllers = controllers.clone();
                tokio::spawn(async move {
                    let mut backoff = ISR_CHECK_INTERVAL;
                    loop {
                        let answer = controllers
                            .call(|mut c| {
                                let request = request.clone();
                                async move { c.alter_partition(request).await }
                            })
                            .await;
                        match answer {
                            Ok(r) if r.error.is_none() => {
                                let isr: Vec<BrokerId> =
                                    r.isr.into_iter().map(BrokerId::from).collect();
                                let pe: PartitionEpoch =
                                    r.partition_epoch.map(Into::into).unwrap_or_default();
                                partition.apply_isr(epoch, isr, pe);
                                return;
                            }
                            Ok(r) => {
                                let e = r.error.unwrap_or_default();
                                tracing::info!(topic = %partition.topic, partition = partition.index.get(), leader_epoch = %epoch, error = %e.name, message = %e.message, "ISR change refused");
                                // Only a refusal proving nothing changed frees the proposal
                                // (Kafka's rule). Otherwise the change may have committed
                                // (a retry after a lost answer sees INVALID_UPDATE_VERSION)
                                // and the high watermark must keep waiting for the member
                                // until the metadata brings a newer partition or leader epoch.
                                if e.code == ErrorCode::IneligibleReplica.code()
                                    || e.code == ErrorCode::InvalidRequest.code()
                                {
                                    tokio::time::sleep(ISR_CHECK_INTERVAL).await;
                                    partition.clear_pending_isr(epoch);
                                }
                                return;
                            }
                            Err(e) => {
                                // Outcome unknown: ask again, as long as this replica still
                                // leads in the same epoch.
                                let view = partition.hw_view();
                                if !view.leading || view.leader_epoch != epoch {
                                    return;
                                }
                                tracing::warn!(topic = %partition.topic, partition = partition.index.get(), leader_epoch = %epoch, error = %e, "ISR change unanswered; retrying");
                                tokio::time::sleep(backoff).await;
                                backoff = (backoff * 2).min(Duration::from_secs(2));
                            }
                        }
                    }
                });
            }
        }
    }

    /// Stops every follower session.
    pub fn stop_fetchers(&self) {
        self.fetchers().shutdown();
    }

    /// Closes every log cleanly. Blocking.
    pub fn close_all(&self) {
        for p in self.all() {
            if let Err(e) = p.close() {
                tracing::error!(topic = %p.topic, partition = p.index.get(), leader_epoch = %p.hw_view().leader_epoch, error = %e, "closing the log");
            }
        }
    }
}

fn marker_text(topic_id: TopicId) -> String {
    format!("version: 0\ntopic_id: {topic_id}\n")
}

/// Whether `dir`'s `partition.metadata` names `topic_id`.
fn marker_names(dir: &Path, topic_id: TopicId) -> bool {
    std::fs::read_to_string(dir.join(PARTITION_METADATA_FILE))
        .is_ok_and(|text| text == marker_text(topic_id))
}

fn io_error(e: std::io::Error) -> PartitionError {
    PartitionError::new(ErrorCode::KafkaStorageError, e.to_string())
}

fn write_marker(dir: &Path, marker: &Path, text: &str) -> std::io::Result<()> {
    let tmp = dir.join(format!("{PARTITION_METADATA_FILE}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, marker)?;
    std::fs::File::open(dir)?.sync_all()
}

/// The topic's log settings: its own configs over the defaults (keys the storage does
/// not own, like `min.insync.replicas`, are skipped).
pub fn log_config(image: &MetadataImage, topic: &str) -> LogConfig {
    let mut config = LogConfig::default();
    let empty = BTreeMap::new();
    let own = image
        .configs(&ConfigResource::Topic(topic.to_owned()))
        .unwrap_or(&empty);
    for (k, v) in own {
        if LogConfig::KEYS.iter().any(|key| key.name == k)
            && let Err(e) = config.set(k, v)
        {
            tracing::warn!(topic, key = %k, error = %e, "ignoring a topic config");
        }
    }
    config
}

/// `min.insync.replicas` of a topic: its own, else the cluster's, else 1.
pub fn min_isr(image: &MetadataImage, topic: &str) -> usize {
    let key = "min.insync.replicas";
    image
        .configs(&ConfigResource::Topic(topic.to_owned()))
        .and_then(|c| c.get(key))
        .or_else(|| {
            image
                .configs(&ConfigResource::Broker(String::new()))
                .and_then(|c| c.get(key))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use rill_metadata::records::{
        BrokerList, PartitionChangeRecord, PartitionRecord, RegisterBrokerRecord,
        RemoveTopicRecord, TopicRecord,
    };
    use rill_metadata::{MetadataDelta, MetadataRecord, Record};
    use rill_storage::SystemClock;
    use rill_types::{LeaderEpoch, MetadataOffset};

    use super::*;

    fn rec(r: Record) -> MetadataRecord {
        MetadataRecord { record: Some(r) }
    }

    fn replay(image: &MetadataImage, offset: u64, records: Vec<Record>) -> MetadataImage {
        let mut delta = MetadataDelta::new(image);
        for r in records {
            delta
                .replay(MetadataOffset::new(offset), &rec(r))
                .expect("replays");
        }
        delta.apply().0
    }

    fn manager(dir: &Path) -> (Arc<ReplicaManager>, FetchContext) {
        let config = BrokerConfig::new(BrokerId::new(1), dir.to_owned(), "h".into(), 1, vec![]);
        let (_, metadata) = watch::channel(MetadataView::default());
        let (_, lease) = watch::channel(LeaseStatus::default());
        let ctx = FetchContext {
            broker_id: BrokerId::new(1),
            lease: lease.clone(),
            max_wait_ms: 100,
            partition_max_bytes: 1 << 20,
            response_max_bytes: 1 << 20,
        };
        (
            ReplicaManager::new(config, Arc::new(SystemClock), metadata, lease),
            ctx,
        )
    }

    #[tokio::test]
    async fn reconciling_follows_the_image_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let topic = TopicId::from_bytes([9; 16]);
        let p0 = PartitionIndex::new(0);
        let mut records = Vec::new();
        for b in [1, 2] {
            records.push(Record::RegisterBroker(RegisterBrokerRecord {
                broker_id: Some(BrokerId::new(b).into()),
                incarnation_id: vec![b as u8; 16],
                listeners: vec![],
                rack: None,
                broker_epoch: Some(i64::from(b)),
            }));
        }
        records.push(Record::Topic(TopicRecord {
            name: "t".into(),
            topic_id: Some(topic.into()),
        }));
        records.push(Record::Partition(PartitionRecord {
            topic_id: Some(topic.into()),
            partition: Some(p0.into()),
            replicas: vec![BrokerId::new(1).into(), BrokerId::new(2).into()],
            isr: vec![BrokerId::new(1).into(), BrokerId::new(2).into()],
            leader: Some(BrokerId::new(1).into()),
            leader_epoch: Some(LeaderEpoch::new(0).into()),
            partition_epoch: Some(PartitionEpoch::new(0).into()),
        }));
        let led = replay(&MetadataImage::default(), 10, records);
        let (rm, ctx) = manager(dir.path());

        rm.reconcile(&led, &ctx);
        rm.reconcile(&led, &ctx);
        let p = rm.get((topic, p0)).expect("hosted");
        assert!(p.hw_view().leading);
        assert_eq!(p.hw_view().leader_epoch, LeaderEpoch::new(0));
        assert_eq!(rm.all().len(), 1, "one replica however often reconciled");
        let marker = dir.path().join("t-0").join(PARTITION_METADATA_FILE);
        assert!(marker.exists());

        // Leadership moves to broker 2: this replica follows at the new epoch.
        let moved = replay(
            &led,
            11,
            vec![Record::PartitionChange(PartitionChangeRecord {
                topic_id: Some(topic.into()),
                partition: Some(p0.into()),
                replicas: None,
                isr: None,
                leader: Some(BrokerList {
                    brokers: vec![BrokerId::new(2).into()],
                }),
            })],
        );
        rm.reconcile(&moved, &ctx);
        rm.reconcile(&moved, &ctx);
        let view = rm.get((topic, p0)).unwrap().hw_view();
        assert!(!view.leading);
        assert_eq!(view.leader_epoch, LeaderEpoch::new(1));
        // An older image never moves the replica back.
        rm.reconcile(&led, &ctx);
        assert!(!rm.get((topic, p0)).unwrap().hw_view().leading);

        // A restart (a new manager over the same directory) finds the same log.
        drop(rm);
        let (rm, ctx) = manager(dir.path());
        rm.reconcile(&moved, &ctx);
        assert!(rm.get((topic, p0)).is_some());

        // The topic is deleted: the replica and its directory go.
        let removed = replay(
            &moved,
            12,
            vec![Record::RemoveTopic(RemoveTopicRecord {
                topic_id: Some(topic.into()),
            })],
        );
        rm.reconcile(&removed, &ctx);
        assert!(rm.get((topic, p0)).is_none());
        assert!(!dir.path().join("t-0").exists());

        // Deleted and re-created under the same name in one image: the new topic gets
        // a fresh log in the same directory, and it stays.
        let (rm, ctx) = manager(dir.path());
        rm.reconcile(&moved, &ctx);
        let again = TopicId::from_bytes([10; 16]);
        let recreated = replay(
            &moved,
            13,
            vec![
                Record::RemoveTopic(RemoveTopicRecord {
                    topic_id: Some(topic.into()),
                }),
                Record::Topic(TopicRecord {
                    name: "t".into(),
                    topic_id: Some(again.into()),
                }),
                Record::Partition(PartitionRecord {
                    topic_id: Some(again.into()),
                    partition: Some(p0.into()),
                    replicas: vec![BrokerId::new(1).into()],
                    isr: vec![BrokerId::new(1).into()],
                    leader: Some(BrokerId::new(1).into()),
                    leader_epoch: Some(LeaderEpoch::new(0).into()),
                    partition_epoch: Some(PartitionEpoch::new(0).into()),
                }),
            ],
        );
        rm.reconcile(&recreated, &ctx);
        assert!(rm.get((topic, p0)).is_none());
        assert!(
            rm.get((again, p0))
                .expect("the new topic")
                .hw_view()
                .leading
        );
        assert!(marker_names(&dir.path().join("t-0"), again));
        rm.stop_fetchers();
    }
}
