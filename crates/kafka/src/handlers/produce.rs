//! Produce (key 0), v3–11 (advertised from v0, see [`crate::apis`]): RecordBatch v2
//! bytes go to the broker's data plane as sent — validated, stamped with offsets and
//! the leader epoch, stored and later served byte for byte. acks=0 gets no answer.
//!
//! Transactions are not supported: a transactional produce is refused per partition.

use std::time::Duration;

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, RequestHeader};
use rill_broker::data_plane::{MAX_PRODUCE_TIMEOUT, ProduceInput, millis};
use rill_types::ErrorCode;

use super::s;
use crate::codes;
use crate::context::KafkaContext;

/// Appends the records and answers once `acks` is met (no answer for acks=0).
pub async fn handle(
    ctx: &KafkaContext,
    header: &RequestHeader,
    req: ProduceRequest,
) -> Option<ProduceResponse> {
    let version = header.request_api_version;
    let refuse = if req.transactional_id.is_some() {
        Some((
            ErrorCode::TransactionalIdAuthorizationFailed,
            "transactions are not supported by rill",
        ))
    } else {
        None
    };
    let mut inputs = Vec::new();
    let mut slots = Vec::new(); // per request partition: Ok(index into inputs) or Err(code, msg)
    for t in &req.topic_data {
        for p in &t.partition_data {
            let slot = match (&refuse, &p.records) {
                (Some(r), _) => Err(*r),
                (None, None) => Err((ErrorCode::CorruptMessage, "the partition has no records")),
                (None, Some(records)) => {
                    inputs.push(ProduceInput {
                        topic: t.name.0.as_str().to_owned(),
                        partition: p.index,
                        records: records.clone(),
                    });
                    Ok(inputs.len() - 1)
                }
            };
            slots.push(slot);
        }
    }
    let timeout: Duration = millis(req.timeout_ms, MAX_PRODUCE_TIMEOUT);
    let mut results = ctx.rm.produce(req.acks, timeout, inputs).await;
    if req.acks == 0 {
        return None;
    }
    let mut slots = slots.into_iter();
    let responses = req
        .topic_data
        .into_iter()
        .map(|t| {
            let partition_responses = t
                .partition_data
                .iter()
                .map(|p| {
                    let r = PartitionProduceResponse::default().with_index(p.index);
                    match slots.next().expect("one slot per partition") {
                        Err((code, message)) => r
                            .with_error_code(codes::code(code))
                            .with_base_offset(-1)
                            .with_error_message((version >= 8).then(|| s(message))),
                        Ok(i) => match std::mem::replace(
                            &mut results[i],
                            Err(rill_broker::PartitionError::new(
                                ErrorCode::UnknownServerError,
                                "",
                            )),
                        ) {
                            Ok(done) => r
                                .with_base_offset(done.base_offset.get())
                                .with_log_append_time_ms(done.log_append_time.unwrap_or(-1))
                                .with_log_start_offset(if version >= 5 {
                                    done.log_start_offset.get()
                                } else {
                                    -1
                                }),
                            Err(e) => {
                                log_refusal(ctx, &t.name.0, p.index, &e);
                                r.with_error_code(codes::partition_error(&e))
                                    .with_base_offset(-1)
                                    .with_error_message((version >= 8).then(|| s(e.message)))
                            }
                        },
                    }
                })
                .collect();
            TopicProduceResponse::default()
                .with_name(t.name)
                .with_partition_responses(partition_responses)
        })
        .collect();
    Some(ProduceResponse::default().with_responses(responses))
}

fn log_refusal(ctx: &KafkaContext, topic: &str, partition: i32, e: &rill_broker::PartitionError) {
    // The epoch this broker knows the partition at (-1: it hosts no replica of it).
    let leader_epoch = ctx
        .rm
        .by_name(topic, partition)
        .map_or(-1, |p| p.hw_view().leader_epoch.get());
    match e.code {
        ErrorCode::NotLeaderOrFollower | ErrorCode::UnknownTopicOrPartition => {
            tracing::debug!(topic, partition, leader_epoch, error = %e, "produce refused")
        }
        _ => tracing::info!(topic, partition, leader_epoch, error = %e, "produce refused"),
    }
}
