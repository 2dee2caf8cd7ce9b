//! `rill produce` and `rill consume` against a real cluster (1 controller, 1 broker, as
//! processes via rill-testkit): keyed lines in, the same records out, as text and JSON;
//! an unknown topic or an unreachable broker is a clear error and a non-zero exit.

use std::io::Write as _;
use std::process::{Command, Stdio};

use rill_testkit::{Cluster, ClusterSpec};

fn rill(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rill"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rill");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

#[test]
fn produce_then_consume_round_trips_keyed_lines() {
    let cluster = Cluster::start(ClusterSpec::new().nodes(1, 1)).expect("cluster");
    let controllers = cluster.controller_addrs()[0].clone();
    let bootstrap = cluster.broker_addr(1);
    let out = rill(
        &[
            "topic",
            "create",
            "lines",
            "--partitions",
            "1",
            "--replication-factor",
            "1",
            "--controllers",
            &controllers,
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let lines = "a:one\nb:two\nno separator here\n";
    // The partition leader may take a moment to appear: produce retries until it does.
    let out = rill(
        &[
            "produce",
            "lines",
            "--key-separator",
            ":",
            "--bootstrap",
            &bootstrap,
        ],
        Some(lines),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("produced 3 records"), "{stderr}");

    let out = rill(
        &[
            "consume",
            "lines",
            "--key-separator",
            "=",
            "--bootstrap",
            &bootstrap,
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "a=one\nb=two\n=no separator here\n"
    );
    let out = rill(
        &[
            "consume",
            "lines",
            "--json",
            "--offset",
            "1",
            "--max",
            "1",
            "--bootstrap",
            &bootstrap,
        ],
        None,
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(json["offset"], 1);
    assert_eq!(json["key"], "b");
    assert_eq!(json["value"], "two");

    // --from-timestamp takes an RFC 3339 date-time or milliseconds: every record was
    // written after 2000 and before 2999.
    for (from, expect) in [
        ("2000-01-01T00:00:00Z", "one\ntwo\nno separator here\n"),
        ("946684800000", "one\ntwo\nno separator here\n"),
        ("2999-01-01T00:00:00+02:00", ""),
    ] {
        let out = rill(
            &[
                "consume",
                "lines",
                "--from-timestamp",
                from,
                "--bootstrap",
                &bootstrap,
            ],
            None,
        );
        assert!(
            out.status.success(),
            "{from}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), expect, "{from}");
    }
    let out = rill(
        &[
            "consume",
            "lines",
            "--from-timestamp",
            "yesterday",
            "--bootstrap",
            &bootstrap,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "a bad time is a usage error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("yesterday") && stderr.contains("RFC 3339"),
        "{stderr}"
    );

    let out = rill(
        &[
            "produce",
            "nope",
            "--timeout-secs",
            "3",
            "--bootstrap",
            &bootstrap,
        ],
        Some("x\n"),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("nope") && stderr.contains("UNKNOWN_TOPIC_OR_PARTITION"),
        "{stderr}"
    );
}
