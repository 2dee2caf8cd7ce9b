//! Controller benchmarks, printed (never asserted). `cargo bench -p rill-cli --bench controller`
//! (`RILL_BENCH_QUICK=1` for fewer kills).
//!
//! 1. Failover: over N kills (-9) of the active controller of a three-process quorum, the
//!    time from the kill to the first successful admin write (CreateTopics) on the new
//!    leader; the killed node is restarted and caught up before the next kill.
//! 2. Scale: 10,000 topics x 10 partitions x RF 3 with 3 brokers registered over gRPC,
//!    created 100 topics per request: wall time and the active controller's RSS; then the
//!    size of the snapshot of that image and the time to load it (in process, the code
//!    path a restarting controller runs).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use rill_metadata::MetadataImage;
use rill_types::MetadataOffset;
use support::*;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn failover(kills: usize) {
    let mut q = Quorum::start(3);
    let mut client = q.client();
    register_brokers(&mut client, 3).await;
    let mut times = Vec::new();
    for k in 0..kills {
        let leader = describe_cluster(&mut client).await.leader_id.unwrap().id as usize - 1;
        let start = Instant::now();
        q.kill(leader);
        let r = create_topics(&mut client, &[format!("failover-{k}")], 1, 3).await;
        let took = start.elapsed();
        assert!(r.topics[0].error.is_none(), "{r:?}");
        times.push(took);
        q.spawn(leader);
        wait_caught_up(&client, leader as u64 + 1, Duration::from_secs(60)).await;
    }
    times.sort();
    println!(
        "failover over {kills} kills: median {:?}, p99 {:?}, min {:?}, max {:?}",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[0],
        times[times.len() - 1]
    );
}

async fn scale(topics: usize, per_request: usize) {
    let q = Quorum::start(3);
    let mut client = q.client();
    register_brokers(&mut client, 3).await;
    let start = Instant::now();
    for chunk in (0..topics).collect::<Vec<_>>().chunks(per_request) {
        let names: Vec<String> = chunk.iter().map(|i| format!("topic-{i:05}")).collect();
        let r = create_topics(&mut client, &names, 10, 3).await;
        assert!(r.topics.iter().all(|t| t.error.is_none()));
    }
    let wall = start.elapsed();
    let leader = describe_cluster(&mut client).await.leader_id.unwrap().id as usize - 1;
    let pid = q.children[leader].as_ref().unwrap().id();
    println!(
        "created {topics} topics x 10 partitions x RF 3 ({} partitions) in {:.2?} ({per_request} topics per request); active controller RSS {} MiB",
        topics * 10,
        wall,
        rss_kib(pid) / 1024
    );
}

fn snapshot_figures(topics: usize) {
    use rill_controller::manager::testing_support::{brokers_image, create_all};
    let image: MetadataImage = create_all(
        &brokers_image(&[(1, None), (2, None), (3, None)]),
        topics,
        10,
        3,
    );
    let start = Instant::now();
    let bytes = image.encode_snapshot();
    let encode = start.elapsed();
    let mut loads = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let loaded = MetadataImage::decode_snapshot(&bytes, MetadataOffset::new(1)).unwrap();
        loads.push(start.elapsed());
        assert_eq!(loaded.topic_count(), topics);
    }
    loads.sort();
    println!(
        "snapshot of {topics} topics x 10 partitions: {:.1} MiB, encoded in {encode:.2?}, loaded in {:.2?} (median of 5)",
        bytes.len() as f64 / (1 << 20) as f64,
        loads[2]
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let quick = std::env::var_os("RILL_BENCH_QUICK").is_some();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(failover(if quick { 5 } else { 20 }));
    rt.block_on(scale(if quick { 1_000 } else { 10_000 }, 100));
    snapshot_figures(if quick { 1_000 } else { 10_000 });
}
