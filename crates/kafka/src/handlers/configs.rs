//! What the config handlers (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs)
//! share: Kafka's resource types mapped to the controller's, and the two controller
//! calls. The controller owns the declared keys (names, defaults, docs, validation), so
//! the listener never second-guesses a key or a value: a refusal's message is the
//! controller's.

use rill_proto::controller::{self as pb, ConfigResourceRef};
use rill_proto::metadata::ConfigResourceType;
use rill_types::ErrorCode;

use super::quorum::{outcomes, refusal, unavailable};
use crate::context::KafkaContext;

pub use super::quorum::Refusal;

/// Kafka's resource type of a topic.
pub const TOPIC: i8 = 2;
/// Kafka's resource type of a broker (a broker id, or "" for the cluster default).
pub const BROKER: i8 = 4;

/// The controller's reference for Kafka resource (`resource_type`, `name`); types other
/// than topic and broker (broker loggers, client metrics, groups) are refused.
pub fn resource(resource_type: i8, name: &str) -> Result<ConfigResourceRef, Refusal> {
    let kind = match resource_type {
        TOPIC => ConfigResourceType::Topic,
        BROKER => ConfigResourceType::Broker,
        other => {
            return Err((
                ErrorCode::InvalidRequest,
                format!(
                    "config resource type {other} is not supported (only topics, 2, and brokers, 4)"
                ),
            ));
        }
    };
    Ok(ConfigResourceRef {
        resource_type: kind.into(),
        name: name.to_owned(),
    })
}

/// The controller's description of each resource, in order: every declared key with the
/// value in force, or the resource's refusal.
pub async fn describe(
    ctx: &KafkaContext,
    resources: Vec<ConfigResourceRef>,
) -> Vec<Result<Vec<pb::ConfigEntry>, Refusal>> {
    let n = resources.len();
    let request = pb::DescribeConfigsRequest { resources };
    let answer = ctx
        .controllers
        .clone()
        .call(move |mut c| {
            let request = request.clone();
            async move { c.describe_configs(request).await }
        })
        .await;
    match answer {
        Ok(r) => {
            let mut out: Vec<_> = r
                .resources
                .into_iter()
                .map(|r| match r.error {
                    Some(e) => Err(refusal(e)),
                    None => Ok(r.entries),
                })
                .collect();
            // A short answer is the controller's bug; never index past it.
            out.resize_with(n, || {
                Err((
                    ErrorCode::UnknownServerError,
                    "no answer for this resource".into(),
                ))
            });
            out
        }
        Err(e) => {
            let r = unavailable("DescribeConfigs", &e);
            vec![Err(r); n]
        }
    }
}

/// Changes to one resource for the controller: (key, new value or `None` to remove).
pub type Changes = Vec<(String, Option<String>)>;

/// Applies (or with `validate_only`, only checks) incremental changes; one outcome per
/// resource, in order. Each resource's changes apply all together or not at all.
pub async fn alter(
    ctx: &KafkaContext,
    resources: Vec<(ConfigResourceRef, Changes)>,
    validate_only: bool,
) -> Vec<Result<(), Refusal>> {
    let n = resources.len();
    if n == 0 {
        return vec![];
    }
    let request = pb::AlterConfigsRequest {
        resources: resources
            .into_iter()
            .map(|(resource, changes)| pb::AlterResourceConfigs {
                resource: Some(resource),
                configs: changes
                    .into_iter()
                    .map(|(key, value)| pb::AlterableConfig { key, value })
                    .collect(),
            })
            .collect(),
        validate_only,
    };
    let answer = ctx
        .controllers
        .clone()
        .call(move |mut c| {
            let request = request.clone();
            async move { c.alter_configs(request).await }
        })
        .await;
    let answer = answer.map(|r| r.results.into_iter().map(|r| r.error).collect());
    outcomes(answer, n, "AlterConfigs")
}

/// For AlterConfigs and IncrementalAlterConfigs: sends the planned changes (plans that
/// are already refusals are not sent) and returns one outcome per plan, in order.
pub async fn alter_planned(
    ctx: &KafkaContext,
    plans: Vec<Result<(ConfigResourceRef, Changes), Refusal>>,
    validate_only: bool,
) -> Vec<Result<(), Refusal>> {
    let sendable: Vec<_> = plans.iter().filter_map(|p| p.clone().ok()).collect();
    let mut sent = alter(ctx, sendable, validate_only).await.into_iter();
    plans
        .into_iter()
        .map(|p| p.and_then(|_| sent.next().expect("one outcome per resource")))
        .collect()
}

/// Test support: encodes `body` at every version in `versions`, failing on the first
/// version the codec refuses (a field set that the version does not have).
#[cfg(test)]
pub fn assert_encodes<T: kafka_protocol::protocol::Encodable>(
    versions: std::ops::RangeInclusive<i16>,
    body: impl Fn(i16) -> T,
) {
    for v in versions {
        let mut buf = bytes::BytesMut::new();
        body(v)
            .encode(&mut buf, v)
            .unwrap_or_else(|e| panic!("v{v}: {e}"));
    }
}
