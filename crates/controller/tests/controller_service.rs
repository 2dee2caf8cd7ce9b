//! ControllerService over gRPC on three in-process controllers (real Raft over tonic on
//! 127.0.0.1 port 0): NOT_CONTROLLER names the leader; the broker RPCs (register,
//! heartbeat, AlterPartition, AllocateProducerIds) and the admin RPCs (configs, leader
//! election) answer with Kafka's codes; FetchMetadata streams committed batches and then
//! live ones.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use rill_controller::node::{ControllerNode, NodeConfig};
use rill_proto::common::{BrokerId, MetadataOffset};
use rill_proto::controller::controller_service_client::ControllerServiceClient;
use rill_proto::controller::fetch_metadata_response::Payload;
use rill_proto::controller::*;
use rill_proto::metadata::ConfigResourceType;
use rill_proto::metadata::metadata_record::Record;
use tokio::net::TcpListener;
use tokio_stream::StreamExt as _;
use tonic::transport::Channel;

const DEADLINE: Duration = Duration::from_secs(20);

async fn cluster() -> (tempfile::TempDir, Vec<ControllerNode>) {
    let dir = tempfile::tempdir().unwrap();
    let (listeners, voters) = common::bind_voters(3).await;
    let mut nodes = Vec::new();
    for (i, l) in listeners.into_iter().enumerate() {
        let id = i as u64 + 1;
        let config = NodeConfig::new(id, dir.path().join(format!("c{id}")), voters.clone());
        nodes.push(ControllerNode::start(config, l).await.unwrap());
    }
    (dir, nodes)
}

async fn client(node: &ControllerNode) -> ControllerServiceClient<Channel> {
    ControllerServiceClient::connect(format!("http://{}", node.local_addr()))
        .await
        .unwrap()
}

/// The index of the active controller, once one has set itself up (cluster id written).
async fn leader(nodes: &[ControllerNode]) -> usize {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        for (i, n) in nodes.iter().enumerate() {
            let mut c = client(n).await;
            if let Ok(r) = c.describe_cluster(DescribeClusterRequest {}).await
                && !r.get_ref().cluster_id.is_empty()
            {
                return i;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no active controller"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn err_name(e: &Option<rill_proto::common::Error>) -> Option<&str> {
    e.as_ref().map(|e| e.name.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_answers_brokers_and_administrators() {
    let (_dir, nodes) = cluster().await;
    let l = leader(&nodes).await;
    let follower = (l + 1) % 3;
    let mut c = client(&nodes[l]).await;

    // A follower refuses with NOT_CONTROLLER and names the leader.
    let status = client(&nodes[follower])
        .await
        .create_topics(CreateTopicsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(
        status.message().starts_with("NOT_CONTROLLER"),
        "{}",
        status.message()
    );
    let named = status
        .metadata()
        .get("rill-leader-addr")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(named, nodes[l].local_addr().to_string());

    // Follow the metadata log from the start, on the follower.
    let mut stream = client(&nodes[follower])
        .await
        .fetch_metadata(FetchMetadataRequest {
            applied_offset: Some(MetadataOffset { offset: 0 }),
        })
        .await
        .unwrap()
        .into_inner();

    // Two brokers register and are unfenced.
    let mut epochs = Vec::new();
    for id in 1..=2 {
        let r = c
            .register_broker(RegisterBrokerRequest {
                broker_id: Some(BrokerId { id }),
                incarnation_id: vec![id as u8; 16],
                listeners: vec![],
                rack: None,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(r.error.is_none());
        let hb = c
            .broker_heartbeat(BrokerHeartbeatRequest {
                broker_id: Some(BrokerId { id }),
                broker_epoch: r.broker_epoch,
                applied_offset: Some(MetadataOffset {
                    offset: r.broker_epoch as u64,
                }),
                want_shutdown: false,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(!hb.is_fenced);
        epochs.push(r.broker_epoch);
    }
    let unknown = c
        .broker_heartbeat(BrokerHeartbeatRequest {
            broker_id: Some(BrokerId { id: 9 }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(err_name(&unknown.error), Some("BROKER_ID_NOT_REGISTERED"));

    let created = c
        .create_topics(CreateTopicsRequest {
            topics: vec![CreatableTopic {
                name: "orders".into(),
                partitions: 2,
                replication_factor: 2,
                configs: [("cleanup.policy".to_owned(), "compact".to_owned())].into(),
            }],
            validate_only: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(created.topics[0].error.is_none());
    let topic_id = created.topics[0].topic_id.clone().unwrap();

    // AlterPartition: the leader shrinks the ISR; the same request again is stale.
    let described = c
        .describe_topics(DescribeTopicsRequest {
            names: vec!["orders".into()],
        })
        .await
        .unwrap()
        .into_inner();
    let p0 = &described.topics[0].partitions[0];
    let leader_id = p0.leader.unwrap().id;
    let alter = AlterPartitionRequest {
        broker_id: Some(BrokerId { id: leader_id }),
        broker_epoch: epochs[leader_id as usize - 1],
        topic_id: Some(topic_id.clone()),
        partition: p0.partition,
        leader_epoch: p0.leader_epoch,
        partition_epoch: p0.partition_epoch,
        new_isr: vec![BrokerId { id: leader_id }],
    };
    let r = c.alter_partition(alter.clone()).await.unwrap().into_inner();
    assert!(r.error.is_none(), "{r:?}");
    assert_eq!(r.isr, vec![BrokerId { id: leader_id }]);
    assert_eq!(
        r.partition_epoch.unwrap().epoch,
        p0.partition_epoch.unwrap().epoch + 1
    );
    let again = c.alter_partition(alter).await.unwrap().into_inner();
    assert_eq!(err_name(&again.error), Some("INVALID_UPDATE_VERSION"));

    // Producer id blocks do not overlap.
    let a = c
        .allocate_producer_ids(AllocateProducerIdsRequest {
            broker_id: Some(BrokerId { id: 1 }),
            broker_epoch: epochs[0],
        })
        .await
        .unwrap()
        .into_inner();
    let b = c
        .allocate_producer_ids(AllocateProducerIdsRequest {
            broker_id: Some(BrokerId { id: 2 }),
            broker_epoch: epochs[1],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        a.first_producer_id.unwrap().id + i64::from(a.count),
        b.first_producer_id.unwrap().id
    );

    // Configs: a bad value is refused with INVALID_CONFIG; a good one shows in Describe.
    let topic_ref = ConfigResourceRef {
        resource_type: ConfigResourceType::Topic.into(),
        name: "orders".into(),
    };
    let altered = c
        .alter_configs(AlterConfigsRequest {
            resources: vec![
                AlterResourceConfigs {
                    resource: Some(topic_ref.clone()),
                    configs: vec![AlterableConfig {
                        key: "retention.ms".into(),
                        value: Some("60000".into()),
                    }],
                },
                AlterResourceConfigs {
                    resource: Some(ConfigResourceRef {
                        resource_type: ConfigResourceType::Topic.into(),
                        name: "nope".into(),
                    }),
                    configs: vec![AlterableConfig {
                        key: "retention.ms".into(),
                        value: Some("1".into()),
                    }],
                },
            ],
            validate_only: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(err_name(&altered.results[0].error), None);
    assert_eq!(
        err_name(&altered.results[1].error),
        Some("UNKNOWN_TOPIC_OR_PARTITION")
    );
    let bad = c
        .alter_configs(AlterConfigsRequest {
            resources: vec![AlterResourceConfigs {
                resource: Some(topic_ref.clone()),
                configs: vec![AlterableConfig {
                    key: "min.insync.replicas".into(),
                    value: Some("zero".into()),
                }],
            }],
            validate_only: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(err_name(&bad.results[0].error), Some("INVALID_CONFIG"));
    let configs = c
        .describe_configs(DescribeConfigsRequest {
            resources: vec![topic_ref],
        })
        .await
        .unwrap()
        .into_inner();
    let entries = &configs.resources[0].entries;
    let get = |k: &str| entries.iter().find(|e| e.key == k).unwrap();
    assert_eq!(
        (
            get("retention.ms").value.as_str(),
            get("retention.ms").is_default
        ),
        ("60000", false)
    );
    assert_eq!(get("cleanup.policy").value, "compact");
    assert!(get("segment.bytes").is_default);

    // Preferred election: nothing to do for a partition its preferred leader leads.
    let elected = c
        .elect_leaders(ElectLeadersRequest {
            election_type: ElectionType::Preferred.into(),
            partitions: vec![TopicPartitionRef {
                topic: "orders".into(),
                partition: p0.partition,
            }],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        err_name(&elected.results[0].error),
        Some("ELECTION_NOT_NEEDED")
    );

    // The follower's stream carried every committed batch, in offset order, ending with
    // the config change; then a live write arrives too.
    let mut last = 0;
    let mut saw_topic = false;
    let mut saw_config = false;
    while !(saw_topic && saw_config) {
        let item = tokio::time::timeout(DEADLINE, stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let Some(Payload::Batch(batch)) = item.payload else {
            panic!("unexpected image for a fresh follower")
        };
        let offset = batch.offset.unwrap().offset;
        assert!(offset > last, "offsets increase");
        last = offset;
        for r in batch.records.unwrap().records {
            match r.record.unwrap() {
                Record::Topic(t) if t.name == "orders" => saw_topic = true,
                Record::Config(cfg) if cfg.key == "retention.ms" => saw_config = true,
                _ => {}
            }
        }
    }
    c.delete_topics(DeleteTopicsRequest {
        names: vec!["orders".into()],
    })
    .await
    .unwrap();
    loop {
        let item = tokio::time::timeout(DEADLINE, stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Some(Payload::Batch(b)) = item.payload
            && b.records
                .unwrap()
                .records
                .iter()
                .any(|r| matches!(r.record, Some(Record::RemoveTopic(_))))
        {
            break;
        }
    }
    for n in nodes {
        n.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_that_starts_without_data_votes_only_after_a_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    // Node 2 never starts: node 1 alone cannot elect itself, and answers only our votes.
    let voters = BTreeMap::from([(1, addr.clone()), (2, "127.0.0.1:1".to_owned())]);
    let started = tokio::time::Instant::now();
    let node = ControllerNode::start(NodeConfig::new(1, dir.path().join("c1"), voters), listener)
        .await
        .unwrap();
    let mut raft =
        rill_proto::raft::raft_service_client::RaftServiceClient::connect(format!("http://{addr}"))
            .await
            .unwrap();
    let vote = openraft::raft::VoteRequest::<u64>::new(openraft::Vote::new(100, 2), None);
    let payload = || rill_proto::raft::RaftPayload {
        data: rill_controller::raft::encode(&vote).unwrap(),
    };
    let refused = raft.vote(payload()).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    assert!(refused.message().contains("does not vote yet"));
    let deadline = started + DEADLINE;
    loop {
        match raft.vote(payload()).await {
            Ok(_) => break,
            Err(s) if s.code() == tonic::Code::PermissionDenied => {
                assert!(tokio::time::Instant::now() < deadline, "never votes");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(s) => panic!("{s:?}"),
        }
    }
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1_200),
        "voted after only {waited:?}"
    );
    node.shutdown().await;
}
