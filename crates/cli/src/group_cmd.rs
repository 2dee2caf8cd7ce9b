//! `rill group list|describe|reset-offsets|delete`: consumer groups, through the
//! brokers' group admin service (rill-client's `GroupAdmin`, which sends each call to
//! the group's coordinator) and, for log offsets and lag, the brokers' data API.
//!
//! `reset-offsets` is a dry run unless `--execute`: it prints the plan (partition,
//! current, new). It is refused while the group has live members, as Kafka's
//! kafka-consumer-groups refuses: a live member would overwrite the new offsets with
//! its next commit.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use rill_client::{
    CommittedOffset, Consumer, ConsumerConfig, DataError, DescribeGroupResponse, GroupAdmin,
    OffsetSpec,
};
use rill_types::{ErrorCode, Offset, PartitionIndex};
use serde_json::json;

use crate::data_cmd::Bootstrap;
use crate::exit::{self, usage};
use crate::output::{Output, Table, or_dash};
use crate::reset_plan::{Looked, Planned, ResetSpec, plan};

/// `rill group`.
#[derive(Debug, Args)]
pub struct GroupArgs {
    #[command(flatten)]
    target: Bootstrap,
    /// How long each command may take to find coordinators and get answers.
    #[arg(long, default_value_t = 15, global = true)]
    timeout_secs: u64,
    #[command(subcommand)]
    command: GroupCommand,
}

#[derive(Debug, Subcommand)]
enum GroupCommand {
    /// Every consumer group: id, state, protocol type, member count.
    List,
    /// A group's state, members and, per partition, committed offset, log end and lag.
    Describe {
        /// The group id.
        group: String,
    },
    /// Plan (and with --execute, commit) new offsets for a group without live members.
    ResetOffsets(ResetArgs),
    /// Delete a group without members, and its committed offsets.
    Delete {
        /// The group id.
        group: String,
    },
}

/// Arguments of `rill group reset-offsets`.
#[derive(Debug, Args)]
struct ResetArgs {
    /// The group id.
    group: String,
    /// A topic (all its partitions) or TOPIC:P,P,... (repeatable).
    #[arg(
        long = "topic",
        value_name = "TOPIC[:P,P...]",
        required_unless_present = "all_topics"
    )]
    topics: Vec<String>,
    /// Every topic the group has committed offsets for.
    #[arg(long, conflicts_with = "topics")]
    all_topics: bool,
    #[command(flatten)]
    to: ResetTo,
    /// Commit the plan (without it, only print it).
    #[arg(long)]
    execute: bool,
}

/// Where to reset to: exactly one.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct ResetTo {
    /// The log start offset.
    #[arg(long)]
    to_earliest: bool,
    /// The log end offset.
    #[arg(long)]
    to_latest: bool,
    /// This offset (clamped to the log).
    #[arg(long, value_name = "N")]
    to_offset: Option<i64>,
    /// The first offset at or after this time (RFC 3339, e.g. 2026-12-03T13:00:00Z).
    #[arg(long, value_name = "RFC3339")]
    to_datetime: Option<String>,
    /// The committed offset moved by N (negative: back; clamped to the log).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    shift_by: Option<i64>,
}

impl ResetTo {
    fn spec(&self) -> anyhow::Result<ResetSpec> {
        Ok(if self.to_earliest {
            ResetSpec::Earliest
        } else if self.to_latest {
            ResetSpec::Latest
        } else if let Some(o) = self.to_offset {
            ResetSpec::ToOffset(o)
        } else if let Some(t) = &self.to_datetime {
            ResetSpec::ToDatetime(crate::datetime::parse_rfc3339(t).map_err(usage)?)
        } else {
            ResetSpec::ShiftBy(self.shift_by.expect("clap requires one"))
        })
    }
}

/// `TOPIC` or `TOPIC:P,P,...`.
fn parse_topic(arg: &str) -> anyhow::Result<(String, Option<Vec<i32>>)> {
    let Some((topic, list)) = arg.rsplit_once(':') else {
        return Ok((arg.to_owned(), None));
    };
    let parts = list
        .split(',')
        .map(|p| p.trim().parse::<i32>().ok().filter(|p| *p >= 0))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| usage(format!("--topic {arg:?}: partitions are TOPIC:0,1,...")))?;
    Ok((topic.to_owned(), Some(parts)))
}

/// The clients of one command.
struct Clients {
    admin: GroupAdmin,
    data: Consumer,
}

impl GroupArgs {
    /// Runs the subcommand.
    pub fn run(self, output: Output) -> anyhow::Result<()> {
        let timeout = Duration::from_secs(self.timeout_secs.max(1));
        let bootstrap = self.target.bootstrap.clone();
        crate::admin_cmd::runtime()?.block_on(async move {
            exit::probe("brokers", &bootstrap).await?;
            let clients = Clients {
                admin: GroupAdmin::connect(&bootstrap, timeout)?,
                data: Consumer::connect(
                    &bootstrap,
                    ConsumerConfig {
                        fetch_timeout: timeout,
                        ..ConsumerConfig::default()
                    },
                )?,
            };
            match self.command {
                GroupCommand::List => list(&clients, output).await,
                GroupCommand::Describe { group } => describe(&clients, &group, output).await,
                GroupCommand::ResetOffsets(args) => reset(&clients, args, output).await,
                GroupCommand::Delete { group } => {
                    clients
                        .admin
                        .delete(&group)
                        .await
                        .with_context(|| format!("deleting group {group}"))?;
                    output.print(
                        || json!({"group": group, "deleted": true}),
                        || format!("deleted group {group}"),
                    );
                    Ok(())
                }
            }
        })
    }
}

async fn list(c: &Clients, output: Output) -> anyhow::Result<()> {
    let groups = c.admin.list().await.context("listing groups")?;
    output.print(
        || {
            json!(
                groups
                    .iter()
                    .map(|g| json!({
                        "group": g.group_id,
                        "state": g.state,
                        "protocol_type": g.protocol_type,
                        "members": g.members,
                    }))
                    .collect::<Vec<_>>()
            )
        },
        || {
            let mut t = Table::new(&["GROUP", "STATE", "PROTOCOL-TYPE", "MEMBERS"]);
            for g in &groups {
                t.row(vec![
                    g.group_id.clone(),
                    g.state.clone(),
                    g.protocol_type.clone(),
                    g.members.to_string(),
                ]);
            }
            t.render()
        },
    );
    Ok(())
}

/// One partition of a description.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct PartitionRow {
    committed: Option<i64>,
    log_end: Option<i64>,
    /// (member id, client id, host) of the member assigned the partition.
    member: Option<(String, String, String)>,
}

impl PartitionRow {
    fn lag(&self) -> Option<i64> {
        Some((self.log_end? - self.committed?).max(0))
    }
}

/// The partitions a description covers (committed or assigned), without log ends.
fn partition_rows(d: &DescribeGroupResponse) -> BTreeMap<(String, i32), PartitionRow> {
    let mut rows: BTreeMap<(String, i32), PartitionRow> = BTreeMap::new();
    for o in &d.offsets {
        let key = (o.topic.clone(), o.partition.map_or(-1, |p| p.index));
        rows.entry(key).or_default().committed = o.offset.map(|x| x.offset);
    }
    for m in &d.members {
        for tp in &m.assignment {
            for p in &tp.partitions {
                rows.entry((tp.topic.clone(), p.index)).or_default().member = Some((
                    m.member_id.clone(),
                    m.client_id.clone(),
                    m.client_host.clone(),
                ));
            }
        }
    }
    rows
}

async fn offset(
    c: &Clients,
    topic: &str,
    p: i32,
    spec: OffsetSpec,
) -> Result<Option<i64>, DataError> {
    Ok(c.data
        .list_offset(topic, PartitionIndex::new(p), spec)
        .await?
        .map(Offset::get))
}

async fn describe(c: &Clients, group: &str, output: Output) -> anyhow::Result<()> {
    let d = c
        .admin
        .describe(group)
        .await
        .with_context(|| format!("describing group {group}"))?;
    let mut rows = partition_rows(&d);
    for ((topic, p), row) in rows.iter_mut() {
        // A topic deleted since the commit has no log end: shown as "-".
        row.log_end = offset(c, topic, *p, OffsetSpec::Latest)
            .await
            .ok()
            .flatten();
    }
    output.print(|| describe_json(&d, &rows), || describe_text(&d, &rows));
    Ok(())
}

fn describe_json(
    d: &DescribeGroupResponse,
    rows: &BTreeMap<(String, i32), PartitionRow>,
) -> serde_json::Value {
    json!({
        "group": d.group_id,
        "state": d.state,
        "protocol_type": d.protocol_type,
        "protocol": d.protocol,
        "generation": d.generation,
        "members": d.members.iter().map(|m| json!({
            "member_id": m.member_id,
            "group_instance_id": m.group_instance_id,
            "client_id": m.client_id,
            "host": m.client_host,
            "assignment": m.assignment.iter().flat_map(|tp| tp.partitions.iter().map(|p| json!({
                "topic": tp.topic, "partition": p.index,
            }))).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "partitions": rows.iter().map(|((topic, p), r)| json!({
            "topic": topic,
            "partition": p,
            "committed_offset": r.committed,
            "log_end_offset": r.log_end,
            "lag": r.lag(),
            "member_id": r.member.as_ref().map(|m| &m.0),
        })).collect::<Vec<_>>(),
    })
}

fn describe_text(
    d: &DescribeGroupResponse,
    rows: &BTreeMap<(String, i32), PartitionRow>,
) -> String {
    let mut out = format!(
        "group {}  state {}  protocol {}/{}  generation {}  members {}\n\n",
        d.group_id,
        d.state,
        or_dash(Some(&d.protocol_type).filter(|s| !s.is_empty())),
        or_dash(Some(&d.protocol).filter(|s| !s.is_empty())),
        d.generation,
        d.members.len()
    );
    if !d.members.is_empty() {
        let mut t = Table::new(&["MEMBER", "CLIENT-ID", "HOST", "ASSIGNMENT"]);
        for m in &d.members {
            let assigned: Vec<String> = m
                .assignment
                .iter()
                .map(|tp| {
                    let ps: Vec<String> =
                        tp.partitions.iter().map(|p| p.index.to_string()).collect();
                    format!("{}:{}", tp.topic, ps.join(","))
                })
                .collect();
            t.row(vec![
                m.member_id.clone(),
                m.client_id.clone(),
                or_dash(Some(m.client_host.clone()).filter(|h| !h.is_empty())),
                or_dash(Some(assigned.join(" ")).filter(|s| !s.is_empty())),
            ]);
        }
        out.push_str(&t.render());
        out.push('\n');
    }
    let mut t = Table::new(&[
        "TOPIC",
        "PARTITION",
        "COMMITTED",
        "LOG-END",
        "LAG",
        "MEMBER",
    ]);
    for ((topic, p), r) in rows {
        t.row(vec![
            topic.clone(),
            p.to_string(),
            or_dash(r.committed),
            or_dash(r.log_end),
            or_dash(r.lag()),
            or_dash(r.member.as_ref().map(|m| m.0.clone())),
        ]);
    }
    out.push_str(&t.render());
    out
}

async fn reset(c: &Clients, args: ResetArgs, output: Output) -> anyhow::Result<()> {
    let spec = args.to.spec()?;
    let group = args.group.as_str();
    // A group never used has no description: it resets from nothing, as in Kafka.
    let d = match c.admin.describe(group).await {
        Ok(d) => d,
        Err(e) if e.kafka_code() == Some(ErrorCode::GroupIdNotFound) => DescribeGroupResponse {
            group_id: group.to_owned(),
            state: "Empty".to_owned(),
            ..Default::default()
        },
        Err(e) => return Err(e).with_context(|| format!("describing group {group}")),
    };
    if !d.members.is_empty() {
        bail!(
            "group {group} has {} live member(s) (state {}): offsets can only be reset while the group is inactive; stop its consumers first",
            d.members.len(),
            d.state
        );
    }
    let current: BTreeMap<(String, i32), i64> = d
        .offsets
        .iter()
        .filter_map(|o| Some(((o.topic.clone(), o.partition?.index), o.offset?.offset)))
        .collect();
    let mut wanted: Vec<(String, i32)> = Vec::new();
    if args.all_topics {
        wanted.extend(current.keys().cloned());
    }
    for arg in &args.topics {
        match parse_topic(arg)? {
            (topic, Some(parts)) => wanted.extend(parts.into_iter().map(|p| (topic.clone(), p))),
            (topic, None) => {
                let view = c.data.metadata(std::slice::from_ref(&topic)).await?;
                let t = view
                    .topics
                    .get(&topic)
                    .filter(|t| t.error.is_none())
                    .with_context(|| format!("topic {topic} does not exist"))?;
                wanted.extend(t.partitions.keys().map(|p| (topic.clone(), p.get())));
            }
        }
    }
    wanted.sort();
    wanted.dedup();
    let mut looked = Vec::with_capacity(wanted.len());
    for (topic, p) in wanted {
        let at = |s| offset(c, &topic, p, s);
        let where_ = || format!("looking up the offsets of {topic}:{p}");
        let log_start = at(OffsetSpec::Earliest)
            .await
            .with_context(where_)?
            .unwrap_or(0);
        let log_end = at(OffsetSpec::Latest)
            .await
            .with_context(where_)?
            .unwrap_or(0);
        let by_time = match spec {
            ResetSpec::ToDatetime(ms) => {
                at(OffsetSpec::Timestamp(ms)).await.with_context(where_)?
            }
            _ => None,
        };
        looked.push(Looked {
            current: current.get(&(topic.clone(), p)).copied(),
            topic,
            partition: p,
            log_start,
            log_end,
            by_time,
        });
    }
    let planned = plan(spec, &looked).map_err(anyhow::Error::msg)?;
    if args.execute {
        let offsets = planned
            .iter()
            .map(|x| CommittedOffset {
                topic: x.topic.clone(),
                partition: Some(PartitionIndex::new(x.partition).into()),
                offset: Some(Offset::new(x.new).into()),
                metadata: String::new(),
                commit_timestamp: -1,
            })
            .collect();
        c.admin
            .alter_offsets(group, offsets)
            .await
            .with_context(|| format!("committing the new offsets of group {group}"))?;
        eprintln!("committed {} offsets of group {group}", planned.len());
    } else {
        eprintln!("dry run: nothing committed (add --execute to commit this plan)");
    }
    output.print(
        || reset_json(group, args.execute, &planned),
        || reset_text(&planned),
    );
    Ok(())
}

fn reset_json(group: &str, executed: bool, planned: &[Planned]) -> serde_json::Value {
    json!({
        "group": group,
        "executed": executed,
        "partitions": planned.iter().map(|p| json!({
            "topic": p.topic,
            "partition": p.partition,
            "current": p.current,
            "new": p.new,
        })).collect::<Vec<_>>(),
    })
}

fn reset_text(planned: &[Planned]) -> String {
    let mut t = Table::new(&["TOPIC", "PARTITION", "CURRENT", "NEW"]);
    for p in planned {
        t.row(vec![
            p.topic.clone(),
            p.partition.to_string(),
            or_dash(p.current),
            p.new.to_string(),
        ]);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rill_client::{GroupMember, TopicPartitions};

    fn description() -> DescribeGroupResponse {
        DescribeGroupResponse {
            group_id: "g".into(),
            state: "Stable".into(),
            protocol_type: "consumer".into(),
            protocol: "range".into(),
            generation: 2,
            members: vec![GroupMember {
                member_id: "m1".into(),
                group_instance_id: None,
                client_id: "c1".into(),
                client_host: "/127.0.0.1".into(),
                assignment: vec![TopicPartitions {
                    topic: "t".into(),
                    partitions: vec![PartitionIndex::new(0).into(), PartitionIndex::new(1).into()],
                }],
            }],
            offsets: vec![CommittedOffset {
                topic: "t".into(),
                partition: Some(PartitionIndex::new(0).into()),
                offset: Some(Offset::new(5).into()),
                metadata: String::new(),
                commit_timestamp: 1,
            }],
            error: None,
        }
    }

    #[test]
    fn a_description_covers_committed_and_assigned_partitions_with_lag() {
        let d = description();
        let mut rows = partition_rows(&d);
        assert_eq!(rows.len(), 2);
        for r in rows.values_mut() {
            r.log_end = Some(8);
        }
        let j = describe_json(&d, &rows);
        assert_eq!(j["group"], "g");
        assert_eq!(j["members"][0]["assignment"][1]["partition"], 1);
        assert_eq!(j["partitions"][0]["committed_offset"], 5);
        assert_eq!(j["partitions"][0]["log_end_offset"], 8);
        assert_eq!(j["partitions"][0]["lag"], 3);
        assert_eq!(j["partitions"][0]["member_id"], "m1");
        // Assigned but never committed: no lag.
        assert_eq!(
            j["partitions"][1]["committed_offset"],
            serde_json::Value::Null
        );
        assert_eq!(j["partitions"][1]["lag"], serde_json::Value::Null);
        let text = describe_text(&d, &rows);
        assert!(
            text.contains(
                "MEMBER  CLIENT-ID  HOST        ASSIGNMENT\nm1      c1         /127.0.0.1  t:0,1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("t      0          5          8        3    m1\n"),
            "{text}"
        );
    }

    #[test]
    fn plans_print_as_a_table_and_json() {
        let planned = [Planned {
            topic: "t".into(),
            partition: 2,
            current: None,
            new: 4,
        }];
        assert_eq!(
            reset_text(&planned),
            "TOPIC  PARTITION  CURRENT  NEW\nt      2          -        4\n"
        );
        assert_eq!(
            reset_json("g", false, &planned),
            json!({"group": "g", "executed": false, "partitions": [
                {"topic": "t", "partition": 2, "current": null, "new": 4}
            ]})
        );
    }

    #[test]
    fn topic_arguments_name_partitions_or_whole_topics() {
        assert_eq!(parse_topic("t").unwrap(), ("t".to_owned(), None));
        assert_eq!(
            parse_topic("t:0,2").unwrap(),
            ("t".to_owned(), Some(vec![0, 2]))
        );
        let e = parse_topic("t:x").unwrap_err();
        assert_eq!(exit::code(&e), exit::USAGE);
    }
}
