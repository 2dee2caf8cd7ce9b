//! `rill dev` as a user runs it: it starts the processes, says when the cluster is
//! ready, stops everything on SIGTERM, and a second run reuses the same data and ports.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Runs `rill dev` until it prints that the cluster is ready, then SIGTERMs it and
/// returns its whole output and whether it exited 0.
fn run_once(dir: &std::path::Path, port_base: u16, kafka_base: u16) -> (String, bool) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rill"))
        .args([
            "dev",
            "--data-dir",
            &dir.display().to_string(),
            "--controllers",
            "1",
            "--brokers",
            "2",
            "--port-base",
            &port_base.to_string(),
            "--kafka-port-base",
            &kafka_base.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rill dev");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut out = String::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(90)) {
            Ok(line) => {
                out.push_str(&line);
                out.push('\n');
                if line.contains("the cluster is ready") {
                    break;
                }
            }
            Err(_) => {
                let _ = child.kill();
                let err = child
                    .wait_with_output()
                    .map(|o| o.stderr)
                    .unwrap_or_default();
                panic!(
                    "rill dev was not ready:\n{out}\n{}",
                    String::from_utf8_lossy(&err)
                );
            }
        }
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) {
        out.push_str(&line);
        out.push('\n');
    }
    (out, status.success())
}

/// A port `p` such that `p + step * i` is free for every `i` in `0..n`.
fn free_ports(n: u16, step: u16) -> u16 {
    for _ in 0..50 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        drop(l);
        if p < 60000
            && (1..n).all(|i| std::net::TcpListener::bind(("127.0.0.1", p + step * i)).is_ok())
        {
            return p;
        }
    }
    panic!("no {n} free ports {step} apart");
}

#[test]
fn dev_starts_a_cluster_stops_it_and_restarts_on_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let base = free_ports(3, 1);
    let kafka = loop {
        let k = free_ports(2, 100);
        if !(base..base + 3).contains(&k) && !(base..base + 3).contains(&(k + 100)) {
            break k;
        }
    };
    let (out, ok) = run_once(dir.path(), base, kafka);
    assert!(ok, "rill dev did not exit 0:\n{out}");
    assert!(
        out.contains("2/2 brokers ready") || out.contains("is ready"),
        "{out}"
    );
    assert!(out.contains(&format!("127.0.0.1:{base}")), "{out}");
    assert!(
        out.contains(&format!(
            "Kafka bootstrap:          127.0.0.1:{kafka},127.0.0.1:{}",
            kafka + 100
        )),
        "{out}"
    );
    assert!(out.contains("stopped"), "{out}");
    let ports = std::fs::read_to_string(dir.path().join("dev-ports")).unwrap();
    // The second run ignores --port-base: the ports are the data's.
    let (out, ok) = run_once(dir.path(), 1, 1);
    assert!(ok, "the second run did not exit 0:\n{out}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("dev-ports")).unwrap(),
        ports
    );
    assert!(dir.path().join("controller-1").join("cluster.id").exists());
}
