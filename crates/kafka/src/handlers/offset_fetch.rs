//! OffsetFetch (key 9), v1–8 (v8: several groups): committed offsets (-1 when none),
//! their leader epochs and metadata; every committed partition when topics is null.

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{
    GroupId, OffsetFetchRequest, OffsetFetchResponse, RequestHeader, TopicName,
};
use rill_types::ErrorCode;

use super::s;
use crate::codes;
use crate::context::KafkaContext;
use crate::group::records::OffsetValue;

/// One topic's answer: name, then (partition, committed offset if any).
type TopicOffsets = (String, Vec<(i32, Option<OffsetValue>)>);

/// One group's answer.
type GroupOffsets = Result<Vec<TopicOffsets>, ErrorCode>;

/// Answers the committed offsets.
pub async fn handle(
    ctx: &KafkaContext,
    header: &RequestHeader,
    req: OffsetFetchRequest,
) -> Option<OffsetFetchResponse> {
    let version = header.request_api_version;
    ctx.groups.start();
    if version >= 8 {
        let groups = req
            .groups
            .iter()
            .map(|g| {
                let asked = g.topics.as_ref().map(|ts| {
                    ts.iter()
                        .map(|t| (t.name.0.as_str().to_owned(), t.partition_indexes.clone()))
                        .collect()
                });
                (
                    g.group_id.0.as_str().to_owned(),
                    fetch(ctx, &g.group_id, asked),
                )
            })
            .collect::<Vec<_>>();
        return Some(response_v8(&groups));
    }
    let asked = req.topics.as_ref().map(|ts| {
        ts.iter()
            .map(|t| (t.name.0.as_str().to_owned(), t.partition_indexes.clone()))
            .collect()
    });
    Some(response(version, &fetch(ctx, &req.group_id, asked)))
}

fn fetch(
    ctx: &KafkaContext,
    group: &GroupId,
    asked: Option<Vec<(String, Vec<i32>)>>,
) -> GroupOffsets {
    let group = crate::group::group_id(group)?;
    let offsets = ctx
        .groups
        .with_group(&group, false, |g, _| g.offsets.clone())?
        .unwrap_or_default();
    Ok(match asked {
        Some(topics) => topics
            .into_iter()
            .map(|(t, ps)| {
                let parts = ps
                    .into_iter()
                    .map(|p| (p, offsets.get(&(t.clone(), p)).cloned()))
                    .collect();
                (t, parts)
            })
            .collect(),
        None => {
            let mut out: Vec<TopicOffsets> = Vec::new();
            for ((t, p), v) in offsets {
                match out.last_mut() {
                    Some((name, parts)) if *name == t => parts.push((p, Some(v))),
                    _ => out.push((t, vec![(p, Some(v))])),
                }
            }
            out
        }
    })
}

/// The answer at `version` (1–7). v1 has no group-level code: a refused group answers
/// no partitions there.
pub fn response(version: i16, r: &GroupOffsets) -> OffsetFetchResponse {
    let (topics, error) = match r {
        Ok(t) => (t.clone(), codes::NONE),
        Err(e) => (Vec::new(), codes::code(*e)),
    };
    let topics = topics
        .into_iter()
        .map(|(t, parts)| {
            OffsetFetchResponseTopic::default()
                .with_name(TopicName(s(t)))
                .with_partitions(
                    parts
                        .into_iter()
                        .map(|(p, v)| {
                            let v = v.unwrap_or(OffsetValue {
                                offset: -1,
                                leader_epoch: -1,
                                metadata: String::new(),
                                commit_timestamp: -1,
                            });
                            OffsetFetchResponsePartition::default()
                                .with_partition_index(p)
                                .with_committed_offset(v.offset)
                                .with_committed_leader_epoch(if version >= 5 {
                                    v.leader_epoch
                                } else {
                                    -1
                                })
                                .with_metadata(Some(s(v.metadata)))
                        })
                        .collect(),
                )
        })
        .collect();
    OffsetFetchResponse::default()
        .with_topics(topics)
        .with_error_code(if version >= 2 { error } else { codes::NONE })
}

/// The v8 answer: one entry per group.
pub fn response_v8(groups: &[(String, GroupOffsets)]) -> OffsetFetchResponse {
    let groups = groups
        .iter()
        .map(|(id, r)| {
            let g = OffsetFetchResponseGroup::default().with_group_id(GroupId(s(id.clone())));
            match r {
                Err(e) => g.with_error_code(codes::code(*e)),
                Ok(topics) => g.with_topics(
                    topics
                        .iter()
                        .map(|(t, parts)| {
                            OffsetFetchResponseTopics::default()
                                .with_name(TopicName(s(t.clone())))
                                .with_partitions(
                                    parts
                                        .iter()
                                        .map(|(p, v)| {
                                            let x = OffsetFetchResponsePartitions::default()
                                                .with_partition_index(*p);
                                            match v {
                                                None => x
                                                    .with_committed_offset(-1)
                                                    .with_committed_leader_epoch(-1)
                                                    .with_metadata(Some(s(""))),
                                                Some(v) => x
                                                    .with_committed_offset(v.offset)
                                                    .with_committed_leader_epoch(v.leader_epoch)
                                                    .with_metadata(Some(s(v.metadata.clone()))),
                                            }
                                        })
                                        .collect(),
                                )
                        })
                        .collect(),
                ),
            }
        })
        .collect();
    OffsetFetchResponse::default().with_groups(groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode_response;
    use kafka_protocol::messages::ApiKey;

    #[test]
    fn encodes_at_every_served_version() {
        let v = OffsetValue {
            offset: 5,
            leader_epoch: 2,
            metadata: "m".into(),
            commit_timestamp: 1,
        };
        let ok: GroupOffsets = Ok(vec![("t".into(), vec![(0, Some(v)), (1, None)])]);
        for version in 1..=7 {
            for r in [&ok, &Err(ErrorCode::NotCoordinator)] {
                encode_response(0, ApiKey::OffsetFetch, version, &response(version, r)).unwrap();
            }
        }
        let groups = vec![
            ("g".to_owned(), ok),
            ("h".to_owned(), Err(ErrorCode::NotCoordinator)),
        ];
        encode_response(0, ApiKey::OffsetFetch, 8, &response_v8(&groups)).unwrap();
    }
}
