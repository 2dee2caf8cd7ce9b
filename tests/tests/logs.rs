//! `--log-format json` (here through `RILL_LOG_FORMAT=json`, as a container would set
//! it): every line a server writes is one JSON object, and every line about a partition
//! names its topic, partition and leader epoch — in the event's own fields or in the
//! span it was logged in (storage's recovery and retention lines name only a directory;
//! the broker's partition span adds the rest).

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use rill_testkit::{Cluster, ClusterSpec, wait_for};
use serde_json::{Map, Value};

/// Every field of an event: its own, then its spans' (innermost first wins nothing:
/// any holder of a name counts).
fn fields_of(event: &Map<String, Value>) -> Map<String, Value> {
    let mut all = Map::new();
    let mut add = |v: Option<&Value>| {
        if let Some(Value::Object(m)) = v {
            for (k, v) in m {
                all.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    };
    add(event.get("fields"));
    add(event.get("span"));
    if let Some(Value::Array(spans)) = event.get("spans") {
        for s in spans {
            add(Some(s));
        }
    }
    all
}

#[test]
fn json_logs_name_topic_partition_and_leader_epoch() {
    let spec = ClusterSpec::new()
        .nodes(1, 2)
        .quick_failover()
        .env("RILL_LOG_FORMAT", "json");
    let mut cluster = Cluster::start(spec).expect("cluster starts");
    cluster
        .create_topic("logged", 2, 2, &[])
        .expect("create topic");
    let mut kcat = Command::new("kcat")
        .args([
            "-b",
            &cluster.kafka_bootstrap(),
            "-P",
            "-t",
            "logged",
            "-X",
            "acks=all",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .expect("kcat is not installed: run scripts/setup.sh");
    kcat.stdin
        .take()
        .expect("stdin")
        .write_all(b"a\nb\nc\n")
        .expect("feed kcat");
    let status = wait_for(Duration::from_secs(30), "kcat to finish", || {
        kcat.try_wait().expect("kcat status")
    });
    assert!(status.success(), "kcat: {status}");
    // A restart: recovery, leadership moves and follower catch-up all log.
    cluster.broker(2).kill9().expect("kill broker 2");
    cluster.broker(2).restart().expect("restart broker 2");
    let log = cluster.broker(2).log_path().to_owned();
    wait_for(Duration::from_secs(30), "broker 2 to follow again", || {
        let text = std::fs::read_to_string(&log).ok()?;
        text.lines()
            .filter(|l| l.contains("became follower") || l.contains("became leader"))
            .nth(1)
            .map(|_| ())
    });

    let mut about_partitions = 0;
    for id in cluster.broker_ids() {
        let path = cluster.broker(id).log_path().to_owned();
        let text = std::fs::read_to_string(&path).expect("the broker's log");
        for line in text.lines().filter(|l| !l.starts_with("=====")) {
            let event: Map<String, Value> = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}: not a JSON object ({e}): {line}", path.display()));
            assert!(
                event.contains_key("level") && event.contains_key("fields"),
                "{line}"
            );
            let fields = fields_of(&event);
            if fields.contains_key("partition") {
                about_partitions += 1;
                for key in ["topic", "leader_epoch"] {
                    assert!(fields.contains_key(key), "no {key}: {line}");
                }
            }
        }
    }
    // Two partitions, two replicas each, led and followed at least once.
    assert!(
        about_partitions >= 4,
        "only {about_partitions} lines about partitions"
    );
}
