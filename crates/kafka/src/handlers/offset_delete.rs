//! OffsetDelete (key 47), v0: deletes committed offsets of a group, refusing
//! (GROUP_SUBSCRIBED_TO_TOPIC) the topics a member's subscription names.

use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse, RequestHeader};
use rill_types::ErrorCode;

use crate::codes;
use crate::context::KafkaContext;
use crate::group::state::GroupState;

/// Deletes the offsets.
pub async fn handle(
    ctx: &KafkaContext,
    _header: &RequestHeader,
    req: OffsetDeleteRequest,
) -> Option<OffsetDeleteResponse> {
    ctx.groups.start();
    let group = match crate::group::group_id(&req.group_id) {
        Ok(g) => g,
        Err(e) => return Some(refused(e)),
    };
    let subscribed = match ctx.groups.with_group(&group, false, |g, _| {
        if g.state == GroupState::Empty {
            Default::default()
        } else {
            g.subscribed_topics()
        }
    }) {
        Err(e) => return Some(refused(e)),
        Ok(None) => return Some(refused(ErrorCode::GroupIdNotFound)),
        Ok(Some(s)) => s,
    };
    let mut keys = Vec::new();
    for t in &req.topics {
        if !subscribed.contains(t.name.0.as_str()) {
            for p in &t.partitions {
                keys.push((t.name.0.as_str().to_owned(), p.partition_index));
            }
        }
    }
    if let Err(e) = ctx.groups.delete(&group, keys, false).await {
        return Some(refused(e));
    }
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let code = if subscribed.contains(t.name.0.as_str()) {
                codes::code(ErrorCode::GroupSubscribedToTopic)
            } else {
                codes::NONE
            };
            OffsetDeleteResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            OffsetDeleteResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(code)
                        })
                        .collect(),
                )
        })
        .collect();
    Some(OffsetDeleteResponse::default().with_topics(topics))
}

fn refused(e: ErrorCode) -> OffsetDeleteResponse {
    OffsetDeleteResponse::default().with_error_code(codes::code(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode_response;
    use kafka_protocol::messages::{ApiKey, TopicName};

    #[test]
    fn encodes_at_every_served_version() {
        let r = OffsetDeleteResponse::default().with_topics(vec![
            OffsetDeleteResponseTopic::default()
                .with_name(TopicName(super::super::s("t")))
                .with_partitions(vec![OffsetDeleteResponsePartition::default()]),
        ]);
        encode_response(0, ApiKey::OffsetDelete, 0, &r).unwrap();
        encode_response(
            0,
            ApiKey::OffsetDelete,
            0,
            &refused(ErrorCode::GroupIdNotFound),
        )
        .unwrap();
    }
}
