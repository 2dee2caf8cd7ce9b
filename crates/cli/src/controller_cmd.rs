//! `rill controller`: run one member of the controller quorum.
//!
//! Settings come from, in order of precedence: flags, `RILL_*` environment variables,
//! a config file of `key=value` lines (Kafka's server.properties style: `node.id`,
//! `data.dir`, `listen`, `controller.quorum.voters`, `broker.session.timeout.ms`,
//! `cluster.id`, `metadata.snapshot.entries`), and defaults. SIGTERM or Ctrl-C stops the controller cleanly.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;
use rill_controller::node::{ControllerNode, NodeConfig};

use crate::http_listen::{self, HttpArgs, Roles};

/// Arguments of `rill controller`.
#[derive(Debug, Args)]
pub struct ControllerArgs {
    /// This controller's node id (one of the voters).
    #[arg(long, env = "RILL_NODE_ID")]
    pub node_id: Option<u64>,
    /// The data directory (Raft log, snapshot, cluster id).
    #[arg(long, env = "RILL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The address to listen on for RaftService and ControllerService, e.g. 0.0.0.0:9093.
    #[arg(long, env = "RILL_LISTEN")]
    pub listen: Option<String>,
    /// The quorum, like controller.quorum.voters: 1@host:port,2@host:port,3@host:port.
    #[arg(long, env = "RILL_VOTERS")]
    pub voters: Option<String>,
    /// A config file of key=value lines.
    #[arg(long, env = "RILL_CONFIG")]
    pub config: Option<PathBuf>,
    /// broker.session.timeout.ms: a broker without a heartbeat for this long is fenced.
    #[arg(long, env = "RILL_BROKER_SESSION_TIMEOUT_MS")]
    pub broker_session_timeout_ms: Option<u64>,
    /// Metadata log entries between snapshots (metadata.snapshot.entries; default 5000).
    #[arg(long, env = "RILL_METADATA_SNAPSHOT_ENTRIES")]
    pub metadata_snapshot_entries: Option<u64>,
    /// Refuse to start if the data directory belongs to another cluster id.
    #[arg(long, env = "RILL_CLUSTER_ID")]
    pub cluster_id: Option<String>,
    /// The HTTP endpoint (/metrics, /healthz, /readyz).
    #[command(flatten)]
    pub http: HttpArgs,
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

pub fn read_config_file(path: &PathBuf) -> anyhow::Result<BTreeMap<String, String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .with_context(|| format!("{}:{}: expected key=value", path.display(), n + 1))?;
        out.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(out)
}

impl ControllerArgs {
    /// The node's settings, its listen address and the config file's `http.listen`.
    fn resolve(self) -> anyhow::Result<(NodeConfig, String, Option<String>)> {
        let mut file = match &self.config {
            Some(p) => read_config_file(p)?,
            None => BTreeMap::new(),
        };
        let known = [
            "node.id",
            "data.dir",
            "listen",
            "controller.quorum.voters",
            "broker.session.timeout.ms",
            "cluster.id",
            "metadata.snapshot.entries",
            "http.listen",
        ];
        if let Some(k) = file.keys().find(|k| !known.contains(&k.as_str())) {
            bail!(
                "unknown key {k:?} in the config file (known: {})",
                known.join(", ")
            );
        }
        let mut take = |k: &str| file.remove(k);
        let node_id = match self.node_id {
            Some(id) => id,
            None => take("node.id")
                .context("--node-id (or node.id) is required")?
                .parse()
                .context("node.id")?,
        };
        let data_dir = self
            .data_dir
            .or_else(|| take("data.dir").map(PathBuf::from))
            .context("--data-dir (or data.dir) is required")?;
        let voters = self
            .voters
            .or_else(|| take("controller.quorum.voters"))
            .context("--voters (or controller.quorum.voters) is required")?;
        let voters = parse_voters(&voters)?;
        let listen = match self.listen.or_else(|| take("listen")) {
            Some(l) => l,
            None => {
                let own = voters
                    .get(&node_id)
                    .with_context(|| format!("node {node_id} is not among the voters"))?;
                let port = own.rsplit(':').next().unwrap_or_default();
                format!("0.0.0.0:{port}")
            }
        };
        let mut config = NodeConfig::new(node_id, data_dir, voters);
        if let Some(ms) = self.broker_session_timeout_ms {
            config.session_timeout_ms = ms;
        } else if let Some(ms) = take("broker.session.timeout.ms") {
            config.session_timeout_ms = ms.parse().context("broker.session.timeout.ms")?;
        }
        if let Some(n) = self.metadata_snapshot_entries {
            config.snapshot_every = n;
        } else if let Some(n) = take("metadata.snapshot.entries") {
            config.snapshot_every = n.parse().context("metadata.snapshot.entries")?;
        }
        if config.snapshot_every == 0 {
            bail!("metadata.snapshot.entries must be at least 1");
        }
        config.expected_cluster_id = self.cluster_id.or_else(|| take("cluster.id"));
        Ok((config, listen, take("http.listen")))
    }

    /// Runs the controller until SIGTERM / Ctrl-C or a fatal error.
    pub fn run(self) -> anyhow::Result<()> {
        let http = self.http.clone();
        let (config, listen, http_listen) = self.resolve()?;
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
            let http = http
                .serve(http_listen, http_listen::CONTROLLER_DEFAULT, roles.clone())
                .await?;
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
