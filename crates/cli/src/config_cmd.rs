//! `rill config get|set` (topic and broker configs) and `rill partition elect-leaders`:
//! admin calls to the controller quorum over gRPC. Refusals print Kafka's error name and
//! the reason, and the command exits non-zero.

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use rill_client::ControllerClient;
use rill_proto::controller::*;
use rill_proto::metadata::ConfigResourceType;

use crate::admin_cmd::{Target, refused, runtime};
use crate::exit::usage;
use crate::output::{Output, Table, or_dash};

/// `rill config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: ConfigCommand,
}

/// Which resource a config command is about.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct Resource {
    /// A topic's configs.
    #[arg(long)]
    topic: Option<String>,
    /// A broker's configs (its id), or the cluster-wide broker defaults with "".
    #[arg(long)]
    broker: Option<String>,
}

impl Resource {
    fn resolve(self) -> (ConfigResourceType, String) {
        match (self.topic, self.broker) {
            (Some(t), _) => (ConfigResourceType::Topic, t),
            (None, b) => (ConfigResourceType::Broker, b.unwrap_or_default()),
        }
    }
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Every declared key of a resource with its value in force.
    Get {
        #[command(flatten)]
        resource: Resource,
        /// Only keys set on the resource (not defaults).
        #[arg(long)]
        only_set: bool,
    },
    /// Set keys (key=value) and reset keys to their defaults; all or nothing.
    Set {
        #[command(flatten)]
        resource: Resource,
        /// key=value to set.
        #[arg(value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// A key to reset to its default (repeatable).
        #[arg(long = "delete", value_name = "KEY")]
        delete: Vec<String>,
    },
}

/// Applies `set` (key=value) and `delete` (keys) to one resource.
pub async fn alter(
    client: &mut ControllerClient,
    output: Output,
    resource_type: ConfigResourceType,
    name: String,
    set: &[String],
    delete: &[String],
) -> anyhow::Result<()> {
    if set.is_empty() && delete.is_empty() {
        return Err(usage(
            "nothing to change: give key=value pairs and/or --delete KEY",
        ));
    }
    let mut configs = Vec::new();
    for kv in set {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| usage(format!("{kv:?} is not key=value")))?;
        configs.push(AlterableConfig {
            key: k.trim().to_owned(),
            value: Some(v.trim().to_owned()),
        });
    }
    configs.extend(delete.iter().map(|k| AlterableConfig {
        key: k.clone(),
        value: None,
    }));
    let request = AlterConfigsRequest {
        resources: vec![AlterResourceConfigs {
            resource: Some(ConfigResourceRef {
                resource_type: resource_type as i32,
                name: name.clone(),
            }),
            configs,
        }],
        validate_only: false,
    };
    let r = client
        .call(|mut c| {
            let req = request.clone();
            async move { c.alter_configs(req).await }
        })
        .await?;
    for result in r.results {
        if let Some(e) = result.error {
            bail!("{}", refused(&e));
        }
    }
    output.print(
        || serde_json::json!({"resource": resource_json(resource_type, &name), "altered": true}),
        || format!("altered configs of {name:?}"),
    );
    Ok(())
}

impl ConfigArgs {
    /// Runs the subcommand.
    pub fn run(self, output: Output) -> anyhow::Result<()> {
        runtime()?.block_on(async move {
            let mut client = self.target.client().await?;
            match self.command {
                ConfigCommand::Get { resource, only_set } => {
                    let (resource_type, name) = resource.resolve();
                    let request = DescribeConfigsRequest {
                        resources: vec![ConfigResourceRef {
                            resource_type: resource_type as i32,
                            name: name.clone(),
                        }],
                    };
                    let r = client
                        .call(|mut c| {
                            let req = request.clone();
                            async move { c.describe_configs(req).await }
                        })
                        .await?;
                    let mut entries = Vec::new();
                    for res in r.resources {
                        if let Some(e) = res.error {
                            bail!("{}", refused(&e));
                        }
                        entries.extend(
                            res.entries
                                .into_iter()
                                .filter(|e| !(only_set && e.is_default)),
                        );
                    }
                    let source = |e: &ConfigEntry| if e.is_default { "default" } else { "set" };
                    output.print(
                        || {
                            serde_json::json!({
                                "resource": resource_json(resource_type, &name),
                                "configs": entries.iter().map(|e| serde_json::json!({
                                    "key": e.key, "value": e.value, "source": source(e),
                                })).collect::<Vec<_>>(),
                            })
                        },
                        || {
                            let mut t = Table::new(&["KEY", "VALUE", "SOURCE"]);
                            for e in &entries {
                                t.row(vec![e.key.clone(), e.value.clone(), source(e).to_owned()]);
                            }
                            t.render()
                        },
                    );
                    Ok(())
                }
                ConfigCommand::Set {
                    resource,
                    set,
                    delete,
                } => {
                    let (resource_type, name) = resource.resolve();
                    alter(&mut client, output, resource_type, name, &set, &delete).await
                }
            }
        })
    }
}

/// A config resource as JSON: {"type": "topic" | "broker", "name": ...}.
fn resource_json(resource_type: ConfigResourceType, name: &str) -> serde_json::Value {
    let kind = match resource_type {
        ConfigResourceType::Topic => "topic",
        _ => "broker",
    };
    serde_json::json!({"type": kind, "name": name})
}

/// `rill partition`.
#[derive(Debug, Args)]
pub struct PartitionArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: PartitionCommand,
}

/// Which election.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Election {
    /// Move leadership back to each partition's first replica.
    Preferred,
    /// Elect a replica outside the ISR where no leader is left (may lose records).
    Unclean,
}

#[derive(Debug, Subcommand)]
enum PartitionCommand {
    /// Elect leaders (all partitions when none named).
    ElectLeaders {
        /// Preferred or unclean.
        #[arg(long = "type", value_enum, default_value = "preferred")]
        election: Election,
        /// Partitions as topic:partition (repeatable).
        partitions: Vec<String>,
    },
}

impl PartitionArgs {
    /// Runs the subcommand.
    pub fn run(self, output: Output) -> anyhow::Result<()> {
        runtime()?.block_on(async move {
            let mut client = self.target.client().await?;
            let PartitionCommand::ElectLeaders {
                election,
                partitions,
            } = self.command;
            let partitions = partitions
                .iter()
                .map(|tp| {
                    let (t, p) = tp
                        .rsplit_once(':')
                        .ok_or_else(|| usage(format!("{tp:?} is not topic:partition")))?;
                    let p: i32 = p
                        .parse()
                        .map_err(|_| usage(format!("{tp:?}: the partition is not a number")))?;
                    Ok(TopicPartitionRef {
                        topic: t.to_owned(),
                        partition: Some(rill_types::PartitionIndex::new(p).into()),
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let request = ElectLeadersRequest {
                election_type: match election {
                    Election::Preferred => ElectionType::Preferred,
                    Election::Unclean => ElectionType::Unclean,
                } as i32,
                partitions,
            };
            let r = client
                .call(|mut c| {
                    let req = request.clone();
                    async move { c.elect_leaders(req).await }
                })
                .await?;
            let name = |res: &ElectionResult| {
                res.partition.as_ref().map_or("?".to_owned(), |p| {
                    format!("{}:{}", p.topic, p.partition.map_or(-1, |i| i.index))
                })
            };
            // Nothing to do is not a failure.
            let needless = |e: &rill_proto::common::Error| e.name == "ELECTION_NOT_NEEDED";
            let failed: Vec<String> = r
                .results
                .iter()
                .filter_map(|res| {
                    let e = res.error.as_ref().filter(|e| !needless(e))?;
                    Some(format!("{}: {}", name(res), refused(e)))
                })
                .collect();
            output.print(
                || {
                    serde_json::json!(r.results.iter().map(|res| serde_json::json!({
                        "partition": name(res),
                        "leader": res.leader.map(|b| b.id),
                        "error": res.error.as_ref().filter(|e| !needless(e)).map(crate::admin_cmd::error_json),
                    })).collect::<Vec<_>>())
                },
                || {
                    let mut t = Table::new(&["PARTITION", "LEADER", "RESULT"]);
                    for res in &r.results {
                        let result = match &res.error {
                            None => "elected".to_owned(),
                            Some(e) if needless(e) => "already preferred".to_owned(),
                            Some(e) => e.name.clone(),
                        };
                        t.row(vec![name(res), or_dash(res.leader.map(|b| b.id)), result]);
                    }
                    t.render()
                },
            );
            if !failed.is_empty() {
                bail!("{} of {} elections failed: {}", failed.len(), r.results.len(), failed.join("; "));
            }
            Ok(())
        })
    }
}
