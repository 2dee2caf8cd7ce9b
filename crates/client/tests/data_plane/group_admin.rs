//! GroupAdmin against the fake brokers' group service: routing to the coordinator
//! (including after it moved), merged listings, refusals passed through.

use std::time::Duration;

use rill_client::{DataError, GroupAdmin};
use rill_types::ErrorCode;

use crate::bounded;
use crate::fake_broker::FakeCluster;

fn admin(cluster: &FakeCluster, bootstrap: i32) -> GroupAdmin {
    GroupAdmin::connect(&cluster.bootstrap(bootstrap), Duration::from_secs(5)).expect("client")
}

#[tokio::test]
async fn calls_follow_a_coordinator_that_moved() {
    bounded(async {
        let cluster = FakeCluster::start(3).await;
        {
            let mut s = cluster.state();
            s.coordinator = 3;
            s.advertised_coordinator = 2; // stale
        }
        // Bootstrapped from broker 1, which coordinates nothing.
        let d = admin(&cluster, 1).describe("g").await.expect("described");
        assert_eq!(d.group_id, "g");
        let s = cluster.state();
        assert_eq!(
            s.receivers("DescribeGroup"),
            [2, 3],
            "retried at the real one"
        );
        assert_eq!(s.count("FindCoordinator"), 2);
    })
    .await;
}

#[tokio::test]
async fn refusals_come_back_once_without_retrying() {
    bounded(async {
        let cluster = FakeCluster::start(2).await;
        let a = admin(&cluster, 2);
        let e = a.describe("missing").await.unwrap_err();
        assert_eq!(e.kafka_code(), Some(ErrorCode::GroupIdNotFound), "{e}");
        let e = a.delete("g").await.unwrap_err();
        assert_eq!(e.kafka_code(), Some(ErrorCode::NonEmptyGroup), "{e}");
        a.alter_offsets("g", vec![]).await.expect("committed");
        let s = cluster.state();
        assert_eq!(s.count("DescribeGroup"), 1);
        assert_eq!(s.count("DeleteGroup"), 1);
    })
    .await;
}

#[tokio::test]
async fn listing_asks_every_broker_and_merges_by_group_id() {
    bounded(async {
        let cluster = FakeCluster::start(3).await;
        let groups = admin(&cluster, 1).list().await.expect("listed");
        let ids: Vec<&str> = groups.iter().map(|g| g.group_id.as_str()).collect();
        assert_eq!(ids, ["g1", "g2", "g3", "shared"]);
        assert_eq!(cluster.state().receivers("ListGroups"), [1, 2, 3]);
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_coordinator_fails_by_the_deadline() {
    bounded(async {
        let cluster = FakeCluster::start(1).await;
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let gone = closed.local_addr().expect("addr");
        drop(closed);
        {
            let mut s = cluster.state();
            s.brokers.push((9, gone));
            s.coordinator = 9;
            s.advertised_coordinator = 9;
        }
        let a = GroupAdmin::connect(&cluster.bootstrap(1), Duration::from_secs(1)).expect("client");
        let started = std::time::Instant::now();
        let e = a.describe("g").await.unwrap_err();
        assert!(matches!(e, DataError::Unreachable { .. }), "{e}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "bounded by the deadline"
        );
    })
    .await;
}
