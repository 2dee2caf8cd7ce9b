//! Real clusters of `rill` processes. The controller-only test runs today; the smoke
//! test with brokers exercises `rill broker`.

use std::time::Duration;

use rill_testkit::{BrokerId, Cluster, ClusterSpec, NodeId, wait_for, wait_until};

const DEADLINE: Duration = Duration::from_secs(60);

/// The active controller's node id, once there is one.
fn leader(cluster: &Cluster) -> Option<NodeId> {
    let answer = cluster.describe_cluster().ok()?;
    answer.leader_id.map(|n| NodeId::new(n.id))
}

#[test]
fn a_controller_quorum_elects_again_after_its_leader_is_killed() {
    let mut cluster = Cluster::start(ClusterSpec::new().nodes(3, 0)).unwrap();
    let first = wait_for(DEADLINE, "a leader", || leader(&cluster));

    cluster.controller(first).kill9().unwrap();
    assert!(!cluster.controller(first).is_running());
    wait_until(DEADLINE, "a new leader", || {
        leader(&cluster).is_some_and(|l| l != first)
    });

    cluster.controller(first).restart().unwrap();
    cluster.wait_ready(DEADLINE).unwrap();
    // Past its start-up (the controller installs its SIGTERM handler right after).
    wait_until(DEADLINE, "the restarted controller to start", || {
        cluster
            .controller(first)
            .run_log()
            .contains("controller started")
    });
    let status = cluster
        .controller(first)
        .terminate(Duration::from_secs(20))
        .unwrap();
    assert!(status.success(), "SIGTERM exits 0, got {status}");
}

#[tokio::test]
async fn a_cluster_works_from_an_async_test_and_drops_there() {
    // `start` blocks this (current-thread) runtime while it waits; the cluster's own
    // runtime does the work.
    let cluster = Cluster::start(ClusterSpec::new().nodes(1, 0)).unwrap();
    let answer = cluster.describe_cluster_async().await.unwrap();
    assert_eq!(answer.leader_id.map(|n| n.id), Some(1));
    assert!(cluster.dir().join("controller-1.log").is_file());
}

#[test]
fn cluster_smoke() {
    let spec = ClusterSpec::new()
        .nodes(3, 3)
        .broker_session_timeout(Duration::from_secs(3))
        .with_fault_proxies();
    let mut cluster = Cluster::start(spec).unwrap();
    let all: Vec<BrokerId> = cluster.broker_ids();
    assert_eq!(all.len(), 3);
    assert_eq!(cluster.unfenced_brokers().unwrap().len(), 3);

    // A hard kill: the controller fences the broker once its session times out.
    cluster.broker(2).kill9().unwrap();
    wait_until(DEADLINE, "broker 2 to be fenced", || {
        cluster
            .unfenced_brokers()
            .is_ok_and(|b| !b.contains(&BrokerId::new(2)))
    });
    cluster.broker(2).restart().unwrap();
    cluster.wait_ready(DEADLINE).unwrap();

    // Link faults can be set and healed while everything runs.
    cluster.isolate_broker(3);
    cluster.cut_link(1, 2);
    cluster.heal_all();

    // A clean shutdown exits 0, and the broker comes back on the same port and data.
    let status = cluster
        .broker(1)
        .terminate(Duration::from_secs(30))
        .unwrap();
    assert!(status.success(), "SIGTERM exits 0, got {status}");
    cluster.broker(1).restart().unwrap();
    cluster.wait_ready(DEADLINE).unwrap();
}
