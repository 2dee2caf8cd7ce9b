//! [`Producer`]: sends record batches to partition leaders, retrying through leader
//! changes until `delivery_timeout`.
//!
//! Contract of [`Producer::send`]:
//! - All records go as ONE batch to the partition's leader, so they get consecutive
//!   offsets and are appended (or not) together.
//! - A retriable failure (see `retry.rs`: leader moved or not yet known, ISR short,
//!   broker unreachable or slow) refreshes the metadata and tries again after a backoff,
//!   until `delivery_timeout`; then the last error is returned, its Kafka code intact.
//! - Any other failure returns at once.
//! - A failure reports whether the records may have been written
//!   ([`DataError::is_definitely_not_written`]), over every attempt of the send.
//! - Without idempotence a retry after an unknown outcome may append the records twice
//!   (at-least-once, as Kafka's producer without `enable.idempotence`).

use std::sync::Arc;

use bytes::Bytes;
use rill_proto::data::{ProducePartition, ProduceRequest, ProduceResponse};
use rill_types::{BrokerId, Offset, PartitionIndex};
use tokio::time::Instant;

use crate::call::{Target, call, data_client, kafka_error};
use crate::cluster::{Cluster, Settings};
use crate::config::millis_i32;
use crate::retry::{Backoff, refused_before_append, should_retry};
use crate::{
    ClusterView, DataError, ProducerConfig, ProducerRecord, encode_batch, partition_for_key,
};

/// Time for a broker's answer to arrive after its own `timeout_ms` ran out: the client
/// waits this much longer than it tells the broker, so that it hears REQUEST_TIMED_OUT
/// rather than timing out itself.
const ANSWER_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// What a successful [`Producer::send`] learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOutcome {
    /// The partition written.
    pub partition: PartitionIndex,
    /// The offset of the first record; `None` with acks=0 (no answer awaited).
    pub base_offset: Option<Offset>,
    /// The broker's append time on LogAppendTime topics.
    pub log_append_time: Option<i64>,
    /// The partition's log start offset, when the broker reported it.
    pub log_start_offset: Option<Offset>,
    /// The broker that accepted the records (the leader, as the metadata said).
    pub leader: BrokerId,
}

/// A producer. Cheap to clone; clones share connections and metadata.
#[derive(Debug, Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ProducerConfig,
    cluster: Cluster,
}

impl Producer {
    /// A producer that finds the cluster through `bootstrap` ("host:port" of any brokers'
    /// gRPC listeners). Contacts nothing yet; fails only on an empty list or a malformed
    /// address.
    pub fn connect(bootstrap: &[String], config: ProducerConfig) -> Result<Producer, DataError> {
        let settings = Settings {
            request_timeout: config.request_timeout,
            metadata_max_age: config.metadata_max_age,
        };
        let cluster = Cluster::new(bootstrap, settings)?;
        Ok(Producer {
            inner: Arc::new(Inner { config, cluster }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ProducerConfig {
        &self.inner.config
    }

    /// Sends `records` as one batch to `partition` of `topic`; see the module docs for
    /// retries and for what a failure says about the records.
    pub async fn send(
        &self,
        topic: &str,
        partition: impl Into<PartitionIndex>,
        records: Vec<ProducerRecord>,
    ) -> Result<SendOutcome, DataError> {
        let batch = encode_batch(&records)?;
        self.send_batch(topic, partition, batch).await
    }

    /// Sends already-encoded RecordBatch bytes as they are (for tests of the broker's
    /// validation: corrupt or oversized batches), with [`Producer::send`]'s retries.
    pub async fn send_batch(
        &self,
        topic: &str,
        partition: impl Into<PartitionIndex>,
        batch: Bytes,
    ) -> Result<SendOutcome, DataError> {
        let partition = partition.into();
        if partition.get() < 0 {
            return Err(DataError::InvalidArgument(format!("partition {partition}")));
        }
        let cfg = &self.inner.config;
        let deadline = Instant::now() + cfg.delivery_timeout;
        let mut backoff = Backoff::new(
            deadline,
            cfg.retry_backoff,
            cfg.retry_backoff_max,
            cfg.request_timeout,
        );
        let mut maybe_written = false;
        let mut failed_view = None;
        loop {
            let err = match self
                .attempt(topic, partition, &batch, deadline, &mut failed_view)
                .await
            {
                Ok(outcome) => return Ok(outcome),
                Err(e) => e,
            };
            maybe_written |= err.maybe_written();
            let err = err.or_maybe_written(maybe_written);
            if !should_retry(&err) || !backoff.pause().await {
                return Err(err);
            }
        }
    }

    /// One attempt: resolve the leader (refreshing the view if `failed_view` says the
    /// last attempt failed with the current one), send, read the answer. Records the
    /// generation of the view used in `failed_view`, for the next attempt.
    async fn attempt(
        &self,
        topic: &str,
        partition: PartitionIndex,
        batch: &Bytes,
        deadline: Instant,
        failed_view: &mut Option<u64>,
    ) -> Result<SendOutcome, DataError> {
        let cluster = &self.inner.cluster;
        let snapshot = cluster.view_for(topic, *failed_view, deadline).await?;
        *failed_view = Some(snapshot.generation);
        let leader = snapshot.view.leader(topic, partition)?;
        let mut client = data_client(cluster.channel(&leader.addr)?);

        let remaining = deadline.saturating_duration_since(Instant::now());
        let wait = remaining.min(self.inner.config.request_timeout + ANSWER_GRACE);
        let broker_timeout = wait.saturating_sub(ANSWER_GRACE).max(wait / 2);
        let acks = self.inner.config.acks;
        let request = ProduceRequest {
            acks,
            timeout_ms: millis_i32(broker_timeout),
            partitions: vec![ProducePartition {
                topic: topic.to_owned(),
                partition: Some(partition.into()),
                records: batch.clone(),
            }],
        };
        let target = Target {
            rpc: "Produce",
            broker: &leader.addr,
            writes: true,
        };
        let response = call(target, wait, client.produce(request)).await?;
        let outcome = read_answer(response, topic, partition, acks)?;
        Ok(SendOutcome {
            leader: leader.id,
            ..outcome
        })
    }

    /// The number of partitions of `topic`, from the cached metadata (fetched if the
    /// topic is not cached). Retries UNKNOWN_TOPIC_OR_PARTITION and unreachable brokers
    /// until `delivery_timeout`, as a send would.
    pub async fn partitions(&self, topic: &str) -> Result<i32, DataError> {
        let cfg = &self.inner.config;
        let deadline = Instant::now() + cfg.delivery_timeout;
        let mut backoff = Backoff::new(
            deadline,
            cfg.retry_backoff,
            cfg.retry_backoff_max,
            cfg.request_timeout,
        );
        let mut failed_view = None;
        loop {
            let result = self
                .inner
                .cluster
                .view_for(topic, failed_view, deadline)
                .await;
            let err = match result {
                Ok(snapshot) => match snapshot.view.partition_count(topic) {
                    Ok(count) => return Ok(count),
                    Err(e) => {
                        failed_view = Some(snapshot.generation);
                        e
                    }
                },
                Err(e) => e,
            };
            if !should_retry(&err) || !backoff.pause().await {
                return Err(err);
            }
        }
    }

    /// The partition Kafka's default partitioner picks for `key` in `topic`
    /// ([`partition_for_key`] over [`Producer::partitions`]).
    pub async fn partition_for_key(
        &self,
        topic: &str,
        key: &[u8],
    ) -> Result<PartitionIndex, DataError> {
        Ok(partition_for_key(key, self.partitions(topic).await?))
    }

    /// A fresh `Metadata` answer for `topics` (every topic when empty) from any broker.
    pub async fn metadata(&self, topics: &[String]) -> Result<ClusterView, DataError> {
        let deadline = Instant::now() + self.inner.config.request_timeout;
        self.inner.cluster.metadata(topics, deadline).await
    }
}

/// The outcome in a produce answer, or its error (`maybe_written` by the code: only
/// pre-append refusals prove nothing was written).
fn read_answer(
    response: ProduceResponse,
    topic: &str,
    partition: PartitionIndex,
    acks: i32,
) -> Result<SendOutcome, DataError> {
    let mut results = response.partitions;
    if acks == 0 && results.is_empty() {
        return Ok(SendOutcome {
            partition,
            base_offset: None,
            log_append_time: None,
            log_start_offset: None,
            leader: BrokerId::new(-1),
        });
    }
    let asked = Some(i32::from(partition));
    let result = match results.pop() {
        Some(r)
            if results.is_empty() && r.topic == topic && r.partition.map(|p| p.index) == asked =>
        {
            r
        }
        _ => {
            return Err(DataError::protocol(
                format!("produce answer does not describe exactly {topic}-{partition}"),
                true,
            ));
        }
    };
    if let Some(error) = result.error {
        let before_append = rill_types::ErrorCode::from_code(error.code)
            .is_some_and(|code| refused_before_append(code, acks));
        return Err(kafka_error(error, !before_append));
    }
    let base_offset = match (result.base_offset, acks) {
        (Some(o), _) => Some(Offset::from(o)),
        (None, 0) => None,
        (None, _) => {
            return Err(DataError::protocol(
                format!("produce answer for {topic}-{partition} has no base offset"),
                true,
            ));
        }
    };
    Ok(SendOutcome {
        partition,
        base_offset,
        log_append_time: (result.log_append_time >= 0).then_some(result.log_append_time),
        log_start_offset: result.log_start_offset.map(Offset::from),
        leader: BrokerId::new(-1),
    })
}
