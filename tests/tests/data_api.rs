//! The broker data API against real processes (1 controller, 2 brokers): produce
//! validation (corrupt and oversized batches, bad acks), acks 0/1/all, offsets, and the
//! consumer long-poll that wakes on append rather than at its deadline.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rill_client::{
    Consumer, ConsumerConfig, OffsetSpec, Producer, ProducerConfig, ProducerRecord, encode_batch,
};
use rill_testkit::{Cluster, ClusterSpec};
use rill_types::ErrorCode;

fn producer(cluster: &Cluster, acks: i32) -> Producer {
    Producer::connect(
        &cluster.broker_addrs(),
        ProducerConfig {
            acks,
            delivery_timeout: Duration::from_secs(20),
            ..ProducerConfig::default()
        },
    )
    .unwrap()
}

fn record(v: &'static [u8]) -> Vec<ProducerRecord> {
    vec![ProducerRecord {
        key: None,
        value: Some(Bytes::from_static(v)),
        headers: vec![],
        timestamp: None,
    }]
}

#[test]
fn produce_validates_acknowledges_and_fetch_long_polls() {
    let cluster = Cluster::start(ClusterSpec::new().nodes(1, 2)).expect("cluster");
    cluster
        .create_topic("small", 1, 2, &[("max.message.bytes", "2000")])
        .expect("create topic");
    let all = producer(&cluster, -1);

    // acks=all and acks=1 return consecutive offsets.
    let p = all.clone();
    let first = cluster
        .block_on(async move { p.send("small", 0, record(b"one")).await })
        .expect("acks=all");
    assert_eq!(first.base_offset.map(|o| o.get()), Some(0));
    let p = producer(&cluster, 1);
    let second = cluster
        .block_on(async move { p.send("small", 0, record(b"two")).await })
        .expect("acks=1");
    assert_eq!(second.base_offset.map(|o| o.get()), Some(1));
    // acks=0 gets no offsets.
    let p = producer(&cluster, 0);
    let none = cluster
        .block_on(async move { p.send("small", 0, record(b"three")).await })
        .expect("acks=0");
    assert_eq!(none.base_offset, None);

    // A corrupt batch (one byte flipped under the CRC) is refused, and nothing is written.
    let mut bad = encode_batch(&record(b"corrupt me")).unwrap().to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let p = all.clone();
    let e = cluster
        .block_on(async move { p.send_batch("small", 0, Bytes::from(bad)).await })
        .unwrap_err();
    assert_eq!(e.kafka_code(), Some(ErrorCode::CorruptMessage), "{e}");
    assert!(e.is_definitely_not_written());
    // A batch above max.message.bytes is refused.
    let big = vec![ProducerRecord {
        key: None,
        value: Some(Bytes::from(vec![7u8; 4000])),
        headers: vec![],
        timestamp: None,
    }];
    let p = all.clone();
    let e = cluster
        .block_on(async move { p.send("small", 0, big).await })
        .unwrap_err();
    assert_eq!(e.kafka_code(), Some(ErrorCode::MessageTooLarge), "{e}");
    // acks=2 is not a thing.
    let p = producer(&cluster, 2);
    let e = cluster
        .block_on(async move { p.send("small", 0, record(b"x")).await })
        .unwrap_err();
    assert_eq!(e.kafka_code(), Some(ErrorCode::InvalidRequiredAcks), "{e}");

    // Everything acknowledged is there, in order, once acks=0's record is replicated.
    let consumer = Consumer::connect(
        &cluster.broker_addrs(),
        ConsumerConfig {
            max_wait: Duration::from_secs(20),
            ..ConsumerConfig::default()
        },
    )
    .unwrap();
    let c = consumer.clone();
    let values: Vec<Bytes> = cluster.block_on(async move {
        c.read_all("small", 0, 0, 3)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|r| r.value)
            .collect()
    });
    assert_eq!(values, vec!["one", "two", "three"]);
    let c = consumer.clone();
    let latest = cluster
        .block_on(async move { c.list_offset("small", 0, OffsetSpec::Latest).await })
        .unwrap();
    assert_eq!(latest.map(|o| o.get()), Some(3));

    // A fetch at the end waits (max wait 20 s) and wakes as soon as a record arrives.
    let c = consumer.clone();
    let fetch = cluster
        .handle()
        .spawn(async move { (c.fetch("small", 0, 3).await, Instant::now()) });
    std::thread::sleep(Duration::from_millis(500)); // the fetch is parked at the broker
    let p = all.clone();
    let sent_at = Instant::now();
    cluster
        .block_on(async move { p.send("small", 0, record(b"four")).await })
        .expect("send");
    let (fetched, woke_at) = cluster.block_on(fetch).unwrap();
    let fetched = fetched.expect("fetch");
    assert_eq!(fetched.records.len(), 1);
    let waited = woke_at.saturating_duration_since(sent_at);
    println!("the parked fetch returned {waited:?} after the send began");
    assert!(
        waited < Duration::from_secs(10),
        "the fetch was not woken by the append (it returned after {waited:?})"
    );
}
