//! Real Kafka clients against the Kafka listener: each test starts 3 controllers and 3
//! brokers (rill-testkit) and runs one script of `tests/kafka/` with the virtualenv's
//! Python (confluent-kafka, kafka-python, aiokafka) or kcat, streaming its output here,
//! then asserts the figures of its JSON summary. Faults the scenario needs (kill -9 of a
//! partition leader, of the group coordinator's broker) are done here, when the script
//! asks (`AWAIT`). Needs `scripts/setup.sh` to have run; fails (never skips) otherwise.

#[path = "support/kafka_script.rs"]
mod kafka_script;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use kafka_script::{Summary, require_kcat, run, run_plain};
use rill_proto::controller::DescribeTopicsRequest;
use rill_testkit::{BrokerId, Cluster, ClusterSpec};

/// Partition index → (leader, replicas, ISR).
type Partitions = BTreeMap<i32, (Option<BrokerId>, Vec<BrokerId>, Vec<BrokerId>)>;

/// Timeouts shortened so a killed broker is fenced and replaced within seconds.
fn start() -> Cluster {
    let spec = ClusterSpec::new().nodes(3, 3).quick_failover();
    let cluster = Cluster::start(spec).expect("cluster starts");
    eprintln!("Kafka bootstrap: {}", cluster.kafka_bootstrap());
    cluster
}

/// `topic`'s partitions as the active controller has them.
fn partitions(cluster: &Cluster, topic: &str) -> Partitions {
    let _runtime = cluster.handle().enter(); // the client's channels need it
    let mut client = cluster
        .controller_client(Duration::from_secs(20))
        .expect("controller client");
    let names = vec![topic.to_owned()];
    let answer = cluster
        .block_on(async move {
            client
                .call(|mut c| {
                    let names = names.clone();
                    async move { c.describe_topics(DescribeTopicsRequest { names }).await }
                })
                .await
        })
        .expect("describe topics");
    let described = answer.topics.into_iter().next().expect("the topic");
    assert!(described.error.is_none(), "{topic}: {:?}", described.error);
    described
        .partitions
        .into_iter()
        .map(|p| {
            let ids = |v: Vec<_>| v.into_iter().map(BrokerId::from).collect();
            (
                p.partition.map_or(-1, |i| i.index),
                (p.leader.map(BrokerId::from), ids(p.replicas), ids(p.isr)),
            )
        })
        .collect()
}

/// Kills `id` with SIGKILL and says so in the script's `DONE` answer.
fn kill(cluster: &mut Cluster, id: BrokerId, why: &str) -> String {
    eprintln!("kill -9 broker {id} ({why})");
    cluster.broker(id).kill9().expect("kill -9");
    format!("{{\"killed\": {id}}}")
}

fn assert_round_trip(summary: &Summary, records: i64) {
    assert_eq!(summary.int("produced"), records);
    assert_eq!(summary.int("acknowledged"), records);
    assert_eq!(summary.int("consumed"), records);
}

#[test]
fn confluent_kafka_round_trip_is_exactly_once_in_order() {
    let mut cluster = start();
    let s = run_plain(&mut cluster, "client_confluent.py", &[], secs(90));
    assert_round_trip(&s, 10_000);
    assert_eq!(s.int("partitions_used"), 3);
}

#[test]
fn kafka_python_round_trip_is_exactly_once_in_order() {
    let mut cluster = start();
    let s = run_plain(&mut cluster, "client_kafka_python.py", &[], secs(120));
    assert_round_trip(&s, 10_000);
    assert_eq!(s.int("partitions_used"), 3);
}

/// aiokafka speaks only older, non-flexible protocol versions; its consumer here is a
/// group member committing offsets.
#[test]
fn aiokafka_produces_and_consumes_in_a_group_over_old_protocol_versions() {
    let mut cluster = start();
    let s = run_plain(&mut cluster, "client_aiokafka.py", &[], secs(120));
    assert_round_trip(&s, 10_000);
    assert_eq!(s.int("committed"), 10_000);
    eprintln!("topic created by {}'s admin client", s.text("admin"));
}

#[test]
fn every_compression_codec_round_trips() {
    let mut cluster = start();
    let s = run_plain(&mut cluster, "codecs.py", &[], secs(90));
    assert_eq!(s.int("codecs"), 5);
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        assert_eq!(s.int(&format!("consumed_{codec}")), 2000, "{codec}");
    }
}

#[test]
fn consumer_group_consumes_exactly_once_through_leave_join_and_coordinator_kill() {
    let mut cluster = start();
    let mut killed = None;
    let s = run(
        &mut cluster,
        "consumer_group.py",
        &[],
        secs(170),
        |cluster, action, payload| {
            assert_eq!(action, "kill-coordinator");
            let id = BrokerId::new(i32::try_from(payload.int("broker")).expect("a broker id"));
            killed = Some(id);
            kill(cluster, id, "the group coordinator")
        },
    );
    let killed = killed.expect("the script asked for the coordinator kill");
    assert_eq!(s.int("killed_coordinator"), i64::from(killed.get()));
    assert_eq!(s.int("produced"), 8000);
    assert_eq!(s.int("consumed"), 8000);
    assert_eq!(s.int("committed"), 8000);
    assert_eq!(s.int("duplicates"), 0);
    assert!(
        s.int("consumed_by_confluent_c") > 0,
        "the member that joined got work"
    );
    assert_ne!(s.int("new_coordinator"), i64::from(killed.get()));
}

#[test]
fn idempotent_producer_loses_and_duplicates_nothing_through_a_leader_kill() {
    let mut cluster = start();
    let mut killed = None;
    let s = run(
        &mut cluster,
        "producer_leader_kill.py",
        &[],
        secs(120),
        |cluster, action, payload| {
            assert_eq!(action, "kill-leader");
            let topic = payload.text("topic").to_owned();
            let partition = i32::try_from(payload.int("partition")).expect("an index");
            let leader = partitions(cluster, &topic)[&partition]
                .0
                .expect("a leader before the kill");
            killed = Some(leader);
            kill(cluster, leader, &format!("leader of {topic}/{partition}"))
        },
    );
    let killed = i64::from(killed.expect("the script asked for the kill").get());
    assert_eq!(s.int("killed"), killed);
    assert_ne!(s.int("leader_after"), killed);
    assert!(s.int("acknowledged_after_kill") >= 100);
    assert_eq!(s.int("duplicates"), 0);
    assert_eq!(s.int("lost"), 0);
    // Every acknowledged record was read back; failed deliveries may or may not be.
    assert!(s.int("consumed") >= s.int("acknowledged"));
    assert!(s.int("consumed") <= s.int("acknowledged") + s.int("failed"));
    println!(
        "{} acknowledged, {} failed, of {} sent",
        s.int("acknowledged"),
        s.int("failed"),
        s.int("sent")
    );
}

#[test]
fn kcat_metadata_lists_every_broker_topic_partition_leader_and_isr() {
    require_kcat();
    let mut cluster = start();
    let topics = [
        ("meta-three", 3, 3),
        ("meta-one", 1, 2),
        ("meta-five", 5, 1),
    ];
    for (name, count, rf) in topics {
        cluster.create_topic(name, count, rf, &[]).expect("create");
    }
    // Settled: every partition led, its ISR all its replicas.
    let described = rill_testkit::wait_for(secs(30), "every partition led, ISR full", || {
        let all: BTreeMap<&str, Partitions> = topics
            .iter()
            .map(|(name, _, _)| (*name, partitions(&cluster, name)))
            .collect();
        all.values()
            .flat_map(|p| p.values())
            .all(|(leader, replicas, isr)| leader.is_some() && isr.len() == replicas.len())
            .then_some(all)
    });
    let unfenced = cluster.unfenced_brokers().expect("describe cluster");
    assert_eq!(
        unfenced.into_iter().collect::<Vec<_>>(),
        cluster.broker_ids()
    );
    let expect = expected_metadata(&cluster, &described);
    let s = run_plain(
        &mut cluster,
        "kcat_metadata.py",
        &["--expect", &expect],
        secs(60),
    );
    assert_eq!(s.int("brokers"), 3);
    assert_eq!(s.int("topics"), 3);
    assert_eq!(s.int("partitions"), 9);
}

/// The `--expect` JSON of kcat_metadata.py: brokers by id with their Kafka address,
/// and each topic's partitions (leader, replicas, ISR).
fn expected_metadata(cluster: &Cluster, topics: &BTreeMap<&str, Partitions>) -> String {
    let list = |ids: &[BrokerId]| {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        format!("[{}]", ids.join(", "))
    };
    let brokers: Vec<String> = cluster
        .broker_ids()
        .into_iter()
        .map(|id| format!("\"{id}\": \"{}\"", cluster.kafka_addr(id)))
        .collect();
    let mut out = format!("{{\"brokers\": {{{}}}, \"topics\": {{", brokers.join(", "));
    for (i, (name, parts)) in topics.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let parts: Vec<String> = parts
            .iter()
            .map(|(index, (leader, replicas, isr))| {
                let leader = leader.expect("led");
                format!(
                    "\"{index}\": {{\"leader\": {leader}, \"replicas\": {}, \"isr\": {}}}",
                    list(replicas),
                    list(isr)
                )
            })
            .collect();
        write!(out, "{sep}\"{name}\": {{{}}}", parts.join(", ")).expect("a String");
    }
    out.push_str("}}");
    out
}

#[test]
fn kcat_produces_and_consumes_round_trip() {
    require_kcat();
    let mut cluster = start();
    let s = run_plain(&mut cluster, "kcat_roundtrip.py", &[], secs(90));
    assert_eq!(s.int("produced"), 1000);
    assert_eq!(s.int("consumed"), 1000);
    assert_eq!(s.int("partitions_used"), 3);
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn admin_client_calls_work_and_deleted_records_stay_deleted_after_failover() {
    require_kcat();
    let mut cluster = start();
    let s = run_plain(&mut cluster, "admin_confluent.py", &[], secs(120));
    assert_eq!(s.int("brokers"), 3);
    assert!(
        s.int("topic_keys") >= 10,
        "describe_configs listed too few keys"
    );
    // The script ended with delete_records(-1) on partition 0 (10 records, RF 3): the
    // followers must have taken the new log start, so a new leader does not serve the
    // deleted records again.
    let topic = s.text("topic").to_owned();
    let leader = partitions(&cluster, &topic)[&0].0.expect("a leader");
    // Followers learn the log start on their next fetch.
    let earliest = |cluster: &Cluster| -> Option<i64> {
        let out = std::process::Command::new("kcat")
            .args([
                "-b",
                &cluster.kafka_bootstrap(),
                "-Q",
                "-t",
                &format!("{topic}:0:-2"),
            ])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .last()?
            .parse()
            .ok()
    };
    assert_eq!(earliest(&cluster), Some(10), "the leader's log start");
    rill_testkit::wait_for(secs(20), "followers' log start checkpointed at 10", || {
        let ok = cluster
            .broker_ids()
            .into_iter()
            .filter(|b| *b != leader)
            .all(|b| {
                let file = cluster
                    .log_dir(b, &topic, 0)
                    .join("log-start-offset-checkpoint");
                std::fs::read_to_string(file)
                    .is_ok_and(|t| t.lines().last().map(str::trim) == Some("10"))
            });
        ok.then_some(())
    });
    cluster.broker(leader).kill9().expect("kill -9");
    let new_leader = rill_testkit::wait_for(secs(30), "a new leader", || {
        partitions(&cluster, &topic)[&0].0.filter(|l| *l != leader)
    });
    let after = rill_testkit::wait_for(secs(30), "earliest offset from the new leader", || {
        earliest(&cluster)
    });
    assert_eq!(
        after, 10,
        "broker {new_leader} serves records deleted before the failover"
    );
}
