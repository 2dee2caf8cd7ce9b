//! The client data plane of a broker, independent of the transport: produce (acks 0/1/all)
//! and consumer fetch (with long-poll). The gRPC data service and the Kafka listener
//! both call these, so the two front ends cannot drift apart in what they promise.
//!
//! Contracts:
//! - a produce appends every partition first, then waits for replication of all of them
//!   under one deadline (acks=all); an answer without error means the records are
//!   acknowledged in the sense of `acks`;
//! - a fetch answers at once when any partition fails, when `min_bytes` are ready or
//!   when the wait is over; interest in high-watermark moves is registered before the
//!   partitions are read, so no wake-up is lost;
//! - only the first batch of the whole answer may exceed its budget (KIP-74).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rill_types::{ErrorCode, LeaderEpoch, Offset};

use crate::error::PartitionError;
use crate::replica_manager::{ReplicaManager, log_config};
use rill_storage::validate::{RecordCheckError, validate_records};

/// Longest wait a fetch may ask for.
pub const MAX_FETCH_WAIT: Duration = Duration::from_secs(30);
/// Longest acks=all wait a produce may ask for.
pub const MAX_PRODUCE_TIMEOUT: Duration = Duration::from_secs(300);
/// Largest fetch answer, whatever the request asks.
pub const MAX_FETCH_BYTES: usize = 64 << 20;
/// Most partitions one produce or fetch may name.
pub const MAX_REQUEST_PARTITIONS: usize = 10_000;

/// The records for one partition of a produce.
#[derive(Debug, Clone)]
pub struct ProduceInput {
    /// The topic's name.
    pub topic: String,
    /// The partition index.
    pub partition: i32,
    /// One or more RecordBatch v2, back to back.
    pub records: Bytes,
}

/// What a successful produce of one partition got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Produced {
    /// The offset of the first record (for a retried idempotent batch: its original).
    pub base_offset: Offset,
    /// The append time stamped by the broker (LogAppendTime topics).
    pub log_append_time: Option<i64>,
    /// The partition's log start offset.
    pub log_start_offset: Offset,
}

/// One partition of a consumer fetch.
#[derive(Debug, Clone)]
pub struct FetchInput {
    /// The topic's name.
    pub topic: String,
    /// The partition index.
    pub partition: i32,
    /// The first offset wanted.
    pub offset: Offset,
    /// At most this many bytes for this partition (non-positive: 1 MiB).
    pub max_bytes: i32,
    /// The leader epoch the client believes current (KIP-320); `None` skips the check.
    pub current_leader_epoch: Option<LeaderEpoch>,
}

/// What a consumer fetch read from one partition.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// Whole batches from the one holding the fetch offset, all below the high watermark.
    pub records: Bytes,
    /// The high watermark.
    pub high_watermark: Offset,
    /// The log start offset.
    pub log_start_offset: Offset,
}

/// A fetch's limits.
#[derive(Debug, Clone, Copy)]
pub struct FetchLimits {
    /// How long to wait when fewer than `min_bytes` are ready (capped at
    /// [`MAX_FETCH_WAIT`]).
    pub max_wait: Duration,
    /// Answer as soon as this many bytes are ready.
    pub min_bytes: usize,
    /// At most this many bytes in the answer (non-positive: 50 MiB; capped at
    /// [`MAX_FETCH_BYTES`]).
    pub max_bytes: i32,
}

/// `ms` as a duration, negative as zero, capped at `max`.
pub fn millis(ms: i32, max: Duration) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0)).min(max)
}

/// A byte limit from a request: non-positive means `default`; never above
/// [`MAX_FETCH_BYTES`].
pub fn clamp_bytes(asked: i32, default: usize) -> usize {
    usize::try_from(asked)
        .ok()
        .filter(|b| *b > 0)
        .unwrap_or(default)
        .min(MAX_FETCH_BYTES)
}

/// The read budget of the next partition of a fetch that has `total` of `max_bytes`
/// already: `None` when the answer is full.
pub fn budget(asked: i32, total: usize, max_bytes: usize) -> Option<usize> {
    let left = max_bytes.saturating_sub(total);
    (left > 0).then(|| clamp_bytes(asked, 1 << 20).min(left))
}

fn too_many(n: usize) -> PartitionError {
    PartitionError::new(
        ErrorCode::InvalidRequest,
        format!("a request may name at most {MAX_REQUEST_PARTITIONS} partitions, not {n}"),
    )
}

impl ReplicaManager {
    /// Produces `inputs` with `acks` (0, 1 or -1), waiting at most `timeout` for
    /// replication. One result per input, in order. With acks=0 the results are still
    /// returned; the caller decides not to answer.
    pub async fn produce(
        self: &Arc<Self>,
        acks: i16,
        timeout: Duration,
        inputs: Vec<ProduceInput>,
    ) -> Vec<Result<Produced, PartitionError>> {
        let refuse_all = |e: PartitionError, n: usize| (0..n).map(|_| Err(e.clone())).collect();
        if ![0, 1, -1].contains(&acks) {
            let e = PartitionError::new(
                ErrorCode::InvalidRequiredAcks,
                format!("acks must be 0, 1 or -1, not {acks}"),
            );
            return refuse_all(e, inputs.len());
        }
        if inputs.len() > MAX_REQUEST_PARTITIONS {
            return refuse_all(too_many(inputs.len()), inputs.len());
        }
        // One deadline for the whole request, however many partitions it waits for.
        let deadline = tokio::time::Instant::now() + timeout.min(MAX_PRODUCE_TIMEOUT);
        let mut pending = Vec::with_capacity(inputs.len());
        for input in inputs {
            pending.push(self.append_one(input, acks == -1).await);
        }
        let mut results = Vec::with_capacity(pending.len());
        for item in pending {
            let (partition, produced, last, epoch) = match item {
                Ok(x) => x,
                Err(e) => {
                    results.push(Err(e));
                    continue;
                }
            };
            if acks == -1
                && let Err(e) = partition
                    .wait_replicated(
                        last,
                        epoch,
                        deadline.saturating_duration_since(tokio::time::Instant::now()),
                    )
                    .await
            {
                results.push(Err(e));
                continue;
            }
            results.push(Ok(produced));
        }
        results
    }

    async fn append_one(
        self: &Arc<Self>,
        input: ProduceInput,
        acks_all: bool,
    ) -> Result<
        (
            Arc<crate::partition::Partition>,
            Produced,
            Offset,
            LeaderEpoch,
        ),
        PartitionError,
    > {
        let partition = self.by_name(&input.topic, input.partition)?;
        let compacted = log_config(&self.metadata.borrow().image, &input.topic)
            .cleanup_policy
            .compacts();
        let mut records = BytesMut::from(&input.records[..]);
        let bytes = records.len();
        let part = partition.clone();
        let (info, epoch) = tokio::task::spawn_blocking(move || {
            validate_records(&records, compacted).map_err(|e| match e {
                RecordCheckError::Corrupt { .. } => {
                    PartitionError::new(ErrorCode::CorruptMessage, e.to_string())
                }
                RecordCheckError::InvalidRecord(m) => {
                    PartitionError::new(ErrorCode::InvalidRecord, m)
                }
            })?;
            part.append_as_leader(&mut records, acks_all)
        })
        .await
        .map_err(|e| PartitionError::new(ErrorCode::UnknownServerError, e.to_string()))??;
        if !info.duplicate {
            crate::metrics::appended(&input.topic, info.record_count, bytes);
        }
        tracing::trace!(
            topic = %input.topic,
            partition = input.partition,
            leader_epoch = %epoch,
            first = %info.first_offset,
            last = %info.last_offset,
            "appended"
        );
        let produced = Produced {
            base_offset: info.first_offset,
            log_append_time: info.log_append_time,
            log_start_offset: info.log_start_offset,
        };
        Ok((partition, produced, info.last_offset, epoch))
    }

    /// A consumer fetch: reads every partition, waiting (long-poll) until `min_bytes`
    /// are ready, any partition fails, or `limits.max_wait` has passed. One result per
    /// input, in order.
    pub async fn fetch(
        &self,
        limits: FetchLimits,
        inputs: &[FetchInput],
    ) -> Vec<Result<Fetched, PartitionError>> {
        if inputs.len() > MAX_REQUEST_PARTITIONS {
            return inputs.iter().map(|_| Err(too_many(inputs.len()))).collect();
        }
        let deadline = tokio::time::Instant::now() + limits.max_wait.min(MAX_FETCH_WAIT);
        let max_bytes = clamp_bytes(limits.max_bytes, 50 << 20);
        let mut changes = self.wakeups.visible.subscribe();
        loop {
            changes.borrow_and_update();
            // Reads are positioned reads of (normally cached) segment bytes and never wait
            // for the log lock, so they run here: a hop to the blocking pool per pass cost
            // more (thread wake-ups) than the reads.
            let (out, total) = self.consumer_pass(inputs, max_bytes);
            let any_error = out.iter().any(Result::is_err);
            if total >= limits.min_bytes.max(1)
                || any_error
                || tokio::time::Instant::now() >= deadline
            {
                for (input, read) in inputs.iter().zip(&out) {
                    if let Ok(f) = read {
                        crate::metrics::served(&input.topic, f.records.len());
                    }
                }
                return out;
            }
            // On timeout, one last read happens on the next turn (the deadline has passed).
            let _ = tokio::time::timeout_at(deadline, changes.changed()).await;
        }
    }

    /// One read of every partition of a consumer fetch (positioned reads; no log lock).
    fn consumer_pass(
        &self,
        inputs: &[FetchInput],
        max_bytes: usize,
    ) -> (Vec<Result<Fetched, PartitionError>>, usize) {
        let mut total = 0usize;
        let mut out = Vec::with_capacity(inputs.len());
        for p in inputs {
            let read = self.by_name(&p.topic, p.partition).and_then(|part| {
                if let Some(epoch) = p.current_leader_epoch {
                    part.check_leader_epoch(epoch)?;
                }
                let room = budget(p.max_bytes, total, max_bytes);
                let (mut read, hw) = part.read_for_consumer(p.offset, room.unwrap_or(0))?;
                if room.is_none_or(|r| total > 0 && read.records.len() > r) {
                    read.records = Bytes::new();
                }
                Ok(Fetched {
                    records: read.records,
                    high_watermark: hw,
                    log_start_offset: read.log_start_offset,
                })
            });
            if let Ok(f) = &read {
                total += f.records.len();
            }
            out.push(read);
        }
        (out, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_never_exceed_what_is_left() {
        assert_eq!(budget(100, 0, 1000), Some(100));
        assert_eq!(budget(2000, 900, 1000), Some(100));
        assert_eq!(budget(100, 1000, 1000), None);
        assert_eq!(budget(0, 0, 10 << 20), Some(1 << 20));
        assert_eq!(clamp_bytes(i32::MAX, 1), MAX_FETCH_BYTES);
        assert_eq!(clamp_bytes(-5, 7), 7);
    }

    #[test]
    fn waits_are_capped_and_never_negative() {
        assert_eq!(millis(-1, MAX_FETCH_WAIT), Duration::ZERO);
        assert_eq!(millis(i32::MAX, MAX_FETCH_WAIT), MAX_FETCH_WAIT);
        assert_eq!(millis(250, MAX_FETCH_WAIT), Duration::from_millis(250));
    }
}
