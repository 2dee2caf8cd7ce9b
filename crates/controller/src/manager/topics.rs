//! Topics (KRaft's ReplicationControlManager, topic half): create, delete, add
//! partitions. Each topic of a request succeeds or fails on its own, as in Kafka; a
//! failed topic contributes no record, so nothing is half-applied.

use std::collections::{BTreeMap, BTreeSet};

use rill_metadata::records::{
    ConfigRecord, ConfigResourceType, PartitionRecord, RemoveTopicRecord, TopicRecord,
};
use rill_metadata::{MetadataImage, Record};
use rill_types::{BrokerId, LeaderEpoch, PartitionEpoch, PartitionIndex, TopicId};

use super::{Write, dry_run, rec};
use crate::config_keys::{self, ResourceKind};
use crate::placement::{self, Candidate};
use crate::refusal::{ErrorCode, Refusal};

/// Kafka's longest topic name.
pub const MAX_TOPIC_NAME_LEN: usize = 249;

/// The most partitions one request may create (KRaft bounds a user operation to 10,000
/// records): every write is one Raft entry, and an unbounded one could exhaust memory or
/// exceed what a Raft message may carry.
pub const MAX_PARTITIONS_PER_REQUEST: i64 = 10_000;

fn too_many(asked: i64, so_far: i64) -> Refusal {
    Refusal::new(
        ErrorCode::InvalidPartitions,
        format!(
            "{asked} partitions would make this request create {} partitions; a request may create at most {MAX_PARTITIONS_PER_REQUEST}, so split it",
            so_far + asked
        ),
    )
}

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    /// Its name.
    pub name: String,
    /// Partitions; -1 takes the cluster default (`num.partitions`).
    pub partitions: i32,
    /// Replication factor; -1 takes the cluster default (`default.replication.factor`).
    pub replication_factor: i32,
    /// Its configs.
    pub configs: BTreeMap<String, String>,
}

/// Kafka's topic-name rules: 1 to 249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), Refusal> {
    let invalid = |why: String| Refusal::new(ErrorCode::InvalidTopicException, why);
    if name.is_empty() {
        return Err(invalid("the topic name is empty".into()));
    }
    if name == "." || name == ".." {
        return Err(invalid(format!("the topic name cannot be {name:?}")));
    }
    if name.len() > MAX_TOPIC_NAME_LEN {
        return Err(invalid(format!(
            "the topic name is {} characters long; the limit is {MAX_TOPIC_NAME_LEN}",
            name.len()
        )));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(invalid(format!(
            "the topic name {name:?} contains {bad:?}; only ASCII letters, digits, '.', '_' and '-' are allowed"
        )));
    }
    Ok(())
}

/// Kafka refuses topics whose names differ only in '.' versus '_' (they collide in
/// metric names).
fn collision_key(name: &str) -> String {
    name.replace('.', "_")
}

fn cluster_default(image: &MetadataImage, key: &str) -> i32 {
    super::cluster_config(image, key)
        .and_then(|v| v.trim().parse().ok())
        .or_else(|| {
            config_keys::key(ResourceKind::Broker, key).and_then(|k| k.default.parse().ok())
        })
        .unwrap_or(1)
}

/// The brokers new replicas may go to (active ones), with their current load.
pub fn candidates(image: &MetadataImage) -> Vec<Candidate> {
    let mut load: BTreeMap<BrokerId, (u32, u32)> = BTreeMap::new();
    for topic in image.topics() {
        for p in topic.partitions.values() {
            for r in &p.replicas {
                load.entry(*r).or_default().0 += 1;
            }
            if let Some(first) = p.replicas.first() {
                load.entry(*first).or_default().1 += 1;
            }
        }
    }
    image
        .brokers()
        .values()
        .filter(|b| b.is_active())
        .map(|b| {
            let (replicas, preferred_leaders) = load.get(&b.id).copied().unwrap_or_default();
            Candidate {
                id: b.id,
                rack: b.rack.clone(),
                replicas,
                preferred_leaders,
            }
        })
        .collect()
}

fn count_placed(candidates: &mut [Candidate], placed: &[Vec<BrokerId>]) {
    for replicas in placed {
        for (i, r) in replicas.iter().enumerate() {
            if let Some(c) = candidates.iter_mut().find(|c| c.id == *r) {
                c.replicas += 1;
                if i == 0 {
                    c.preferred_leaders += 1;
                }
            }
        }
    }
}

fn partition_records(
    topic: TopicId,
    first: i32,
    placed: &[Vec<BrokerId>],
) -> Vec<rill_metadata::MetadataRecord> {
    placed
        .iter()
        .enumerate()
        .map(|(i, replicas)| {
            let ids: Vec<_> = replicas.iter().map(|b| (*b).into()).collect();
            rec(Record::Partition(PartitionRecord {
                topic_id: Some(topic.into()),
                partition: Some(PartitionIndex::new(first + i as i32).into()),
                replicas: ids.clone(),
                isr: ids,
                leader: replicas.first().map(|b| (*b).into()),
                leader_epoch: Some(LeaderEpoch::new(0).into()),
                partition_epoch: Some(PartitionEpoch::new(0).into()),
            }))
        })
        .collect()
}

/// Creates topics. `random` gives 128 random bits per call (for topic ids). With
/// `validate_only` every check runs and no record is returned.
pub fn create_topics(
    image: &MetadataImage,
    topics: &[NewTopic],
    validate_only: bool,
    random: &mut dyn FnMut() -> u128,
) -> Write<Vec<Result<TopicId, Refusal>>> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for t in topics {
        *seen.entry(t.name.as_str()).or_default() += 1;
    }
    let existing: BTreeSet<String> = image.topics().map(|t| collision_key(&t.name)).collect();
    let mut taken_here: BTreeSet<String> = BTreeSet::new();
    let mut candidates = candidates(image);
    let mut records = Vec::new();
    let mut results = Vec::with_capacity(topics.len());
    let mut planned: i64 = 0;
    for t in topics {
        let result = (|| {
            validate_topic_name(&t.name)?;
            if seen[t.name.as_str()] > 1 {
                return Err(Refusal::new(
                    ErrorCode::InvalidRequest,
                    format!("topic {:?} appears more than once in the request", t.name),
                ));
            }
            if image.topic_by_name(&t.name).is_some() {
                return Err(Refusal::new(
                    ErrorCode::TopicAlreadyExists,
                    format!("topic {:?} already exists", t.name),
                ));
            }
            let key = collision_key(&t.name);
            if existing.contains(&key) || taken_here.contains(&key) {
                return Err(Refusal::new(
                    ErrorCode::InvalidTopicException,
                    format!(
                        "topic {:?} collides with an existing topic that differs only in '.' versus '_'",
                        t.name
                    ),
                ));
            }
            let partitions = match t.partitions {
                -1 => cluster_default(image, "num.partitions"),
                n => n,
            };
            if partitions < 1 {
                return Err(Refusal::new(
                    ErrorCode::InvalidPartitions,
                    format!(
                        "{} partitions: a topic needs at least 1 (or -1 for the default)",
                        t.partitions
                    ),
                ));
            }
            let rf = match t.replication_factor {
                -1 => cluster_default(image, "default.replication.factor"),
                n => n,
            };
            if rf < 1 {
                return Err(Refusal::new(
                    ErrorCode::InvalidReplicationFactor,
                    format!(
                        "replication factor {}: at least 1 (or -1 for the default)",
                        t.replication_factor
                    ),
                ));
            }
            if planned + i64::from(partitions) > MAX_PARTITIONS_PER_REQUEST {
                return Err(too_many(i64::from(partitions), planned));
            }
            for (k, v) in &t.configs {
                config_keys::validate(ResourceKind::Topic, k, v)
                    .map_err(|e| Refusal::new(ErrorCode::InvalidConfig, e.to_string()))?;
            }
            let placed =
                placement::place(&candidates, partitions as u32, rf as u32).map_err(|e| {
                    let mut r = Refusal::from(e);
                    if r.code == ErrorCode::InvalidReplicationFactor {
                        r.message = format!(
                            "replication factor {rf} is larger than the {} live brokers",
                            candidates.len()
                        );
                    }
                    r
                })?;
            let id = loop {
                if let Some(id) = TopicId::from_random_bits(random())
                    && image.topic(id).is_none()
                {
                    break id;
                }
            };
            let mut mine = vec![rec(Record::Topic(TopicRecord {
                name: t.name.clone(),
                topic_id: Some(id.into()),
            }))];
            mine.extend(partition_records(id, 0, &placed));
            for (k, v) in &t.configs {
                mine.push(rec(Record::Config(ConfigRecord {
                    resource_type: ConfigResourceType::Topic.into(),
                    resource_name: t.name.clone(),
                    key: k.clone(),
                    value: Some(v.clone()),
                })));
            }
            count_placed(&mut candidates, &placed);
            planned += i64::from(partitions);
            Ok((id, mine))
        })();
        match result {
            Ok((id, mine)) => {
                taken_here.insert(collision_key(&t.name));
                records.extend(mine);
                results.push(Ok(id));
            }
            Err(e) => results.push(Err(e)),
        }
    }
    finish(image, records, results, validate_only)
}

/// Deletes topics by name.
pub fn delete_topics(
    image: &MetadataImage,
    names: &[String],
) -> Write<Vec<Result<TopicId, Refusal>>> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for n in names {
        *seen.entry(n.as_str()).or_default() += 1;
    }
    let mut records = Vec::new();
    let results = names
        .iter()
        .map(|name| {
            if seen[name.as_str()] > 1 {
                return Err(Refusal::new(
                    ErrorCode::InvalidRequest,
                    format!("topic {name:?} appears more than once in the request"),
                ));
            }
            let topic = image.topic_by_name(name).ok_or_else(|| {
                Refusal::new(
                    ErrorCode::UnknownTopicOrPartition,
                    format!("topic {name:?} does not exist"),
                )
            })?;
            records.push(rec(Record::RemoveTopic(RemoveTopicRecord {
                topic_id: Some(topic.id.into()),
            })));
            Ok(topic.id)
        })
        .collect();
    finish(image, records, results, false)
}

/// A partition-count increase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MorePartitions {
    /// The topic.
    pub name: String,
    /// The new total.
    pub total_count: i32,
}

/// Adds partitions to topics, with the topic's replication factor.
pub fn create_partitions(
    image: &MetadataImage,
    requests: &[MorePartitions],
    validate_only: bool,
) -> Write<Vec<Result<TopicId, Refusal>>> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for r in requests {
        *seen.entry(r.name.as_str()).or_default() += 1;
    }
    let mut candidates = candidates(image);
    let mut records = Vec::new();
    let mut results = Vec::new();
    let mut planned: i64 = 0;
    for r in requests {
        let result = (|| {
            if seen[r.name.as_str()] > 1 {
                return Err(Refusal::new(
                    ErrorCode::InvalidRequest,
                    format!("topic {:?} appears more than once in the request", r.name),
                ));
            }
            let topic = image.topic_by_name(&r.name).ok_or_else(|| {
                Refusal::new(
                    ErrorCode::UnknownTopicOrPartition,
                    format!("topic {:?} does not exist", r.name),
                )
            })?;
            let current = topic.partitions.len() as i32;
            if r.total_count <= current {
                return Err(Refusal::new(
                    ErrorCode::InvalidPartitions,
                    format!(
                        "topic {:?} has {current} partitions; the new total {} must be larger",
                        r.name, r.total_count
                    ),
                ));
            }
            let more = i64::from(r.total_count) - i64::from(current);
            if planned + more > MAX_PARTITIONS_PER_REQUEST {
                return Err(too_many(more, planned));
            }
            planned += more;
            let rf = topic
                .partitions
                .values()
                .next()
                .map_or(1, |p| p.replicas.len()) as u32;
            let placed = placement::place(&candidates, (r.total_count - current) as u32, rf)?;
            count_placed(&mut candidates, &placed);
            Ok((topic.id, partition_records(topic.id, current, &placed)))
        })();
        match result {
            Ok((id, mine)) => {
                records.extend(mine);
                results.push(Ok(id));
            }
            Err(e) => results.push(Err(e)),
        }
    }
    finish(image, records, results, validate_only)
}

/// Checks the records replay; if not (a bug), every item fails rather than any applying.
fn finish(
    image: &MetadataImage,
    records: Vec<rill_metadata::MetadataRecord>,
    results: Vec<Result<TopicId, Refusal>>,
    validate_only: bool,
) -> Write<Vec<Result<TopicId, Refusal>>> {
    match dry_run(image, &records) {
        Ok(_) if validate_only => Write::new(vec![], results),
        Ok(_) => Write::new(records, results),
        Err(e) => {
            let results = results.into_iter().map(|r| r.and(Err(e.clone()))).collect();
            Write::new(vec![], results)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::testing::{apply, brokers, counter};

    fn topic(name: &str, partitions: i32, rf: i32) -> NewTopic {
        NewTopic {
            name: name.into(),
            partitions,
            replication_factor: rf,
            configs: BTreeMap::new(),
        }
    }

    fn codes(w: &Write<Vec<Result<TopicId, Refusal>>>) -> Vec<Option<ErrorCode>> {
        w.response
            .iter()
            .map(|r| r.as_ref().err().map(|e| e.code))
            .collect()
    }

    #[test]
    fn names_follow_kafkas_rules() {
        for ok in ["a", "A-b_c.d", &"x".repeat(249), "..."] {
            validate_topic_name(ok).unwrap();
        }
        for bad in ["", ".", "..", &"x".repeat(250), "a b", "ä", "a/b", "a:b"] {
            assert_eq!(
                validate_topic_name(bad).unwrap_err().code,
                ErrorCode::InvalidTopicException,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn bad_topics_fail_alone_and_leave_no_trace() {
        let image = brokers(&[(1, None), (2, None), (3, None)]);
        let image = apply(
            &image,
            &create_topics(&image, &[topic("exists", 1, 1)], false, &mut counter()).records,
        );
        let mut with_config = topic("bad-config", 1, 1);
        with_config
            .configs
            .insert("retention.ms".into(), "soon".into());
        let request = [
            topic("good", 3, 3),
            topic("", 1, 1),
            topic("exists", 1, 1),
            topic("dup", 1, 1),
            topic("dup", 1, 1),
            topic("zero", 0, 1),
            topic("rf4", 1, 4),
            topic("rf0", 1, 0),
            with_config,
            topic("exists_", 1, 1),
            topic("good.", 1, 1),
            topic("good_", 1, 1),
        ];
        let w = create_topics(&image, &request, false, &mut counter());
        use ErrorCode::*;
        assert_eq!(
            codes(&w),
            vec![
                None,
                Some(InvalidTopicException),
                Some(TopicAlreadyExists),
                Some(InvalidRequest),
                Some(InvalidRequest),
                Some(InvalidPartitions),
                Some(InvalidReplicationFactor),
                Some(InvalidReplicationFactor),
                Some(InvalidConfig),
                None,
                None,
                Some(InvalidTopicException),
            ]
        );
        let after = apply(&image, &w.records);
        let names: Vec<_> = after
            .topics()
            .map(|t| t.name.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(names, vec!["exists", "exists_", "good", "good."]);
        assert_eq!(after.topic_by_name("good").unwrap().partitions.len(), 3);
    }

    #[test]
    fn one_request_creates_at_most_ten_thousand_partitions() {
        let image = brokers(&[(1, None)]);
        let w = create_topics(
            &image,
            &[topic("huge", 2_000_000_000, 1)],
            false,
            &mut counter(),
        );
        assert_eq!(codes(&w), vec![Some(ErrorCode::InvalidPartitions)]);
        let w = create_topics(
            &image,
            &[topic("a", 6_000, 1), topic("b", 6_000, 1)],
            false,
            &mut counter(),
        );
        assert_eq!(codes(&w), vec![None, Some(ErrorCode::InvalidPartitions)]);
        let image = apply(&image, &w.records);
        let grow = create_partitions(
            &image,
            &[MorePartitions {
                name: "a".into(),
                total_count: i32::MAX,
            }],
            false,
        );
        assert_eq!(codes(&grow), vec![Some(ErrorCode::InvalidPartitions)]);
    }

    #[test]
    fn validate_only_creates_nothing() {
        let image = brokers(&[(1, None)]);
        let w = create_topics(&image, &[topic("a", 1, 1)], true, &mut counter());
        assert!(w.records.is_empty());
        assert!(w.response[0].is_ok());
    }

    #[test]
    fn delete_and_grow() {
        let image = brokers(&[(1, None), (2, None)]);
        let image = apply(
            &image,
            &create_topics(&image, &[topic("a", 2, 2)], false, &mut counter()).records,
        );
        let w = create_partitions(
            &image,
            &[
                MorePartitions {
                    name: "a".into(),
                    total_count: 5,
                },
                MorePartitions {
                    name: "nope".into(),
                    total_count: 5,
                },
            ],
            false,
        );
        assert_eq!(
            codes(&w),
            vec![None, Some(ErrorCode::UnknownTopicOrPartition)]
        );
        let grown = apply(&image, &w.records);
        let a = grown.topic_by_name("a").unwrap();
        assert_eq!(a.partitions.len(), 5);
        assert!(a.partitions.values().all(|p| p.replicas.len() == 2));
        let shrink = create_partitions(
            &grown,
            &[MorePartitions {
                name: "a".into(),
                total_count: 5,
            }],
            false,
        );
        assert_eq!(codes(&shrink), vec![Some(ErrorCode::InvalidPartitions)]);
        let w = delete_topics(&grown, &["a".into(), "b".into()]);
        assert_eq!(
            codes(&w),
            vec![None, Some(ErrorCode::UnknownTopicOrPartition)]
        );
        assert_eq!(apply(&grown, &w.records).topic_count(), 0);
    }
}
