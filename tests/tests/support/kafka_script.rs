//! Running one `tests/kafka/*.py` script (a real Kafka client) against a cluster, and
//! reading its answer.
//!
//! The protocol (see `tests/kafka/common.py`): the script's stdout carries `PHASE <name>`
//! lines, `AWAIT <action> <json>` requests (the driver does the action, e.g. a kill -9,
//! and answers `DONE <json>` on the script's stdin), and last a one-line JSON summary.
//! Its stderr is diagnostics. Every line of both goes into the test's output as it
//! arrives. The run is bounded: past its deadline the script is killed and the test
//! fails.
//!
//! The clients live in `.venv/` and kcat on PATH, both installed by `scripts/setup.sh`;
//! when they are missing the test fails saying so (it never passes having run nothing).

use std::io::{BufRead as _, BufReader, Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rill_testkit::Cluster;

/// How long the script may take beyond its own `--timeout` before the driver kills it.
const GRACE: Duration = Duration::from_secs(20);

/// The repository's root (this crate is `tests/`).
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
}

/// The virtualenv's interpreter, once it is known to import every client.
fn python() -> PathBuf {
    let python = root().join(".venv/bin/python");
    let imports = Command::new(&python)
        .args(["-c", "import aiokafka, confluent_kafka, kafka"])
        .stdin(Stdio::null())
        .output();
    match imports {
        Ok(out) if out.status.success() => python,
        Ok(out) => panic!(
            "{} cannot import the Kafka clients ({}): run scripts/setup.sh",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!(
            "no Python Kafka clients ({}: {e}): run scripts/setup.sh",
            python.display()
        ),
    }
}

/// Fails the test unless kcat runs.
pub fn require_kcat() {
    let ok = Command::new("kcat")
        .arg("-V")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "kcat is not installed (or does not run): run scripts/setup.sh"
    );
}

/// The script's one-line JSON summary (an object).
#[derive(Debug, Clone)]
pub struct Summary(serde_json::Map<String, serde_json::Value>);

impl Summary {
    /// The integer at `key`; panics (showing the summary) when absent or not one.
    pub fn int(&self, key: &str) -> i64 {
        match self.0.get(key).and_then(serde_json::Value::as_i64) {
            Some(n) => n,
            None => panic!("summary {:?}: {key} is not an integer", self.0),
        }
    }

    /// The text at `key`; panics (showing the summary) when absent or not text.
    pub fn text(&self, key: &str) -> &str {
        match self.0.get(key).and_then(serde_json::Value::as_str) {
            Some(s) => s,
            None => panic!("summary {:?}: {key} is not text", self.0),
        }
    }
}

/// Parses a JSON object: the summaries and the AWAIT payloads the scripts print.
pub fn parse_flat(line: &str) -> Option<Summary> {
    match serde_json::from_str(line.trim()).ok()? {
        serde_json::Value::Object(map) => Some(Summary(map)),
        _ => None,
    }
}

/// Kills the script if the test panics while it runs.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

enum Line {
    Out(String),
    Err(String),
}

fn forward<R: Read + Send + 'static>(
    stream: R,
    tx: mpsc::Sender<Line>,
    wrap: fn(String) -> Line,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(wrap(line)).is_err() {
                break;
            }
        }
    })
}

/// Runs `tests/kafka/<script>` with `--bootstrap` (the cluster's Kafka addresses),
/// `--timeout <timeout>` and `args`; answers each `AWAIT action payload` with
/// `DONE <on_await(cluster, action, payload)>`. Fails the test unless the script exits 0
/// within `timeout` (plus a grace) with a summary saying `"ok": true`; returns it.
pub fn run(
    cluster: &mut Cluster,
    script: &str,
    args: &[&str],
    timeout: Duration,
    mut on_await: impl FnMut(&mut Cluster, &str, &Summary) -> String,
) -> Summary {
    let python = python();
    let path = root().join("tests/kafka").join(script);
    assert!(path.is_file(), "no script {}", path.display());
    let bootstrap = cluster.kafka_bootstrap();
    let started = Instant::now();
    let child = Command::new(&python)
        .arg("-B") // no __pycache__ in the source tree
        .arg("-u")
        .arg(&path)
        .args(["--bootstrap", &bootstrap])
        .args(["--timeout", &timeout.as_secs().to_string()])
        .args(args)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
    let mut guard = Guard(child);
    let (tx, rx) = mpsc::channel();
    let out = forward(guard.0.stdout.take().expect("piped"), tx.clone(), Line::Out);
    let err = forward(guard.0.stderr.take().expect("piped"), tx, Line::Err);
    let mut stdin = guard.0.stdin.take().expect("piped");
    let deadline = started + timeout + GRACE;
    let mut summary = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Line::Err(line)) => eprintln!("  {line}"),
            Ok(Line::Out(line)) => {
                eprintln!("  > {line}");
                if let Some(rest) = line.strip_prefix("AWAIT ") {
                    let (action, payload) = rest.split_once(' ').unwrap_or((rest, "{}"));
                    let payload = parse_flat(payload)
                        .unwrap_or_else(|| panic!("{script}: unreadable AWAIT line {line:?}"));
                    let answer = on_await(cluster, action, &payload);
                    eprintln!("  < DONE {answer}");
                    writeln!(stdin, "DONE {answer}")
                        .and_then(|()| stdin.flush())
                        .unwrap_or_else(|e| panic!("{script}: cannot answer {action}: {e}"));
                } else if line.starts_with('{') {
                    summary = Some(line);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("{script} still running after {:?}: killed", timeout + GRACE)
            }
        }
    }
    let _ = (out.join(), err.join());
    let status = loop {
        if let Some(status) = guard.0.try_wait().expect("wait for the script") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "{script} closed its output but did not exit"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    eprintln!("{script}: {status} after {:.1?}", started.elapsed());
    assert!(
        status.success(),
        "{script} failed ({status}); see its output above"
    );
    let line = summary.unwrap_or_else(|| panic!("{script} printed no JSON summary"));
    let summary = parse_flat(&line).unwrap_or_else(|| panic!("unreadable summary {line:?}"));
    assert_eq!(
        summary.0.get("ok"),
        Some(&serde_json::Value::Bool(true)),
        "{script}: {line}"
    );
    summary
}

/// [`run`] for a script that asks the driver for nothing.
pub fn run_plain(cluster: &mut Cluster, script: &str, args: &[&str], timeout: Duration) -> Summary {
    run(cluster, script, args, timeout, |_, action, _| {
        panic!("{script} asked for {action}, which this test does not do")
    })
}

#[test]
fn summaries_parse() {
    let s = parse_flat(r#"{"a": 1, "b": "x\"y", "c": true}"#).unwrap();
    assert_eq!(s.int("a"), 1);
    assert_eq!(s.text("b"), "x\"y");
    assert!(parse_flat("{}").is_some());
    assert!(parse_flat("[1]").is_none());
    assert!(parse_flat("not json").is_none());
}
