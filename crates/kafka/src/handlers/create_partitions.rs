//! CreatePartitions (key 37), v0–3, forwarded to the controller quorum, which places the
//! new partitions itself. Manual assignments are refused (INVALID_REQUEST) rather than
//! ignored, so a client never believes its placement was used. Each topic succeeds or
//! fails on its own with the controller's code and message (INVALID_PARTITIONS when
//! the count does not grow, UNKNOWN_TOPIC_OR_PARTITION, ...). `validate_only` changes
//! nothing. Every field of the answer exists at every served version.

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse, RequestHeader};
use rill_proto::controller as pb;
use rill_types::ErrorCode;

use super::quorum::Refusal;
use super::s;
use crate::codes;
use crate::context::KafkaContext;

/// Adds the partitions.
pub async fn handle(
    ctx: &KafkaContext,
    _header: &RequestHeader,
    req: CreatePartitionsRequest,
) -> Option<CreatePartitionsResponse> {
    let plans: Vec<Result<pb::CreatePartitionsTopic, Refusal>> = req
        .topics
        .iter()
        .map(|t| {
            if t.assignments.as_ref().is_some_and(|a| !a.is_empty()) {
                return Err((
                    ErrorCode::InvalidRequest,
                    "manual replica assignments are not supported; give only the new partition count".into(),
                ));
            }
            Ok(pb::CreatePartitionsTopic {
                name: t.name.0.to_string(),
                total_count: t.count,
            })
        })
        .collect();
    let forwarded: Vec<_> = plans.iter().filter_map(|p| p.clone().ok()).collect();
    let mut outcomes = forward(ctx, forwarded, req.validate_only).await.into_iter();
    let results = req
        .topics
        .iter()
        .zip(plans)
        .map(|(t, plan)| {
            let r = CreatePartitionsTopicResult::default().with_name(t.name.clone());
            match plan.and_then(|_| outcomes.next().expect("one outcome per topic")) {
                Ok(()) => r,
                Err((code, message)) => r
                    .with_error_code(codes::code(code))
                    .with_error_message(Some(s(message))),
            }
        })
        .collect();
    Some(CreatePartitionsResponse::default().with_results(results))
}

/// The controller's outcome per topic, in order.
async fn forward(
    ctx: &KafkaContext,
    topics: Vec<pb::CreatePartitionsTopic>,
    validate_only: bool,
) -> Vec<Result<(), Refusal>> {
    let n = topics.len();
    if n == 0 {
        return vec![];
    }
    let request = pb::CreatePartitionsRequest {
        topics,
        validate_only,
    };
    let answer = ctx
        .controllers
        .clone()
        .call(move |mut c| {
            let request = request.clone();
            async move { c.create_partitions(request).await }
        })
        .await;
    let answer = answer.map(|r| r.topics.into_iter().map(|t| t.error).collect());
    super::quorum::outcomes(answer, n, "CreatePartitions")
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::TopicName;

    use super::*;

    #[test]
    fn an_answer_encodes_at_every_served_version() {
        super::super::configs::assert_encodes(0..=3, |_| {
            CreatePartitionsResponse::default().with_results(vec![
                CreatePartitionsTopicResult::default().with_name(TopicName(s("t"))),
                CreatePartitionsTopicResult::default()
                    .with_name(TopicName(s("u")))
                    .with_error_code(37)
                    .with_error_message(Some(s("the count must grow"))),
            ])
        });
    }
}
