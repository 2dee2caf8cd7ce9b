//! `rill broker`: run one broker.
//!
//! Settings come from, in order of precedence: flags, `RILL_*` environment variables, a
//! config file of `key=value` lines (`broker.id`, `data.dir`, `listen`,
//! `advertised.host`, `controller.quorum.bootstrap.servers`, `broker.rack`, and every
//! tunable of `BrokerConfig::KEYS`), and defaults. SIGTERM or Ctrl-C runs a controlled
//! shutdown: leaderships move away first, then the logs are closed cleanly.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;
use rill_broker::{BrokerConfig, BrokerNode};
use rill_types::BrokerId;

use crate::controller_cmd::read_config_file;
use crate::http_listen::{self, HttpArgs, Roles};
use crate::kafka_listen::KafkaArgs;

/// Arguments of `rill broker`.
#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// This broker's id (broker.id).
    #[arg(long, env = "RILL_BROKER_ID")]
    pub broker_id: Option<i32>,
    /// The data directory (one folder per partition replica).
    #[arg(long, env = "RILL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The address to listen on for gRPC (data and replication), e.g. 0.0.0.0:9094.
    #[arg(long, env = "RILL_LISTEN")]
    pub listen: Option<String>,
    /// The host other brokers and clients should connect to (default: the listen host,
    /// or 127.0.0.1 when listening on all interfaces).
    #[arg(long, env = "RILL_ADVERTISED_HOST")]
    pub advertised_host: Option<String>,
    /// The controllers: host:port,host:port,...
    #[arg(long, env = "RILL_CONTROLLERS")]
    pub controllers: Option<String>,
    /// The broker's rack.
    #[arg(long, env = "RILL_RACK")]
    pub rack: Option<String>,
    /// Reach broker ID at HOST:PORT for replication instead of its advertised address
    /// (ID=HOST:PORT; repeatable).
    #[arg(long = "peer-address", value_name = "ID=HOST:PORT")]
    pub peer_addresses: Vec<String>,
    /// Set a broker tunable (KEY=VALUE; repeatable), e.g. replica.lag.time.max.ms=10000.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub settings: Vec<String>,
    /// A config file of key=value lines.
    #[arg(long, env = "RILL_CONFIG")]
    pub config: Option<PathBuf>,
    /// The Kafka listener.
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// The HTTP endpoint (/metrics, /healthz, /readyz).
    #[command(flatten)]
    pub http: HttpArgs,
}

/// What `resolve` read: the broker's settings, the gRPC listen address, and the config
/// file's Kafka listener keys (flags win over them).
struct Resolved {
    config: BrokerConfig,
    listen: String,
    kafka_listen: Option<String>,
    kafka_advertised: Option<String>,
    http_listen: Option<String>,
}

const FILE_KEYS: &[&str] = &[
    "broker.id",
    "data.dir",
    "listen",
    "advertised.host",
    "controller.quorum.bootstrap.servers",
    "broker.rack",
    "kafka.listen",
    "kafka.advertised",
    "http.listen",
];

fn split_pair(text: &str) -> anyhow::Result<(&str, &str)> {
    text.split_once('=')
        .map(|(k, v)| (k.trim(), v.trim()))
        .with_context(|| format!("{text:?} is not of the form KEY=VALUE"))
}

impl BrokerArgs {
    fn resolve(&self) -> anyhow::Result<Resolved> {
        let mut file = match &self.config {
            Some(p) => read_config_file(p)?,
            None => Default::default(),
        };
        let mut take = |k: &str| file.remove(k);
        let broker_id = match self.broker_id {
            Some(id) => id,
            None => take("broker.id")
                .context("--broker-id (or broker.id) is required")?
                .parse()
                .context("broker.id")?,
        };
        if broker_id < 0 {
            bail!("broker.id must not be negative");
        }
        let data_dir = self
            .data_dir
            .clone()
            .or_else(|| take("data.dir").map(PathBuf::from))
            .context("--data-dir (or data.dir) is required")?;
        let listen = self
            .listen
            .clone()
            .or_else(|| take("listen"))
            .unwrap_or_else(|| "0.0.0.0:9094".to_owned());
        let controllers: Vec<String> = self
            .controllers
            .clone()
            .or_else(|| take("controller.quorum.bootstrap.servers"))
            .context("--controllers (or controller.quorum.bootstrap.servers) is required")?
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        if controllers.is_empty() {
            bail!("no controller address given");
        }
        let (listen_host, listen_port) = listen
            .rsplit_once(':')
            .with_context(|| format!("listen address {listen:?} has no port"))?;
        let port: u16 = listen_port.parse().context("listen port")?;
        let advertised_host = self
            .advertised_host
            .clone()
            .or_else(|| take("advertised.host"))
            .unwrap_or_else(|| match listen_host {
                "0.0.0.0" | "" | "[::]" => "127.0.0.1".to_owned(),
                h => h.to_owned(),
            });
        let rack = self.rack.clone().or_else(|| take("broker.rack"));
        let kafka_listen = take("kafka.listen");
        let kafka_advertised = take("kafka.advertised");
        let http_listen = take("http.listen");
        let mut config = BrokerConfig::new(
            BrokerId::new(broker_id),
            data_dir,
            advertised_host,
            port,
            controllers,
        );
        config.rack = rack;
        // What is left in the file must be tunables; flags win over the file.
        for (k, v) in &file {
            if FILE_KEYS.contains(&k.as_str()) {
                continue;
            }
            config.set(k, v).with_context(|| "in the config file")?;
        }
        for s in &self.settings {
            let (k, v) = split_pair(s)?;
            config.set(k, v)?;
        }
        for p in &self.peer_addresses {
            let (id, addr) = split_pair(p)?;
            let id: i32 = id.parse().with_context(|| format!("peer id in {p:?}"))?;
            config
                .peer_addresses
                .insert(BrokerId::new(id), addr.to_owned());
        }
        Ok(Resolved {
            config,
            listen,
            kafka_listen,
            kafka_advertised,
            http_listen,
        })
    }

    /// Runs the broker until SIGTERM / Ctrl-C.
    pub fn run(self) -> anyhow::Result<()> {
        let Resolved {
            mut config,
            listen,
            kafka_listen,
            kafka_advertised,
            http_listen,
        } = self.resolve()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            let kafka = self
                .kafka
                .bind(kafka_listen, kafka_advertised, &mut config)
                .await?;
            let roles = Roles::new(false, true);
            let http = self
                .http
                .serve(http_listen, http_listen::BROKER_DEFAULT, roles.clone())
                .await?;
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            let node = tokio::select! {
                n = BrokerNode::start_with(config, listener, crate::group_service::routes) => n?,
                _ = term.recv() => return Ok(()),
            };
            roles.broker_started(node.probe());
            let kafka = kafka.map(|k| k.serve(&node));
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM: controlled shutdown"),
                _ = tokio::signal::ctrl_c() => tracing::info!("interrupted: controlled shutdown"),
            }
            roles.stopping();
            node.shutdown().await;
            if let Some(k) = kafka {
                k.stop().await;
            }
            if let Some(h) = http {
                h.stop().await;
            }
            Ok(())
        })
    }
}
