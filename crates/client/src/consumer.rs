//! [`Consumer`]: reads partitions from their leaders, retrying through leader changes
//! until `fetch_timeout`.
//!
//! Contract:
//! - [`Consumer::fetch`] returns only records at or above the requested offset, in
//!   offset order, all below the high watermark; `next_offset` is where the next fetch
//!   should start (past control batches and compacted gaps too).
//! - Leader errors (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE,
//!   UNKNOWN_TOPIC_OR_PARTITION, FENCED_LEADER_EPOCH, ...) and broken or slow calls are
//!   retried after a metadata refresh until `fetch_timeout`; OFFSET_OUT_OF_RANGE and
//!   other refusals return at once. Reads write nothing, so every retry is safe.
//! - Answers are checked at this end of the boundary: a record at or above the high
//!   watermark, or offsets that do not increase, are [`DataError::Protocol`] errors.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rill_proto::data::data_service_client::DataServiceClient;
use rill_proto::data::{
    FetchPartition, FetchPartitionData, FetchRequest, ListOffsetsPartition, ListOffsetsRequest,
    ListOffsetsResult,
};
use rill_types::{Offset, PartitionIndex};
use tokio::time::Instant;
use tonic::transport::Channel;

use crate::call::{Target, call, data_client, kafka_error};
use crate::cluster::{Cluster, Settings};
use crate::config::millis_i32;
use crate::retry::{Backoff, should_retry};
use crate::{ClusterView, ConsumedRecord, ConsumerConfig, DataError, batch};

/// What one [`Consumer::fetch`] returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOutcome {
    /// The records at or above the requested offset, in offset order; possibly none.
    pub records: Vec<ConsumedRecord>,
    /// The partition's high watermark: offsets below it are committed.
    pub high_watermark: Offset,
    /// The partition's log start offset, when the broker reported it.
    pub log_start_offset: Option<Offset>,
    /// Where the next fetch should start: past the last batch returned, or the requested
    /// offset when none was.
    pub next_offset: Offset,
}

/// Which offset [`Consumer::list_offset`] looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The high watermark (the next offset to be committed).
    Latest,
    /// The first offset whose timestamp is at or after this (ms since the epoch).
    Timestamp(i64),
}

impl OffsetSpec {
    /// The `timestamp` field of ListOffsets: -2, -1 or the time.
    fn wire(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::Timestamp(t) => t,
        }
    }
}

/// A consumer of single partitions (no groups, no committed offsets). Cheap to clone;
/// clones share connections and metadata.
#[derive(Debug, Clone)]
pub struct Consumer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ConsumerConfig,
    cluster: Cluster,
}

impl Consumer {
    /// A consumer that finds the cluster through `bootstrap` ("host:port" of any brokers'
    /// gRPC listeners). Contacts nothing yet; fails only on an empty list or a malformed
    /// address.
    pub fn connect(bootstrap: &[String], config: ConsumerConfig) -> Result<Consumer, DataError> {
        let settings = Settings {
            request_timeout: config.request_timeout,
            metadata_max_age: config.metadata_max_age,
        };
        let cluster = Cluster::new(bootstrap, settings)?;
        Ok(Consumer {
            inner: Arc::new(Inner { config, cluster }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ConsumerConfig {
        &self.inner.config
    }

    /// Reads records of `partition` of `topic` from `offset` on (see the module docs).
    pub async fn fetch(
        &self,
        topic: &str,
        partition: impl Into<PartitionIndex>,
        offset: impl Into<Offset>,
    ) -> Result<FetchOutcome, DataError> {
        let (partition, offset) = (partition.into(), offset.into());
        if offset.get() < 0 {
            return Err(DataError::InvalidArgument(format!(
                "fetch at offset {offset}"
            )));
        }
        let cfg = &self.inner.config;
        let request = FetchRequest {
            max_wait_ms: millis_i32(cfg.max_wait),
            min_bytes: cfg.min_bytes,
            max_bytes: cfg.max_bytes,
            partitions: vec![FetchPartition {
                topic: topic.to_owned(),
                partition: Some(partition.into()),
                fetch_offset: Some(offset.into()),
                max_bytes: cfg.max_bytes,
            }],
        };
        let answer = self
            .with_leader(
                topic,
                partition,
                "Fetch",
                cfg.max_wait,
                |mut client, target, wait| {
                    let request = request.clone();
                    async move {
                        let response =
                            call(target.as_target(), wait, client.fetch(request)).await?;
                        let data = single(response.partitions, topic, partition, |d| {
                            (d.topic.as_str(), d.partition.map(|p| p.index))
                        })?;
                        match data.error {
                            Some(error) => Err(kafka_error(error, false)),
                            None => Ok(data),
                        }
                    }
                },
            )
            .await?;
        outcome(answer, topic, partition, offset)
    }

    /// Looks up an offset of `partition` of `topic`: its log start, its high watermark,
    /// or the first offset at or after a time (`None` when no record is that late).
    pub async fn list_offset(
        &self,
        topic: &str,
        partition: impl Into<PartitionIndex>,
        spec: OffsetSpec,
    ) -> Result<Option<Offset>, DataError> {
        let partition = partition.into();
        let request = ListOffsetsRequest {
            partitions: vec![ListOffsetsPartition {
                topic: topic.to_owned(),
                partition: Some(partition.into()),
                timestamp: spec.wire(),
            }],
        };
        let zero = Duration::ZERO;
        let result: ListOffsetsResult = self
            .with_leader(
                topic,
                partition,
                "ListOffsets",
                zero,
                |mut client, target, wait| {
                    let request = request.clone();
                    async move {
                        let response =
                            call(target.as_target(), wait, client.list_offsets(request)).await?;
                        let result = single(response.partitions, topic, partition, |r| {
                            (r.topic.as_str(), r.partition.map(|p| p.index))
                        })?;
                        match result.error {
                            Some(error) => Err(kafka_error(error, false)),
                            None => Ok(result),
                        }
                    }
                },
            )
            .await?;
        Ok(result.offset.map(Offset::from))
    }

    /// Every record of `partition` of `topic` in `from..to_exclusive`, fetching until
    /// the range is covered. Fails with [`DataError::Timeout`] when no fetch makes
    /// progress for `fetch_timeout` (e.g. the high watermark stays below `to_exclusive`).
    pub async fn read_all(
        &self,
        topic: &str,
        partition: impl Into<PartitionIndex>,
        from: impl Into<Offset>,
        to_exclusive: impl Into<Offset>,
    ) -> Result<Vec<ConsumedRecord>, DataError> {
        let (partition, to) = (partition.into(), to_exclusive.into());
        let cfg = &self.inner.config;
        let mut next = from.into();
        let mut records = Vec::new();
        let mut stall_deadline = Instant::now() + cfg.fetch_timeout;
        while next < to {
            let fetched = self.fetch(topic, partition, next).await?;
            if fetched.next_offset > next {
                records.extend(fetched.records.into_iter().filter(|r| r.offset < to));
                next = fetched.next_offset;
                stall_deadline = Instant::now() + cfg.fetch_timeout;
                continue;
            }
            let now = Instant::now();
            if now >= stall_deadline {
                return Err(DataError::Timeout {
                    operation: format!(
                        "reading {topic}-{partition} up to offset {to}: stuck at {next} \
                         (high watermark {})",
                        fetched.high_watermark
                    ),
                    after: cfg.fetch_timeout,
                    maybe_written: false,
                });
            }
            // Nothing new yet; the broker already held the fetch for up to max_wait, this
            // pause only guards against one that answers empty at once.
            tokio::time::sleep(cfg.retry_backoff.min(stall_deadline - now)).await;
        }
        Ok(records)
    }

    /// A fresh `Metadata` answer for `topics` (every topic when empty) from any broker.
    pub async fn metadata(&self, topics: &[String]) -> Result<ClusterView, DataError> {
        let deadline = Instant::now() + self.inner.config.request_timeout;
        self.inner.cluster.metadata(topics, deadline).await
    }

    /// Runs `rpc` against the leader of the partition, retrying retriable failures
    /// (refreshing the metadata first) until `fetch_timeout`. Each attempt may wait
    /// `request_timeout` plus `extra_wait` (the broker's own hold, for fetches).
    async fn with_leader<T, F, Fut>(
        &self,
        topic: &str,
        partition: PartitionIndex,
        rpc: &'static str,
        extra_wait: Duration,
        mut attempt: F,
    ) -> Result<T, DataError>
    where
        F: FnMut(DataServiceClient<Channel>, OwnedTarget, Duration) -> Fut,
        Fut: Future<Output = Result<T, DataError>>,
    {
        if partition.get() < 0 {
            return Err(DataError::InvalidArgument(format!("partition {partition}")));
        }
        let cfg = &self.inner.config;
        let cluster = &self.inner.cluster;
        let deadline = Instant::now() + cfg.fetch_timeout;
        let mut backoff = Backoff::new(
            deadline,
            cfg.retry_backoff,
            cfg.retry_backoff_max,
            cfg.request_timeout,
        );
        let mut failed_view = None;
        loop {
            let result = async {
                let snapshot = cluster.view_for(topic, failed_view, deadline).await?;
                failed_view = Some(snapshot.generation);
                let leader = snapshot.view.leader(topic, partition)?;
                let client = data_client(cluster.channel(&leader.addr)?);
                let remaining = deadline.saturating_duration_since(Instant::now());
                let wait = remaining.min(cfg.request_timeout + extra_wait);
                let target = OwnedTarget {
                    rpc,
                    broker: leader.addr,
                };
                attempt(client, target, wait).await
            }
            .await;
            let err = match result {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            if !should_retry(&err) || !backoff.pause().await {
                return Err(err);
            }
        }
    }
}

/// A [`Target`] that owns its address, to move into an attempt's future.
struct OwnedTarget {
    rpc: &'static str,
    broker: String,
}

impl OwnedTarget {
    fn as_target(&self) -> Target<'_> {
        Target {
            rpc: self.rpc,
            broker: &self.broker,
            writes: false,
        }
    }
}

/// The one entry of an answer that must describe exactly `topic`-`partition`.
fn single<T>(
    mut entries: Vec<T>,
    topic: &str,
    partition: PartitionIndex,
    key: impl Fn(&T) -> (&str, Option<i32>),
) -> Result<T, DataError> {
    match entries.pop() {
        Some(e) if entries.is_empty() && key(&e) == (topic, Some(partition.get())) => Ok(e),
        _ => Err(DataError::protocol(
            format!("answer does not describe exactly {topic}-{partition}"),
            false,
        )),
    }
}

/// Decodes and checks a fetch answer.
fn outcome(
    data: FetchPartitionData,
    topic: &str,
    partition: PartitionIndex,
    offset: Offset,
) -> Result<FetchOutcome, DataError> {
    let high_watermark = Offset::from(data.high_watermark.ok_or_else(|| {
        DataError::protocol(
            format!("fetch of {topic}-{partition}: no high watermark"),
            false,
        )
    })?);
    let decoded = batch::decode(data.records)?;
    let mut previous: Option<Offset> = None;
    for record in &decoded.records {
        if record.offset >= high_watermark || previous.is_some_and(|p| record.offset <= p) {
            return Err(DataError::protocol(
                format!(
                    "fetch of {topic}-{partition}: record offset {} after {previous:?} with \
                     high watermark {high_watermark}",
                    record.offset
                ),
                false,
            ));
        }
        previous = Some(record.offset);
    }
    let records: Vec<ConsumedRecord> = decoded
        .records
        .into_iter()
        .filter(|r| r.offset >= offset)
        .collect();
    Ok(FetchOutcome {
        records,
        high_watermark,
        log_start_offset: data.log_start_offset.map(Offset::from),
        next_offset: decoded.next_offset.map_or(offset, |n| n.max(offset)),
    })
}
