//! Three `rill controller` processes on 127.0.0.1, and the calls the tests make.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rill_client::ControllerClient;
use rill_proto::controller::*;

/// A free port chosen by the OS (bound, then released for the child to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A quorum of controller processes.
pub struct Quorum {
    pub dir: tempfile::TempDir,
    /// A config file every controller reads (`--config`), if any.
    pub config: Option<PathBuf>,
    pub addrs: Vec<String>,
    pub children: Vec<Option<Child>>,
}

impl Quorum {
    pub fn start(n: usize) -> Quorum {
        Self::start_with_config(n, "")
    }

    /// Starts `n` controllers that also read `config` (key=value lines) from a file.
    pub fn start_with_config(n: usize, config: &str) -> Quorum {
        let dir = tempfile::tempdir().unwrap();
        let addrs = (0..n)
            .map(|_| format!("127.0.0.1:{}", free_port()))
            .collect();
        let config = (!config.is_empty()).then(|| {
            let path = dir.path().join("controller.properties");
            std::fs::write(&path, config).unwrap();
            path
        });
        let mut q = Quorum {
            dir,
            config,
            addrs,
            children: (0..n).map(|_| None).collect(),
        };
        for i in 0..n {
            q.spawn(i);
        }
        q
    }

    pub fn voters(&self) -> String {
        self.addrs
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{}@{a}", i + 1))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("c{}", i + 1))
    }

    pub fn spawn(&mut self, i: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("c{}.log", i + 1)))
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_rill"));
        command
            .args([
                "controller",
                "--node-id",
                &(i + 1).to_string(),
                "--listen",
                &self.addrs[i],
                "--voters",
                &self.voters(),
            ])
            .arg("--data-dir")
            .arg(self.data_dir(i))
            .args(["--broker-session-timeout-ms", "120000"])
            // Three controllers on one host: each HTTP endpoint on a port of its own.
            .args(["--http-listen", "127.0.0.1:0"]);
        if let Some(config) = &self.config {
            command.arg("--config").arg(config);
        }
        let child = command
            .env("RILL_LOG", "info,openraft=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.children[i] = Some(child);
    }

    /// kill -9.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGTERM, then wait (bounded) for a clean exit.
    pub fn stop(&mut self, i: usize) -> std::process::ExitStatus {
        let mut c = self.children[i].take().expect("running");
        let pid = c.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = c.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "controller {} did not stop on SIGTERM",
                i + 1
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn client(&self) -> ControllerClient {
        ControllerClient::new(&self.addrs, Duration::from_secs(30)).unwrap()
    }

    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("c{}.log", i + 1))).unwrap_or_default()
    }
}

impl Drop for Quorum {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for i in 0..self.children.len() {
                let log = self.log(i);
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                eprintln!("--- controller {} (last 40 lines) ---", i + 1);
                for line in tail.iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
        for i in 0..self.children.len() {
            self.kill(i);
        }
    }
}

pub async fn describe_cluster(client: &mut ControllerClient) -> DescribeClusterResponse {
    client
        .call(|mut c| async move { c.describe_cluster(DescribeClusterRequest {}).await })
        .await
        .unwrap()
}

/// Registers brokers 1..=n and unfences them (a heartbeat that has caught up).
pub async fn register_brokers(client: &mut ControllerClient, n: i32) {
    for id in 1..=n {
        let req = RegisterBrokerRequest {
            broker_id: Some(rill_proto::common::BrokerId { id }),
            incarnation_id: vec![id as u8; 16],
            listeners: vec![],
            rack: None,
        };
        let r = client
            .call(|mut c| {
                let req = req.clone();
                async move { c.register_broker(req).await }
            })
            .await
            .unwrap();
        assert!(r.error.is_none(), "{:?}", r.error);
        let hb = BrokerHeartbeatRequest {
            broker_id: Some(rill_proto::common::BrokerId { id }),
            broker_epoch: r.broker_epoch,
            applied_offset: Some(rill_proto::common::MetadataOffset {
                offset: r.broker_epoch as u64,
            }),
            want_shutdown: false,
        };
        let h = client
            .call(|mut c| async move { c.broker_heartbeat(hb).await })
            .await
            .unwrap();
        assert!(h.error.is_none() && !h.is_fenced, "{h:?}");
    }
}

pub async fn create_topics(
    client: &mut ControllerClient,
    names: &[String],
    partitions: i32,
    rf: i32,
) -> CreateTopicsResponse {
    let req = CreateTopicsRequest {
        topics: names
            .iter()
            .map(|n| CreatableTopic {
                name: n.clone(),
                partitions,
                replication_factor: rf,
                configs: Default::default(),
            })
            .collect(),
        validate_only: false,
    };
    client
        .call(|mut c| {
            let req = req.clone();
            async move { c.create_topics(req).await }
        })
        .await
        .unwrap()
}

/// Every topic with its partitions, by name.
pub async fn describe_all(client: &mut ControllerClient) -> Vec<TopicDescription> {
    client
        .call(|mut c| async move {
            c.describe_topics(DescribeTopicsRequest { names: vec![] })
                .await
        })
        .await
        .unwrap()
        .topics
}

pub async fn topic_names(client: &mut ControllerClient) -> Vec<String> {
    let r = client
        .call(|mut c| async move {
            c.describe_topics(DescribeTopicsRequest { names: vec![] })
                .await
        })
        .await
        .unwrap();
    r.topics.into_iter().map(|t| t.name).collect()
}

/// Polls `f` until it returns Some, or panics after `limit`.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the active controller reports voter `node` with no lag.
pub async fn wait_caught_up(client: &ControllerClient, node: u64, limit: Duration) {
    wait_for("the voter to catch up", limit, || {
        let mut client = client.clone();
        async move {
            let c = describe_cluster(&mut client).await;
            c.voters
                .iter()
                .find(|v| v.node_id.map(|n| n.id) == Some(node))
                .and_then(|v| v.lag)
                .filter(|l| *l == 0)
        }
    })
    .await;
}
