//! `rill server --roles controller,broker`: both roles in one process, as KRaft's
//! combined mode, for small deployments. The process is controller `--node-id` and
//! broker `--node-id`; the controller keeps its data in `<data dir>/controller` and the
//! broker in `<data dir>/broker`; each role listens on its own address. SIGTERM stops the
//! broker first (controlled shutdown, while its controller still serves), then the
//! controller.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;
use rill_broker::BrokerNode;
use rill_controller::node::ControllerNode;

use crate::broker_cmd::broker_config;
use crate::controller_cmd::{default_listen, node_config};
use crate::http_listen::{self, Roles};
use crate::kafka_listen;
use crate::settings::{ServerKeys, SettingFlags};

/// Arguments of `rill server`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The roles to run: controller, broker, or both (controller,broker).
    #[arg(long, value_delimiter = ',', default_value = "controller,broker")]
    pub roles: Vec<String>,
    /// Every setting, `--config`, `--check-config` and `--set`.
    #[command(flatten)]
    pub settings: SettingFlags<ServerKeys>,
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
        let s = self.settings.resolve()?;
        let data_dir = PathBuf::from(s.value("data.dir"));
        let node_config = node_config(&s, data_dir.join("controller"))?;
        let controller_listen = match s.get("controller.listen") {
            Some(l) => l.to_owned(),
            None => default_listen(&node_config.voters, node_config.node_id)?,
        };
        let broker_listen = s.value("broker.listen").to_owned();
        let id =
            i32::try_from(node_config.node_id).context("node.id is too large for a broker id")?;
        let controllers: Vec<String> = node_config.voters.values().cloned().collect();
        let mut broker_config =
            broker_config(&s, id, data_dir.join("broker"), &broker_listen, controllers)?;
        if self.settings.check_only(&s) {
            return Ok(());
        }
        let kafka_listen = s.value("kafka.listen").to_owned();
        let kafka_advertised = s.get("kafka.advertised").map(str::to_owned);
        let http_listen = s.value("http.listen").to_owned();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            let controller_listener = tokio::net::TcpListener::bind(&controller_listen)
                .await
                .with_context(|| format!("listening on {controller_listen}"))?;
            let broker_listener = tokio::net::TcpListener::bind(&broker_listen)
                .await
                .with_context(|| format!("listening on {broker_listen}"))?;
            let kafka = kafka_listen::bind(
                &kafka_listen,
                kafka_advertised.as_deref(),
                &mut broker_config,
            )
            .await?;
            let roles = Roles::new(true, true);
            let http = http_listen::serve(&http_listen, roles.clone()).await?;
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
