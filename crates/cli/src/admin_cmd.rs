//! `rill topic ...` and `rill cluster describe`: admin calls to the controller quorum
//! over gRPC. Any controller address will do: the client follows NOT_CONTROLLER to the
//! active one. A refused item prints Kafka's error name and the reason, and the command
//! exits non-zero.

use std::time::Duration;

use anyhow::bail;
use clap::{Args, Subcommand};
use rill_client::ControllerClient;
use rill_proto::controller::*;
use rill_proto::metadata::ConfigResourceType;

use crate::exit::usage;
use crate::output::{Output, Table, id_list, or_dash};

/// Where the controllers are.
#[derive(Debug, Args)]
pub struct Target {
    /// Controller addresses, comma-separated (any member of the quorum); default
    /// RILL_CONTROLLERS, else 127.0.0.1:9093.
    #[arg(
        long = "admin",
        visible_alias = "controllers",
        env = "RILL_ADMIN",
        value_delimiter = ',',
        global = true
    )]
    pub admin: Vec<String>,
    /// How long to look for the active controller.
    #[arg(long, default_value = "15", global = true)]
    pub timeout_secs: u64,
}

/// The controller addresses when neither --admin nor RILL_ADMIN gives any.
const DEFAULT_ADMIN: &str = "127.0.0.1:9093";

impl Target {
    /// The controller addresses: --admin / RILL_ADMIN, else RILL_CONTROLLERS (the
    /// older name), else the default.
    pub fn addresses(&self) -> Vec<String> {
        if !self.admin.is_empty() {
            return self.admin.clone();
        }
        let list = std::env::var("RILL_CONTROLLERS").unwrap_or_else(|_| DEFAULT_ADMIN.to_owned());
        list.split(',')
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .collect()
    }

    /// A client of the quorum, once some controller accepts connections (exit code 3
    /// otherwise, naming every address and what failed).
    pub async fn client(&self) -> anyhow::Result<ControllerClient> {
        let addrs = self.addresses();
        crate::exit::probe("controllers", &addrs).await?;
        Ok(ControllerClient::new(
            &addrs,
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
    pub fn run(self, output: Output) -> anyhow::Result<()> {
        runtime()?.block_on(async move {
            let mut client = self.target.client().await?;
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
                                .ok_or_else(|| usage(format!("--config {kv:?} is not key=value")))
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
                    report(output, &r.topics, "created")
                }
                TopicCommand::Delete { names } => {
                    let request = DeleteTopicsRequest { names };
                    let r = client
                        .call(|mut c| {
                            let req = request.clone();
                            async move { c.delete_topics(req).await }
                        })
                        .await?;
                    report(output, &r.topics, "deleted")
                }
                TopicCommand::List => {
                    let r = client
                        .call(|mut c| async move {
                            c.describe_topics(DescribeTopicsRequest { names: vec![] })
                                .await
                        })
                        .await?;
                    let names: Vec<&str> = r.topics.iter().map(|t| t.name.as_str()).collect();
                    output.print(|| serde_json::json!(names), || names.join("\n"));
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
                    report(output, &r.topics, "added partitions to")
                }
                TopicCommand::AlterConfig { name, set, delete } => {
                    crate::config_cmd::alter(
                        &mut client,
                        output,
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
                    output.print(|| topics_json(&r.topics), || topics_text(&r.topics));
                    let failed: Vec<String> = r
                        .topics
                        .iter()
                        .filter_map(|t| Some(format!("{}: {}", t.name, refused(t.error.as_ref()?))))
                        .collect();
                    if !failed.is_empty() {
                        bail!("{}", failed.join("; "));
                    }
                    Ok(())
                }
            }
        })
    }
}

/// Prints each topic's outcome; fails (exit code 1) naming every refusal.
fn report(output: Output, results: &[TopicResult], verb: &str) -> anyhow::Result<()> {
    output.print(
        || {
            serde_json::json!(results
                .iter()
                .map(|t| serde_json::json!({"name": t.name, "error": t.error.as_ref().map(error_json)}))
                .collect::<Vec<_>>())
        },
        || {
            results
                .iter()
                .filter(|t| t.error.is_none())
                .map(|t| format!("{verb} topic {}", t.name))
                .collect::<Vec<_>>()
                .join("\n")
        },
    );
    let failed: Vec<String> = results
        .iter()
        .filter_map(|t| Some(format!("topic {}: {}", t.name, refused(t.error.as_ref()?))))
        .collect();
    if !failed.is_empty() {
        bail!("{}", failed.join("; "));
    }
    Ok(())
}

/// A refusal as JSON: code, name, message.
pub fn error_json(e: &rill_proto::common::Error) -> serde_json::Value {
    serde_json::json!({"code": e.code, "name": e.name, "message": e.message})
}

impl ClusterArgs {
    /// Runs the subcommand.
    pub fn run(self, output: Output) -> anyhow::Result<()> {
        runtime()?.block_on(async move {
            let mut client = self.target.client().await?;
            let ClusterCommand::Describe = self.command;
            let r = client
                .call(|mut c| async move { c.describe_cluster(DescribeClusterRequest {}).await })
                .await?;
            output.print(|| cluster_json(&r), || cluster_text(&r));
            Ok(())
        })
    }
}

fn ids(v: &[rill_proto::common::BrokerId]) -> Vec<i32> {
    v.iter().map(|b| b.id).collect()
}

fn topic_id(t: &TopicDescription) -> Option<String> {
    t.topic_id
        .clone()
        .and_then(|i| rill_types::TopicId::try_from(i).ok())
        .map(|i| i.to_string())
}

/// Topics as JSON: name, id, error, and partitions with leader, epochs, replicas, ISR.
fn topics_json(topics: &[TopicDescription]) -> serde_json::Value {
    let topics: Vec<serde_json::Value> = topics
        .iter()
        .map(|t| {
            serde_json::json!({
                "name": t.name,
                "id": topic_id(t),
                "error": t.error.as_ref().map(error_json),
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

/// Topics as a table: one row per partition (topic ids are in the JSON).
fn topics_text(topics: &[TopicDescription]) -> String {
    let mut t = Table::new(&["TOPIC", "PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR"]);
    for topic in topics.iter().filter(|t| t.error.is_none()) {
        for p in &topic.partitions {
            t.row(vec![
                topic.name.clone(),
                or_dash(p.partition.map(|i| i.index)),
                or_dash(p.leader.map(|l| l.id)),
                or_dash(p.leader_epoch.map(|e| e.epoch)),
                id_list(&ids(&p.replicas)),
                id_list(&ids(&p.isr)),
            ]);
        }
    }
    t.render()
}

fn broker_state(b: &BrokerDescription) -> &'static str {
    if b.in_controlled_shutdown {
        "shutting-down"
    } else if b.fenced {
        "fenced"
    } else {
        "active"
    }
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
            "state": broker_state(b),
            "fenced": b.fenced,
            "in_controlled_shutdown": b.in_controlled_shutdown,
            "rack": b.rack,
            "listeners": b.listeners.iter().map(|l| format!("{}://{}:{}", l.name, l.host, l.port)).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// The cluster as text: a summary line, the voters, the brokers.
fn cluster_text(r: &DescribeClusterResponse) -> String {
    let leader = r.leader_id.map(|n| n.id);
    let mut out = format!(
        "cluster {}  active controller {}  term {}  metadata offset {}\n\n",
        r.cluster_id,
        or_dash(leader),
        r.term,
        or_dash(r.metadata_offset.map(|o| o.offset))
    );
    let mut voters = Table::new(&["VOTER", "ADDRESS", "ROLE", "LAG"]);
    for v in &r.voters {
        let id = v.node_id.map(|n| n.id);
        let role = if id.is_some() && id == leader {
            "leader"
        } else {
            "follower"
        };
        voters.row(vec![
            or_dash(id),
            v.address.clone(),
            role.to_owned(),
            or_dash(v.lag),
        ]);
    }
    out.push_str(&voters.render());
    out.push('\n');
    let mut brokers = Table::new(&["BROKER", "STATE", "EPOCH", "RACK", "LISTENERS"]);
    for b in &r.brokers {
        brokers.row(vec![
            or_dash(b.broker_id.map(|i| i.id)),
            broker_state(b).to_owned(),
            b.broker_epoch.to_string(),
            or_dash(b.rack.clone()),
            b.listeners
                .iter()
                .map(|l| format!("{}://{}:{}", l.name, l.host, l.port))
                .collect::<Vec<_>>()
                .join(","),
        ]);
    }
    out.push_str(&brokers.render());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rill_proto::common::{BrokerId, Endpoint, NodeId};

    fn cluster() -> DescribeClusterResponse {
        DescribeClusterResponse {
            cluster_id: "c1".into(),
            leader_id: Some(NodeId { id: 2 }),
            term: 4,
            voters: vec![
                VoterDescription {
                    node_id: Some(NodeId { id: 1 }),
                    address: "h:1".into(),
                    lag: Some(0),
                    matched_index: None,
                },
                VoterDescription {
                    node_id: Some(NodeId { id: 2 }),
                    address: "h:2".into(),
                    lag: None,
                    matched_index: None,
                },
            ],
            brokers: vec![BrokerDescription {
                broker_id: Some(BrokerId { id: 1 }),
                broker_epoch: 9,
                fenced: true,
                rack: Some("r1".into()),
                listeners: vec![Endpoint {
                    name: "RILL".into(),
                    host: "h".into(),
                    port: 3,
                }],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn the_cluster_prints_voters_and_brokers_as_tables() {
        let text = cluster_text(&cluster());
        assert!(
            text.starts_with("cluster c1  active controller 2  term 4"),
            "{text}"
        );
        assert!(text.contains("VOTER  ADDRESS  ROLE      LAG\n1      h:1      follower  0\n2      h:2      leader    -\n"), "{text}");
        assert!(
            text.contains(
                "BROKER  STATE   EPOCH  RACK  LISTENERS\n1       fenced  9      r1    RILL://h:3\n"
            ),
            "{text}"
        );
        let j = cluster_json(&cluster());
        assert_eq!(j["controller"]["leader"], 2);
        assert_eq!(j["controller"]["voters"][1]["lag"], serde_json::Value::Null);
        assert_eq!(j["brokers"][0]["state"], "fenced");
        assert_eq!(j["brokers"][0]["rack"], "r1");
    }
}
