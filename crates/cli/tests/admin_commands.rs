//! `rill topic`, `rill config`, `rill partition` and `rill cluster` against three
//! controller processes: what a user types,
//! what they see, and the exit codes.

mod support;

use std::process::Output;

use support::*;

/// Rows of the partition table `rill topic describe orders` printed.
fn partition_rows(out: &Output) -> usize {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("orders "))
        .count()
}

fn rill(q: &Quorum, args: &[&str]) -> Output {
    // Only one address given: the command must find the active controller itself.
    std::process::Command::new(env!("CARGO_BIN_EXE_rill"))
        .args(args)
        .args(["--controllers", &q.addrs[1]])
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_are_created_described_and_deleted_from_the_command_line() {
    let q = Quorum::start(3);
    let mut client = q.client();
    register_brokers(&mut client, 3).await;

    let out = rill(
        &q,
        &[
            "topic",
            "create",
            "orders",
            "-p",
            "3",
            "-r",
            "2",
            "--config",
            "retention.ms=60000",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("created topic orders"));

    let out = rill(&q, &["topic", "create", "orders", "-p", "3", "-r", "2"]);
    assert_eq!(out.status.code(), Some(1), "a refusal exits 1");
    assert!(
        text(&out).contains("TOPIC_ALREADY_EXISTS (36)"),
        "{}",
        text(&out)
    );

    let out = rill(&q, &["topic", "create", "wide", "-p", "1", "-r", "4"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("INVALID_REPLICATION_FACTOR (38)"),
        "{}",
        text(&out)
    );

    let out = rill(
        &q,
        &["topic", "create", "bad", "--config", "retention.ms=soon"],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("INVALID_CONFIG (40)"), "{}", text(&out));

    let out = rill(&q, &["topic", "describe", "orders"]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = text(&out);
    assert_eq!(partition_rows(&out), 3, "{shown}");

    let out = rill(&q, &["cluster", "describe"]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = text(&out);
    let voters = shown
        .lines()
        .filter(|l| l.contains(" leader ") || l.contains(" follower "))
        .count();
    assert_eq!(voters, 3, "{shown}");
    assert_eq!(
        shown.matches("  active  ").count(),
        3,
        "three active brokers: {shown}"
    );

    let out = rill(&q, &["topic", "list"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "orders");
    let out = rill(&q, &["topic", "list", "--output", "json"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), r#"["orders"]"#);
    let out = rill(&q, &["topic", "describe", "orders", "--output", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json[0]["name"], "orders");
    assert_eq!(json[0]["partitions"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        json[0]["partitions"][0]["isr"].as_array().map(Vec::len),
        Some(2)
    );
    let out = rill(&q, &["cluster", "describe", "--output", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        json["controller"]["voters"].as_array().map(Vec::len),
        Some(3)
    );
    assert_eq!(json["brokers"].as_array().map(Vec::len), Some(3));

    // Partitions are added, configs changed and read back, leaders elected.
    let out = rill(&q, &["topic", "add-partitions", "orders", "--total", "5"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = rill(&q, &["topic", "describe", "orders"]);
    assert_eq!(partition_rows(&out), 5, "{}", text(&out));
    let out = rill(&q, &["topic", "add-partitions", "orders", "--total", "2"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("INVALID_PARTITIONS (37)"),
        "{}",
        text(&out)
    );

    let out = rill(
        &q,
        &[
            "topic",
            "alter-config",
            "orders",
            "--set",
            "retention.ms=1000",
            "--delete",
            "cleanup.policy",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = rill(&q, &["config", "get", "--topic", "orders", "--only-set"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["KEY", "VALUE", "SOURCE"],
            vec!["retention.ms", "1000", "set"]
        ]
    );
    let out = rill(
        &q,
        &["config", "set", "--topic", "orders", "retention.ms=later"],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("INVALID_CONFIG (40)"), "{}", text(&out));
    let out = rill(&q, &["config", "get", "--topic", "orders"]);
    assert!(text(&out).contains("segment.bytes "), "{}", text(&out));
    assert!(text(&out).contains("  default\n"), "{}", text(&out));

    let out = rill(&q, &["partition", "elect-leaders", "orders:0"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("orders:0"), "{}", text(&out));
    let out = rill(&q, &["partition", "elect-leaders", "orders"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "not topic:partition: a usage error"
    );

    let out = rill(&q, &["topic", "delete", "orders"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = rill(&q, &["topic", "describe", "orders"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("UNKNOWN_TOPIC_OR_PARTITION (3)"),
        "{}",
        text(&out)
    );
}
