//! Broker produce benchmark, printed (never asserted):
//! `cargo bench -p rill-cli --bench broker` (`RILL_BENCH_SECONDS=N` to change the 60 s
//! steady-state window; `RILL_BENCH_QUICK=1` for 10 s).
//!
//! 3 controllers and 3 brokers run as processes of the release `rill` binary (rill-testkit)
//! and share the machine with the client. With rill-client, 1 KiB records in batches of
//! `BATCH` records from `PRODUCERS` concurrent senders: throughput (MB/s, records/s) and
//! p50/p99 send latency, for RF 3 acks=all and for RF 1 acks=1, measured after a warm-up.
//! Next to them, the baseline of the same run: rill-storage's own append of the same
//! batches into one log (no fsync), the most a broker could do on this disk.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rill_client::{Producer, ProducerConfig, ProducerRecord, encode_batch};
use rill_storage::{Log, LogConfig, RealDisk, SystemClock};
use rill_testkit::{Cluster, ClusterSpec};
use rill_types::LeaderEpoch;

const RECORD: usize = 1024;
const BATCH: usize = 16;
const PRODUCERS: usize = 16;
const PARTITIONS: i32 = 6;

fn seconds() -> u64 {
    if std::env::var_os("RILL_BENCH_QUICK").is_some() {
        return 10;
    }
    std::env::var("RILL_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
}

fn records() -> Vec<ProducerRecord> {
    (0..BATCH)
        .map(|i| ProducerRecord {
            key: None,
            value: Some(Bytes::from(vec![b'a' + (i % 26) as u8; RECORD])),
            headers: vec![],
            timestamp: None,
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Appends the benchmark's batches to one log for `window`; MB/s of record batches.
fn storage_baseline(window: Duration) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut log = Log::open(
        dir.path(),
        LogConfig::default(),
        Arc::new(SystemClock),
        Arc::new(RealDisk),
    )
    .expect("open log");
    let batch = encode_batch(&records()).expect("encode");
    let started = Instant::now();
    let mut bytes = 0u64;
    while started.elapsed() < window {
        let mut b = batch.to_vec();
        log.append_as_leader(&mut b, LeaderEpoch::new(0))
            .expect("append");
        bytes += b.len() as u64;
    }
    log.close().expect("close");
    bytes as f64 / started.elapsed().as_secs_f64() / 1e6
}

fn run(cluster: &Cluster, topic: &'static str, acks: i32, window: Duration) {
    let producer = Producer::connect(
        &cluster.broker_addrs(),
        ProducerConfig {
            acks,
            ..ProducerConfig::default()
        },
    )
    .expect("producer");
    let batch = records();
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for i in 0..PRODUCERS {
        let (producer, batch) = (producer.clone(), batch.clone());
        let (stop, measuring, sent) = (stop.clone(), measuring.clone(), sent.clone());
        tasks.push(cluster.handle().spawn(async move {
            let mut latencies = Vec::new();
            let partition = i as i32 % PARTITIONS;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                producer
                    .send(topic, partition, batch.clone())
                    .await
                    .expect("send");
                if measuring.load(Ordering::Relaxed) {
                    latencies.push(t.elapsed());
                    sent.fetch_add(BATCH as u64, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }
    std::thread::sleep(Duration::from_secs(3)); // warm-up, not measured
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    std::thread::sleep(window);
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(cluster.block_on(t).expect("producer task"));
    }
    all.sort();
    let n = sent.load(Ordering::Relaxed);
    let secs = elapsed.as_secs_f64();
    println!(
        "{topic} (acks={acks}): {:.1} MB/s, {:.0} records/s over {secs:.0} s; send latency p50 {:?}, p99 {:?} ({} sends of {BATCH} x 1 KiB, {PRODUCERS} in flight)",
        (n as usize * RECORD) as f64 / secs / 1e6,
        n as f64 / secs,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        all.len(),
    );
}

fn main() {
    let window = Duration::from_secs(seconds());
    let baseline = storage_baseline(Duration::from_secs(5));
    println!(
        "baseline: rill-storage append of the same batches, one log, no fsync: {baseline:.0} MB/s"
    );
    let cluster = Cluster::start(ClusterSpec::new().nodes(3, 3)).expect("cluster");
    let min_isr = [("min.insync.replicas", "2")];
    cluster
        .create_topic("bench-rf3", PARTITIONS, 3, &min_isr)
        .expect("create topic");
    cluster
        .create_topic("bench-rf1", PARTITIONS, 1, &[])
        .expect("create topic");
    run(&cluster, "bench-rf3", -1, window);
    run(&cluster, "bench-rf1", 1, window);
}
