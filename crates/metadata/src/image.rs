//! [`MetadataImage`]: the cluster metadata at one offset of the metadata log.

use std::collections::BTreeMap;
use std::sync::Arc;

use prost::Message as _;
use rill_proto::metadata::{
    BrokerShutdownRecord, ConfigRecord, ConfigResourceType, MetadataBatch, MetadataRecord,
    PartitionRecord, RegisterBrokerRecord, TopicRecord, UnfenceBrokerRecord,
    metadata_record::Record,
};
use rill_types::{BrokerId, MetadataOffset, PartitionIndex, ProducerId, TopicId};

use crate::{
    BrokerRegistration, ConfigResource, MetadataDelta, PartitionState, ReplayError, TopicImage,
};

/// The cluster metadata after the record at [`MetadataImage::offset`].
///
/// Immutable and cheap to clone: every map sits behind an `Arc`, and a delta copies only
/// the maps it changes (and, in the topic map, only the topics it changes).
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataImage {
    pub(crate) offset: MetadataOffset,
    pub(crate) brokers: Arc<BTreeMap<BrokerId, BrokerRegistration>>,
    pub(crate) topics: Arc<BTreeMap<TopicId, Arc<TopicImage>>>,
    pub(crate) topic_ids: Arc<BTreeMap<String, TopicId>>,
    pub(crate) configs: Arc<BTreeMap<ConfigResource, BTreeMap<String, String>>>,
    pub(crate) next_producer_id: ProducerId,
    pub(crate) cluster_id: Option<Arc<str>>,
}

impl Default for MetadataImage {
    fn default() -> Self {
        Self {
            offset: MetadataOffset::default(),
            brokers: Arc::default(),
            topics: Arc::default(),
            topic_ids: Arc::default(),
            configs: Arc::default(),
            next_producer_id: ProducerId::new(0),
            cluster_id: None,
        }
    }
}

impl MetadataImage {
    /// The offset of the last record applied (0 for the empty image).
    pub fn offset(&self) -> MetadataOffset {
        self.offset
    }

    /// The cluster id, once the first controller wrote it.
    pub fn cluster_id(&self) -> Option<&str> {
        self.cluster_id.as_deref()
    }

    /// Every registered broker, by id.
    pub fn brokers(&self) -> &BTreeMap<BrokerId, BrokerRegistration> {
        &self.brokers
    }

    /// One broker.
    pub fn broker(&self, id: BrokerId) -> Option<&BrokerRegistration> {
        self.brokers.get(&id)
    }

    /// Every topic, by id.
    pub fn topics(&self) -> impl Iterator<Item = &TopicImage> {
        self.topics.values().map(|t| &**t)
    }

    /// Number of topics.
    pub fn topic_count(&self) -> usize {
        self.topics.len()
    }

    /// One topic by id.
    pub fn topic(&self, id: TopicId) -> Option<&TopicImage> {
        self.topics.get(&id).map(|t| &**t)
    }

    /// One topic by name.
    pub fn topic_by_name(&self, name: &str) -> Option<&TopicImage> {
        self.topic_ids.get(name).and_then(|id| self.topic(*id))
    }

    /// One partition.
    pub fn partition(&self, topic: TopicId, partition: PartitionIndex) -> Option<&PartitionState> {
        self.topic(topic)?.partitions.get(&partition)
    }

    /// The explicitly set config keys of a resource (defaults are not stored).
    pub fn configs(&self, resource: &ConfigResource) -> Option<&BTreeMap<String, String>> {
        self.configs.get(resource)
    }

    /// The first producer id not yet handed out.
    pub fn next_producer_id(&self) -> ProducerId {
        self.next_producer_id
    }

    /// Checks every invariant of the image; the error names the first one broken.
    /// Run by tests after every replay.
    pub fn check_invariants(&self) -> Result<(), String> {
        if self.topic_ids.len() != self.topics.len() {
            return Err("name index and topic map differ in size".to_owned());
        }
        for (name, id) in self.topic_ids.iter() {
            match self.topics.get(id) {
                Some(topic) if topic.name == *name && topic.id == *id => {}
                _ => {
                    return Err(format!(
                        "name index entry {name} -> {id} does not match a topic"
                    ));
                }
            }
        }
        for topic in self.topics.values() {
            for (i, (index, partition)) in topic.partitions.iter().enumerate() {
                if index.get() != i as i32 {
                    return Err(format!("topic {} partitions are not 0..n", topic.name));
                }
                partition
                    .check()
                    .map_err(|e| format!("{}-{index}: {e}", topic.name))?;
            }
        }
        Ok(())
    }

    /// The records that rebuild this image from the empty one (a snapshot's content),
    /// in a deterministic order.
    pub fn to_records(&self) -> Vec<MetadataRecord> {
        let mut records = Vec::new();
        let wrap = |record: Record| MetadataRecord {
            record: Some(record),
        };
        if let Some(id) = &self.cluster_id {
            records.push(wrap(Record::Cluster(rill_proto::metadata::ClusterRecord {
                cluster_id: id.to_string(),
            })));
        }
        for broker in self.brokers.values() {
            records.push(wrap(Record::RegisterBroker(RegisterBrokerRecord {
                broker_id: Some(broker.id.into()),
                incarnation_id: broker.incarnation_id.clone(),
                listeners: broker.listeners.clone(),
                rack: broker.rack.clone(),
                broker_epoch: Some(broker.epoch),
            })));
            if !broker.fenced {
                records.push(wrap(Record::UnfenceBroker(UnfenceBrokerRecord {
                    broker_id: Some(broker.id.into()),
                    broker_epoch: broker.epoch,
                })));
            }
            if broker.in_controlled_shutdown {
                records.push(wrap(Record::BrokerShutdown(BrokerShutdownRecord {
                    broker_id: Some(broker.id.into()),
                    broker_epoch: broker.epoch,
                })));
            }
        }
        for topic in self.topics.values() {
            records.push(wrap(Record::Topic(TopicRecord {
                name: topic.name.clone(),
                topic_id: Some(topic.id.into()),
            })));
            for (index, p) in &topic.partitions {
                records.push(wrap(Record::Partition(PartitionRecord {
                    topic_id: Some(topic.id.into()),
                    partition: Some((*index).into()),
                    replicas: p.replicas.iter().map(|b| (*b).into()).collect(),
                    isr: p.isr.iter().map(|b| (*b).into()).collect(),
                    leader: p.leader.map(Into::into),
                    leader_epoch: Some(p.leader_epoch.into()),
                    partition_epoch: Some(p.partition_epoch.into()),
                })));
            }
        }
        for (resource, keys) in self.configs.iter() {
            let (resource_type, resource_name) = match resource {
                ConfigResource::Topic(name) => (ConfigResourceType::Topic, name.clone()),
                ConfigResource::Broker(name) => (ConfigResourceType::Broker, name.clone()),
            };
            for (key, value) in keys {
                records.push(wrap(Record::Config(ConfigRecord {
                    resource_type: resource_type.into(),
                    resource_name: resource_name.clone(),
                    key: key.clone(),
                    value: Some(value.clone()),
                })));
            }
        }
        if self.next_producer_id.get() > 0 {
            records.push(wrap(Record::ProducerIds(
                rill_proto::metadata::ProducerIdsRecord {
                    broker_id: None,
                    broker_epoch: -1,
                    next_producer_id: Some(self.next_producer_id.into()),
                },
            )));
        }
        records
    }

    /// The image encoded as a snapshot: its records as one `MetadataBatch`.
    pub fn encode_snapshot(&self) -> Vec<u8> {
        MetadataBatch {
            records: self.to_records(),
        }
        .encode_to_vec()
    }

    /// An image from a snapshot written by [`MetadataImage::encode_snapshot`] at `offset`.
    pub fn decode_snapshot(
        bytes: &[u8],
        offset: MetadataOffset,
    ) -> Result<MetadataImage, ReplayError> {
        let batch = MetadataBatch::decode(bytes).map_err(|e| ReplayError::Malformed {
            record: "snapshot",
            reason: e.to_string(),
        })?;
        let mut delta = MetadataDelta::new(&MetadataImage::default());
        for record in &batch.records {
            delta.replay(offset, record)?;
        }
        Ok(delta.apply().0)
    }
}
