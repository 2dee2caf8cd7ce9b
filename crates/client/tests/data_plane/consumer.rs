//! Consumer: reads what the producer wrote, follows the leader, filters below the fetch
//! offset, looks up offsets, and stops at its deadlines.

use std::time::Duration;

use rill_client::{
    Consumer, ConsumerConfig, DataError, OffsetSpec, Producer, ProducerConfig, ProducerRecord,
};
use rill_types::{ErrorCode, LeaderEpoch, Offset};

use crate::bounded;
use crate::fake_broker::{FakeCluster, TOPIC};

fn config() -> ConsumerConfig {
    ConsumerConfig {
        request_timeout: Duration::from_millis(300),
        fetch_timeout: Duration::from_millis(1500),
        retry_backoff: Duration::from_millis(10),
        retry_backoff_max: Duration::from_millis(50),
        ..ConsumerConfig::default()
    }
}

/// Writes batches ["a", "b", "c"] (timestamps 100..) and ["d", "e"] (200..): offsets 0..5.
async fn write_five(cluster: &FakeCluster) {
    let producer = Producer::connect(&cluster.bootstrap(1), ProducerConfig::default()).unwrap();
    let batch = |values: &[&'static str], t: i64| -> Vec<ProducerRecord> {
        let keyed = |(i, v): (usize, &&'static str)| {
            ProducerRecord::keyed(format!("k{v}"), *v).with_timestamp(t + i as i64)
        };
        values.iter().enumerate().map(keyed).collect()
    };
    producer
        .send(TOPIC, 0, batch(&["a", "b", "c"], 100))
        .await
        .unwrap();
    producer
        .send(TOPIC, 0, batch(&["d", "e"], 200))
        .await
        .unwrap();
}

fn values(records: &[rill_client::ConsumedRecord]) -> Vec<(i64, String)> {
    records
        .iter()
        .map(|r| {
            let value = String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap();
            (r.offset.get(), value)
        })
        .collect()
}

#[tokio::test]
async fn fetch_returns_what_was_produced_from_the_requested_offset() {
    bounded(async {
        let cluster = FakeCluster::start(1).await;
        cluster.state().leader_epoch = 7;
        write_five(&cluster).await;
        let consumer = Consumer::connect(&cluster.bootstrap(1), config()).unwrap();

        let fetched = consumer.fetch(TOPIC, 0, 1).await.unwrap();

        // The first batch starts at 0, below the fetch offset: record 0 is dropped.
        assert_eq!(
            values(&fetched.records),
            vec![
                (1, "b".into()),
                (2, "c".into()),
                (3, "d".into()),
                (4, "e".into())
            ]
        );
        assert_eq!(fetched.next_offset, Offset::new(5));
        assert_eq!(fetched.high_watermark, Offset::new(5));
        let first = &fetched.records[0];
        assert_eq!(first.key.as_deref(), Some(&b"kb"[..]));
        assert_eq!(first.timestamp, 101);
        assert_eq!(first.leader_epoch, Some(LeaderEpoch::new(7)));
    })
    .await;
}

#[tokio::test]
async fn fetch_follows_the_leader() {
    bounded(async {
        let cluster = FakeCluster::start(2).await;
        write_five(&cluster).await;
        cluster.state().leader = 2; // Metadata still says 1
        let consumer = Consumer::connect(&cluster.bootstrap(1), config()).unwrap();

        let fetched = consumer.fetch(TOPIC, 0, 0).await.unwrap();

        assert_eq!(fetched.records.len(), 5);
        assert_eq!(cluster.state().receivers("Fetch"), vec![1, 2]);
    })
    .await;
}

#[tokio::test]
async fn transient_fetch_errors_are_retried_and_offset_out_of_range_is_not() {
    bounded(async {
        let cluster = FakeCluster::start(1).await;
        write_five(&cluster).await;
        cluster
            .state()
            .fetch_errors
            .extend([ErrorCode::LeaderNotAvailable, ErrorCode::FencedLeaderEpoch]);
        let consumer = Consumer::connect(&cluster.bootstrap(1), config()).unwrap();

        assert_eq!(consumer.fetch(TOPIC, 0, 4).await.unwrap().records.len(), 1);
        assert_eq!(cluster.state().count("Fetch"), 3);

        let err = consumer.fetch(TOPIC, 0, 6).await.unwrap_err();
        assert_eq!(err.kafka_code(), Some(ErrorCode::OffsetOutOfRange), "{err}");
        assert_eq!(cluster.state().count("Fetch"), 4, "not retried");
    })
    .await;
}

#[tokio::test]
async fn read_all_covers_the_range_across_batches() {
    bounded(async {
        let cluster = FakeCluster::start(1).await;
        write_five(&cluster).await;
        let consumer = Consumer::connect(&cluster.bootstrap(1), config()).unwrap();

        let records = consumer.read_all(TOPIC, 0, 2, 4).await.unwrap();

        assert_eq!(values(&records), vec![(2, "c".into()), (3, "d".into())]);
    })
    .await;
}

#[tokio::test]
async fn read_all_gives_up_when_the_high_watermark_stays_below_the_range() {
    bounded(async {
        let cluster = FakeCluster::start(1).await;
        write_five(&cluster).await;
        let consumer = Consumer::connect(&cluster.bootstrap(1), config()).unwrap();

        let err = consumer.read_all(TOPIC, 0, 0, 10).await.unwrap_err();

        assert!(matches!(err, DataError::Timeout { .. }), "{err}");
        assert!(err.to_string().contains("stuck at 5"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn list_offset_answers_each_spec() {
    bounded(async {
        let cluster = FakeCluster::start(1).await;
        write_five(&cluster).await;
        let consumer = Consumer::connect(&cluster.bootstrap(1), config()).unwrap();
        let lookup = |spec| consumer.list_offset(TOPIC, 0, spec);

        assert_eq!(
            lookup(OffsetSpec::Earliest).await.unwrap(),
            Some(Offset::new(0))
        );
        assert_eq!(
            lookup(OffsetSpec::Latest).await.unwrap(),
            Some(Offset::new(5))
        );
        let at_201 = lookup(OffsetSpec::Timestamp(201)).await.unwrap();
        assert_eq!(at_201, Some(Offset::new(4)));
        assert_eq!(lookup(OffsetSpec::Timestamp(10_000)).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn metadata_describes_brokers_and_leaders() {
    bounded(async {
        let cluster = FakeCluster::start(2).await;
        let consumer = Consumer::connect(&cluster.bootstrap(2), config()).unwrap();

        let view = consumer.metadata(&[TOPIC.to_owned()]).await.unwrap();

        assert_eq!(view.brokers.len(), 2);
        let leader = view.leader(TOPIC, 0.into()).unwrap();
        assert_eq!(vec![leader.addr], cluster.bootstrap(1));
    })
    .await;
}
