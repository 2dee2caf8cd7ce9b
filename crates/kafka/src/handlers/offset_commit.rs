//! OffsetCommit (key 8), v2–8: from a member of the current generation, or (generation
//! < 0, no member id) from a client without membership while the group is Empty.
//! Answered once the offset records are replicated (acks=all).

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse, RequestHeader};
use rill_types::{ErrorCode, PartitionIndex};

use crate::codes;
use crate::context::KafkaContext;
use crate::group::records::OffsetValue;

/// Commits the offsets.
pub async fn handle(
    ctx: &KafkaContext,
    header: &RequestHeader,
    req: OffsetCommitRequest,
) -> Option<OffsetCommitResponse> {
    let version = header.request_api_version;
    ctx.groups.start();
    let max_meta = ctx.groups.limits.max_metadata_bytes;
    let image = ctx.image();
    let now = ctx.groups.now();
    // Per partition: Ok(index into items) or the refusal.
    let mut slots: Vec<Vec<Result<(), ErrorCode>>> = Vec::new();
    let mut items = Vec::new();
    for t in &req.topics {
        let name = t.name.0.as_str();
        let topic = image.topic_by_name(name);
        let mut row = Vec::new();
        for p in &t.partitions {
            let meta = p.committed_metadata.as_ref().map_or("", |m| m.as_str());
            let known = topic.is_some_and(|x| {
                x.partitions
                    .contains_key(&PartitionIndex::new(p.partition_index))
            });
            row.push(if !known {
                Err(ErrorCode::UnknownTopicOrPartition)
            } else if meta.len() > max_meta {
                Err(ErrorCode::OffsetMetadataTooLarge)
            } else {
                items.push((
                    (name.to_owned(), p.partition_index),
                    OffsetValue {
                        offset: p.committed_offset,
                        leader_epoch: if version >= 6 {
                            p.committed_leader_epoch
                        } else {
                            -1
                        },
                        metadata: meta.to_owned(),
                        commit_timestamp: now,
                    },
                ));
                Ok(())
            });
        }
        slots.push(row);
    }
    let overall = match crate::group::group_id(&req.group_id) {
        Err(e) => Err(e),
        Ok(group) => {
            let member = req.member_id.as_str().to_owned();
            let instance = req
                .group_instance_id
                .as_ref()
                .map(|i| i.as_str().to_owned());
            let generation = req.generation_id_or_member_epoch;
            ctx.groups
                .commit(&group, items, |g, now| {
                    g.check_commit(&member, instance.as_deref(), generation, now)
                })
                .await
        }
    };
    let result: Vec<Vec<Result<(), ErrorCode>>> = slots
        .into_iter()
        .map(|row| row.into_iter().map(|r| r.and(overall)).collect())
        .collect();
    Some(response(&req, &result))
}

/// The answer (the same fields at every served version).
pub fn response(
    req: &OffsetCommitRequest,
    result: &[Vec<Result<(), ErrorCode>>],
) -> OffsetCommitResponse {
    let topics = req
        .topics
        .iter()
        .zip(result)
        .map(|(t, row)| {
            OffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .zip(row)
                        .map(|(p, r)| {
                            OffsetCommitResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(r.err().map_or(codes::NONE, codes::code))
                        })
                        .collect(),
                )
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode_response;
    use kafka_protocol::messages::offset_commit_request::{
        OffsetCommitRequestPartition, OffsetCommitRequestTopic,
    };
    use kafka_protocol::messages::{ApiKey, TopicName};

    #[test]
    fn encodes_at_every_served_version() {
        let req = OffsetCommitRequest::default().with_topics(vec![
            OffsetCommitRequestTopic::default()
                .with_name(TopicName(super::super::s("t")))
                .with_partitions(vec![OffsetCommitRequestPartition::default()]),
        ]);
        for v in 2..=8 {
            let r = response(&req, &[vec![Err(ErrorCode::IllegalGeneration)]]);
            encode_response(0, ApiKey::OffsetCommit, v, &r).unwrap();
        }
    }
}
