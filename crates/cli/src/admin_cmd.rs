//! `rill topic ...` and `rill cluster describe`: admin calls to the controller quorum
//! over gRPC. Any controller address will do: the client follows NOT_CONTROLLER to the
//! active one. A refused item prints Kafka's error name and the reason, and the command
//! exits non-zero.

use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use rill_client::ControllerClient;
use rill_proto::controller::*;
use rill_proto::metadata::ConfigResourceType;

/// Where the controllers are.
#[derive(Debug, Args)]
pub struct Target {
    /// Controller addresses, comma-separated (any member of the quorum).
    #[arg(
        long,
        env = "RILL_CONTROLLERS",
        default_value = "127.0.0.1:9093",
        value_delimiter = ',',
        global = true
    )]
    pub controllers: Vec<String>,
    /// How long to look for the active controller.
    #[arg(long, default_value = "15", global = true)]
    pub timeout_secs: u64,
    /// Output: human-readable tables, or JSON for scripts.
    #[arg(long, value_enum, default_value = "human", global = true)]
    pub output: Output,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Lines for people.
    Human,
    /// One JSON document.
    Json,
}

impl Target {
    /// A client of the quorum.
    pub fn client(&self) -> anyhow::Result<ControllerClient> {
        Ok(ControllerClient::new(
            &self.controllers,
            Duration::from_secs(self.timeout_secs),
        )?)
    }
}

/// `rill topic`.
#[derive(Debug, Args)]
pub struct TopicArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: TopicCommand,
}

#[derive(Debug, Subcommand)]
enum TopicCommand {
    /// Create a topic.
    Create {
        /// The topic's name.
        name: String,
        /// Partitions (-1: the cluster default).
        #[arg(long, short, default_value_t = -1, allow_negative_numbers = true)]
        partitions: i32,
        /// Replication factor (-1: the cluster default).
        #[arg(long, short, default_value_t = -1, allow_negative_numbers = true)]
        replication_factor: i32,
        /// Topic configs, key=value (repeatable).
        #[arg(long = "config", short)]
        configs: Vec<String>,
    },
    /// Delete topics.
    Delete {
        /// The names.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// List topic names.
    List,
    /// Raise a topic's partition count to a new total.
    AddPartitions {
        /// The topic's name.
        name: String,
        /// The new total number of partitions.
        #[arg(long)]
        total: i32,
    },
    /// Change a topic's configs: set keys (key=value) and delete keys (back to the
    /// default); all or nothing.
    AlterConfig {
        /// The topic's name.
        name: String,
        /// key=value to set (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// A key to reset to its default (repeatable).
        #[arg(long = "delete", value_name = "KEY")]
        delete: Vec<String>,
    },
    /// Describe topics (all when none named).
    Describe {
        /// The names.
        names: Vec<String>,
    },
}

/// `rill cluster`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: ClusterCommand,
}

#[derive(Debug, Subcommand)]
enum ClusterCommand {
    /// Brokers and the controller quorum.
    Describe,
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

pub fn refused(e: &rill_proto::common::Error) -> String {
    format!("{} ({}): {}", e.name, e.code, e.message)
}

impl TopicArgs {
    /// Runs the subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        runtime()?.block_on(async move {
            let mut client = self.target.client()?;
            match self.command {
                TopicCommand::Create {
                    name,
                    partitions,
                    replication_factor,
                    configs,
                } => {
                    let configs = configs
                        .iter()
                        .map(|kv| {
                            kv.split_once('=')
                                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                                .with_context(|| format!("--config {kv:?} is not key=value"))
                        })
                        .collect::<anyhow::Result<_>>()?;
                    let request = CreateTopicsRequest {
                        topics: vec![CreatableTopic {
                            name,
                            partitions,
                            replication_factor,
                            configs,
                        }],
                        validate_only: false,
                    };
                    let r = client
                        .call(|mut c| {
                            let req = request.clone();
                            async move { c.create_topics(req).await }
                        })
                        .await?;
                    report(&r.topics, "created")
                }
                TopicCommand::Delete { names } => {
                    let request = DeleteTopicsRequest { names };
                    let r = client
                        .call(|mut c| {
                            let req = request.clone();
                            async move { c.delete_topics(req).await }
                        })
                        .await?;
                    report(&r.topics, "deleted")
                }
                TopicCommand::List => {
                    let r = client
                        .call(|mut c| async move {
                            c.describe_topics(DescribeTopicsRequest { names: vec![] })
                                .await
                        })
                        .await?;
                    if self.target.output == Output::Json {
                        let names: Vec<&str> = r.topics.iter().map(|t| t.name.as_str()).collect();
                        println!("{}", serde_json::json!(names));
                        return Ok(());
                    }
                    for t in r.topics {
                        println!("{}", t.name);
                    }
                    Ok(())
                }
                TopicCommand::AddPartitions { name, total } => {
                    let request = CreatePartitionsRequest {
                        topics: vec![CreatePartitionsTopic {
                            name,
                            total_count: total,
                        }],
                        validate_only: false,
                    };
                    let r = client
                        .call(|mut c| {
                            let req = request.clone();
                            async move { c.create_partitions(req).await }
                        })
                        .await?;
                    report(&r.topics, "added partitions to")
                }
                TopicCommand::AlterConfig { name, set, delete } => {
                    crate::config_cmd::alter(
                        &mut client,
                        ConfigResourceType::Topic,
                        name,
                        &set,
                        &delete,
                    )
                    .await
                }
                TopicCommand::Describe { names } => {
                    let request = DescribeTopicsRequest { names };
                    let r = client
                        .call(|mut c| {
                            let req = request.clone();
                            async move { c.describe_topics(req).await }
                        })
                        .await?;
                    if self.target.output == Output::Json {
                        println!("{}", topics_json(&r.topics));
                        if r.topics.iter().any(|t| t.error.is_some()) {
                            bail!("some topics could not be described");
                        }
                        return Ok(());
                    }
                    let mut failed = false;
                    for t in r.topics {
                        if let Some(e) = &t.error {
                            eprintln!("{}: {}", t.name, refused(e));
                            failed = true;
                            continue;
                        }
                        let id = t
                            .topic_id
                            .map(|i| {
                                rill_types::TopicId::try_from(i)
                                    .map(|i| i.to_string())
                                    .unwrap_or_default()
                            })
                            .unwrap_or_default();
                        println!(
                            "topic {} id {} partitions {}",
                            t.name,
                            id,
                            t.partitions.len()
                        );
                        for p in t.partitions {
                            let ids = |v: &[rill_proto::common::BrokerId]| {
                                v.iter()
                                    .map(|b| b.id.to_string())
                                    .collect::<Vec<_>>()
                                    .join(",")
                            };
                            println!(
                                "  partition {} leader {} leader_epoch {} replicas [{}] isr [{}]",
                                p.partition.map_or(-1, |i| i.index),
                                p.leader.map_or("none".to_owned(), |l| l.id.to_string()),
                                p.leader_epoch.map_or(0, |e| e.epoch),
                                ids(&p.replicas),
                                ids(&p.isr),
                            );
                        }
                    }
                    if failed {
                        bail!("some topics could not be described")
                    }
                    Ok(())
                }
            }
        })
    }
}

fn report(results: &[TopicResult], verb: &str) -> anyhow::Result<()> {
    let mut failed = 0;
    for t in results {
        match &t.error {
            None => println!("{verb} topic {}", t.name),
            Some(e) => {
                eprintln!("topic {}: {}", t.name, refused(e));
                failed += 1;
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} topics failed", results.len());
    }
    Ok(())
}

impl ClusterArgs {
    /// Runs the subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        runtime()?.block_on(async move {
            let mut client = self.target.client()?;
            let ClusterCommand::Describe = self.command;
            let r = client
                .call(|mut c| async move { c.describe_cluster(DescribeClusterRequest {}).await })
                .await?;
            if self.target.output == Output::Json {
                println!("{}", cluster_json(&r));
                return Ok(());
            }
            println!("cluster id {}", r.cluster_id);
            println!(
                "active controller {} (term {}), metadata offset {}",
                r.leader_id.map_or(0, |n| n.id),
                r.term,
                r.metadata_offset.map_or(0, |o| o.offset)
            );
            for v in r.voters {
                let lag = v.lag.map_or("?".to_owned(), |l| l.to_string());
                println!(
                    "  voter {} at {} lag {}",
                    v.node_id.map_or(0, |n| n.id),
                    v.address,
                    lag
                );
            }
            for b in r.brokers {
                let state = if b.in_controlled_shutdown {
                    "shutting down"
                } else if b.fenced {
                    "fenced"
                } else {
                    "active"
                };
                println!(
                    "  broker {} epoch {} {} rack {}",
                    b.broker_id.map_or(-1, |i| i.id),
                    b.broker_epoch,
                    state,
                    b.rack.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        })
    }
}

fn ids(v: &[rill_proto::common::BrokerId]) -> Vec<i32> {
    v.iter().map(|b| b.id).collect()
}

/// Topics as JSON: name, id, error, and partitions with leader, epochs, replicas, ISR.
fn topics_json(topics: &[TopicDescription]) -> serde_json::Value {
    let topics: Vec<serde_json::Value> = topics
        .iter()
        .map(|t| {
            let id = t
                .topic_id
                .clone()
                .and_then(|i| rill_types::TopicId::try_from(i).ok())
                .map(|i| i.to_string());
            serde_json::json!({
                "name": t.name,
                "id": id,
                "error": t.error.as_ref().map(|e| serde_json::json!({"code": e.code, "name": e.name, "message": e.message})),
                "partitions": t.partitions.iter().map(|p| serde_json::json!({
                    "partition": p.partition.map(|i| i.index),
                    "leader": p.leader.map(|l| l.id),
                    "leader_epoch": p.leader_epoch.map(|e| e.epoch),
                    "partition_epoch": p.partition_epoch.map(|e| e.epoch),
                    "replicas": ids(&p.replicas),
                    "isr": ids(&p.isr),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::Value::Array(topics)
}

/// The cluster as JSON: id, controller quorum (leader, term, voters with lag), brokers.
fn cluster_json(r: &DescribeClusterResponse) -> serde_json::Value {
    serde_json::json!({
        "cluster_id": r.cluster_id,
        "controller": {
            "leader": r.leader_id.map(|n| n.id),
            "term": r.term,
            "metadata_offset": r.metadata_offset.map(|o| o.offset),
            "voters": r.voters.iter().map(|v| serde_json::json!({
                "node_id": v.node_id.map(|n| n.id),
                "address": v.address,
                "lag": v.lag,
            })).collect::<Vec<_>>(),
        },
        "brokers": r.brokers.iter().map(|b| serde_json::json!({
            "broker_id": b.broker_id.map(|i| i.id),
            "epoch": b.broker_epoch,
            "fenced": b.fenced,
            "in_controlled_shutdown": b.in_controlled_shutdown,
            "rack": b.rack,
            "listeners": b.listeners.iter().map(|l| format!("{}://{}:{}", l.name, l.host, l.port)).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}
