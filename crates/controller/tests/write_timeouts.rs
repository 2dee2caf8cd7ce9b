//! A write whose commit times out is answered REQUEST_TIMED_OUT per item, and may still
//! commit later. The retry's answer must agree with what the log ends up holding (not
//! "created, id B" while the log holds the first attempt's id A). The event loop waits
//! until its own log is applied before validating after a failed proposal (decision
//! 30); the race that wait closes — a retry validated in the instant between the
//! followers' return and the first write's commit — is too narrow to hit reliably from
//! here, so this test checks the outcome, not the race.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use rill_client::ControllerClient;
use rill_controller::node::{ControllerNode, NodeConfig};
use rill_proto::common::{BrokerId, MetadataOffset};
use rill_proto::controller::controller_service_client::ControllerServiceClient;
use rill_proto::controller::*;
use tokio::net::TcpListener;

fn config(dir: &std::path::Path, id: u64, voters: &BTreeMap<u64, String>) -> NodeConfig {
    let mut c = NodeConfig::new(id, dir.join(format!("c{id}")), voters.clone());
    c.write_timeout = Duration::from_millis(500);
    c
}

fn create(name: &str) -> CreateTopicsRequest {
    CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: name.into(),
            partitions: 1,
            replication_factor: 1,
            configs: Default::default(),
        }],
        validate_only: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_timed_out_write_sees_that_write() {
    let dir = tempfile::tempdir().unwrap();
    let (listeners, voters) = common::bind_voters(3).await;
    let mut nodes: Vec<Option<ControllerNode>> = Vec::new();
    for (i, l) in listeners.into_iter().enumerate() {
        nodes.push(Some(
            ControllerNode::start(config(dir.path(), i as u64 + 1, &voters), l)
                .await
                .unwrap(),
        ));
    }
    let addrs: Vec<String> = voters.values().cloned().collect();
    let mut client = ControllerClient::new(&addrs, Duration::from_secs(20)).unwrap();
    let r = client
        .call(|mut c| async move {
            c.register_broker(RegisterBrokerRequest {
                broker_id: Some(BrokerId { id: 1 }),
                incarnation_id: vec![1; 16],
                listeners: vec![],
                rack: None,
            })
            .await
        })
        .await
        .unwrap();
    let epoch = r.broker_epoch;
    client
        .call(|mut c| async move {
            c.broker_heartbeat(BrokerHeartbeatRequest {
                broker_id: Some(BrokerId { id: 1 }),
                broker_epoch: epoch,
                applied_offset: Some(MetadataOffset {
                    offset: epoch as u64,
                }),
                want_shutdown: false,
            })
            .await
        })
        .await
        .unwrap();
    let leader = client
        .call(|mut c| async move { c.describe_cluster(DescribeClusterRequest {}).await })
        .await
        .unwrap()
        .leader_id
        .unwrap()
        .id as usize
        - 1;

    // Both followers go away: the leader appends the write but cannot commit it.
    let followers: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    for f in &followers {
        nodes[*f].take().unwrap().shutdown().await;
    }
    let mut direct = ControllerServiceClient::connect(format!("http://{}", addrs[leader]))
        .await
        .unwrap();
    let first = direct
        .create_topics(create("t"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        first.topics[0].error.as_ref().map(|e| e.name.as_str()),
        Some("REQUEST_TIMED_OUT"),
        "{first:?}"
    );

    // They come back (same data, same addresses) and the write may now commit.
    for f in &followers {
        let l = TcpListener::bind(&addrs[*f]).await.unwrap();
        nodes[*f] = Some(
            ControllerNode::start(config(dir.path(), *f as u64 + 1, &voters), l)
                .await
                .unwrap(),
        );
    }
    let second = client
        .call(|mut c| async move { c.create_topics(create("t")).await })
        .await
        .unwrap();
    let described = client
        .call(|mut c| async move {
            c.describe_topics(DescribeTopicsRequest {
                names: vec!["t".into()],
            })
            .await
        })
        .await
        .unwrap();
    let in_log = described.topics[0].topic_id.clone();
    match &second.topics[0].error {
        None => assert_eq!(
            second.topics[0].topic_id, in_log,
            "the answer names the topic the log holds"
        ),
        Some(e) => assert_eq!(e.name, "TOPIC_ALREADY_EXISTS", "{e:?}"),
    }
    for n in nodes.into_iter().flatten() {
        n.shutdown().await;
    }
}
