//! Replay: every record kind, the refusals, and a property test that replays random
//! valid record sequences and checks the image's invariants after every record, that
//! partition epochs never decrease, and that a snapshot rebuilds the same image.

use proptest::prelude::*;
use rill_metadata::records::{
    BrokerList, ConfigRecord, ConfigResourceType, FenceBrokerRecord, PartitionChangeRecord,
    PartitionRecord, ProducerIdsRecord, RegisterBrokerRecord, RemoveTopicRecord, TopicRecord,
    UnfenceBrokerRecord,
};
use rill_metadata::{
    ConfigResource, MetadataDelta, MetadataImage, MetadataRecord, Record, ReplayError,
};
use rill_types::{
    BrokerId, LeaderEpoch, MetadataOffset, PartitionEpoch, PartitionIndex, ProducerId, TopicId,
};

fn rec(record: Record) -> MetadataRecord {
    MetadataRecord {
        record: Some(record),
    }
}

fn topic_id(n: u8) -> TopicId {
    TopicId::from_bytes([n; 16])
}

fn register(id: i32) -> MetadataRecord {
    rec(Record::RegisterBroker(RegisterBrokerRecord {
        broker_id: Some(BrokerId::new(id).into()),
        incarnation_id: vec![id as u8; 16],
        listeners: vec![],
        rack: None,
        broker_epoch: None,
    }))
}

fn topic(name: &str, id: TopicId) -> MetadataRecord {
    rec(Record::Topic(TopicRecord {
        name: name.to_owned(),
        topic_id: Some(id.into()),
    }))
}

fn partition(topic: TopicId, index: i32, replicas: &[i32], leader: Option<i32>) -> MetadataRecord {
    let brokers = |ids: &[i32]| ids.iter().map(|b| BrokerId::new(*b).into()).collect();
    rec(Record::Partition(PartitionRecord {
        topic_id: Some(topic.into()),
        partition: Some(PartitionIndex::new(index).into()),
        replicas: brokers(replicas),
        isr: brokers(replicas),
        leader: leader.map(|l| BrokerId::new(l).into()),
        leader_epoch: Some(LeaderEpoch::new(0).into()),
        partition_epoch: Some(PartitionEpoch::new(0).into()),
    }))
}

fn change(
    topic: TopicId,
    index: i32,
    isr: Option<&[i32]>,
    leader: Option<Option<i32>>,
) -> MetadataRecord {
    let list = |ids: &[i32]| BrokerList {
        brokers: ids.iter().map(|b| BrokerId::new(*b).into()).collect(),
    };
    rec(Record::PartitionChange(PartitionChangeRecord {
        topic_id: Some(topic.into()),
        partition: Some(PartitionIndex::new(index).into()),
        replicas: None,
        isr: isr.map(list),
        leader: leader.map(|l| list(&l.into_iter().collect::<Vec<_>>())),
    }))
}

/// Replays `records` one per offset from `from`, checking invariants after each.
fn replay_all(
    image: &MetadataImage,
    from: u64,
    records: &[MetadataRecord],
) -> Result<MetadataImage, ReplayError> {
    let mut delta = MetadataDelta::new(image);
    for (i, record) in records.iter().enumerate() {
        delta.replay(MetadataOffset::new(from + i as u64), record)?;
        delta
            .image()
            .check_invariants()
            .expect("invariants hold after every replay");
    }
    Ok(delta.apply().0)
}

#[test]
fn brokers_register_fenced_and_get_their_offset_as_epoch() {
    let image = replay_all(&MetadataImage::default(), 7, &[register(1), register(2)]).unwrap();
    let b1 = image.broker(BrokerId::new(1)).unwrap();
    assert!(b1.fenced);
    assert_eq!(b1.epoch, 7);
    assert_eq!(image.broker(BrokerId::new(2)).unwrap().epoch, 8);
    let unfence = rec(Record::UnfenceBroker(UnfenceBrokerRecord {
        broker_id: Some(BrokerId::new(1).into()),
        broker_epoch: 7,
    }));
    let image = replay_all(&image, 9, &[unfence]).unwrap();
    assert!(image.broker(BrokerId::new(1)).unwrap().is_active());
    // A record naming an old epoch is refused: the broker re-registered since.
    let image = replay_all(&image, 10, &[register(1)]).unwrap();
    let stale = rec(Record::FenceBroker(FenceBrokerRecord {
        broker_id: Some(BrokerId::new(1).into()),
        broker_epoch: 7,
    }));
    assert!(matches!(
        replay_all(&image, 11, &[stale]),
        Err(ReplayError::Invariant { .. })
    ));
}

#[test]
fn partition_changes_bump_epochs() {
    let t = topic_id(1);
    let image = replay_all(
        &MetadataImage::default(),
        1,
        &[
            register(1),
            register(2),
            register(3),
            topic("t", t),
            partition(t, 0, &[1, 2, 3], Some(1)),
        ],
    )
    .unwrap();
    // Shrink the ISR: partition epoch +1, leader epoch unchanged.
    let image = replay_all(&image, 6, &[change(t, 0, Some(&[1, 2]), None)]).unwrap();
    let p = image.partition(t, PartitionIndex::new(0)).unwrap();
    assert_eq!((p.leader_epoch.get(), p.partition_epoch.get()), (0, 1));
    // New leader: both bump.
    let image = replay_all(&image, 7, &[change(t, 0, None, Some(Some(2)))]).unwrap();
    let p = image.partition(t, PartitionIndex::new(0)).unwrap();
    assert_eq!(
        (p.leader, p.leader_epoch.get(), p.partition_epoch.get()),
        (Some(BrokerId::new(2)), 1, 2)
    );
    // A leader outside the ISR, or an ISR member outside the replicas, is refused.
    assert!(replay_all(&image, 8, &[change(t, 0, None, Some(Some(3)))]).is_err());
    assert!(replay_all(&image, 8, &[change(t, 0, Some(&[2, 9]), None)]).is_err());
    // Offline: no leader.
    let image = replay_all(&image, 8, &[change(t, 0, Some(&[]), Some(None))]).unwrap();
    assert_eq!(
        image.partition(t, PartitionIndex::new(0)).unwrap().leader,
        None
    );
}

#[test]
fn topics_have_unique_names_and_contiguous_partitions() {
    let t = topic_id(1);
    let base = replay_all(&MetadataImage::default(), 1, &[register(1), topic("t", t)]).unwrap();
    assert!(
        replay_all(&base, 3, &[topic("t", topic_id(2))]).is_err(),
        "duplicate name"
    );
    assert!(
        replay_all(&base, 3, &[topic("u", t)]).is_err(),
        "duplicate id"
    );
    assert!(
        replay_all(&base, 3, &[partition(t, 1, &[1], Some(1))]).is_err(),
        "gap in indexes"
    );
    assert!(
        replay_all(&base, 3, &[partition(topic_id(9), 0, &[1], Some(1))]).is_err(),
        "unknown topic"
    );
    let image = replay_all(
        &base,
        3,
        &[
            partition(t, 0, &[1], Some(1)),
            partition(t, 1, &[1], Some(1)),
        ],
    )
    .unwrap();
    assert_eq!(image.topic_by_name("t").unwrap().partitions.len(), 2);
}

#[test]
fn removing_a_topic_removes_its_configs_and_reports_it() {
    let t = topic_id(1);
    let config = rec(Record::Config(ConfigRecord {
        resource_type: ConfigResourceType::Topic.into(),
        resource_name: "t".into(),
        key: "retention.ms".into(),
        value: Some("1000".into()),
    }));
    let image = replay_all(
        &MetadataImage::default(),
        1,
        &[
            register(1),
            topic("t", t),
            partition(t, 0, &[1], Some(1)),
            config,
        ],
    )
    .unwrap();
    assert_eq!(
        image.configs(&ConfigResource::Topic("t".into())).unwrap()["retention.ms"],
        "1000"
    );
    let mut delta = MetadataDelta::new(&image);
    delta
        .replay(
            MetadataOffset::new(5),
            &rec(Record::RemoveTopic(RemoveTopicRecord {
                topic_id: Some(t.into()),
            })),
        )
        .unwrap();
    let (image, changes) = delta.apply();
    assert!(image.topic_by_name("t").is_none());
    assert!(image.configs(&ConfigResource::Topic("t".into())).is_none());
    assert_eq!(
        changes.topics_removed.keys().copied().collect::<Vec<_>>(),
        vec![t]
    );
    // The name is free again.
    replay_all(&image, 6, &[topic("t", topic_id(2))]).unwrap();
}

#[test]
fn producer_id_blocks_only_move_forward() {
    let block = |next: i64| {
        rec(Record::ProducerIds(ProducerIdsRecord {
            broker_id: Some(BrokerId::new(1).into()),
            broker_epoch: 1,
            next_producer_id: Some(ProducerId::new(next).into()),
        }))
    };
    let image = replay_all(&MetadataImage::default(), 1, &[block(1000)]).unwrap();
    assert_eq!(image.next_producer_id(), ProducerId::new(1000));
    assert!(replay_all(&image, 2, &[block(1000)]).is_err());
}

#[test]
fn an_empty_record_is_malformed() {
    let err = replay_all(
        &MetadataImage::default(),
        1,
        &[MetadataRecord { record: None }],
    )
    .unwrap_err();
    assert!(matches!(err, ReplayError::Malformed { .. }));
}

/// One random step; `generate` turns it into valid records for the current image.
#[derive(Debug, Clone)]
enum Step {
    Register(u8),
    Unfence(u8),
    Fence(u8),
    CreateTopic { partitions: u8, rf: u8 },
    ShrinkIsr(u16),
    ExpandIsr(u16),
    ElectLeader(u16),
    DeleteTopic(u16),
    Config(u16, bool),
    ProducerIds,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u8..6).prop_map(Step::Register),
        (0u8..6).prop_map(Step::Unfence),
        (0u8..6).prop_map(Step::Fence),
        (1u8..5, 1u8..4).prop_map(|(partitions, rf)| Step::CreateTopic { partitions, rf }),
        any::<u16>().prop_map(Step::ShrinkIsr),
        any::<u16>().prop_map(Step::ExpandIsr),
        any::<u16>().prop_map(Step::ElectLeader),
        any::<u16>().prop_map(Step::DeleteTopic),
        (any::<u16>(), any::<bool>()).prop_map(|(p, set)| Step::Config(p, set)),
        Just(Step::ProducerIds),
    ]
}

fn generate(image: &MetadataImage, step: &Step, next_topic: &mut u8) -> Vec<MetadataRecord> {
    let brokers: Vec<i32> = image.brokers().keys().map(|b| b.get()).collect();
    let partitions: Vec<(TopicId, i32)> = image
        .topics()
        .flat_map(|t| t.partitions.keys().map(move |p| (t.id, p.get())))
        .collect();
    let pick = |n: u16, len: usize| (len > 0).then(|| n as usize % len);
    match step {
        Step::Register(b) => vec![register(i32::from(*b))],
        Step::Unfence(b) | Step::Fence(b) => {
            let Some(reg) = image.broker(BrokerId::new(i32::from(*b))) else {
                return vec![];
            };
            let (id, epoch) = (Some(reg.id.into()), reg.epoch);
            vec![rec(match step {
                Step::Fence(_) => Record::FenceBroker(FenceBrokerRecord {
                    broker_id: id,
                    broker_epoch: epoch,
                }),
                _ => Record::UnfenceBroker(UnfenceBrokerRecord {
                    broker_id: id,
                    broker_epoch: epoch,
                }),
            })]
        }
        Step::CreateTopic { partitions, rf } => {
            if brokers.len() < usize::from(*rf) {
                return vec![];
            }
            *next_topic += 1;
            let id = topic_id(*next_topic);
            let mut records = vec![topic(&format!("topic-{next_topic}"), id)];
            for p in 0..i32::from(*partitions) {
                let replicas: Vec<i32> = (0..usize::from(*rf))
                    .map(|r| brokers[(p as usize + r) % brokers.len()])
                    .collect();
                records.push(partition(id, p, &replicas, Some(replicas[0])));
            }
            records
        }
        Step::ShrinkIsr(n) | Step::ExpandIsr(n) | Step::ElectLeader(n) => {
            let Some(i) = pick(*n, partitions.len()) else {
                return vec![];
            };
            let (t, p) = partitions[i];
            let state = image.partition(t, PartitionIndex::new(p)).unwrap();
            let ids = |v: &[BrokerId]| v.iter().map(|b| b.get()).collect::<Vec<_>>();
            match step {
                Step::ShrinkIsr(_) => {
                    let isr: Vec<i32> = ids(&state.isr)
                        .into_iter()
                        .filter(|b| Some(BrokerId::new(*b)) == state.leader)
                        .collect();
                    vec![change(t, p, Some(&isr), None)]
                }
                Step::ExpandIsr(_) => vec![change(t, p, Some(&ids(&state.replicas)), None)],
                _ => {
                    let candidates = ids(&state.isr);
                    let leader =
                        pick(*n / 7, candidates.len() + 1).and_then(|i| candidates.get(i).copied());
                    vec![change(t, p, None, Some(leader))]
                }
            }
        }
        Step::DeleteTopic(n) => {
            let topics: Vec<TopicId> = image.topics().map(|t| t.id).collect();
            let Some(i) = pick(*n, topics.len()) else {
                return vec![];
            };
            vec![rec(Record::RemoveTopic(RemoveTopicRecord {
                topic_id: Some(topics[i].into()),
            }))]
        }
        Step::Config(n, set) => {
            let names: Vec<String> = image.topics().map(|t| t.name.clone()).collect();
            let Some(i) = pick(*n, names.len()) else {
                return vec![];
            };
            vec![rec(Record::Config(ConfigRecord {
                resource_type: ConfigResourceType::Topic.into(),
                resource_name: names[i].clone(),
                key: "retention.ms".into(),
                value: set.then(|| n.to_string()),
            }))]
        }
        Step::ProducerIds => vec![rec(Record::ProducerIds(ProducerIdsRecord {
            broker_id: None,
            broker_epoch: -1,
            next_producer_id: Some(ProducerId::new(image.next_producer_id().get() + 1000).into()),
        }))],
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_valid_histories_keep_every_invariant(steps in proptest::collection::vec(step(), 1..80)) {
        let mut image = MetadataImage::default();
        let mut offset = 1u64;
        let mut next_topic = 0u8;
        for step in &steps {
            let records = generate(&image, step, &mut next_topic);
            let mut delta = MetadataDelta::new(&image);
            for record in &records {
                delta.replay(MetadataOffset::new(offset), record).map_err(|e| TestCaseError::fail(format!("{step:?}: {e}")))?;
                delta.image().check_invariants().map_err(TestCaseError::fail)?;
                offset += 1;
            }
            let (next, changes) = delta.apply();
            for (t, p) in &changes.partitions {
                if let (Some(old), Some(new)) = (image.partition(*t, *p), next.partition(*t, *p)) {
                    old.check_transition(new).map_err(TestCaseError::fail)?;
                }
            }
            image = next;
        }
        // A snapshot rebuilds exactly this image.
        let snapshot = image.encode_snapshot();
        let loaded = MetadataImage::decode_snapshot(&snapshot, image.offset()).unwrap();
        prop_assert_eq!(loaded, image);
    }
}
