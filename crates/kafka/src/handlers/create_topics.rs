//! CreateTopics (key 19), v2–7, forwarded to the controller quorum (KRaft brokers do
//! the same). Each topic succeeds or fails on its own with Kafka's code; -1 partitions
//! or replication factor take the cluster's defaults. A successful create waits
//! (bounded by the request's timeout, at most 10 s) until this broker's metadata shows
//! the topic with a leader for every partition, so a client that produces right after
//! the answer finds it.

use std::collections::HashMap;
use std::time::Duration;

use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse, RequestHeader};
use rill_proto::controller::{self as pb, CreatableTopic};
use rill_types::ErrorCode;

use super::{quorum, s};
use crate::codes;
use crate::context::KafkaContext;

/// Longest wait for a created topic to appear in this broker's metadata.
const MAX_PROPAGATION_WAIT: Duration = Duration::from_secs(10);

/// Creates the topics.
pub async fn handle(
    ctx: &KafkaContext,
    header: &RequestHeader,
    req: CreateTopicsRequest,
) -> Option<CreateTopicsResponse> {
    let version = header.request_api_version;
    let mut results: Vec<Option<CreatableTopicResult>> = vec![None; req.topics.len()];
    let mut forwarded = Vec::new();
    let mut positions = Vec::new();
    for (i, t) in req.topics.iter().enumerate() {
        let name = t.name.0.as_str().to_owned();
        if !t.assignments.is_empty() {
            results[i] = Some(refusal(
                &name,
                ErrorCode::InvalidRequest,
                "manual replica assignments are not supported; give partitions and a replication factor",
            ));
            continue;
        }
        let mut configs = HashMap::new();
        for c in &t.configs {
            if let Some(v) = &c.value {
                configs.insert(c.name.as_str().to_owned(), v.as_str().to_owned());
            }
        }
        forwarded.push(CreatableTopic {
            name,
            partitions: t.num_partitions,
            replication_factor: i32::from(t.replication_factor),
            configs,
        });
        positions.push(i);
    }
    if !forwarded.is_empty() {
        let created = create(ctx, forwarded.clone(), req.validate_only).await;
        let mut ok = Vec::new();
        for ((i, t), r) in positions.into_iter().zip(forwarded).zip(created) {
            results[i] = Some(match r {
                Ok(id) => {
                    ok.push(t.name.clone());
                    let image = ctx.image();
                    let topic = image.topic_by_name(&t.name);
                    let mut r = CreatableTopicResult::default()
                        .with_name(kafka_protocol::messages::TopicName(s(t.name.clone())))
                        .with_num_partitions(
                            topic.map_or(t.partitions, |x| x.partitions.len() as i32),
                        )
                        .with_replication_factor(
                            topic
                                .and_then(|x| x.partitions.values().next())
                                .map_or(i16::try_from(t.replication_factor).unwrap_or(-1), |p| {
                                    p.replicas.len() as i16
                                }),
                        );
                    if let Some(id) = id {
                        r = r.with_topic_id(uuid::Uuid::from_bytes(*id.as_bytes()));
                    }
                    r
                }
                Err((code, message)) => refusal(&t.name, code, &message),
            });
        }
        if !req.validate_only && !ok.is_empty() {
            let wait = Duration::from_millis(u64::try_from(req.timeout_ms).unwrap_or(0))
                .min(MAX_PROPAGATION_WAIT);
            wait_for_leaders(ctx, &ok, wait).await;
        }
    }
    // Fields beyond the request's version must stay at their defaults to encode.
    let topics = results
        .into_iter()
        .map(|r| r.expect("every topic has a result"))
        .map(|r| {
            if version < 1 {
                r.with_error_message(None)
            } else {
                r
            }
        })
        .map(|r| {
            if version < 5 {
                r.with_num_partitions(-1).with_replication_factor(-1)
            } else {
                r
            }
        })
        .map(|r| {
            if version < 7 {
                r.with_topic_id(uuid::Uuid::nil())
            } else {
                r
            }
        })
        .collect();
    Some(CreateTopicsResponse::default().with_topics(topics))
}

fn refusal(name: &str, code: ErrorCode, message: &str) -> CreatableTopicResult {
    CreatableTopicResult::default()
        .with_name(kafka_protocol::messages::TopicName(s(name.to_owned())))
        .with_error_code(codes::code(code))
        .with_error_message(Some(s(message.to_owned())))
        .with_num_partitions(-1)
        .with_replication_factor(-1)
}

/// The controller's outcome per topic: its id, or the refusal.
type Outcome = Result<Option<rill_types::TopicId>, quorum::Refusal>;

/// Forwards a create to the controller quorum; one outcome per topic, in order.
pub async fn create(
    ctx: &KafkaContext,
    topics: Vec<CreatableTopic>,
    validate_only: bool,
) -> Vec<Outcome> {
    let n = topics.len();
    let request = pb::CreateTopicsRequest {
        topics,
        validate_only,
    };
    let answer = ctx
        .controllers
        .clone()
        .call(move |mut c| {
            let request = request.clone();
            async move { c.create_topics(request).await }
        })
        .await;
    match answer {
        Err(e) => vec![Err(quorum::unavailable("CreateTopics", &e)); n],
        Ok(r) => {
            let mut out: Vec<Outcome> = r
                .topics
                .into_iter()
                .map(|t| match t.error {
                    Some(e) => Err(quorum::refusal(e)),
                    None => Ok(t.topic_id.and_then(|id| id.try_into().ok())),
                })
                .collect();
            // A short answer is the controller's bug; never index past it.
            out.resize_with(n, || {
                Err((
                    ErrorCode::UnknownServerError,
                    "no answer for this item".into(),
                ))
            });
            out
        }
    }
}

/// Auto-creation (Metadata): creates `names` with the cluster's defaults and waits
/// briefly for them to get leaders. Failures are logged; the caller answers from the
/// image either way.
pub async fn create_with_defaults(ctx: &KafkaContext, names: &[String]) {
    let topics = names
        .iter()
        .map(|n| CreatableTopic {
            name: n.clone(),
            partitions: -1,
            replication_factor: -1,
            configs: HashMap::new(),
        })
        .collect();
    let mut created = Vec::new();
    for (name, r) in names.iter().zip(create(ctx, topics, false).await) {
        match r {
            Ok(_) => {
                tracing::info!(topic = %name, "topic auto-created");
                created.push(name.clone());
            }
            Err((ErrorCode::TopicAlreadyExists, _)) => created.push(name.clone()),
            Err((code, message)) => {
                tracing::info!(topic = %name, code = code.name(), %message, "auto-creation refused")
            }
        }
    }
    wait_for_leaders(ctx, &created, Duration::from_secs(2)).await;
}

/// Waits until every topic of `names` is in this broker's image with a leader for each
/// partition, or `wait` has passed.
pub async fn wait_for_leaders(ctx: &KafkaContext, names: &[String], wait: Duration) {
    let mut rx = ctx.rm.metadata.clone();
    let ready = |image: &rill_metadata::MetadataImage| {
        names.iter().all(|n| {
            image
                .topic_by_name(n)
                .is_some_and(|t| t.partitions.values().all(|p| p.leader.is_some()))
        })
    };
    let _ = tokio::time::timeout(wait, rx.wait_for(|v| ready(&v.image))).await;
}
