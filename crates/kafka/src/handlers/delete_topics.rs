//! DeleteTopics (key 20), v1–6, forwarded to the controller quorum. Topics are named by
//! name (all versions) or, from v6, by id; an id this broker does not know is
//! UNKNOWN_TOPIC_ID.

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    DeleteTopicsRequest, DeleteTopicsResponse, RequestHeader, TopicName,
};
use rill_proto::controller as pb;
use rill_types::ErrorCode;

use super::{quorum, s};
use crate::codes;
use crate::context::KafkaContext;

/// Deletes the topics.
pub async fn handle(
    ctx: &KafkaContext,
    _header: &RequestHeader,
    req: DeleteTopicsRequest,
) -> Option<DeleteTopicsResponse> {
    let image = ctx.image();
    // (name if known, id asked by) per requested topic.
    let mut asked: Vec<(Option<String>, uuid::Uuid)> = req
        .topic_names
        .iter()
        .map(|n| (Some(n.0.as_str().to_owned()), uuid::Uuid::nil()))
        .collect();
    for t in &req.topics {
        match &t.name {
            Some(n) => asked.push((Some(n.0.as_str().to_owned()), t.topic_id)),
            None => {
                let name = image
                    .topics()
                    .find(|x| x.id.as_bytes() == t.topic_id.as_bytes())
                    .map(|x| x.name.clone());
                asked.push((name, t.topic_id));
            }
        }
    }
    let names: Vec<String> = asked.iter().filter_map(|(n, _)| n.clone()).collect();
    let n = names.len();
    let request = pb::DeleteTopicsRequest { names };
    let answer = ctx
        .controllers
        .clone()
        .call(move |mut c| {
            let request = request.clone();
            async move { c.delete_topics(request).await }
        })
        .await;
    let answer = answer.map(|r| r.topics.into_iter().map(|t| t.error).collect());
    let mut outcomes = quorum::outcomes(answer, n, "DeleteTopics").into_iter();
    let responses = asked
        .into_iter()
        .map(|(name, id)| {
            let r = DeletableTopicResult::default().with_topic_id(id);
            match name {
                Some(n) => r.with_name(Some(TopicName(s(n)))).with_error_code(
                    match outcomes.next().expect("one outcome per name") {
                        Ok(()) => codes::NONE,
                        Err((code, _)) => codes::code(code),
                    },
                ),
                None => r.with_error_code(codes::code(ErrorCode::UnknownTopicId)),
            }
        })
        .collect();
    Some(DeleteTopicsResponse::default().with_responses(responses))
}
