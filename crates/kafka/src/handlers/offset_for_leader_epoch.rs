//! OffsetForLeaderEpoch (key 23), v2–4, for consumers validating their position after a
//! leader change (KIP-320): the largest epoch at or below the one asked and where it
//! ends in the leader's log. Replicas use the gRPC replication protocol instead.

use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{
    OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, RequestHeader,
};
use rill_broker::PartitionError;
use rill_types::LeaderEpoch;

use crate::codes;
use crate::context::KafkaContext;

/// Answers each partition's end offset for the epoch asked.
pub async fn handle(
    ctx: &KafkaContext,
    _header: &RequestHeader,
    req: OffsetForLeaderEpochRequest,
) -> Option<OffsetForLeaderEpochResponse> {
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let r = EpochEndOffset::default().with_partition(p.partition);
                    match end_offset(
                        ctx,
                        t.topic.0.as_str(),
                        p.partition,
                        p.current_leader_epoch,
                        p.leader_epoch,
                    ) {
                        Ok(Some((epoch, end))) => {
                            r.with_leader_epoch(epoch.get()).with_end_offset(end.get())
                        }
                        Ok(None) => r.with_leader_epoch(-1).with_end_offset(-1),
                        Err(e) => r
                            .with_error_code(codes::partition_error(&e))
                            .with_leader_epoch(-1)
                            .with_end_offset(-1),
                    }
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic)
                .with_partitions(partitions)
        })
        .collect();
    Some(OffsetForLeaderEpochResponse::default().with_topics(topics))
}

fn end_offset(
    ctx: &KafkaContext,
    topic: &str,
    partition: i32,
    current: i32,
    asked: i32,
) -> Result<Option<(LeaderEpoch, rill_types::Offset)>, PartitionError> {
    let part = ctx.rm.by_name(topic, partition)?;
    if current >= 0 {
        part.check_leader_epoch(LeaderEpoch::new(current))?;
    }
    part.end_offset_for_epoch(LeaderEpoch::new(asked))
}
