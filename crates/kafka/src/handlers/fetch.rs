//! Fetch (key 1), v4–12, for consumers (replicas fetch over gRPC): whole stored batches
//! from the one holding the fetch offset, below the high watermark, with long-poll that
//! wakes on high-watermark moves.
//!
//! - `isolation_level`: without transactions every record below the high watermark is
//!   committed, so read_committed and read_uncommitted see the same records and the last
//!   stable offset is the high watermark;
//! - fetch sessions (KIP-227, v7+): answered with session id 0, which tells the client
//!   no session was created and makes it send full fetch requests, as Kafka does when its
//!   session cache is full;
//! - the preferred read replica (v11+) is always -1: consumers read from the leader;
//! - `current_leader_epoch` (v9+) is checked: FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH.

use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, RequestHeader};
use rill_broker::data_plane::{FetchInput, FetchLimits, MAX_FETCH_WAIT, millis};
use rill_types::{LeaderEpoch, Offset};

use crate::codes;
use crate::context::KafkaContext;

/// Reads the partitions, waiting up to `max_wait_ms` for `min_bytes`.
pub async fn handle(
    ctx: &KafkaContext,
    header: &RequestHeader,
    req: FetchRequest,
) -> Option<FetchResponse> {
    let inputs: Vec<FetchInput> = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| FetchInput {
                topic: t.topic.0.as_str().to_owned(),
                partition: p.partition,
                offset: Offset::new(p.fetch_offset),
                max_bytes: p.partition_max_bytes,
                current_leader_epoch: (p.current_leader_epoch >= 0)
                    .then(|| LeaderEpoch::new(p.current_leader_epoch)),
            })
        })
        .collect();
    let limits = FetchLimits {
        max_wait: millis(req.max_wait_ms, MAX_FETCH_WAIT),
        min_bytes: usize::try_from(req.min_bytes).unwrap_or(0),
        max_bytes: req.max_bytes,
    };
    let mut results = ctx.rm.fetch(limits, &inputs).await.into_iter();
    // log_start_offset exists from v5; a field set beyond its version does not encode.
    let v5 = header.request_api_version >= 5;
    let responses = req
        .topics
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let base = PartitionData::default()
                        .with_partition_index(p.partition)
                        .with_preferred_read_replica(BrokerId(-1));
                    match results.next().expect("one result per partition") {
                        Ok(f) => base
                            .with_high_watermark(f.high_watermark.get())
                            .with_last_stable_offset(f.high_watermark.get())
                            .with_log_start_offset(if v5 { f.log_start_offset.get() } else { -1 })
                            .with_records(Some(f.records)),
                        Err(e) => base
                            .with_error_code(codes::partition_error(&e))
                            .with_high_watermark(-1)
                            .with_last_stable_offset(-1)
                            .with_log_start_offset(-1)
                            .with_records(Some(Default::default())),
                    }
                })
                .collect();
            FetchableTopicResponse::default()
                .with_topic(t.topic)
                .with_topic_id(t.topic_id)
                .with_partitions(partitions)
        })
        .collect();
    Some(
        FetchResponse::default()
            .with_session_id(0)
            .with_responses(responses),
    )
}
