//! Producer: retries through leader changes and transient errors, returns the last error
//! at the deadline, and reports whether failed records may have been written.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rill_client::{DataError, Producer, ProducerConfig, ProducerRecord, encode_batch};
use rill_types::{BrokerId, ErrorCode, Offset};

use crate::bounded;
use crate::fake_broker::{FakeCluster, TOPIC};

/// Short deadlines so that giving up is quick.
fn config() -> ProducerConfig {
    ProducerConfig {
        request_timeout: Duration::from_millis(300),
        delivery_timeout: Duration::from_millis(1500),
        retry_backoff: Duration::from_millis(10),
        retry_backoff_max: Duration::from_millis(50),
        ..ProducerConfig::default()
    }
}

fn records(values: &[&'static str]) -> Vec<ProducerRecord> {
    values.iter().map(|v| ProducerRecord::new(*v)).collect()
}

#[tokio::test]
async fn send_follows_a_leader_change_after_not_leader_or_follower() {
    bounded(async {
        let cluster = FakeCluster::start(2).await;
        cluster.state().leader = 2; // Metadata still says 1
        let producer = Producer::connect(&cluster.bootstrap(1), config()).unwrap();

        let outcome = producer.send(TOPIC, 0, records(&["a", "b"])).await.unwrap();

        assert_eq!(outcome.base_offset, Some(Offset::new(0)));
        assert_eq!(outcome.leader, BrokerId::new(2));
        let state = cluster.state();
        assert_eq!(
            state.receivers("Produce"),
            vec![1, 2],
            "retried on the new leader"
        );
        assert_eq!(
            state.count("Metadata"),
            2,
            "metadata refreshed after the refusal"
        );
        assert_eq!(state.log_end, 2);
    })
    .await;
}

#[tokio::test]
async fn concurrent_sends_share_one_metadata_refresh() {
    bounded(async {
        let cluster = FakeCluster::start(2).await;
        cluster.state().leader = 2; // Metadata still says 1
        let producer = Producer::connect(&cluster.bootstrap(1), config()).unwrap();

        let sends = (0..10).map(|i| {
            let producer = producer.clone();
            tokio::spawn(async move {
                let record = ProducerRecord::new(format!("v{i}"));
                producer.send(TOPIC, 0, vec![record]).await
            })
        });
        for send in sends.collect::<Vec<_>>() {
            send.await.unwrap().unwrap();
        }

        let state = cluster.state();
        assert_eq!(state.log_end, 10);
        // One lookup of the unknown topic, one after the refusals: every other caller
        // waited for the refresh in flight and used its answer.
        assert_eq!(state.count("Metadata"), 2);
    })
    .await;
}

#[tokio::test]
async fn transient_refusals_are_retried_until_accepted() {
    bounded(async {
        let cluster = FakeCluster::start(1).await;
        cluster.state().produce_errors.extend([
            ErrorCode::NotEnoughReplicas,
            ErrorCode::LeaderNotAvailable,
            ErrorCode::RequestTimedOut,
        ]);
        let producer = Producer::connect(&cluster.bootstrap(1), config()).unwrap();

        let first = producer.send(TOPIC, 0, records(&["a"])).await.unwrap();
        let second = producer.send(TOPIC, 0, records(&["b", "c"])).await.unwrap();

        assert_eq!(first.base_offset, Some(Offset::new(0)));
        assert_eq!(second.base_offset, Some(Offset::new(1)));
        let state = cluster.state();
        assert_eq!(state.count("Produce"), 5);
        assert_eq!(
            state.count("Metadata"),
            4,
            "one refresh per retriable error"
        );
    })
    .await;
}

#[tokio::test]
async fn the_last_error_is_returned_with_its_code_at_the_deadline() {
    bounded(async {
        let cluster = FakeCluster::start(1).await;
        cluster.state().always_produce_error = Some(ErrorCode::NotEnoughReplicas);
        let producer = Producer::connect(&cluster.bootstrap(1), config()).unwrap();

        let started = Instant::now();
        let err = producer.send(TOPIC, 0, records(&["a"])).await.unwrap_err();

        assert_eq!(
            err.kafka_code(),
            Some(ErrorCode::NotEnoughReplicas),
            "{err}"
        );
        assert!(err.is_definitely_not_written(), "{err}");
        assert!(started.elapsed() < Duration::from_millis(1500) + Duration::from_secs(1));
        assert!(
            cluster.state().count("Produce") >= 3,
            "retried until the deadline"
        );
    })
    .await;
}

#[tokio::test]
async fn an_earlier_unknown_outcome_is_not_forgotten() {
    bounded(async {
        let cluster = FakeCluster::start(1).await;
        {
            let mut state = cluster.state();
            state
                .produce_errors
                .push_back(ErrorCode::NotEnoughReplicasAfterAppend);
            state.always_produce_error = Some(ErrorCode::NotEnoughReplicas);
        }
        let producer = Producer::connect(&cluster.bootstrap(1), config()).unwrap();

        let err = producer.send(TOPIC, 0, records(&["a"])).await.unwrap_err();

        assert_eq!(
            err.kafka_code(),
            Some(ErrorCode::NotEnoughReplicas),
            "{err}"
        );
        assert!(
            !err.is_definitely_not_written(),
            "first attempt may have appended: {err}"
        );
    })
    .await;
}

#[tokio::test]
async fn not_leader_proves_nothing_was_written_only_without_acks_all() {
    bounded(async {
        for (acks, definitely_not_written) in [(1, true), (-1, false)] {
            let cluster = FakeCluster::start(1).await;
            cluster.state().always_produce_error = Some(ErrorCode::NotLeaderOrFollower);
            let config = ProducerConfig {
                acks,
                delivery_timeout: Duration::from_millis(400),
                ..config()
            };
            let producer = Producer::connect(&cluster.bootstrap(1), config).unwrap();

            let err = producer.send(TOPIC, 0, records(&["a"])).await.unwrap_err();

            assert_eq!(err.kafka_code(), Some(ErrorCode::NotLeaderOrFollower));
            // With acks=all a leader deposed while waiting for its ISR answers this after
            // appending.
            assert_eq!(
                err.is_definitely_not_written(),
                definitely_not_written,
                "{err}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn refusals_of_the_batch_itself_return_at_once() {
    bounded(async {
        let cluster = FakeCluster::start(1).await;
        let producer = Producer::connect(&cluster.bootstrap(1), config()).unwrap();
        let mut corrupt = encode_batch(&records(&["a"])).unwrap().to_vec();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 0xff;

        let err = producer
            .send_batch(TOPIC, 0, Bytes::from(corrupt))
            .await
            .unwrap_err();

        assert_eq!(err.kafka_code(), Some(ErrorCode::CorruptMessage), "{err}");
        assert!(err.is_definitely_not_written());
        assert_eq!(cluster.state().count("Produce"), 1, "not retried");
    })
    .await;
}

#[tokio::test]
async fn a_produce_without_answer_leaves_the_outcome_unknown() {
    bounded(async {
        let cluster = FakeCluster::start(1).await;
        cluster.state().hang_produce = true;
        let producer = Producer::connect(&cluster.bootstrap(1), config()).unwrap();

        let err = producer.send(TOPIC, 0, records(&["a"])).await.unwrap_err();

        assert!(matches!(err, DataError::Timeout { .. }), "{err}");
        assert!(!err.is_definitely_not_written(), "{err}");
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_leader_means_nothing_was_written() {
    bounded(async {
        let cluster = FakeCluster::start(1).await;
        // A listed broker 2 whose port has no listener: connections are refused.
        let dead = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        {
            let mut state = cluster.state();
            state.brokers.push((2, dead));
            state.leader = 2;
            state.advertised_leader = 2;
        }
        let producer = Producer::connect(&cluster.bootstrap(1), config()).unwrap();

        let err = producer.send(TOPIC, 0, records(&["a"])).await.unwrap_err();

        assert!(matches!(err, DataError::Unreachable { .. }), "{err}");
        assert!(err.is_definitely_not_written(), "{err}");
    })
    .await;
}

#[tokio::test]
async fn acks_zero_returns_without_an_offset() {
    bounded(async {
        let cluster = FakeCluster::start(1).await;
        let config = ProducerConfig {
            acks: 0,
            ..config()
        };
        let producer = Producer::connect(&cluster.bootstrap(1), config).unwrap();

        let outcome = producer.send(TOPIC, 0, records(&["a"])).await.unwrap();

        assert_eq!(outcome.base_offset, None);
        assert_eq!(cluster.state().log_end, 1);
    })
    .await;
}

#[tokio::test]
async fn partitions_and_unknown_topics() {
    bounded(async {
        let cluster = FakeCluster::start(1).await;
        cluster.state().partitions = 3;
        let producer = Producer::connect(&cluster.bootstrap(1), config()).unwrap();

        assert_eq!(producer.partitions(TOPIC).await.unwrap(), 3);
        let err = producer
            .send("missing", 0, records(&["a"]))
            .await
            .unwrap_err();
        assert_eq!(err.kafka_code(), Some(ErrorCode::UnknownTopicOrPartition));
        assert!(err.is_definitely_not_written());
        assert_eq!(
            cluster.state().count("Produce"),
            0,
            "nothing sent without a leader"
        );
    })
    .await;
}

#[test]
fn connect_refuses_bad_bootstrap_lists() {
    assert!(matches!(
        Producer::connect(&[], ProducerConfig::default()),
        Err(DataError::InvalidArgument(_))
    ));
    assert!(matches!(
        Producer::connect(&["not an address".into()], ProducerConfig::default()),
        Err(DataError::InvalidArgument(_))
    ));
}
