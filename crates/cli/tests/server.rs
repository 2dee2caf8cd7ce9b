//! `rill server` (combined mode): one process is a one-voter controller quorum and a
//! broker, configured from a file, a `RILL_*` variable and flags at once; topics,
//! produce and consume work against it, and SIGTERM stops it cleanly.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn rill(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rill"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn combined_mode_serves_topics_produce_and_consume() {
    let dir = tempfile::tempdir().unwrap();
    let (cport, bport, kport) = (free_port(), free_port(), free_port());
    let kafka = format!("127.0.0.1:{kport}");
    let controller = format!("127.0.0.1:{cport}");
    let bootstrap = format!("127.0.0.1:{bport}");
    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    // Every source of settings at once: the file, a RILL_* variable, flags and --set.
    let config = dir.path().join("server.properties");
    std::fs::write(
        &config,
        format!(
            "# the combined node of this test\ndata.dir={}\ncontroller.quorum.voters=1@{controller}\n\
             kafka.listen={kafka}\nhttp.listen=127.0.0.1:0\nreplica.lag.time.max.ms=20000\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_rill"))
        .args(["server", "--node-id", "1", "--config"])
        .arg(&config)
        .args(["--controller-listen", &controller])
        .args(["--set", "replica.lag.time.max.ms=10000"])
        .env("RILL_BROKER_LISTEN", &bootstrap)
        .stderr(log)
        .spawn()
        .unwrap();
    let logs = || std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = rill(&["cluster", "describe", "--controllers", &controller], "");
        // The brokers table has a row "1  active  <epoch> ...".
        let stdout = String::from_utf8_lossy(&out.stdout);
        if stdout
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["1", "active"]))
        {
            break;
        }
        assert!(Instant::now() < deadline, "not ready:\n{}", logs());
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = rill(
        &[
            "topic",
            "create",
            "one",
            "-p",
            "1",
            "-r",
            "1",
            "--controllers",
            &controller,
        ],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = rill(&["produce", "one", "--bootstrap", &bootstrap], "x\ny\n");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        logs()
    );
    let out = rill(&["consume", "one", "--bootstrap", &bootstrap], "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "x\ny\n");
    // The same records through the combined node's Kafka listener (kcat: scripts/setup.sh).
    let out = Command::new("kcat")
        .args(["-b", &kafka, "-C", "-t", "one", "-e", "-q", "-f", "%s\n"])
        .output()
        .expect("kcat (installed by scripts/setup.sh)");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "x\ny\n", "{}", logs());

    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    let status = server.wait().unwrap();
    assert!(status.success(), "exit {status}:\n{}", logs());
}
