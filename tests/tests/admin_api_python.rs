//! The gRPC admin API from a client we did not write: `tests/python/admin_api.py` uses
//! Google's grpcio and grpcio-reflection, with no stubs generated from our .proto files,
//! against a testkit cluster (3 controllers, 2 brokers). It discovers the services by
//! reflection (v1alpha through the library, v1 by hand), creates a topic on the active
//! controller, lists and describes it, and describes the cluster; this test checks its
//! JSON summary against what the cluster holds. Needs `scripts/setup.sh` to have run
//! (grpcio in .venv/); fails, never skips, without it.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rill_testkit::{Cluster, ClusterSpec};
use serde_json::Value;

/// The script's own budget; the driver allows a little more before killing it.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(25);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
}

fn python() -> PathBuf {
    let python = root().join(".venv/bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import grpc, grpc_reflection, google.protobuf"])
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{} cannot import grpcio and grpcio-reflection: run scripts/setup.sh",
        python.display()
    );
    python
}

/// Runs the script to completion (bounded) and returns its last stdout line as JSON.
fn run_script(cluster: &Cluster) -> Value {
    let python = python();
    let started = Instant::now();
    let mut child = Command::new(&python)
        .arg("-B")
        .arg(root().join("tests/python/admin_api.py"))
        .args(["--controllers", &cluster.controller_addrs().join(",")])
        .args(["--broker", &cluster.broker_addr(1)])
        .args(["--timeout", &SCRIPT_TIMEOUT.as_secs().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the Python script");
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = started + SCRIPT_TIMEOUT + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the script") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("admin_api.py still running after {deadline:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    eprintln!(
        "admin_api.py: {status} after {:.1?}\n{err}",
        started.elapsed()
    );
    assert!(status.success(), "admin_api.py failed:\n{err}\n{out}");
    let last = out.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("summary {last:?}: {e}"))
}

fn names(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().expect("a string"))
        .collect()
}

#[test]
fn grpcio_discovers_the_admin_api_by_reflection_and_calls_it() {
    let cluster = Cluster::start(ClusterSpec::new().nodes(3, 2)).expect("cluster starts");
    let s = run_script(&cluster);
    assert_eq!(s["ok"], true, "{s}");

    let reflection = [
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ];
    for (key, served) in [
        (
            "controller_services",
            rill_proto::reflection::CONTROLLER_SERVICES,
        ),
        (
            "controller_services_v1",
            rill_proto::reflection::CONTROLLER_SERVICES,
        ),
        ("broker_services", rill_proto::reflection::BROKER_SERVICES),
        (
            "broker_services_v1",
            rill_proto::reflection::BROKER_SERVICES,
        ),
    ] {
        let mut want: Vec<&str> = served.iter().chain(&reflection).copied().collect();
        want.sort_unstable();
        assert_eq!(names(&s[key]), want, "{key}");
    }
    assert!(names(&s["creatable_topic_fields"]).contains(&"replication_factor"));

    assert_eq!(s["created"], "py-admin");
    assert_eq!(s["create_error"], Value::Null, "{s}");
    assert_eq!(s["refused_error"]["name"], "INVALID_CONFIG", "{s}");
    assert!(
        s["refused_error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("retention.ms")),
        "{s}"
    );
    assert_eq!(names(&s["listed"]), ["py-admin"]);
    assert_eq!(s["partitions"], 3);
    assert_eq!(s["replicas_per_partition"], serde_json::json!([2]));

    // What the script saw is what the cluster holds.
    let described = cluster.describe_cluster().expect("describe cluster");
    assert_eq!(s["cluster_id"], described.cluster_id.as_str());
    assert_eq!(s["voters"], 3);
    assert_eq!(s["brokers"], serde_json::json!([1, 2]));
    let topic = cluster.describe_topic("py-admin").expect("describe topic");
    assert_eq!(topic.partitions.len(), 3);
}
