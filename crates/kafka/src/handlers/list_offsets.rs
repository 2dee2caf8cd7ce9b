//! ListOffsets (key 2), v1–8: -2 (earliest) the log start, -1 (latest) the high
//! watermark, -4 (earliest local) the log start too (no tiered storage), otherwise the
//! first offset whose timestamp is at or after the one given. `current_leader_epoch`
//! (v4+) is checked as for Fetch. The leader epoch answered is the leader's current one:
//! at least the epoch of the record found, so a client validating it (KIP-320) never
//! truncates what it read.

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse, RequestHeader};
use rill_broker::PartitionError;
use rill_types::{ErrorCode, LeaderEpoch};

use crate::codes;
use crate::context::KafkaContext;

/// Looks up each partition's offset.
pub async fn handle(
    ctx: &KafkaContext,
    header: &RequestHeader,
    req: ListOffsetsRequest,
) -> Option<ListOffsetsResponse> {
    let mut topics = Vec::with_capacity(req.topics.len());
    for t in req.topics {
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for p in &t.partitions {
            let r = ListOffsetsPartitionResponse::default().with_partition_index(p.partition_index);
            partitions.push(match lookup(ctx, t.name.0.as_str(), p).await {
                Ok((offset, timestamp, epoch)) => r
                    .with_offset(offset)
                    .with_timestamp(timestamp)
                    .with_leader_epoch(if header.request_api_version >= 4 {
                        epoch
                    } else {
                        -1
                    }),
                Err(e) => r
                    .with_error_code(codes::partition_error(&e))
                    .with_offset(-1)
                    .with_timestamp(-1),
            });
        }
        topics.push(
            ListOffsetsTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions),
        );
    }
    Some(ListOffsetsResponse::default().with_topics(topics))
}

async fn lookup(
    ctx: &KafkaContext,
    topic: &str,
    p: &kafka_protocol::messages::list_offsets_request::ListOffsetsPartition,
) -> Result<(i64, i64, i32), PartitionError> {
    let part = ctx.rm.by_name(topic, p.partition_index)?;
    if p.current_leader_epoch >= 0 {
        part.check_leader_epoch(LeaderEpoch::new(p.current_leader_epoch))?;
    }
    let timestamp = match p.timestamp {
        -4 => -2,
        ts if ts >= -2 => ts,
        ts => {
            return Err(PartitionError::new(
                ErrorCode::InvalidRequest,
                format!("ListOffsets timestamp {ts} is not supported"),
            ));
        }
    };
    let epoch = part.hw_view().leader_epoch.get();
    let lookup = part.clone();
    let (offset, found) = tokio::task::spawn_blocking(move || lookup.list_offset(timestamp))
        .await
        .map_err(|e| PartitionError::new(ErrorCode::UnknownServerError, e.to_string()))??;
    Ok(match offset {
        Some(o) => (o.get(), found, epoch),
        None => (-1, -1, -1),
    })
}
