//! Replacing a controller whose disk is gone (docs/operations.md, "Replace a
//! controller"): the same node id and address, an empty data directory. The active
//! controller must bring it up to date and keep running, and no committed metadata is
//! lost. Without openraft's `loosen-follower-log-revert` the active controller's Raft
//! core panics here ("follower log reversion is not allowed"; 5 runs of 5 once the
//! leader has the victim matched to its log end and the log moves on while it is
//! away) and its process exits. The exit can come after the check that every process
//! runs, and a new leader would still catch the replacement up, so the test also reads
//! every controller's log for a panic.

use std::time::Duration;

use rill_client::ControllerClient;
use rill_proto::controller::DescribeClusterRequest;
use rill_testkit::{Cluster, ClusterSpec, NodeId, wait_for};

fn describe(
    cluster: &Cluster,
    client: &ControllerClient,
) -> Result<rill_proto::controller::DescribeClusterResponse, rill_client::ClientError> {
    let mut c = client.clone();
    cluster.block_on(async move {
        c.call(|mut c| async move { c.describe_cluster(DescribeClusterRequest {}).await })
            .await
    })
}

#[test]
fn a_controller_with_an_empty_disk_rejoins_and_the_leader_survives() {
    let mut cluster = Cluster::start(ClusterSpec::new().nodes(3, 1)).expect("cluster starts");
    cluster
        .create_topic("kept", 2, 1, &[])
        .expect("create topic");
    let _runtime = cluster.handle().enter();
    let client = cluster
        .controller_client(Duration::from_secs(20))
        .expect("controller client");
    let before = describe(&cluster, &client).expect("describe cluster");
    let leader = NodeId::new(before.leader_id.expect("a leader").id);
    let victim = cluster
        .controller_ids()
        .into_iter()
        .find(|id| *id != leader)
        .expect("a follower");
    eprintln!("active controller {leader}; replacing controller {victim}");
    // The leader has the victim's log matched up to its end (what makes a wiped log go
    // backwards in the leader's view); the procedure also asks for lag 0 first.
    wait_for(Duration::from_secs(30), "every voter to catch up", || {
        let d = describe(&cluster, &client).ok()?;
        d.voters.iter().all(|v| v.lag == Some(0)).then_some(())
    });

    cluster
        .controller(victim)
        .terminate(Duration::from_secs(20))
        .expect("stop the follower");
    let dir = cluster.controller_data_dir(victim);
    std::fs::remove_dir_all(&dir).expect("wipe its data directory");
    // The log moves on while the controller is away.
    cluster
        .create_topic("while-away", 1, 1, &[])
        .expect("create a topic while a controller is away");
    cluster
        .controller(victim)
        .start()
        .expect("start the replacement");

    // Caught up: the quorum reports the replacement with no lag.
    let victim_id = victim.get();
    wait_for(
        Duration::from_secs(30),
        "the replacement to catch up",
        || {
            let d = describe(&cluster, &client).ok()?;
            d.voters
                .iter()
                .find(|v| v.node_id.as_ref().map(|n| n.id) == Some(victim_id))
                .and_then(|v| (v.lag == Some(0)).then_some(()))
        },
    );
    // Every controller still runs, and none of them had a task panic (see the top).
    for id in cluster.controller_ids() {
        assert!(cluster.controller(id).is_running(), "controller {id} died");
        let log = cluster.controller(id).run_log();
        assert!(
            !log.contains("panicked"),
            "controller {id} panicked:\n{log}"
        );
    }
    let kept = cluster.describe_topic("kept").expect("the topic survives");
    assert_eq!(kept.partitions.len(), 2);
}
