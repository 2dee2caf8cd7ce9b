//! `rill server --roles controller,broker`: both roles in one process, as KRaft's
//! combined mode, for small deployments. The process is controller `--node-id` and
//! broker `--node-id`; the controller keeps its data in `<data dir>/controller` and the
//! broker in `<data dir>/broker`; each role listens on its own address. SIGTERM stops the
//! broker first (controlled shutdown, while its controller still serves), then the
//! controller.

use crate::http_listen::{self, HttpArgs, Roles};
use crate::kafka_listen::KafkaArgs;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;
use rill_broker::{BrokerConfig, BrokerNode};
use rill_controller::node::{ControllerNode, NodeConfig};
use rill_types::BrokerId;

use crate::controller_cmd::parse_voters;

/// Arguments of `rill server`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The roles to run: controller, broker, or both (controller,broker).
    #[arg(long, value_delimiter = ',', default_value = "controller,broker")]
    pub roles: Vec<String>,
    /// The node id (controller node id and broker id).
    #[arg(long, env = "RILL_NODE_ID")]
    pub node_id: u32,
    /// The data directory.
    #[arg(long, env = "RILL_DATA_DIR")]
    pub data_dir: PathBuf,
    /// The controller quorum: 1@host:port,2@host:port,...
    #[arg(long, env = "RILL_VOTERS")]
    pub voters: String,
    /// Where the controller listens (default: this node's voter address, all interfaces).
    #[arg(long, env = "RILL_CONTROLLER_LISTEN")]
    pub controller_listen: Option<String>,
    /// Where the broker listens (gRPC data and replication).
    #[arg(long, env = "RILL_BROKER_LISTEN", default_value = "0.0.0.0:9096")]
    pub broker_listen: String,
    /// The host clients and other brokers connect to (default: the listen host, or
    /// 127.0.0.1 when listening on all interfaces).
    #[arg(long, env = "RILL_ADVERTISED_HOST")]
    pub advertised_host: Option<String>,
    /// Set a broker tunable (KEY=VALUE; repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub settings: Vec<String>,
    /// The Kafka listener.
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// The HTTP endpoint (/metrics, /healthz, /readyz) for both roles.
    #[command(flatten)]
    pub http: HttpArgs,
}

impl ServerArgs {
    /// Runs the roles until SIGTERM / Ctrl-C.
    pub fn run(self) -> anyhow::Result<()> {
        let controller = self.roles.iter().any(|r| r == "controller");
        let broker = self.roles.iter().any(|r| r == "broker");
        if let Some(r) = self
            .roles
            .iter()
            .find(|r| *r != "controller" && *r != "broker")
        {
            bail!("unknown role {r:?}: the roles are controller and broker");
        }
        if !controller || !broker {
            bail!(
                "`rill server` runs both roles; for one role use `rill controller` or `rill broker`"
            );
        }
        let voters = parse_voters(&self.voters)?;
        let node_id = u64::from(self.node_id);
        let own = voters
            .get(&node_id)
            .with_context(|| format!("node {node_id} is not among the voters"))?
            .clone();
        let controller_listen = self
            .controller_listen
            .unwrap_or_else(|| format!("0.0.0.0:{}", own.rsplit(':').next().unwrap_or_default()));
        let (host, port) = self.broker_listen.rsplit_once(':').with_context(|| {
            format!("broker listen address {:?} has no port", self.broker_listen)
        })?;
        let port: u16 = port.parse().context("broker listen port")?;
        let advertised = self.advertised_host.unwrap_or_else(|| match host {
            "0.0.0.0" | "" | "[::]" => "127.0.0.1".to_owned(),
            h => h.to_owned(),
        });
        let controllers: Vec<String> = voters.values().cloned().collect();
        let node_config = NodeConfig::new(node_id, self.data_dir.join("controller"), voters);
        let id = i32::try_from(self.node_id).context("the node id is too large for a broker id")?;
        let mut broker_config = BrokerConfig::new(
            BrokerId::new(id),
            self.data_dir.join("broker"),
            advertised,
            port,
            controllers,
        );
        for s in &self.settings {
            let (k, v) = s
                .split_once('=')
                .with_context(|| format!("{s:?} is not of the form KEY=VALUE"))?;
            broker_config.set(k.trim(), v.trim())?;
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            let controller_listener = tokio::net::TcpListener::bind(&controller_listen)
                .await
                .with_context(|| format!("listening on {controller_listen}"))?;
            let broker_listener = tokio::net::TcpListener::bind(&self.broker_listen)
                .await
                .with_context(|| format!("listening on {}", self.broker_listen))?;
            let kafka = self.kafka.bind(None, None, &mut broker_config).await?;
            let roles = Roles::new(true, true);
            let http = self
                .http
                .serve(None, http_listen::BROKER_DEFAULT, roles.clone())
                .await?;
            let mut controller = ControllerNode::start(node_config, controller_listener).await?;
            roles.controller_started(controller.probe());
            let broker = tokio::select! {
                b = BrokerNode::start_with(broker_config, broker_listener, crate::group_service::routes) => b?,
                _ = term.recv() => { controller.shutdown().await; return Ok(()); }
                reason = controller.failed() => bail!(reason),
            };
            roles.broker_started(broker.probe());
            let kafka = kafka.map(|k| k.serve(&broker));
            let outcome = tokio::select! {
                _ = term.recv() => { tracing::info!("SIGTERM: stopping"); Ok(()) }
                _ = tokio::signal::ctrl_c() => { tracing::info!("interrupted: stopping"); Ok(()) }
                reason = controller.failed() => Err(anyhow::anyhow!(reason)),
            };
            roles.stopping();
            broker.shutdown().await;
            if let Some(k) = kafka {
                k.stop().await;
            }
            controller.shutdown().await;
            if let Some(h) = http {
                h.stop().await;
            }
            outcome
        })
    }
}
