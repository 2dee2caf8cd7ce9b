//! `rill config get|set` (topic and broker configs) and `rill partition elect-leaders`:
//! admin calls to the controller quorum over gRPC. Refusals print Kafka's error name and
//! the reason, and the command exits non-zero.

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use rill_client::ControllerClient;
use rill_proto::controller::*;
use rill_proto::metadata::ConfigResourceType;

use crate::admin_cmd::{Target, refused, runtime};

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
    resource_type: ConfigResourceType,
    name: String,
    set: &[String],
    delete: &[String],
) -> anyhow::Result<()> {
    if set.is_empty() && delete.is_empty() {
        bail!("nothing to change: give key=value pairs and/or --delete KEY");
    }
    let mut configs = Vec::new();
    for kv in set {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("{kv:?} is not key=value"))?;
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
    println!("altered configs of {name:?}");
    Ok(())
}

impl ConfigArgs {
    /// Runs the subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        runtime()?.block_on(async move {
            let mut client = self.target.client()?;
            match self.command {
                ConfigCommand::Get { resource, only_set } => {
                    let (resource_type, name) = resource.resolve();
                    let request = DescribeConfigsRequest {
                        resources: vec![ConfigResourceRef {
                            resource_type: resource_type as i32,
                            name,
                        }],
                    };
                    let r = client
                        .call(|mut c| {
                            let req = request.clone();
                            async move { c.describe_configs(req).await }
                        })
                        .await?;
                    for res in r.resources {
                        if let Some(e) = res.error {
                            bail!("{}", refused(&e));
                        }
                        for e in res.entries {
                            if only_set && e.is_default {
                                continue;
                            }
                            let source = if e.is_default { "default" } else { "set" };
                            println!("{}={} ({source})", e.key, e.value);
                        }
                    }
                    Ok(())
                }
                ConfigCommand::Set {
                    resource,
                    set,
                    delete,
                } => {
                    let (resource_type, name) = resource.resolve();
                    alter(&mut client, resource_type, name, &set, &delete).await
                }
            }
        })
    }
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
    pub fn run(self) -> anyhow::Result<()> {
        runtime()?.block_on(async move {
            let mut client = self.target.client()?;
            let PartitionCommand::ElectLeaders {
                election,
                partitions,
            } = self.command;
            let partitions = partitions
                .iter()
                .map(|tp| {
                    let (t, p) = tp
                        .rsplit_once(':')
                        .with_context(|| format!("{tp:?} is not topic:partition"))?;
                    let p: i32 = p.parse().with_context(|| format!("partition in {tp:?}"))?;
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
            let mut failed = 0;
            for res in &r.results {
                let name = res.partition.as_ref().map_or("?".to_owned(), |p| {
                    format!("{}:{}", p.topic, p.partition.map_or(-1, |i| i.index))
                });
                match &res.error {
                    // Nothing to do is not a failure.
                    Some(e) if e.name == "ELECTION_NOT_NEEDED" => {
                        println!("{name}: leader already preferred")
                    }
                    Some(e) => {
                        eprintln!("{name}: {}", refused(e));
                        failed += 1;
                    }
                    None => println!(
                        "{name}: leader {}",
                        res.leader.map_or("none".to_owned(), |b| b.id.to_string())
                    ),
                }
            }
            if failed > 0 {
                bail!("{failed} of {} elections failed", r.results.len());
            }
            Ok(())
        })
    }
}
