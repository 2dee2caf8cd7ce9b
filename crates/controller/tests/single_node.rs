//! One controller node end to end through openraft: initialize, write metadata batches,
//! snapshot, write more, shut down, reopen from the same directory — the image (from
//! the snapshot file plus the sled log after it) is intact and the node leads again.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use openraft::BasicNode;
use prost::Message as _;
use rill_controller::raft::MetadataWrite;
use rill_metadata::records::{MetadataBatch, RegisterBrokerRecord, TopicRecord};
use rill_metadata::{MetadataRecord, Record};
use rill_types::{BrokerId, TopicId};

use common::start;

fn write(records: Vec<Record>) -> MetadataWrite {
    let batch = MetadataBatch {
        records: records
            .into_iter()
            .map(|r| MetadataRecord { record: Some(r) })
            .collect(),
    };
    MetadataWrite {
        batch: batch.encode_to_vec(),
    }
}

fn topic(name: &str, n: u8) -> Record {
    Record::Topic(TopicRecord {
        name: name.into(),
        topic_id: Some(TopicId::from_bytes([n; 16]).into()),
    })
}

#[tokio::test]
async fn state_survives_a_restart_through_snapshot_and_log() {
    let dir = tempfile::tempdir().unwrap();
    let (raft, sm) = start(dir.path()).await;
    raft.initialize(BTreeMap::from([(
        1,
        BasicNode {
            addr: "127.0.0.1:0".into(),
        },
    )]))
    .await
    .unwrap();
    let register = Record::RegisterBroker(RegisterBrokerRecord {
        broker_id: Some(BrokerId::new(7).into()),
        incarnation_id: vec![1; 16],
        listeners: vec![],
        rack: None,
        broker_epoch: None,
    });
    let registered_at = raft
        .client_write(write(vec![register]))
        .await
        .unwrap()
        .log_id
        .index;
    raft.client_write(write(vec![topic("a", 1)])).await.unwrap();
    raft.trigger().snapshot().await.unwrap();
    // Copy the id out first: a metrics borrow held across an await blocks openraft's core.
    let applied = raft.metrics().borrow().last_applied.unwrap();
    raft.wait(Some(Duration::from_secs(10)))
        .snapshot(applied, "snapshot")
        .await
        .unwrap();
    raft.client_write(write(vec![topic("b", 2)])).await.unwrap();
    raft.ensure_linearizable().await.unwrap();
    let before = sm.image();
    assert!(before.topic_by_name("a").is_some() && before.topic_by_name("b").is_some());
    assert_eq!(
        before.broker(BrokerId::new(7)).unwrap().epoch,
        registered_at as i64
    );
    raft.shutdown().await.unwrap();
    drop(raft);
    drop(sm);

    let (raft, sm) = start(dir.path()).await;
    // Already initialized: a second initialize is refused, and nothing is re-initialized.
    assert!(
        raft.initialize(BTreeMap::from([(1, BasicNode::default())]))
            .await
            .is_err()
    );
    raft.wait(Some(Duration::from_secs(10)))
        .current_leader(1, "leader again")
        .await
        .unwrap();
    raft.ensure_linearizable().await.unwrap();
    let after = sm.image();
    assert_eq!(after.topic_by_name("a"), before.topic_by_name("a"));
    assert_eq!(after.topic_by_name("b"), before.topic_by_name("b"));
    assert_eq!(
        after.brokers(),
        before.brokers(),
        "broker epochs survive the snapshot"
    );
    // And it still takes writes.
    raft.client_write(write(vec![topic("c", 3)])).await.unwrap();
    raft.ensure_linearizable().await.unwrap();
    assert!(sm.image().topic_by_name("c").is_some());
    raft.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_fresh_node_initializes_and_applies_a_write() {
    let dir = tempfile::tempdir().unwrap();
    let (raft, sm) = start(dir.path()).await;
    raft.initialize(BTreeMap::from([(1, BasicNode::default())]))
        .await
        .unwrap();
    raft.client_write(write(vec![topic("a", 1)])).await.unwrap();
    raft.ensure_linearizable().await.unwrap();
    assert_eq!(sm.image().topic_count(), 1);
    raft.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_committed_entry_that_does_not_replay_is_skipped_and_the_node_goes_on() {
    use rill_metadata::records::RemoveTopicRecord;
    let dir = tempfile::tempdir().unwrap();
    let (raft, sm) = common::start_leader(dir.path()).await;
    // Removing a topic that does not exist: the managers never propose this, but if a bug
    // did, every controller would fail on it alike at every restart.
    let bad = Record::RemoveTopic(RemoveTopicRecord {
        topic_id: Some(TopicId::from_bytes([9; 16]).into()),
    });
    raft.client_write(write(vec![topic("a", 1), bad]))
        .await
        .unwrap();
    raft.client_write(write(vec![topic("b", 2)])).await.unwrap();
    raft.ensure_linearizable().await.unwrap();
    let image = sm.image();
    assert!(
        image.topic_by_name("a").is_none(),
        "the bad entry is skipped whole"
    );
    assert!(
        image.topic_by_name("b").is_some(),
        "and the next one applies"
    );
    assert!(raft.metrics().borrow().running_state.is_ok());
    raft.shutdown().await.unwrap();
}
