//! `rill broker`: run one broker.
//!
//! Its settings are declared in `settings::keys::BROKER` plus the broker tunables of
//! `BrokerConfig::KEYS` (flags, `RILL_*` variables, config file keys and defaults all
//! come from there; docs/configuration.md lists them). SIGTERM or Ctrl-C runs a
//! controlled shutdown: leaderships move away first, then the logs are closed cleanly.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use rill_broker::{BrokerConfig, BrokerNode};
use rill_types::BrokerId;

use crate::http_listen::{self, Roles};
use crate::kafka_listen;
use crate::settings::{BrokerKeys, Effective, SettingFlags};

/// Arguments of `rill broker`.
#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// Every setting, `--config`, `--check-config` and `--set`.
    #[command(flatten)]
    pub settings: SettingFlags<BrokerKeys>,
    /// Reach broker ID at HOST:PORT for replication instead of its advertised address
    /// (ID=HOST:PORT; repeatable; a test hook, not a setting).
    #[arg(long = "peer-address", value_name = "ID=HOST:PORT")]
    pub peer_addresses: Vec<String>,
}

/// What `resolve` read: the broker's settings, the gRPC listen address, and the Kafka
/// and HTTP listener settings.
struct Resolved {
    config: BrokerConfig,
    listen: String,
    kafka_listen: String,
    kafka_advertised: Option<String>,
    http_listen: String,
}

/// The host advertised when `advertised.host` is not set: the listen host, or
/// 127.0.0.1 for a wildcard.
pub fn default_advertised_host(listen_host: &str) -> String {
    match listen_host {
        "0.0.0.0" | "" | "[::]" => "127.0.0.1".to_owned(),
        h => h.to_owned(),
    }
}

/// The broker's settings from checked settings: `listen` is the gRPC address (its key
/// differs between `rill broker` and `rill server`), `controllers` the quorum.
pub fn broker_config(
    s: &Effective,
    broker_id: i32,
    data_dir: PathBuf,
    listen: &str,
    controllers: Vec<String>,
) -> anyhow::Result<BrokerConfig> {
    let (listen_host, listen_port) = listen.rsplit_once(':').expect("checked as HOST:PORT");
    let port: u16 = listen_port.parse().expect("checked as a u16");
    let advertised_host = s
        .get("advertised.host")
        .map_or_else(|| default_advertised_host(listen_host), str::to_owned);
    let mut config = BrokerConfig::new(
        BrokerId::new(broker_id),
        data_dir,
        advertised_host,
        port,
        controllers,
    );
    config.rack = s.get("broker.rack").map(str::to_owned);
    for (k, v) in s.tunables() {
        config.set(k, v)?;
    }
    kafka_listen::check_advertised(s.value("kafka.listen"), s.get("kafka.advertised"))?;
    Ok(config)
}

fn split_pair(text: &str) -> anyhow::Result<(&str, &str)> {
    text.split_once('=')
        .map(|(k, v)| (k.trim(), v.trim()))
        .with_context(|| format!("{text:?} is not of the form KEY=VALUE"))
}

impl BrokerArgs {
    fn resolve(&self) -> anyhow::Result<Option<Resolved>> {
        let s = self.settings.resolve()?;
        let listen = s.value("listen").to_owned();
        let controllers: Vec<String> = s
            .value("controller.quorum.bootstrap.servers")
            .split(',')
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .collect();
        let mut config = broker_config(
            &s,
            s.parsed("broker.id"),
            PathBuf::from(s.value("data.dir")),
            &listen,
            controllers,
        )?;
        for p in &self.peer_addresses {
            let (id, addr) = split_pair(p)?;
            let id: i32 = id.parse().with_context(|| format!("peer id in {p:?}"))?;
            config
                .peer_addresses
                .insert(BrokerId::new(id), addr.to_owned());
        }
        if self.settings.check_only(&s) {
            return Ok(None);
        }
        Ok(Some(Resolved {
            config,
            listen,
            kafka_listen: s.value("kafka.listen").to_owned(),
            kafka_advertised: s.get("kafka.advertised").map(str::to_owned),
            http_listen: s.value("http.listen").to_owned(),
        }))
    }

    /// Runs the broker until SIGTERM / Ctrl-C.
    pub fn run(self) -> anyhow::Result<()> {
        let Some(Resolved {
            mut config,
            listen,
            kafka_listen,
            kafka_advertised,
            http_listen,
        }) = self.resolve()?
        else {
            return Ok(());
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            let kafka =
                kafka_listen::bind(&kafka_listen, kafka_advertised.as_deref(), &mut config).await?;
            let roles = Roles::new(false, true);
            let http = http_listen::serve(&http_listen, roles.clone()).await?;
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
