//! [`ClusterView`]: the typed form of a broker's `Metadata` answer (brokers, topics,
//! partition leaders), and the rule for merging a newer answer into a cached one.
//!
//! Pure data, no I/O: `cluster.rs` fetches answers and keeps the merged view.

use std::collections::BTreeMap;

use rill_proto::data::{BrokerEndpoint, MetadataResponse, PartitionMetadata, TopicMetadata};
use rill_types::{BrokerId, ErrorCode, LeaderEpoch, MetadataOffset, PartitionIndex, TopicId};

use crate::DataError;

/// A Kafka error as metadata reports it for a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaError {
    /// Kafka's numeric code.
    pub code: i32,
    /// Kafka's name for it.
    pub name: String,
    /// The broker's explanation.
    pub message: String,
}

/// A broker with a data listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerView {
    /// Where its gRPC data listener is: `host:port` (`[v6]:port` for IPv6 hosts).
    pub addr: String,
    /// Its rack, if set.
    pub rack: Option<String>,
    /// Whether the controller has fenced it.
    pub fenced: bool,
}

/// One partition's replicas and leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionView {
    /// The leader; `None` while offline.
    pub leader: Option<BrokerId>,
    /// The leader epoch; `None` when the answer omitted it.
    pub leader_epoch: Option<LeaderEpoch>,
    /// The replicas.
    pub replicas: Vec<BrokerId>,
    /// The in-sync replicas.
    pub isr: Vec<BrokerId>,
}

/// One topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicView {
    /// Its id, when the answer carried one.
    pub id: Option<TopicId>,
    /// Set when the broker could not describe it (UNKNOWN_TOPIC_OR_PARTITION).
    pub error: Option<KafkaError>,
    /// Its partitions, by index.
    pub partitions: BTreeMap<PartitionIndex, PartitionView>,
}

/// Where to send a partition's produce and fetch requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leader {
    /// The leader's id.
    pub id: BrokerId,
    /// Its leader epoch, as the metadata says.
    pub epoch: Option<LeaderEpoch>,
    /// Its data listener, "host:port".
    pub addr: String,
}

/// The cluster as one or more `Metadata` answers describe it. Maps are ordered, so
/// anything printed from a view is deterministic.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterView {
    /// The cluster id.
    pub cluster_id: String,
    /// The metadata offset of the newest answer merged in.
    pub metadata_offset: Option<MetadataOffset>,
    /// The live brokers, by id.
    pub brokers: BTreeMap<BrokerId, BrokerView>,
    /// The topics asked about, by name.
    pub topics: BTreeMap<String, TopicView>,
}

impl ClusterView {
    /// The view of one answer. Fails with [`DataError::Protocol`] when a broker or a
    /// partition lacks its id or a broker its endpoint.
    pub fn from_response(response: MetadataResponse) -> Result<ClusterView, DataError> {
        let brokers = response
            .brokers
            .into_iter()
            .map(broker)
            .collect::<Result<_, _>>()?;
        let topics = response
            .topics
            .into_iter()
            .map(topic)
            .collect::<Result<_, _>>()?;
        Ok(ClusterView {
            cluster_id: response.cluster_id,
            metadata_offset: response.metadata_offset.map(MetadataOffset::from),
            brokers,
            topics,
        })
    }

    /// The leader of `topic`'s `partition`, or the Kafka error a broker would answer:
    /// UNKNOWN_TOPIC_OR_PARTITION (the topic or the partition is not in the view), the
    /// topic's own error, or LEADER_NOT_AVAILABLE (no leader, or a leader without a
    /// listed data listener). All of these send nothing.
    pub fn leader(&self, topic: &str, partition: PartitionIndex) -> Result<Leader, DataError> {
        let view = self.topic(topic)?;
        let p = view.partitions.get(&partition).ok_or_else(|| {
            DataError::kafka(
                ErrorCode::UnknownTopicOrPartition,
                format!(
                    "topic {topic} has no partition {partition} ({} partitions)",
                    view.partitions.len()
                ),
            )
        })?;
        let not_available = |why: String| DataError::kafka(ErrorCode::LeaderNotAvailable, why);
        let id = p
            .leader
            .ok_or_else(|| not_available(format!("{topic}-{partition} has no leader")))?;
        let broker = self.brokers.get(&id).ok_or_else(|| {
            not_available(format!(
                "{topic}-{partition}: leader {id} is not among the live brokers"
            ))
        })?;
        Ok(Leader {
            id,
            epoch: p.leader_epoch,
            addr: broker.addr.clone(),
        })
    }

    /// The number of partitions of `topic` (at least 1), or why it is not known.
    pub fn partition_count(&self, topic: &str) -> Result<i32, DataError> {
        let count = self.topic(topic)?.partitions.len();
        if count == 0 {
            return Err(DataError::kafka(
                ErrorCode::UnknownTopicOrPartition,
                format!("topic {topic} has no partitions in the metadata"),
            ));
        }
        i32::try_from(count).map_err(|_| DataError::protocol(format!("{count} partitions"), false))
    }

    fn topic(&self, topic: &str) -> Result<&TopicView, DataError> {
        let view = self.topics.get(topic).ok_or_else(|| {
            DataError::kafka(
                ErrorCode::UnknownTopicOrPartition,
                format!("topic {topic} is not in the metadata"),
            )
        })?;
        match &view.error {
            Some(e) => Err(DataError::Broker {
                code: e.code,
                name: e.name.clone(),
                message: e.message.clone(),
                maybe_written: false,
            }),
            None => Ok(view),
        }
    }

    /// Merges `newer`, an answer fetched after this view's, into it.
    ///
    /// An answer may come from a broker that lags the one the cached view came from, so
    /// leadership never goes back: a cached partition whose leader epoch is higher than
    /// the answer's is kept (Kafka's client does the same). A topic whose id changed was
    /// deleted and re-created: it is replaced whole. Brokers are the answer's, plus any
    /// cached broker a kept partition still names as leader.
    pub fn merge(&mut self, newer: ClusterView) {
        if newer.cluster_id != self.cluster_id {
            *self = newer; // another cluster (or the first answer): nothing carries over
            return;
        }
        self.metadata_offset = self.metadata_offset.max(newer.metadata_offset);
        for (name, mut topic) in newer.topics {
            if let Some(old) = self.topics.get(&name) {
                let same_topic = old.id == topic.id && topic.error.is_none();
                for (index, cached) in old.partitions.iter().filter(|_| same_topic) {
                    let newer_is_older = topic
                        .partitions
                        .get(index)
                        .is_some_and(|p| p.leader_epoch < cached.leader_epoch);
                    if newer_is_older {
                        topic.partitions.insert(*index, cached.clone());
                    }
                }
            }
            self.topics.insert(name, topic);
        }
        let mut brokers = newer.brokers;
        let leaders = self.topics.values().flat_map(|t| t.partitions.values());
        for id in leaders.filter_map(|p| p.leader) {
            if let (false, Some(b)) = (brokers.contains_key(&id), self.brokers.get(&id)) {
                brokers.insert(id, b.clone());
            }
        }
        self.brokers = brokers;
    }
}

fn broker(b: BrokerEndpoint) -> Result<(BrokerId, BrokerView), DataError> {
    let missing = |f: &str| DataError::protocol(format!("metadata broker without {f}"), false);
    let id = BrokerId::from(b.broker_id.ok_or_else(|| missing("broker_id"))?);
    let endpoint = b.endpoint.ok_or_else(|| missing("endpoint"))?;
    let addr = if endpoint.host.contains(':') && !endpoint.host.starts_with('[') {
        format!("[{}]:{}", endpoint.host, endpoint.port)
    } else {
        format!("{}:{}", endpoint.host, endpoint.port)
    };
    let view = BrokerView {
        addr,
        rack: b.rack,
        fenced: b.fenced,
    };
    Ok((id, view))
}

fn topic(t: TopicMetadata) -> Result<(String, TopicView), DataError> {
    let id =
        match t.topic_id {
            Some(id) => Some(TopicId::try_from(id).map_err(|e| {
                DataError::protocol(format!("metadata topic {}: {e}", t.name), false)
            })?),
            None => None,
        };
    let error = t.error.map(|e| KafkaError {
        code: e.code,
        name: e.name,
        message: e.message,
    });
    let partitions = t
        .partitions
        .into_iter()
        .map(|p| partition(&t.name, p))
        .collect::<Result<_, _>>()?;
    let view = TopicView {
        id,
        error,
        partitions,
    };
    Ok((t.name, view))
}

fn partition(
    topic: &str,
    p: PartitionMetadata,
) -> Result<(PartitionIndex, PartitionView), DataError> {
    let index = p.partition.ok_or_else(|| {
        DataError::protocol(
            format!("metadata partition of {topic} without index"),
            false,
        )
    })?;
    let view = PartitionView {
        leader: p.leader.map(BrokerId::from),
        leader_epoch: p.leader_epoch.map(LeaderEpoch::from),
        replicas: p.replicas.into_iter().map(BrokerId::from).collect(),
        isr: p.isr.into_iter().map(BrokerId::from).collect(),
    };
    Ok((PartitionIndex::from(index), view))
}

#[cfg(test)]
mod tests {
    use rill_proto::common;

    use super::*;

    fn answer(leader: i32, epoch: i32, broker_port: u32) -> MetadataResponse {
        MetadataResponse {
            cluster_id: "c".into(),
            brokers: vec![BrokerEndpoint {
                broker_id: Some(common::BrokerId { id: leader }),
                endpoint: Some(common::Endpoint {
                    name: "DATA".into(),
                    host: "127.0.0.1".into(),
                    port: broker_port,
                }),
                rack: None,
                fenced: false,
            }],
            topics: vec![TopicMetadata {
                name: "t".into(),
                topic_id: None,
                error: None,
                partitions: vec![PartitionMetadata {
                    partition: Some(common::PartitionIndex { index: 0 }),
                    leader: Some(common::BrokerId { id: leader }),
                    leader_epoch: Some(common::LeaderEpoch { epoch }),
                    replicas: vec![],
                    isr: vec![],
                }],
            }],
            metadata_offset: None,
        }
    }

    fn view(leader: i32, epoch: i32, port: u32) -> ClusterView {
        ClusterView::from_response(answer(leader, epoch, port)).unwrap()
    }

    #[test]
    fn leader_resolves_to_the_brokers_address() {
        let v = view(1, 5, 9000);
        let leader = v.leader("t", PartitionIndex::new(0)).unwrap();
        assert_eq!(leader.addr, "127.0.0.1:9000");
        assert_eq!(leader.epoch, Some(LeaderEpoch::new(5)));
        let err = v.leader("t", PartitionIndex::new(1)).unwrap_err();
        assert_eq!(err.kafka_code(), Some(ErrorCode::UnknownTopicOrPartition));
        let err = v.leader("nope", PartitionIndex::new(0)).unwrap_err();
        assert_eq!(err.kafka_code(), Some(ErrorCode::UnknownTopicOrPartition));
        assert_eq!(v.partition_count("t").unwrap(), 1);
    }

    #[test]
    fn merge_never_moves_leadership_back_to_an_older_epoch() {
        let mut cached = view(2, 6, 9002);
        cached.merge(view(1, 5, 9001)); // a lagging broker's answer
        let leader = cached.leader("t", PartitionIndex::new(0)).unwrap();
        assert_eq!(
            (leader.id, leader.addr.as_str()),
            (BrokerId::new(2), "127.0.0.1:9002")
        );
        cached.merge(view(3, 7, 9003)); // a newer election
        let leader = cached.leader("t", PartitionIndex::new(0)).unwrap();
        assert_eq!(
            (leader.id, leader.addr.as_str()),
            (BrokerId::new(3), "127.0.0.1:9003")
        );
    }

    #[test]
    fn a_leader_without_a_listed_broker_is_not_available() {
        let mut a = answer(1, 1, 9000);
        a.brokers.clear();
        let err = ClusterView::from_response(a)
            .unwrap()
            .leader("t", PartitionIndex::new(0))
            .unwrap_err();
        assert_eq!(err.kafka_code(), Some(ErrorCode::LeaderNotAvailable));
        assert!(err.is_definitely_not_written());
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        let mut a = answer(1, 1, 9000);
        a.brokers[0].endpoint.as_mut().unwrap().host = "::1".into();
        let v = ClusterView::from_response(a).unwrap();
        assert_eq!(v.brokers[&BrokerId::new(1)].addr, "[::1]:9000");
    }
}
