//! The harness of the replication scenarios: a 3-controller, 3-broker cluster of real
//! processes (rill-testkit), a topic with RF 3 and min.insync.replicas 2, producers that
//! write unique values with acks=all and log every send as ok(offset) / failed /
//! unknown, and the final check: every partition read from offset 0 after healing,
//! judged by the history checker, and replicas compared byte for byte below the high
//! watermark.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rill_client::{
    Consumer, ConsumerConfig, ControllerClient, OffsetSpec, Producer, ProducerConfig,
    ProducerRecord,
};
use rill_proto::controller::DescribeTopicsRequest;
use rill_testkit::{BrokerId, Cluster, ClusterSpec, History, Outcome, Reads, compare_replicas};

/// The topic every scenario writes.
pub const TOPIC: &str = "events";

/// The cluster of every scenario: timeouts shortened so faults resolve within seconds.
pub fn spec() -> ClusterSpec {
    ClusterSpec::new()
        .nodes(3, 3)
        .broker_session_timeout(Duration::from_millis(3000))
        .broker_setting("broker.heartbeat.interval.ms", 200)
        .broker_setting("replica.lag.time.max.ms", 3000)
        .broker_setting("controlled.shutdown.timeout.ms", 15000)
        .broker_setting("replica.fetch.wait.max.ms", 200)
}

fn controllers(cluster: &Cluster) -> ControllerClient {
    // Its channels are created lazily, which needs the runtime they will run on.
    let _runtime = cluster.handle().enter();
    ControllerClient::new(&cluster.controller_addrs(), Duration::from_secs(30))
        .expect("controller addresses")
}

/// Creates the topic (RF 3, min.insync.replicas 2) and waits until every partition has
/// a leader and a full ISR.
pub fn create_topic(cluster: &Cluster, partitions: i32) {
    cluster
        .create_topic(TOPIC, partitions, 3, &[("min.insync.replicas", "2")])
        .expect("create topic");
    wait_full_isr(cluster, Duration::from_secs(30));
}

/// Partition → (leader, ISR), as the controller has them.
pub fn partitions(cluster: &Cluster) -> BTreeMap<i32, (Option<BrokerId>, Vec<BrokerId>)> {
    let mut client = controllers(cluster);
    let answer = cluster
        .block_on(async move {
            client
                .call(|mut c| async move {
                    c.describe_topics(DescribeTopicsRequest {
                        names: vec![TOPIC.to_owned()],
                    })
                    .await
                })
                .await
        })
        .expect("describe topics");
    let topic = answer.topics.into_iter().next().expect("the topic");
    topic
        .partitions
        .into_iter()
        .map(|p| {
            (
                p.partition.map(|i| i.index).unwrap_or(-1),
                (
                    p.leader.map(BrokerId::from),
                    p.isr.into_iter().map(BrokerId::from).collect(),
                ),
            )
        })
        .collect()
}

/// The leader of `partition`, waiting until there is one.
pub fn leader_of(cluster: &Cluster, partition: i32) -> BrokerId {
    rill_testkit::wait_for(Duration::from_secs(30), "a partition leader", || {
        partitions(cluster).get(&partition).and_then(|(l, _)| *l)
    })
}

/// Waits until every partition has a leader and all 3 replicas in the ISR.
pub fn wait_full_isr(cluster: &Cluster, deadline: Duration) {
    rill_testkit::wait_until(deadline, "every partition led with a full ISR", || {
        partitions(cluster)
            .values()
            .all(|(l, isr)| l.is_some() && isr.len() == 3)
    });
}

/// Producers writing in the background.
pub struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<History>>,
}

/// Starts `producers` sequential producers (acks=all) spreading values over
/// `partitions` partitions.
pub fn start_load(cluster: &Cluster, producers: usize, partitions: i32) -> Load {
    start_load_with(cluster, producers, partitions, Duration::from_secs(10))
}

/// [`start_load`] with a given delivery timeout.
pub fn start_load_with(
    cluster: &Cluster,
    producers: usize,
    partitions: i32,
    delivery_timeout: Duration,
) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let config = ProducerConfig {
        acks: -1,
        request_timeout: Duration::from_secs(5),
        delivery_timeout,
        retry_backoff: Duration::from_millis(50),
        retry_backoff_max: Duration::from_millis(500),
        ..ProducerConfig::default()
    };
    let mut tasks = Vec::new();
    for p in 0..producers {
        let producer =
            Producer::connect(&cluster.broker_addrs(), config.clone()).expect("producer");
        let stop = stop.clone();
        tasks.push(cluster.handle().spawn(async move {
            let mut history = History::new();
            let mut seq = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let value = format!("p{p}-{seq}");
                let partition =
                    i32::try_from(seq % u64::try_from(partitions).unwrap_or(1)).unwrap_or(0);
                seq += 1;
                let record = ProducerRecord {
                    key: None,
                    value: Some(Bytes::from(value.clone())),
                    headers: vec![],
                    timestamp: None,
                };
                let outcome = match producer.send(TOPIC, partition, vec![record]).await {
                    Ok(o) => Outcome::Ok(o.base_offset.map(|x| x.get()).unwrap_or(-1)),
                    Err(e) if e.is_definitely_not_written() => Outcome::Failed,
                    Err(_) => Outcome::Unknown,
                };
                history.record(p, value, partition, outcome);
            }
            history
        }));
    }
    Load { stop, tasks }
}

impl Load {
    /// Stops the producers and returns their merged history.
    pub fn stop(self, cluster: &Cluster) -> History {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = History::new();
        for t in self.tasks {
            let h = cluster.block_on(t).expect("producer task");
            all.merge(h);
        }
        all
    }
}

/// After healing: waits for a full ISR, reads every partition from 0 to its high
/// watermark, checks the history (0 lost, 0 inconsistent, 0 reordered), requires at
/// least `min_ok` acknowledged writes (so the scenario tested something), and compares
/// the replicas byte for byte below the high watermark.
pub fn verify(cluster: &Cluster, history: &History, partition_count: i32, min_ok: usize) {
    wait_full_isr(cluster, Duration::from_secs(40));
    let consumer =
        Consumer::connect(&cluster.broker_addrs(), ConsumerConfig::default()).expect("consumer");
    let mut reads: Reads = BTreeMap::new();
    let mut hws = BTreeMap::new();
    for p in 0..partition_count {
        let c = consumer.clone();
        let (hw, records) = cluster.block_on(async move {
            let hw = c
                .list_offset(TOPIC, p, OffsetSpec::Latest)
                .await
                .expect("high watermark")
                .map(|o| o.get())
                .unwrap_or(0);
            let records = c.read_all(TOPIC, p, 0, hw).await.expect("read partition");
            (hw, records)
        });
        hws.insert(p, hw);
        reads.insert(
            p,
            records
                .into_iter()
                .map(|r| {
                    (
                        r.offset.get(),
                        r.value.map(|v| v.to_vec()).unwrap_or_default(),
                    )
                })
                .collect(),
        );
    }
    let report = history.check(&reads);
    println!("history: {report}");
    report.assert_safe();
    assert!(
        report.ok >= min_ok,
        "only {} acknowledged writes (wanted at least {min_ok}): the scenario tested too little",
        report.ok
    );
    // Every ISR member has the log below the high watermark; wait until the files show
    // it (followers write what they fetched before fetching more), then compare.
    for (p, hw) in hws {
        let dirs: Vec<_> = cluster
            .broker_ids()
            .into_iter()
            .map(|b| cluster.log_dir(b, TOPIC, p))
            .collect();
        let started = Instant::now();
        loop {
            match compare_replicas(&dirs, hw) {
                Ok(()) => break,
                Err(e) if started.elapsed() > Duration::from_secs(20) => {
                    panic!("partition {p}: replicas differ below the high watermark {hw}: {e}")
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        println!("partition {p}: high watermark {hw}, 3 replicas identical below it");
    }
}
