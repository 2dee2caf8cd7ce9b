//! Partition state changes (KRaft's ReplicationControlManager, partition half):
//! AlterPartition from leaders and leader elections on request.

use rill_metadata::records::{BrokerList, PartitionChangeRecord};
use rill_metadata::{MetadataImage, PartitionState, Record};
use rill_types::{BrokerId, LeaderEpoch, PartitionEpoch, PartitionIndex, TopicId};

use super::{Write, change, dry_run, is_active, rec};
use crate::election;
use crate::refusal::{ErrorCode, Refusal};

/// A leader's request to change a partition's ISR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterPartition {
    /// The asking broker.
    pub broker_id: BrokerId,
    /// Its broker epoch.
    pub broker_epoch: i64,
    /// The topic.
    pub topic: TopicId,
    /// The partition.
    pub partition: PartitionIndex,
    /// The leader epoch the leader holds.
    pub leader_epoch: LeaderEpoch,
    /// The partition epoch the change is based on.
    pub partition_epoch: PartitionEpoch,
    /// The proposed ISR.
    pub new_isr: Vec<BrokerId>,
}

/// Validates and applies an AlterPartition. The answer is the partition state in force
/// after the write (the proposed ISR with a new partition epoch when accepted).
pub fn alter_partition(
    image: &MetadataImage,
    req: &AlterPartition,
) -> Result<Write<PartitionState>, Refusal> {
    let broker = image.broker(req.broker_id).ok_or_else(|| {
        Refusal::new(
            ErrorCode::BrokerIdNotRegistered,
            format!("broker {} is not registered", req.broker_id),
        )
    })?;
    if broker.epoch != req.broker_epoch {
        return Err(Refusal::new(
            ErrorCode::StaleBrokerEpoch,
            format!(
                "broker {} epoch {} is not the current {}",
                req.broker_id, req.broker_epoch, broker.epoch
            ),
        ));
    }
    let topic = image.topic(req.topic).ok_or_else(|| {
        Refusal::new(
            ErrorCode::UnknownTopicId,
            format!("topic id {} does not exist", req.topic),
        )
    })?;
    let current = topic.partitions.get(&req.partition).ok_or_else(|| {
        Refusal::new(
            ErrorCode::UnknownTopicOrPartition,
            format!("{}-{} does not exist", topic.name, req.partition),
        )
    })?;
    let name = format!("{}-{}", topic.name, req.partition);
    if req.leader_epoch != current.leader_epoch {
        let code = if req.leader_epoch < current.leader_epoch {
            ErrorCode::FencedLeaderEpoch
        } else {
            ErrorCode::NotLeaderOrFollower
        };
        return Err(Refusal::new(
            code,
            format!(
                "{name}: leader epoch {} is not the current {}",
                req.leader_epoch, current.leader_epoch
            ),
        ));
    }
    if current.leader != Some(req.broker_id) {
        return Err(Refusal::new(
            ErrorCode::NotLeaderOrFollower,
            format!("{name}: broker {} is not the leader", req.broker_id),
        ));
    }
    if req.partition_epoch != current.partition_epoch {
        return Err(Refusal::new(
            ErrorCode::InvalidUpdateVersion,
            format!(
                "{name}: partition epoch {} is not the current {}",
                req.partition_epoch, current.partition_epoch
            ),
        ));
    }
    let mut proposed = req.new_isr.clone();
    proposed.sort_unstable();
    proposed.dedup();
    if proposed.len() != req.new_isr.len() || !req.new_isr.contains(&req.broker_id) {
        return Err(Refusal::new(
            ErrorCode::InvalidRequest,
            format!(
                "{name}: the new ISR {:?} must list distinct brokers and include the leader",
                req.new_isr
            ),
        ));
    }
    if let Some(b) = req.new_isr.iter().find(|b| !current.replicas.contains(b)) {
        return Err(Refusal::new(
            ErrorCode::IneligibleReplica,
            format!("{name}: broker {b} is not a replica"),
        ));
    }
    if let Some(b) = req
        .new_isr
        .iter()
        .find(|b| !current.isr.contains(b) && !is_active(image, **b))
    {
        return Err(Refusal::new(
            ErrorCode::IneligibleReplica,
            format!("{name}: broker {b} is fenced or shutting down and cannot join the ISR"),
        ));
    }
    if req.new_isr == current.isr {
        return Ok(Write::new(vec![], current.clone()));
    }
    let records = vec![rec(Record::PartitionChange(PartitionChangeRecord {
        topic_id: Some(req.topic.into()),
        partition: Some(req.partition.into()),
        replicas: None,
        isr: Some(BrokerList {
            brokers: req.new_isr.iter().map(|b| (*b).into()).collect(),
        }),
        leader: None,
    }))];
    let after = dry_run(image, &records)?;
    let state = after
        .partition(req.topic, req.partition)
        .expect("exists")
        .clone();
    Ok(Write::new(records, state))
}

/// The kind of election asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionKind {
    /// First replica, if in the ISR and live.
    Preferred,
    /// Any live replica for partitions without a leader.
    Unclean,
}

/// Elects leaders for `partitions` (all partitions when `None`). With all partitions,
/// only changed partitions and real failures are reported (not ELECTION_NOT_NEEDED).
#[allow(clippy::type_complexity)]
pub fn elect_leaders(
    image: &MetadataImage,
    kind: ElectionKind,
    partitions: Option<&[(String, PartitionIndex)]>,
) -> Write<Vec<((String, PartitionIndex), Result<Option<BrokerId>, Refusal>)>> {
    let all: Vec<(String, PartitionIndex)>;
    let asked = match partitions {
        Some(p) => p,
        None => {
            all = image
                .topics()
                .flat_map(|t| t.partitions.keys().map(move |i| (t.name.clone(), *i)))
                .collect();
            &all
        }
    };
    let mut records = Vec::new();
    let mut results = Vec::new();
    for (name, index) in asked {
        let Some(topic) = image.topic_by_name(name) else {
            results.push((
                (name.clone(), *index),
                Err(Refusal::new(
                    ErrorCode::UnknownTopicOrPartition,
                    format!("topic {name:?} does not exist"),
                )),
            ));
            continue;
        };
        let Some(p) = topic.partitions.get(index) else {
            results.push((
                (name.clone(), *index),
                Err(Refusal::new(
                    ErrorCode::UnknownTopicOrPartition,
                    format!("{name}-{index} does not exist"),
                )),
            ));
            continue;
        };
        let active = |b: BrokerId| is_active(image, b);
        let outcome = match kind {
            ElectionKind::Preferred => match election::preferred(p, active) {
                Some(e) => Ok(e),
                None if p.leader.is_some() && p.leader == p.preferred_leader() => {
                    Err(Refusal::new(
                        ErrorCode::ElectionNotNeeded,
                        format!("{name}-{index}: the preferred leader already leads"),
                    ))
                }
                None => Err(Refusal::new(
                    ErrorCode::PreferredLeaderNotAvailable,
                    format!("{name}-{index}: the preferred leader is not in the ISR or not live"),
                )),
            },
            ElectionKind::Unclean => {
                if p.leader.is_some_and(active) {
                    Err(Refusal::new(
                        ErrorCode::ElectionNotNeeded,
                        format!("{name}-{index} has a live leader"),
                    ))
                } else {
                    election::after_liveness_change(p, active, true)
                        .filter(|e| e.leader.is_some())
                        .ok_or_else(|| {
                            Refusal::new(
                                ErrorCode::EligibleLeadersNotAvailable,
                                format!("{name}-{index}: no live replica"),
                            )
                        })
                }
            }
        };
        match outcome {
            Ok(e) => {
                records.push(change(topic.id, *index, p, &e));
                results.push(((name.clone(), *index), Ok(e.leader)));
            }
            Err(e) if partitions.is_none() && e.code == ErrorCode::ElectionNotNeeded => {}
            Err(e) => results.push(((name.clone(), *index), Err(e))),
        }
    }
    match dry_run(image, &records) {
        Ok(_) => Write::new(records, results),
        Err(e) => Write::new(
            vec![],
            results
                .into_iter()
                .map(|(k, _)| (k, Err(e.clone())))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::manager::testing::{apply, brokers, counter};
    use crate::manager::topics::{NewTopic, create_topics};

    fn setup() -> (MetadataImage, TopicId) {
        let image = brokers(&[(1, None), (2, None), (3, None)]);
        let w = create_topics(
            &image,
            &[NewTopic {
                name: "t".into(),
                partitions: 1,
                replication_factor: 3,
                configs: BTreeMap::new(),
            }],
            false,
            &mut counter(),
        );
        let image = apply(&image, &w.records);
        let id = image.topic_by_name("t").unwrap().id;
        (image, id)
    }

    fn request(image: &MetadataImage, topic: TopicId, isr: &[i32]) -> AlterPartition {
        let p = image.partition(topic, PartitionIndex::new(0)).unwrap();
        let leader = p.leader.unwrap();
        AlterPartition {
            broker_id: leader,
            broker_epoch: image.broker(leader).unwrap().epoch,
            topic,
            partition: PartitionIndex::new(0),
            leader_epoch: p.leader_epoch,
            partition_epoch: p.partition_epoch,
            new_isr: isr.iter().map(|b| BrokerId::new(*b)).collect(),
        }
    }

    #[test]
    fn a_stale_alter_partition_is_rejected() {
        let (image, topic) = setup();
        let leader = image
            .partition(topic, PartitionIndex::new(0))
            .unwrap()
            .leader
            .unwrap()
            .get();
        let others: Vec<i32> = [1, 2, 3].into_iter().filter(|b| *b != leader).collect();
        let shrink = request(&image, topic, &[leader, others[0]]);
        let w = alter_partition(&image, &shrink).unwrap();
        assert_eq!(w.response.isr.len(), 2);
        assert_eq!(w.response.partition_epoch, PartitionEpoch::new(1));
        let after = apply(&image, &w.records);
        // The same request again is based on the old partition epoch.
        assert_eq!(
            alter_partition(&after, &shrink).unwrap_err().code,
            ErrorCode::InvalidUpdateVersion
        );
        let mut old_leader_epoch = request(&after, topic, &[leader]);
        old_leader_epoch.leader_epoch = LeaderEpoch::new(-1);
        assert_eq!(
            alter_partition(&after, &old_leader_epoch).unwrap_err().code,
            ErrorCode::FencedLeaderEpoch
        );
        let mut stale_broker = request(&after, topic, &[leader]);
        stale_broker.broker_epoch -= 1;
        assert_eq!(
            alter_partition(&after, &stale_broker).unwrap_err().code,
            ErrorCode::StaleBrokerEpoch
        );
        let outsider = request(&after, topic, &[leader, 9]);
        assert_eq!(
            alter_partition(&after, &outsider).unwrap_err().code,
            ErrorCode::IneligibleReplica
        );
        let without_leader = request(&after, topic, &[others[0]]);
        assert_eq!(
            alter_partition(&after, &without_leader).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn preferred_election_reports_why_not() {
        let (image, _) = setup();
        let w = elect_leaders(
            &image,
            ElectionKind::Preferred,
            Some(&[("t".into(), PartitionIndex::new(0))]),
        );
        assert_eq!(
            w.response[0].1.as_ref().unwrap_err().code,
            ErrorCode::ElectionNotNeeded
        );
        let w = elect_leaders(&image, ElectionKind::Preferred, None);
        assert!(w.response.is_empty() && w.records.is_empty());
        let w = elect_leaders(
            &image,
            ElectionKind::Preferred,
            Some(&[("x".into(), PartitionIndex::new(0))]),
        );
        assert_eq!(
            w.response[0].1.as_ref().unwrap_err().code,
            ErrorCode::UnknownTopicOrPartition
        );
    }
}
