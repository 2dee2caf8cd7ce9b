//! Three controllers as three OS processes on 127.0.0.1: topics created over gRPC survive
//! kill -9 of the active controller, the killed node catches up from its data dir, and
//! all three restart together with their state.

mod support;

use std::time::{Duration, Instant};

use rill_proto::controller::FetchMetadataRequest;
use rill_proto::controller::controller_service_client::ControllerServiceClient;
use rill_proto::controller::fetch_metadata_response::Payload;
use rill_proto::metadata::metadata_record::Record;
use support::*;

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_metadata_survives_kill_of_the_active_controller_and_full_restarts() {
    let mut q = Quorum::start(3);
    let mut client = q.client();
    let cluster = describe_cluster(&mut client).await;
    assert!(
        !cluster.cluster_id.is_empty(),
        "the quorum fixed a cluster id"
    );
    register_brokers(&mut client, 3).await;

    let before = names("before", 20);
    let r = create_topics(&mut client, &before, 3, 3).await;
    assert!(r.topics.iter().all(|t| t.error.is_none()), "{r:?}");
    // Bad requests are refused with Kafka's codes and nothing is half-applied.
    let bad = create_topics(
        &mut client,
        &["ok-one".into(), "..".into(), "before-0".into()],
        1,
        3,
    )
    .await;
    let codes: Vec<_> = bad
        .topics
        .iter()
        .map(|t| t.error.as_ref().map(|e| e.name.clone()))
        .collect();
    assert_eq!(
        codes,
        vec![
            None,
            Some("INVALID_TOPIC_EXCEPTION".into()),
            Some("TOPIC_ALREADY_EXISTS".into())
        ]
    );

    // Everything committed so far, as the active controller describes it.
    let committed = describe_all(&mut client).await;
    let brokers = describe_cluster(&mut client).await.brokers;
    let leader = describe_cluster(&mut client).await.leader_id.unwrap().id as usize - 1;
    let killed_at = Instant::now();
    q.kill(leader);
    let after = names("after", 5);
    let r = create_topics(&mut client, &after, 3, 3).await;
    assert!(r.topics.iter().all(|t| t.error.is_none()), "{r:?}");
    eprintln!(
        "first write on the new leader {:?} after kill -9",
        killed_at.elapsed()
    );
    let new_leader = describe_cluster(&mut client).await.leader_id.unwrap().id as usize - 1;
    assert_ne!(new_leader, leader);
    let mut expected: Vec<String> = before.iter().chain(after.iter()).cloned().collect();
    expected.push("ok-one".into());
    expected.sort();
    assert_eq!(
        topic_names(&mut client).await,
        expected,
        "every committed topic is on the new leader"
    );
    let now = describe_all(&mut client).await;
    for topic in &committed {
        let same = now.iter().find(|t| t.name == topic.name);
        assert_eq!(
            same,
            Some(topic),
            "{} is on the new leader exactly as committed",
            topic.name
        );
    }
    assert_eq!(
        describe_cluster(&mut client).await.brokers,
        brokers,
        "broker registrations and epochs survive"
    );

    // The killed node restarts from its data dir and catches up.
    q.spawn(leader);
    wait_caught_up(&client, leader as u64 + 1, Duration::from_secs(30)).await;

    // All three stop (SIGTERM: a clean exit) and start again together.
    for i in 0..3 {
        assert!(
            q.stop(i).success(),
            "controller {} exited badly:\n{}",
            i + 1,
            q.log(i)
        );
    }
    for i in 0..3 {
        q.spawn(i);
    }
    let mut client = q.client();
    assert_eq!(topic_names(&mut client).await, expected);
    let restarted = describe_all(&mut client).await;
    assert_eq!(
        restarted, now,
        "a full restart keeps every topic, partition and epoch"
    );
    assert_eq!(
        describe_cluster(&mut client).await.cluster_id,
        cluster.cluster_id
    );
    for i in 0..3 {
        let stored = std::fs::read_to_string(q.data_dir(i).join("cluster.id")).unwrap();
        assert_eq!(
            stored.trim(),
            cluster.cluster_id,
            "controller {} stored the cluster id",
            i + 1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_follower_rejoins_through_a_snapshot_and_a_foreign_data_dir_is_refused() {
    // Snapshots every 5 entries, keeping 5 behind: the log a wiped node needs is gone.
    let mut q = Quorum::start_with_config(
        3,
        "# set by the test\nmetadata.snapshot.entries = 5\ncluster.id = rill-test-cluster\n",
    );
    let mut client = q.client();
    register_brokers(&mut client, 1).await;
    for name in names("t", 20) {
        let r = create_topics(&mut client, &[name], 1, 1).await;
        assert!(r.topics.iter().all(|t| t.error.is_none()));
    }
    let cluster = describe_cluster(&mut client).await;
    assert_eq!(
        cluster.cluster_id, "rill-test-cluster",
        "the configured cluster id is the quorum's"
    );
    let leader = cluster.leader_id.unwrap().id as usize - 1;
    let follower = (leader + 1) % 3;

    // A wiped follower re-joins: the leader's log starts after its last snapshot, so the
    // follower gets that snapshot, then the entries after it.
    q.kill(follower);
    std::fs::remove_dir_all(q.data_dir(follower)).unwrap();
    q.spawn(follower);
    let id_file = q.data_dir(follower).join("cluster.id");
    wait_for(
        "the wiped follower to re-learn the cluster id",
        Duration::from_secs(30),
        || {
            let id_file = id_file.clone();
            async move { std::fs::read_to_string(&id_file).ok() }
        },
    )
    .await;
    assert_eq!(
        std::fs::read_to_string(&id_file).unwrap().trim(),
        cluster.cluster_id
    );
    // Its own log starts after the snapshot: a fetch from offset 0 begins with the image.
    let mut follower_client =
        ControllerServiceClient::connect(format!("http://{}", q.addrs[follower]))
            .await
            .unwrap();
    let mut stream = follower_client
        .fetch_metadata(FetchMetadataRequest {
            applied_offset: None,
        })
        .await
        .unwrap()
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(20), stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match first.payload {
        Some(Payload::Image(image)) => {
            let records = image.records.unwrap().records;
            let topics = records
                .iter()
                .filter(|r| matches!(r.record, Some(Record::Topic(_))))
                .count();
            assert!(topics > 0, "the snapshot holds the topics");
        }
        other => panic!(
            "expected the image first (the log before the snapshot is purged), got {other:?}"
        ),
    }

    // A data dir of node 1 refuses to run as node 2; one of another cluster refuses to start.
    q.kill(follower);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rill"))
        .args([
            "controller",
            "--node-id",
            &((follower + 1) % 3 + 1).to_string(),
            "--listen",
            "127.0.0.1:0",
            "--voters",
            &q.voters(),
        ])
        .arg("--data-dir")
        .arg(q.data_dir(follower))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refusing to start"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rill"))
        .args([
            "controller",
            "--node-id",
            &(follower + 1).to_string(),
            "--listen",
            "127.0.0.1:0",
            "--voters",
            &q.voters(),
        ])
        .args(["--cluster-id", "AAAAAAAAAAAAAAAAAAAAAA"])
        .arg("--data-dir")
        .arg(q.data_dir(follower))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not of cluster AAAAAAAAAAAAAAAAAAAAAA"),
        "{stderr}"
    );
}
