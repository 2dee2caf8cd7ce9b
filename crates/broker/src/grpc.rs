//! The gRPC adapters of a broker: [`DataGrpc`] (produce, fetch, offsets, metadata for
//! clients) and [`ReplicationGrpc`] (the leader side of follower fetches). They translate
//! messages and wait; the decisions are in [`crate::partition`].
//!
//! Long polls wait on the broker's change counters ([`crate::partition::Wakeups`]):
//! consumer fetches on high-watermark moves, follower fetches on appends — a
//! notification, not a polling loop. Interest is registered before the partitions are
//! read, so no wake-up is lost.

use std::sync::Arc;

use rill_proto::common;
use rill_proto::data::data_service_server::{DataService, DataServiceServer};
use rill_proto::data::{
    BrokerEndpoint, FetchPartitionData, FetchRequest, FetchResponse, ListOffsetsRequest,
    ListOffsetsResponse, ListOffsetsResult, MetadataRequest, MetadataResponse, PartitionMetadata,
    ProducePartitionResult, ProduceRequest, ProduceResponse, TopicMetadata,
};
use rill_proto::replication::replication_service_server::{
    ReplicationService, ReplicationServiceServer,
};
use rill_proto::replication::{
    DivergingEpoch, ReplicaFetchPartitionData, ReplicaFetchRequest, ReplicaFetchResponse,
};
use rill_types::{BrokerId, ErrorCode, LeaderEpoch, PartitionIndex, TopicId};
use tonic::{Request, Response, Status};

use crate::data_plane::{
    FetchInput, FetchLimits, MAX_FETCH_WAIT, MAX_PRODUCE_TIMEOUT, MAX_REQUEST_PARTITIONS,
    ProduceInput, budget, clamp_bytes, millis,
};
use crate::error::PartitionError;
use crate::partition::ReplicaRead;
use crate::replica_manager::{GRPC_LISTENER, ReplicaManager};

fn check_count(n: usize) -> Result<(), Status> {
    if n > MAX_REQUEST_PARTITIONS {
        return Err(Status::invalid_argument(format!(
            "a request may name at most {MAX_REQUEST_PARTITIONS} partitions, not {n}"
        )));
    }
    Ok(())
}

/// The data API.
#[derive(Debug, Clone)]
pub struct DataGrpc {
    rm: Arc<ReplicaManager>,
}

impl DataGrpc {
    /// A service over `rm`.
    pub fn new(rm: Arc<ReplicaManager>) -> Self {
        Self { rm }
    }

    /// The tonic server.
    pub fn into_server(self) -> DataServiceServer<Self> {
        DataServiceServer::new(self)
            .max_decoding_message_size(256 << 20)
            .max_encoding_message_size(256 << 20)
    }
}

fn refused(
    topic: &str,
    partition: Option<common::PartitionIndex>,
    e: &PartitionError,
) -> ProducePartitionResult {
    ProducePartitionResult {
        topic: topic.to_owned(),
        partition,
        error: Some(e.to_proto()),
        base_offset: None,
        log_append_time: -1,
        log_start_offset: None,
    }
}

#[tonic::async_trait]
impl DataService for DataGrpc {
    async fn produce(
        &self,
        request: Request<ProduceRequest>,
    ) -> Result<Response<ProduceResponse>, Status> {
        let request = request.into_inner();
        check_count(request.partitions.len())?;
        let acks = i16::try_from(request.acks).unwrap_or(i16::MIN);
        let keys: Vec<_> = request
            .partitions
            .iter()
            .map(|p| (p.topic.clone(), p.partition))
            .collect();
        let inputs = request
            .partitions
            .into_iter()
            .map(|p| ProduceInput {
                topic: p.topic,
                partition: p.partition.map(|i| i.index).unwrap_or(-1),
                records: p.records,
            })
            .collect();
        let results = self
            .rm
            .produce(
                acks,
                millis(request.timeout_ms, MAX_PRODUCE_TIMEOUT),
                inputs,
            )
            .await;
        if acks == 0 {
            return Ok(Response::new(ProduceResponse { partitions: vec![] }));
        }
        let partitions = keys
            .into_iter()
            .zip(results)
            .map(|((topic, partition), r)| match r {
                Ok(p) => ProducePartitionResult {
                    topic,
                    partition,
                    error: None,
                    base_offset: Some(p.base_offset.into()),
                    log_append_time: p.log_append_time.unwrap_or(-1),
                    log_start_offset: Some(p.log_start_offset.into()),
                },
                Err(e) => refused(&topic, partition, &e),
            })
            .collect();
        Ok(Response::new(ProduceResponse { partitions }))
    }

    async fn fetch(
        &self,
        request: Request<FetchRequest>,
    ) -> Result<Response<FetchResponse>, Status> {
        let request = request.into_inner();
        check_count(request.partitions.len())?;
        let limits = FetchLimits {
            max_wait: millis(request.max_wait_ms, MAX_FETCH_WAIT),
            min_bytes: usize::try_from(request.min_bytes).unwrap_or(0),
            max_bytes: request.max_bytes,
        };
        let inputs: Vec<FetchInput> = request
            .partitions
            .iter()
            .map(|p| FetchInput {
                topic: p.topic.clone(),
                partition: p.partition.map(|i| i.index).unwrap_or(-1),
                offset: p.fetch_offset.map(Into::into).unwrap_or_default(),
                max_bytes: p.max_bytes,
                current_leader_epoch: None,
            })
            .collect();
        let results = self.rm.fetch(limits, &inputs).await;
        let partitions = request
            .partitions
            .into_iter()
            .zip(results)
            .map(|(p, r)| match r {
                Ok(f) => FetchPartitionData {
                    topic: p.topic,
                    partition: p.partition,
                    error: None,
                    high_watermark: Some(f.high_watermark.into()),
                    log_start_offset: Some(f.log_start_offset.into()),
                    records: f.records,
                },
                Err(e) => FetchPartitionData {
                    topic: p.topic,
                    partition: p.partition,
                    error: Some(e.to_proto()),
                    high_watermark: None,
                    log_start_offset: None,
                    records: Default::default(),
                },
            })
            .collect();
        Ok(Response::new(FetchResponse { partitions }))
    }

    async fn list_offsets(
        &self,
        request: Request<ListOffsetsRequest>,
    ) -> Result<Response<ListOffsetsResponse>, Status> {
        let mut out = Vec::new();
        for p in request.into_inner().partitions {
            let index = p.partition.map(|i| i.index).unwrap_or(-1);
            let result = match self.rm.by_name(&p.topic, index) {
                Err(e) => Err(e),
                Ok(part) => {
                    let timestamp = p.timestamp;
                    tokio::task::spawn_blocking(move || part.list_offset(timestamp))
                        .await
                        .map_err(|e| Status::internal(e.to_string()))?
                }
            };
            out.push(match result {
                Ok((offset, ts)) => ListOffsetsResult {
                    topic: p.topic,
                    partition: p.partition,
                    error: None,
                    offset: offset.map(Into::into),
                    timestamp: ts,
                },
                Err(e) => ListOffsetsResult {
                    topic: p.topic,
                    partition: p.partition,
                    error: Some(e.to_proto()),
                    offset: None,
                    timestamp: -1,
                },
            });
        }
        Ok(Response::new(ListOffsetsResponse { partitions: out }))
    }

    async fn metadata(
        &self,
        request: Request<MetadataRequest>,
    ) -> Result<Response<MetadataResponse>, Status> {
        let view = self.rm.metadata.borrow().clone();
        let image = view.image;
        let brokers = image
            .brokers()
            .values()
            .filter_map(|b| {
                let endpoint = b.listeners.iter().find(|l| l.name == GRPC_LISTENER)?;
                Some(BrokerEndpoint {
                    broker_id: Some(b.id.into()),
                    endpoint: Some(endpoint.clone()),
                    rack: b.rack.clone(),
                    fenced: b.fenced,
                })
            })
            .collect();
        let names: Vec<String> = {
            let asked = request.into_inner().topics;
            if asked.is_empty() {
                image.topics().map(|t| t.name.clone()).collect()
            } else {
                asked
            }
        };
        let topics = names
            .into_iter()
            .map(|name| match image.topic_by_name(&name) {
                None => TopicMetadata {
                    error: Some(
                        PartitionError::new(
                            ErrorCode::UnknownTopicOrPartition,
                            format!("topic {name:?} does not exist"),
                        )
                        .to_proto(),
                    ),
                    name,
                    topic_id: None,
                    partitions: vec![],
                },
                Some(t) => TopicMetadata {
                    name,
                    topic_id: Some(t.id.into()),
                    error: None,
                    partitions: t
                        .partitions
                        .iter()
                        .map(|(i, p)| PartitionMetadata {
                            partition: Some((*i).into()),
                            leader: p.leader.map(Into::into),
                            leader_epoch: Some(p.leader_epoch.into()),
                            replicas: p.replicas.iter().map(|b| (*b).into()).collect(),
                            isr: p.isr.iter().map(|b| (*b).into()).collect(),
                        })
                        .collect(),
                },
            })
            .collect();
        Ok(Response::new(MetadataResponse {
            cluster_id: image.cluster_id().unwrap_or_default().to_owned(),
            brokers,
            topics,
            metadata_offset: Some(view.applied.into()),
        }))
    }
}

/// The leader side of replication.
#[derive(Debug, Clone)]
pub struct ReplicationGrpc {
    rm: Arc<ReplicaManager>,
}

impl ReplicationGrpc {
    /// A service over `rm`.
    pub fn new(rm: Arc<ReplicaManager>) -> Self {
        Self { rm }
    }

    /// The tonic server.
    pub fn into_server(self) -> ReplicationServiceServer<Self> {
        ReplicationServiceServer::new(self)
            .max_decoding_message_size(16 << 20)
            .max_encoding_message_size(256 << 20)
    }
}

fn replica_error(
    topic_id: Option<common::TopicId>,
    partition: Option<common::PartitionIndex>,
    e: &PartitionError,
) -> ReplicaFetchPartitionData {
    ReplicaFetchPartitionData {
        topic_id,
        partition,
        error: Some(e.to_proto()),
        high_watermark: None,
        log_start_offset: None,
        diverging_epoch: None,
        records: Default::default(),
    }
}

#[tonic::async_trait]
impl ReplicationService for ReplicationGrpc {
    async fn fetch(
        &self,
        request: Request<ReplicaFetchRequest>,
    ) -> Result<Response<ReplicaFetchResponse>, Status> {
        let request = request.into_inner();
        check_count(request.partitions.len())?;
        let follower: BrokerId = request
            .replica_id
            .map(Into::into)
            .ok_or_else(|| Status::invalid_argument("replica_id is required"))?;
        // Only the follower's current incarnation may move a high watermark: a fetch
        // from an older (or, until this broker's metadata catches up, newer) one is
        // refused whole.
        let registered = self
            .rm
            .metadata
            .borrow()
            .image
            .broker(follower)
            .map(|b| b.epoch);
        if registered != Some(request.broker_epoch) {
            let e = PartitionError::new(
                ErrorCode::StaleBrokerEpoch,
                format!(
                    "broker {follower} fetched with epoch {} but its registration here is {registered:?}",
                    request.broker_epoch
                ),
            );
            let partitions = request
                .partitions
                .iter()
                .map(|p| replica_error(p.topic_id.clone(), p.partition, &e))
                .collect();
            return Ok(Response::new(ReplicaFetchResponse { partitions }));
        }
        let deadline = tokio::time::Instant::now() + millis(request.max_wait_ms, MAX_FETCH_WAIT);
        let min_bytes = usize::try_from(request.min_bytes).unwrap_or(0);
        let max_bytes = clamp_bytes(request.max_bytes, 10 << 20);
        let broker_epoch = request.broker_epoch;
        let partitions = request.partitions;
        let mut changes = self.rm.wakeups.appended.subscribe();
        loop {
            changes.borrow_and_update();
            // As for consumers: no log lock, no hop to the blocking pool.
            let (out, total) =
                replica_pass(&self.rm, follower, broker_epoch, &partitions, max_bytes);
            let urgent = out
                .iter()
                .any(|p| p.error.is_some() || p.diverging_epoch.is_some());
            if total >= min_bytes.max(1) || urgent || tokio::time::Instant::now() >= deadline {
                return Ok(Response::new(ReplicaFetchResponse { partitions: out }));
            }
            let _ = tokio::time::timeout_at(deadline, changes.changed()).await;
        }
    }
}

/// One read of every partition of a follower's fetch, the leader side (positioned
/// reads; no log lock).
fn replica_pass(
    rm: &ReplicaManager,
    follower: BrokerId,
    broker_epoch: i64,
    partitions: &[rill_proto::replication::ReplicaFetchPartition],
    max_bytes: usize,
) -> (Vec<ReplicaFetchPartitionData>, usize) {
    let now = rm.now_ms();
    let mut total = 0usize;
    let mut out = Vec::with_capacity(partitions.len());
    for p in partitions {
        let topic: Option<TopicId> = p.topic_id.clone().and_then(|t| t.try_into().ok());
        let index: Option<PartitionIndex> = p.partition.map(Into::into);
        let part = match (topic, index, p.fetch_offset, p.current_leader_epoch) {
            (Some(t), Some(i), Some(_), Some(_)) => rm.get((t, i)).ok_or_else(|| {
                PartitionError::new(
                    ErrorCode::NotLeaderOrFollower,
                    "this broker does not host the partition",
                )
            }),
            _ => Err(PartitionError::new(
                ErrorCode::InvalidRequest,
                "topic_id, partition, fetch_offset and current_leader_epoch are required",
            )),
        };
        let epoch: LeaderEpoch = p
            .current_leader_epoch
            .map(Into::into)
            .unwrap_or(LeaderEpoch::new(-1));
        // A full answer still records the follower's position (it moves the high
        // watermark); it just carries no more bytes.
        let room = budget(p.max_bytes, total, max_bytes);
        let read = part.and_then(|part| {
            part.read_for_follower(
                follower,
                broker_epoch,
                epoch,
                p.fetch_offset.map(Into::into).unwrap_or_default(),
                p.last_fetched_epoch.map(Into::into),
                room.unwrap_or(0),
                now,
            )
        });
        out.push(match read {
            Err(e) => replica_error(p.topic_id.clone(), p.partition, &e),
            Ok(ReplicaRead::Diverging {
                epoch,
                end_offset,
                high_watermark,
            }) => ReplicaFetchPartitionData {
                topic_id: p.topic_id.clone(),
                partition: p.partition,
                error: None,
                high_watermark: Some(high_watermark.into()),
                log_start_offset: None,
                diverging_epoch: Some(DivergingEpoch {
                    epoch: Some(epoch.into()),
                    end_offset: Some(end_offset.into()),
                }),
                records: Default::default(),
            },
            Ok(ReplicaRead::Records {
                mut read,
                high_watermark,
            }) => {
                let over = room.is_none_or(|r| total > 0 && read.records.len() > r);
                if over {
                    read.records = Default::default();
                }
                total += read.records.len();
                ReplicaFetchPartitionData {
                    topic_id: p.topic_id.clone(),
                    partition: p.partition,
                    error: None,
                    high_watermark: Some(high_watermark.into()),
                    log_start_offset: Some(read.log_start_offset.into()),
                    diverging_epoch: None,
                    records: read.records,
                }
            }
        });
    }
    (out, total)
}
