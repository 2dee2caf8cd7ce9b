//! `rill controller`: run one member of the controller quorum.
//!
//! Its settings are declared in `settings::keys::CONTROLLER` (flags, `RILL_*` variables,
//! config file keys and defaults all come from there; docs/configuration.md lists
//! them). SIGTERM or Ctrl-C stops the controller cleanly.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;
use rill_controller::node::{ControllerNode, NodeConfig};

use crate::http_listen::{self, Roles};
use crate::settings::{ControllerKeys, Effective, SettingFlags};

/// Arguments of `rill controller`.
#[derive(Debug, Args)]
pub struct ControllerArgs {
    /// Every setting, `--config`, `--check-config` and `--set`.
    #[command(flatten)]
    pub settings: SettingFlags<ControllerKeys>,
}

/// Parses "1@host:port,2@host:port".
pub fn parse_voters(text: &str) -> anyhow::Result<BTreeMap<u64, String>> {
    let mut voters = BTreeMap::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (id, addr) = item
            .split_once('@')
            .with_context(|| format!("voter {item:?} is not of the form id@host:port"))?;
        let id: u64 = id
            .parse()
            .with_context(|| format!("voter id {id:?} is not a number"))?;
        if !addr.contains(':') {
            bail!("voter {item:?} has no port");
        }
        if voters.insert(id, addr.to_owned()).is_some() {
            bail!("voter id {id} appears twice");
        }
    }
    if voters.is_empty() {
        bail!("no voters given");
    }
    Ok(voters)
}

/// The listen address a node takes by default: all interfaces, with the port of its
/// own voter address.
pub fn default_listen(voters: &BTreeMap<u64, String>, node_id: u64) -> anyhow::Result<String> {
    let own = voters
        .get(&node_id)
        .with_context(|| format!("node.id {node_id} is not among the controller.quorum.voters"))?;
    let port = own.rsplit(':').next().unwrap_or_default();
    Ok(format!("0.0.0.0:{port}"))
}

/// The controller's node settings from checked settings (shared with `rill server`,
/// whose controller role has the same keys).
pub fn node_config(s: &Effective, data_dir: PathBuf) -> anyhow::Result<NodeConfig> {
    let node_id: u64 = s.parsed("node.id");
    let voters = parse_voters(s.value("controller.quorum.voters"))?;
    if !voters.contains_key(&node_id) {
        bail!("node.id {node_id} is not among the controller.quorum.voters");
    }
    let mut config = NodeConfig::new(node_id, data_dir, voters);
    config.session_timeout_ms = s.parsed("broker.session.timeout.ms");
    config.snapshot_every = s.parsed("metadata.snapshot.entries");
    config.expected_cluster_id = s.get("cluster.id").map(str::to_owned);
    Ok(config)
}

impl ControllerArgs {
    /// The node's settings, its listen address and the HTTP address.
    fn resolve(&self) -> anyhow::Result<Option<(NodeConfig, String, String)>> {
        let s = self.settings.resolve()?;
        let config = node_config(&s, PathBuf::from(s.value("data.dir")))?;
        let listen = match s.get("listen") {
            Some(l) => l.to_owned(),
            None => default_listen(&config.voters, config.node_id)?,
        };
        if self.settings.check_only(&s) {
            return Ok(None);
        }
        Ok(Some((config, listen, s.value("http.listen").to_owned())))
    }

    /// Runs the controller until SIGTERM / Ctrl-C or a fatal error.
    pub fn run(self) -> anyhow::Result<()> {
        let Some((config, listen, http_addr)) = self.resolve()? else {
            return Ok(());
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            // The handler is installed first, so a SIGTERM during start-up is not fatal.
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            let roles = Roles::new(true, false);
            let http = http_listen::serve(&http_addr, roles.clone()).await?;
            let mut node = ControllerNode::start(config, listener).await?;
            roles.controller_started(node.probe());
            let outcome = tokio::select! {
                _ = term.recv() => { tracing::info!("SIGTERM: stopping"); Ok(()) }
                _ = tokio::signal::ctrl_c() => { tracing::info!("interrupted: stopping"); Ok(()) }
                reason = node.failed() => Err(anyhow::anyhow!(reason)),
            };
            roles.stopping();
            node.shutdown().await;
            if let Some(h) = http {
                h.stop().await;
            }
            outcome
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voters_parse_like_controller_quorum_voters() {
        let v = parse_voters("1@a:1, 2@b:2,3@c:3").unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[&2], "b:2");
        for bad in ["", "x@a:1", "1@a", "1@a:1,1@b:2", "1:a:1"] {
            assert!(parse_voters(bad).is_err(), "{bad:?}");
        }
    }
}
