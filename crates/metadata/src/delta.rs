//! [`MetadataDelta`]: records replayed on top of an image, and what they changed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rill_proto::common;
use rill_proto::metadata::{
    ConfigResourceType, MetadataRecord, PartitionChangeRecord, PartitionRecord,
    metadata_record::Record,
};
use rill_types::{BrokerId, MetadataOffset, PartitionIndex, ProducerId, TopicId};

use crate::{
    BrokerRegistration, ConfigResource, MetadataImage, PartitionState, ReplayError, TopicImage,
};

/// What a delta changed, for the broker's reconciler and for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Brokers registered, fenced, unfenced, shut down or removed.
    pub brokers: BTreeSet<BrokerId>,
    /// Topics created.
    pub topics_created: BTreeSet<TopicId>,
    /// Topics removed, with their last state (so their partitions can be deleted).
    pub topics_removed: BTreeMap<TopicId, TopicImage>,
    /// Partitions created or changed (not those of removed topics).
    pub partitions: BTreeSet<(TopicId, PartitionIndex)>,
    /// Config resources changed.
    pub configs: BTreeSet<ConfigResource>,
}

/// Records replayed on top of a base image.
///
/// If `replay` returns an error the delta is left part-way and must be discarded: a
/// committed entry's records apply all or not at all.
#[derive(Debug, Clone)]
pub struct MetadataDelta {
    image: MetadataImage,
    changes: Changes,
}

impl MetadataDelta {
    /// A delta on top of `base` (a cheap clone).
    pub fn new(base: &MetadataImage) -> Self {
        Self {
            image: base.clone(),
            changes: Changes::default(),
        }
    }

    /// The image as it stands with the records replayed so far (for validation of the
    /// next records of the same write).
    pub fn image(&self) -> &MetadataImage {
        &self.image
    }

    /// The new image and what changed.
    pub fn apply(self) -> (MetadataImage, Changes) {
        (self.image, self.changes)
    }

    /// Replays one record committed at `offset`. The only way metadata changes.
    pub fn replay(
        &mut self,
        offset: MetadataOffset,
        record: &MetadataRecord,
    ) -> Result<(), ReplayError> {
        let record = record
            .record
            .as_ref()
            .ok_or_else(|| ReplayError::Malformed {
                record: "metadata",
                reason: "empty record".to_owned(),
            })?;
        match record {
            Record::RegisterBroker(r) => {
                let id = broker_id("register broker", r.broker_id)?;
                let epoch = r.broker_epoch.unwrap_or(offset.get() as i64);
                if let Some(old) = self.image.brokers.get(&id)
                    && old.epoch > epoch
                {
                    return Err(invariant(
                        "register broker",
                        format!("broker {id} epoch {epoch} below {}", old.epoch),
                    ));
                }
                Arc::make_mut(&mut self.image.brokers).insert(
                    id,
                    BrokerRegistration {
                        id,
                        incarnation_id: r.incarnation_id.clone(),
                        listeners: r.listeners.clone(),
                        rack: r.rack.clone(),
                        epoch,
                        fenced: true,
                        in_controlled_shutdown: false,
                    },
                );
                self.changes.brokers.insert(id);
            }
            Record::UnregisterBroker(r) => {
                let id = self.broker_at_epoch("unregister broker", r.broker_id, r.broker_epoch)?;
                Arc::make_mut(&mut self.image.brokers).remove(&id);
                self.changes.brokers.insert(id);
            }
            Record::FenceBroker(r) => {
                let id = self.broker_at_epoch("fence broker", r.broker_id, r.broker_epoch)?;
                self.broker_mut(id).fenced = true;
            }
            Record::UnfenceBroker(r) => {
                let id = self.broker_at_epoch("unfence broker", r.broker_id, r.broker_epoch)?;
                self.broker_mut(id).fenced = false;
            }
            Record::BrokerShutdown(r) => {
                let id = self.broker_at_epoch("broker shutdown", r.broker_id, r.broker_epoch)?;
                self.broker_mut(id).in_controlled_shutdown = true;
            }
            Record::Topic(r) => {
                let id = topic_id("topic", r.topic_id.clone())?;
                if r.name.is_empty() {
                    return Err(malformed("topic", "empty name"));
                }
                if self.image.topic_ids.contains_key(&r.name) || self.image.topics.contains_key(&id)
                {
                    return Err(invariant(
                        "topic",
                        format!("topic {} ({id}) exists", r.name),
                    ));
                }
                Arc::make_mut(&mut self.image.topic_ids).insert(r.name.clone(), id);
                Arc::make_mut(&mut self.image.topics).insert(
                    id,
                    Arc::new(TopicImage {
                        name: r.name.clone(),
                        id,
                        partitions: BTreeMap::new(),
                    }),
                );
                self.changes.topics_created.insert(id);
            }
            Record::RemoveTopic(r) => {
                let id = topic_id("remove topic", r.topic_id.clone())?;
                let topic = Arc::make_mut(&mut self.image.topics)
                    .remove(&id)
                    .ok_or_else(|| unknown("remove topic", format!("topic {id}")))?;
                Arc::make_mut(&mut self.image.topic_ids).remove(&topic.name);
                let resource = ConfigResource::Topic(topic.name.clone());
                if Arc::make_mut(&mut self.image.configs)
                    .remove(&resource)
                    .is_some()
                {
                    self.changes.configs.insert(resource);
                }
                self.changes.partitions.retain(|(t, _)| *t != id);
                if !self.changes.topics_created.remove(&id) {
                    self.changes.topics_removed.insert(id, (*topic).clone());
                }
            }
            Record::Partition(r) => self.replay_partition(r)?,
            Record::PartitionChange(r) => self.replay_partition_change(r)?,
            Record::Config(r) => {
                let resource = match ConfigResourceType::try_from(r.resource_type) {
                    Ok(ConfigResourceType::Topic) => {
                        if !self.image.topic_ids.contains_key(&r.resource_name) {
                            return Err(unknown("config", format!("topic {}", r.resource_name)));
                        }
                        ConfigResource::Topic(r.resource_name.clone())
                    }
                    Ok(ConfigResourceType::Broker) => {
                        ConfigResource::Broker(r.resource_name.clone())
                    }
                    _ => return Err(malformed("config", "unknown resource type")),
                };
                if r.key.is_empty() {
                    return Err(malformed("config", "empty key"));
                }
                let configs = Arc::make_mut(&mut self.image.configs);
                match &r.value {
                    Some(value) => {
                        configs
                            .entry(resource.clone())
                            .or_default()
                            .insert(r.key.clone(), value.clone());
                    }
                    None => {
                        if let Some(keys) = configs.get_mut(&resource) {
                            keys.remove(&r.key);
                            if keys.is_empty() {
                                configs.remove(&resource);
                            }
                        }
                    }
                }
                self.changes.configs.insert(resource);
            }
            Record::Cluster(r) => {
                if r.cluster_id.is_empty() {
                    return Err(malformed("cluster", "empty cluster id"));
                }
                match &self.image.cluster_id {
                    Some(id) if **id != *r.cluster_id => {
                        return Err(invariant(
                            "cluster",
                            format!("cluster id {id} cannot become {}", r.cluster_id),
                        ));
                    }
                    _ => self.image.cluster_id = Some(r.cluster_id.as_str().into()),
                }
            }
            Record::ProducerIds(r) => {
                let next: ProducerId = r
                    .next_producer_id
                    .ok_or_else(|| malformed("producer ids", "missing next_producer_id"))?
                    .into();
                if next <= self.image.next_producer_id {
                    return Err(invariant(
                        "producer ids",
                        format!("next id {next} not above {}", self.image.next_producer_id),
                    ));
                }
                self.image.next_producer_id = next;
            }
        }
        self.image.offset = offset;
        Ok(())
    }

    fn replay_partition(&mut self, r: &PartitionRecord) -> Result<(), ReplayError> {
        const KIND: &str = "partition";
        let topic = topic_id(KIND, r.topic_id.clone())?;
        let index = partition_index(KIND, r.partition)?;
        let state = PartitionState {
            replicas: brokers(&r.replicas),
            isr: brokers(&r.isr),
            leader: r.leader.map(Into::into),
            leader_epoch: r.leader_epoch.map(Into::into).unwrap_or_default(),
            partition_epoch: r.partition_epoch.map(Into::into).unwrap_or_default(),
        };
        state.check().map_err(|e| invariant(KIND, e))?;
        let image = self.topic_mut(KIND, topic)?;
        if index.get() != image.partitions.len() as i32 {
            return Err(invariant(
                KIND,
                format!(
                    "partition {index} is not the next index {}",
                    image.partitions.len()
                ),
            ));
        }
        image.partitions.insert(index, state);
        self.changes.partitions.insert((topic, index));
        Ok(())
    }

    fn replay_partition_change(&mut self, r: &PartitionChangeRecord) -> Result<(), ReplayError> {
        const KIND: &str = "partition change";
        let topic = topic_id(KIND, r.topic_id.clone())?;
        let index = partition_index(KIND, r.partition)?;
        let image = self.topic_mut(KIND, topic)?;
        let current = image
            .partitions
            .get(&index)
            .ok_or_else(|| unknown(KIND, format!("partition {topic}-{index}")))?;
        let mut next = current.clone();
        if let Some(list) = &r.replicas {
            next.replicas = brokers(&list.brokers);
        }
        if let Some(list) = &r.isr {
            next.isr = brokers(&list.brokers);
        }
        if let Some(list) = &r.leader {
            if list.brokers.len() > 1 {
                return Err(malformed(KIND, "more than one leader"));
            }
            next.leader = list.brokers.first().map(|b| (*b).into());
        }
        next.partition_epoch = next.partition_epoch.next();
        if next.leader != current.leader {
            next.leader_epoch = next.leader_epoch.next();
        }
        next.check().map_err(|e| invariant(KIND, e))?;
        current
            .check_transition(&next)
            .map_err(|e| invariant(KIND, e))?;
        image.partitions.insert(index, next);
        self.changes.partitions.insert((topic, index));
        Ok(())
    }

    fn topic_mut(
        &mut self,
        kind: &'static str,
        id: TopicId,
    ) -> Result<&mut TopicImage, ReplayError> {
        let topic = Arc::make_mut(&mut self.image.topics)
            .get_mut(&id)
            .ok_or_else(|| unknown(kind, format!("topic {id}")))?;
        Ok(Arc::make_mut(topic))
    }

    fn broker_at_epoch(
        &mut self,
        kind: &'static str,
        id: Option<common::BrokerId>,
        epoch: i64,
    ) -> Result<BrokerId, ReplayError> {
        let id = broker_id(kind, id)?;
        match self.image.brokers.get(&id) {
            Some(b) if b.epoch == epoch => {
                self.changes.brokers.insert(id);
                Ok(id)
            }
            Some(b) => Err(invariant(
                kind,
                format!("broker {id} has epoch {}, record names {epoch}", b.epoch),
            )),
            None => Err(unknown(kind, format!("broker {id}"))),
        }
    }

    fn broker_mut(&mut self, id: BrokerId) -> &mut BrokerRegistration {
        Arc::make_mut(&mut self.image.brokers)
            .get_mut(&id)
            .expect("checked by broker_at_epoch")
    }
}

fn brokers(list: &[common::BrokerId]) -> Vec<BrokerId> {
    list.iter().map(|b| (*b).into()).collect()
}

fn broker_id(kind: &'static str, id: Option<common::BrokerId>) -> Result<BrokerId, ReplayError> {
    id.map(Into::into)
        .ok_or_else(|| malformed(kind, "missing broker_id"))
}

fn topic_id(kind: &'static str, id: Option<common::TopicId>) -> Result<TopicId, ReplayError> {
    let id = id.ok_or_else(|| malformed(kind, "missing topic_id"))?;
    TopicId::try_from(id).map_err(|e| malformed(kind, e.to_string()))
}

fn partition_index(
    kind: &'static str,
    index: Option<common::PartitionIndex>,
) -> Result<PartitionIndex, ReplayError> {
    let index: PartitionIndex = index
        .map(Into::into)
        .ok_or_else(|| malformed(kind, "missing partition"))?;
    if index.get() < 0 {
        return Err(malformed(kind, format!("negative partition {index}")));
    }
    Ok(index)
}

fn malformed(record: &'static str, reason: impl Into<String>) -> ReplayError {
    ReplayError::Malformed {
        record,
        reason: reason.into(),
    }
}

fn unknown(record: &'static str, what: String) -> ReplayError {
    ReplayError::Unknown { record, what }
}

fn invariant(record: &'static str, reason: String) -> ReplayError {
    ReplayError::Invariant { record, reason }
}
