//! DeleteRecords (key 21), v0–2: on the partition's leader, moves the log start offset
//! up to the offset given (-1: the high watermark) and answers the new low watermark
//! (the log start after the call). Offsets above the high watermark are
//! OFFSET_OUT_OF_RANGE; a broker that does not lead the partition answers
//! NOT_LEADER_OR_FOLLOWER (the client re-routes from Metadata), an unknown partition
//! UNKNOWN_TOPIC_OR_PARTITION.
//!
//! Followers learn the new start from the leader's replication answers
//! (`log_start_offset`); until they apply it, a follower keeps the records below it,
//! which no consumer can read (only the leader serves consumers).

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse, RequestHeader};
use rill_broker::PartitionError;
use rill_types::ErrorCode;

use crate::codes;
use crate::context::KafkaContext;

/// Deletes the records.
pub async fn handle(
    ctx: &KafkaContext,
    _header: &RequestHeader,
    req: DeleteRecordsRequest,
) -> Option<DeleteRecordsResponse> {
    let mut topics = Vec::with_capacity(req.topics.len());
    for t in req.topics {
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for p in &t.partitions {
            let r = DeleteRecordsPartitionResult::default().with_partition_index(p.partition_index);
            partitions.push(
                match delete(ctx, t.name.0.as_str(), p.partition_index, p.offset).await {
                    Ok(low) => r.with_low_watermark(low),
                    Err(e) => r
                        .with_low_watermark(-1)
                        .with_error_code(codes::partition_error(&e)),
                },
            );
        }
        topics.push(
            DeleteRecordsTopicResult::default()
                .with_name(t.name)
                .with_partitions(partitions),
        );
    }
    Some(DeleteRecordsResponse::default().with_topics(topics))
}

async fn delete(
    ctx: &KafkaContext,
    topic: &str,
    index: i32,
    offset: i64,
) -> Result<i64, PartitionError> {
    let part = ctx.rm.by_name(topic, index)?;
    let start = tokio::task::spawn_blocking(move || part.delete_records(offset))
        .await
        .map_err(|e| PartitionError::new(ErrorCode::UnknownServerError, e.to_string()))??;
    Ok(start.get())
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::TopicName;

    use super::*;
    use crate::handlers::s;

    #[test]
    fn an_answer_encodes_at_every_served_version() {
        crate::handlers::configs::assert_encodes(0..=2, |_| {
            DeleteRecordsResponse::default().with_topics(vec![
                DeleteRecordsTopicResult::default()
                    .with_name(TopicName(s("t")))
                    .with_partitions(vec![
                        DeleteRecordsPartitionResult::default()
                            .with_partition_index(0)
                            .with_low_watermark(5),
                        DeleteRecordsPartitionResult::default()
                            .with_partition_index(1)
                            .with_low_watermark(-1)
                            .with_error_code(1),
                    ]),
            ])
        });
    }
}
