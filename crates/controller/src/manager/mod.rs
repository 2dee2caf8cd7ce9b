//! The control managers, pure (KRaft's shape): each write validates a request against the
//! current image and returns the records to commit and the response to give once they
//! have committed. Nothing here touches Raft, the network, the clock or randomness: the
//! event loop passes the image, the time and random bits in, and commits the records.
//!
//! Every write's records are checked by replaying them on a delta over the image
//! ([`dry_run`]) before they are proposed: a record that would not replay is a bug here,
//! and must not reach the log, where every controller would skip it while its caller was
//! told it succeeded.

pub mod cluster;
pub mod configs;
pub mod partitions;
pub mod producer_ids;
pub mod topics;

use rill_metadata::{MetadataDelta, MetadataImage, MetadataRecord, PartitionState, Record};
use rill_types::{BrokerId, MetadataOffset, PartitionIndex, TopicId};

use crate::election;
use crate::refusal::{ErrorCode, Refusal};

/// What a write commits and answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Write<R> {
    /// The records to commit together (possibly none: then nothing is proposed).
    pub records: Vec<MetadataRecord>,
    /// The answer, valid once the records committed.
    pub response: R,
}

impl<R> Write<R> {
    /// A write of `records` answering `response`.
    pub fn new(records: Vec<MetadataRecord>, response: R) -> Self {
        Self { records, response }
    }
}

/// Wraps a record.
pub fn rec(record: Record) -> MetadataRecord {
    MetadataRecord {
        record: Some(record),
    }
}

/// The image after `records`, replayed at the next offset: the check every write passes
/// before it is proposed.
pub fn dry_run(
    image: &MetadataImage,
    records: &[MetadataRecord],
) -> Result<MetadataImage, Refusal> {
    let mut delta = MetadataDelta::new(image);
    let offset = MetadataOffset::new(image.offset().get() + 1);
    for record in records {
        delta.replay(offset, record).map_err(|e| {
            Refusal::new(
                ErrorCode::UnknownServerError,
                format!("the controller built a record that does not apply: {e}"),
            )
        })?;
    }
    Ok(delta.apply().0)
}

/// Whether `broker` may lead and be in ISRs: registered, unfenced, not shutting down.
pub fn is_active(image: &MetadataImage, broker: BrokerId) -> bool {
    image.broker(broker).is_some_and(|b| b.is_active())
}

/// Whether a topic allows unclean leader election: its own config, else the cluster-wide
/// broker default, else false (Kafka's default).
pub fn unclean_enabled(image: &MetadataImage, topic: &str) -> bool {
    const KEY: &str = "unclean.leader.election.enable";
    let topic_value = image
        .configs(&rill_metadata::ConfigResource::Topic(topic.to_owned()))
        .and_then(|c| c.get(KEY))
        .map(String::as_str);
    topic_value
        .or_else(|| cluster_config(image, KEY))
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// A cluster-wide broker config (`ConfigResource::Broker("")`), if set.
pub fn cluster_config<'a>(image: &'a MetadataImage, key: &str) -> Option<&'a str> {
    image
        .configs(&rill_metadata::ConfigResource::Broker(String::new()))
        .and_then(|c| c.get(key))
        .map(String::as_str)
}

/// The partition-change records that re-elect leaders (and shrink ISRs) of every
/// partition `touches` selects, with `active` deciding who may lead.
pub fn reelect(
    image: &MetadataImage,
    touches: impl Fn(&PartitionState) -> bool,
    active: impl Fn(BrokerId) -> bool,
) -> Vec<MetadataRecord> {
    let mut out = Vec::new();
    for topic in image.topics() {
        let unclean = unclean_enabled(image, &topic.name);
        for (index, partition) in &topic.partitions {
            if !touches(partition) {
                continue;
            }
            if let Some(e) = election::after_liveness_change(partition, &active, unclean) {
                out.push(change(topic.id, *index, partition, &e));
            }
        }
    }
    out
}

/// A partition-change record moving `partition` to `election`'s leader and ISR (only
/// the fields that change are set).
pub fn change(
    topic: TopicId,
    index: PartitionIndex,
    partition: &PartitionState,
    election: &election::Election,
) -> MetadataRecord {
    use rill_metadata::records::{BrokerList, PartitionChangeRecord};
    let list = |brokers: &[BrokerId]| BrokerList {
        brokers: brokers.iter().map(|b| (*b).into()).collect(),
    };
    let leader: Vec<BrokerId> = election.leader.into_iter().collect();
    rec(Record::PartitionChange(PartitionChangeRecord {
        topic_id: Some(topic.into()),
        partition: Some(index.into()),
        replicas: None,
        isr: (election.isr != partition.isr).then(|| list(&election.isr)),
        leader: (election.leader != partition.leader).then(|| list(&leader)),
    }))
}

#[cfg(test)]
pub(crate) mod testing {
    //! Building images for manager tests.

    pub use super::testing_support::counter;
    use super::*;

    /// Replays `records` one offset each, panicking on error and checking invariants.
    pub fn apply(image: &MetadataImage, records: &[MetadataRecord]) -> MetadataImage {
        let mut delta = MetadataDelta::new(image);
        let mut offset = image.offset().get();
        for r in records {
            offset += 1;
            delta.replay(MetadataOffset::new(offset), r).unwrap();
        }
        let image = delta.apply().0;
        image.check_invariants().unwrap();
        image
    }

    /// An image with brokers registered and unfenced; racks optional.
    pub fn brokers(ids: &[(i32, Option<&str>)]) -> MetadataImage {
        let image = super::testing_support::brokers_image(ids);
        image.check_invariants().unwrap();
        image
    }
}

pub mod testing_support {
    //! Images built by the managers alone, for benchmarks and tests outside this crate.

    use std::collections::BTreeMap;

    use rill_metadata::records::{RegisterBrokerRecord, UnfenceBrokerRecord};

    use super::*;
    use crate::manager::topics::{NewTopic, create_topics};

    /// The image after one write of `records` (they must replay).
    fn apply(image: &MetadataImage, records: &[MetadataRecord]) -> MetadataImage {
        dry_run(image, records).expect("manager records replay")
    }

    /// Deterministic "random" bits for topic ids.
    pub fn counter() -> impl FnMut() -> u128 {
        let mut n = 0u128;
        move || {
            n += 1;
            n << 64 | n
        }
    }

    /// An image with the brokers `(id, rack)` registered and unfenced, one write each.
    pub fn brokers_image(ids: &[(i32, Option<&str>)]) -> MetadataImage {
        let mut image = MetadataImage::default();
        for (id, rack) in ids {
            let b = BrokerId::new(*id);
            image = apply(
                &image,
                &[rec(Record::RegisterBroker(RegisterBrokerRecord {
                    broker_id: Some(b.into()),
                    incarnation_id: vec![*id as u8; 16],
                    listeners: vec![],
                    rack: rack.map(str::to_owned),
                    broker_epoch: None,
                }))],
            );
            let epoch = image.broker(b).expect("registered").epoch;
            image = apply(
                &image,
                &[rec(Record::UnfenceBroker(UnfenceBrokerRecord {
                    broker_id: Some(b.into()),
                    broker_epoch: epoch,
                }))],
            );
        }
        image
    }

    /// `image` plus `topics` topics of `partitions` partitions and replication factor
    /// `rf`, created 100 per write (deterministic ids).
    pub fn create_all(
        image: &MetadataImage,
        topics: usize,
        partitions: i32,
        rf: i32,
    ) -> MetadataImage {
        let mut image = image.clone();
        let mut random = counter();
        let names: Vec<usize> = (0..topics).collect();
        for chunk in names.chunks(100) {
            let request: Vec<NewTopic> = chunk
                .iter()
                .map(|i| NewTopic {
                    name: format!("topic-{i:05}"),
                    partitions,
                    replication_factor: rf,
                    configs: BTreeMap::new(),
                })
                .collect();
            let w = create_topics(&image, &request, false, &mut random);
            image = apply(&image, &w.records);
        }
        image
    }
}
