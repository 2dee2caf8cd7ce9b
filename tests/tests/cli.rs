//! The `rill` admin CLI against a real cluster (rill-testkit, 3 controllers and 3
//! brokers): `rill group` on a consumer group a real client (confluent-kafka, from
//! `.venv/`, installed by scripts/setup.sh) holds, `--output json` figures checked
//! exactly, and the exit codes scripts rely on (1 refused, 3 unreachable).

#[allow(dead_code)]
#[path = "support/kafka_script.rs"]
mod kafka_script;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use rill_client::{CommittedOffset, GroupAdmin};
use rill_testkit::{Cluster, ClusterSpec, rill_binary};
use rill_types::ErrorCode;
use serde_json::Value;

const TOPIC: &str = "cli-topic";
const GROUP: &str = "cli-group";

/// Runs `rill <args>` with the cluster's addresses (RILL_ADMIN, RILL_BOOTSTRAP).
fn rill(cluster: &Cluster, args: &[&str]) -> Output {
    let out = Command::new(rill_binary().expect("rill binary"))
        .args(args)
        .env("RILL_ADMIN", cluster.controller_addrs().join(","))
        .env("RILL_BOOTSTRAP", cluster.broker_addrs().join(","))
        .env_remove("RILL_OUTPUT")
        .output()
        .expect("run rill");
    eprintln!(
        "$ rill {}\n{}{}-> {:?}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        out.status.code()
    );
    out
}

/// `rill <args> --output json`, which must succeed; its document.
fn json(cluster: &Cluster, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    let out = rill(cluster, &all);
    assert_eq!(out.status.code(), Some(0), "rill {args:?} failed");
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// (committed, log end, lag) of each partition of the topic, by partition.
fn figures(described: &Value) -> Vec<(i64, Value, Value, Value)> {
    described["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .filter(|p| p["topic"] == TOPIC)
        .map(|p| {
            (
                p["partition"].as_i64().expect("index"),
                p["committed_offset"].clone(),
                p["log_end_offset"].clone(),
                p["lag"].clone(),
            )
        })
        .collect()
}

/// Commits `offset` for partition `p` of the topic through rill-client's GroupAdmin,
/// bypassing the CLI's own check: the refusal's code, if any.
async fn alter_offsets(brokers: Vec<String>, p: i32, offset: i64) -> Result<(), Option<ErrorCode>> {
    let admin = GroupAdmin::connect(&brokers, Duration::from_secs(10)).expect("group admin client");
    let committed = CommittedOffset {
        topic: TOPIC.to_owned(),
        partition: Some(rill_types::PartitionIndex::new(p).into()),
        offset: Some(rill_types::Offset::new(offset).into()),
        metadata: String::new(),
        commit_timestamp: -1,
    };
    admin
        .alter_offsets(GROUP, vec![committed])
        .await
        .map_err(|e| e.kafka_code())
}

fn committed(described: &Value) -> Vec<Value> {
    figures(described).into_iter().map(|f| f.1).collect()
}

#[test]
fn group_commands_follow_a_real_consumer_group_through_reset_and_delete() {
    let mut cluster = Cluster::start(ClusterSpec::new().nodes(3, 3)).expect("cluster starts");
    let out = rill(&cluster, &["topic", "create", TOPIC, "-p", "2", "-r", "3"]);
    assert_eq!(out.status.code(), Some(0));
    let out = rill(&cluster, &["topic", "create", TOPIC, "-p", "2", "-r", "3"]);
    assert_eq!(out.status.code(), Some(1), "an existing topic is a refusal");
    assert!(stderr(&out).contains("TOPIC_ALREADY_EXISTS"));

    let mut steps = Vec::new();
    let summary = kafka_script::run(
        &mut cluster,
        "cli_group.py",
        &["--topic", TOPIC, "--group", GROUP],
        Duration::from_secs(60),
        |cluster, action, _| match action {
            "live" => {
                steps.push("live");
                let listed = json(cluster, &["group", "list"]);
                let g = listed
                    .as_array()
                    .expect("a list")
                    .iter()
                    .find(|g| g["group"] == GROUP)
                    .unwrap_or_else(|| panic!("{GROUP} listed: {listed}"))
                    .clone();
                assert_eq!(g["state"], "Stable");
                assert_eq!(g["protocol_type"], "consumer");
                assert_eq!(g["members"], 1);
                let d = json(cluster, &["group", "describe", GROUP]);
                assert_eq!(d["members"].as_array().map(Vec::len), Some(1), "{d}");
                assert_eq!(d["members"][0]["client_id"], "cli-member-a");
                assert_eq!(d["members"][0]["host"], "/127.0.0.1", "{d}");
                assert_eq!(
                    d["members"][0]["assignment"].as_array().map(Vec::len),
                    Some(2)
                );
                assert_eq!(
                    figures(&d),
                    [
                        (0, 30.into(), 50.into(), 20.into()),
                        (1, 20.into(), 50.into(), 30.into())
                    ]
                );
                let human = rill(cluster, &["group", "describe", GROUP]);
                assert!(String::from_utf8_lossy(&human.stdout).contains("LAG"));
                // A live member: resets (even dry runs) and deletes are refused.
                for args in [
                    &[
                        "group",
                        "reset-offsets",
                        GROUP,
                        "--all-topics",
                        "--to-earliest",
                    ][..],
                    &[
                        "group",
                        "reset-offsets",
                        GROUP,
                        "--topic",
                        TOPIC,
                        "--to-earliest",
                        "--execute",
                    ],
                ] {
                    let out = rill(cluster, args);
                    assert_eq!(out.status.code(), Some(1));
                    assert!(stderr(&out).contains("live member"), "{}", stderr(&out));
                }
                let out = rill(cluster, &["group", "delete", GROUP]);
                assert_eq!(out.status.code(), Some(1));
                assert!(stderr(&out).contains("NON_EMPTY_GROUP"), "{}", stderr(&out));
                // The coordinator refuses the commit itself too (not only the CLI).
                let refused = cluster.block_on(alter_offsets(cluster.broker_addrs(), 0, 0));
                assert_eq!(refused, Err(Some(ErrorCode::NonEmptyGroup)));
                "{}".to_owned()
            }
            "left" => {
                steps.push("left");
                // The member has left (LeaveGroup): the group is Empty at once.
                let d = json(cluster, &["group", "describe", GROUP]);
                assert_eq!(d["state"], "Empty", "{d}");
                let reset = [
                    "group",
                    "reset-offsets",
                    GROUP,
                    "--topic",
                    TOPIC,
                    "--shift-by",
                    "-10",
                ];
                let plan = json(cluster, &reset);
                assert_eq!(plan["executed"], false);
                let planned: Vec<(Value, Value)> = plan["partitions"]
                    .as_array()
                    .expect("a plan")
                    .iter()
                    .map(|p| (p["current"].clone(), p["new"].clone()))
                    .collect();
                assert_eq!(planned, [(30.into(), 20.into()), (20.into(), 10.into())]);
                let d = json(cluster, &["group", "describe", GROUP]);
                assert_eq!(committed(&d), [30, 20], "a dry run commits nothing");
                let mut execute = reset.to_vec();
                execute.push("--execute");
                assert_eq!(json(cluster, &execute)["executed"], true);
                let d = json(cluster, &["group", "describe", GROUP]);
                assert_eq!(committed(&d), [20, 10]);
                // Clamped to the log: -1000 from 20 is the log start.
                let clamped = json(
                    cluster,
                    &[
                        "group",
                        "reset-offsets",
                        GROUP,
                        "--topic",
                        "cli-topic:0",
                        "--shift-by",
                        "-1000",
                    ],
                );
                assert_eq!(clamped["partitions"][0]["new"], 0);
                r#"{"p0": 20, "p1": 10}"#.to_owned()
            }
            other => panic!("cli_group.py asked for {other}"),
        },
    );
    assert_eq!(steps, ["live", "left"]);
    assert_eq!(
        summary.int("first_p0"),
        20,
        "the new member starts where reset"
    );
    assert_eq!(summary.int("first_p1"), 10);
    assert_eq!(summary.int("read"), 70);

    // Member B has left too: the group (and its offsets) can go.
    let deleted = json(&cluster, &["group", "delete", GROUP]);
    assert_eq!(deleted["deleted"], true);
    let out = rill(&cluster, &["group", "describe", GROUP]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("GROUP_ID_NOT_FOUND"),
        "{}",
        stderr(&out)
    );
    let listed = json(&cluster, &["group", "list"]);
    assert!(
        !listed
            .as_array()
            .expect("a list")
            .iter()
            .any(|g| g["group"] == GROUP),
        "{listed}"
    );
}

#[test]
fn an_unreachable_cluster_exits_3_naming_the_address() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = closed.local_addr().expect("address").to_string();
    drop(closed);
    // Built (if need be) before the clock starts.
    let binary = rill_binary().expect("rill binary");
    for args in [
        vec!["topic", "list", "--admin", &addr],
        vec!["cluster", "describe", "--controllers", &addr],
        vec!["group", "list", "--bootstrap", &addr],
    ] {
        let started = Instant::now();
        let out = Command::new(&binary)
            .args(&args)
            .env_remove("RILL_ADMIN")
            .env_remove("RILL_CONTROLLERS")
            .env_remove("RILL_BOOTSTRAP")
            .output()
            .expect("run rill");
        let took = started.elapsed();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(took < Duration::from_secs(5), "{args:?} took {took:?}");
        assert!(
            err.contains(&addr) && err.contains("connection refused"),
            "{args:?}: {err}"
        );
    }
}
