//! Metadata (key 3), v0–12: brokers with their endpoint of the listener the request came
//! in on (a broker without a listener of that name is left out, as in Kafka), topics with partitions,
//! leaders, leader epochs, replicas, ISR and offline replicas, from the image this broker
//! has applied.
//!
//! Topics that do not exist are created when the request allows it (v4+; always for
//! older versions, as in Kafka) and the cluster's `auto.create.topics.enable` is on, with
//! the cluster's `num.partitions` and `default.replication.factor`; the answer then says
//! LEADER_NOT_AVAILABLE until the new partitions have leaders, so clients retry.
//!
//! `controller_id` names this broker: KRaft brokers forward admin requests to the
//! quorum, and so does rill, so any broker is a fine target for them.

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, MetadataRequest, MetadataResponse, RequestHeader, TopicName,
};
use rill_metadata::{ConfigResource, MetadataImage, TopicImage};
use rill_types::ErrorCode;

use super::s;
use crate::codes;
use crate::context::KafkaContext;
use crate::handlers::create_topics::create_with_defaults;

/// The internal topic of consumer-group state.
pub const CONSUMER_OFFSETS: &str = "__consumer_offsets";

/// Answers with the brokers and the topics asked for.
pub async fn handle(
    ctx: &KafkaContext,
    header: &RequestHeader,
    req: MetadataRequest,
) -> Option<MetadataResponse> {
    let version = header.request_api_version;
    let mut image = ctx.image();
    // v0: an empty list means every topic; v1+: null means every topic.
    let asked: Option<Vec<String>> = match req.topics {
        None => None,
        Some(t) if t.is_empty() && version == 0 => None,
        Some(t) => Some(
            t.into_iter()
                .filter_map(|t| t.name.map(|n| n.0.as_str().to_owned()))
                .collect(),
        ),
    };
    let allow_auto = version < 4 || req.allow_auto_topic_creation;
    if let Some(names) = &asked {
        let missing: Vec<String> = names
            .iter()
            .filter(|n| image.topic_by_name(n).is_none())
            .cloned()
            .collect();
        if !missing.is_empty() && allow_auto && auto_create_enabled(&image) {
            create_with_defaults(ctx, &missing).await;
            image = ctx.image();
        }
    }
    let topics = match asked {
        None => image.topics().map(|t| topic(&image, t, version)).collect(),
        Some(names) => names
            .into_iter()
            .map(|n| match image.topic_by_name(&n) {
                Some(t) => topic(&image, t, version),
                None => MetadataResponseTopic::default()
                    .with_name(Some(TopicName(s(n))))
                    .with_error_code(codes::code(ErrorCode::UnknownTopicOrPartition)),
            })
            .collect(),
    };
    Some(
        MetadataResponse::default()
            .with_brokers(brokers(&image, &ctx.listener, version))
            .with_cluster_id(
                image
                    .cluster_id()
                    .filter(|_| version >= 2)
                    .map(|c| s(c.to_owned())),
            )
            .with_controller_id(BrokerId(if version >= 1 {
                ctx.broker_id.get()
            } else {
                -1
            }))
            .with_topics(topics),
    )
}

/// The cluster's `auto.create.topics.enable` (Kafka's default: true).
fn auto_create_enabled(image: &MetadataImage) -> bool {
    image
        .configs(&ConfigResource::Broker(String::new()))
        .and_then(|c| c.get("auto.create.topics.enable"))
        .is_none_or(|v| v != "false")
}

/// A broker clients may connect to: its id, Kafka host and port, and rack.
pub struct KafkaEndpoint<'a> {
    /// The broker id.
    pub id: i32,
    /// The advertised Kafka host.
    pub host: &'a str,
    /// The advertised Kafka port.
    pub port: i32,
    /// The rack, if set.
    pub rack: Option<&'a str>,
}

/// Brokers clients of `listener` may connect to: registered, not fenced, with a listener
/// of that name (also DescribeCluster's list).
pub fn kafka_endpoints<'a>(
    image: &'a MetadataImage,
    listener: &'a str,
) -> impl Iterator<Item = KafkaEndpoint<'a>> {
    image
        .brokers()
        .values()
        .filter(|b| !b.fenced)
        .filter_map(move |b| {
            let e = b.listeners.iter().find(|l| l.name == listener)?;
            Some(KafkaEndpoint {
                id: b.id.get(),
                host: &e.host,
                port: i32::try_from(e.port).unwrap_or(0),
                rack: b.rack.as_deref(),
            })
        })
}

fn brokers(image: &MetadataImage, listener: &str, version: i16) -> Vec<MetadataResponseBroker> {
    kafka_endpoints(image, listener)
        .map(|e| {
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(e.id))
                .with_host(s(e.host.to_owned()))
                .with_port(e.port)
                .with_rack(e.rack.filter(|_| version >= 1).map(|r| s(r.to_owned())))
        })
        .collect()
}

fn topic(image: &MetadataImage, t: &TopicImage, version: i16) -> MetadataResponseTopic {
    let live = |b: &rill_types::BrokerId| image.broker(*b).is_some_and(|r| !r.fenced);
    let partitions = t
        .partitions
        .iter()
        .map(|(i, p)| {
            let error = match p.leader {
                Some(_) => codes::NONE,
                None => codes::code(ErrorCode::LeaderNotAvailable),
            };
            MetadataResponsePartition::default()
                .with_error_code(error)
                .with_partition_index(i.get())
                .with_leader_id(BrokerId(p.leader.map_or(-1, |b| b.get())))
                .with_leader_epoch(if version >= 7 {
                    p.leader_epoch.get()
                } else {
                    -1
                })
                .with_replica_nodes(p.replicas.iter().map(|b| BrokerId(b.get())).collect())
                .with_isr_nodes(p.isr.iter().map(|b| BrokerId(b.get())).collect())
                .with_offline_replicas(if version >= 5 {
                    p.replicas
                        .iter()
                        .filter(|b| !live(b))
                        .map(|b| BrokerId(b.get()))
                        .collect()
                } else {
                    Vec::new()
                })
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(s(t.name.clone()))))
        .with_topic_id(if version >= 10 {
            uuid::Uuid::from_bytes(*t.id.as_bytes())
        } else {
            uuid::Uuid::nil()
        })
        .with_is_internal(version >= 1 && t.name == CONSUMER_OFFSETS)
        .with_partitions(partitions)
}
