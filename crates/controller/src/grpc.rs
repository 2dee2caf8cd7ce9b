//! The gRPC adapter of ControllerService: wire messages to manager calls and back. No
//! decisions are made here; they are the managers'. Errors: a refused item carries
//! Kafka's code in its result; a call this controller cannot serve because it is not
//! active fails with FAILED_PRECONDITION "NOT_CONTROLLER ..." and the leader's id and
//! address in the `rill-leader-id` / `rill-leader-addr` metadata.

use std::collections::BTreeMap;
use std::pin::Pin;

use openraft::Raft;
use rill_metadata::{ConfigResource, MetadataImage, records::ConfigResourceType};
use rill_proto::common;
use rill_proto::controller::controller_service_server::{
    ControllerService, ControllerServiceServer,
};
use rill_proto::controller::*;
use rill_types::{BrokerId, MetadataOffset, PartitionIndex};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::event_loop::{CallError, ControllerHandle};
use crate::manager::cluster::{self, Heartbeat, Registered, Registration};
use crate::manager::configs::{self, AlterResource};
use crate::manager::partitions::{self, ElectionKind};
use crate::manager::producer_ids;
use crate::manager::topics::{self, MorePartitions, NewTopic};
use crate::metadata_stream::MetadataStream;
use crate::raft::{MetadataStateMachine, TypeConfig};
use crate::refusal::{ErrorCode, Refusal};

/// Serves ControllerService.
#[derive(Clone)]
pub struct ControllerGrpc {
    handle: ControllerHandle,
    raft: Raft<TypeConfig>,
    stream: MetadataStream,
    sm: MetadataStateMachine,
}

impl std::fmt::Debug for ControllerGrpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ControllerGrpc")
    }
}

impl ControllerGrpc {
    /// The service over a running loop.
    pub fn new(
        handle: ControllerHandle,
        raft: Raft<TypeConfig>,
        sm: MetadataStateMachine,
        stream: MetadataStream,
    ) -> Self {
        Self {
            handle,
            raft,
            stream,
            sm,
        }
    }

    /// The tonic server.
    pub fn into_server(self) -> ControllerServiceServer<Self> {
        ControllerServiceServer::new(self)
            .max_decoding_message_size(64 << 20)
            .max_encoding_message_size(64 << 20)
    }
}

/// The status for a call this controller could not serve.
pub fn status(e: CallError) -> Status {
    match &e {
        CallError::NotController(leader) => {
            let mut s = Status::failed_precondition(e.to_string());
            if let Some((id, addr)) = leader {
                if let Ok(v) = id.to_string().parse() {
                    s.metadata_mut().insert("rill-leader-id", v);
                }
                if let Ok(v) = addr.parse() {
                    s.metadata_mut().insert("rill-leader-addr", v);
                }
            }
            s
        }
        CallError::Refused(r) => Status::failed_precondition(r.to_string()),
        CallError::Unavailable(m) => Status::unavailable(m.clone()),
    }
}

/// Splits a call's outcome into an item error (Kafka's code in the response) or a status.
fn item<T>(r: Result<T, CallError>) -> Result<Result<T, Refusal>, Status> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(CallError::Refused(r)) => Ok(Err(r)),
        Err(e) => Err(status(e)),
    }
}

/// A batch write's per-item results; a refusal of the whole write (e.g. REQUEST_TIMED_OUT
/// when the quorum did not commit in time) becomes every item's error, as Kafka reports
/// it, so clients see a Kafka code per topic rather than a transport status.
/// What a batch write answers: one result per item, and the offset it committed at.
type BatchOutcome<T> = Result<(Vec<Result<T, Refusal>>, Option<u64>), CallError>;

fn per_item<T>(out: BatchOutcome<T>, items: usize) -> Result<Vec<Result<T, Refusal>>, Status> {
    match out {
        Ok((results, _)) => Ok(results),
        Err(CallError::Refused(r)) => Ok((0..items).map(|_| Err(r.clone())).collect()),
        Err(e) => Err(status(e)),
    }
}

fn invalid(m: impl Into<String>) -> Status {
    Status::invalid_argument(m.into())
}

fn broker(id: Option<common::BrokerId>) -> Result<BrokerId, Status> {
    id.map(Into::into)
        .ok_or_else(|| invalid("broker_id is required"))
}

fn resource(r: Option<ConfigResourceRef>) -> Result<ConfigResource, Refusal> {
    let r = r.ok_or_else(|| Refusal::new(ErrorCode::InvalidRequest, "resource is required"))?;
    match ConfigResourceType::try_from(r.resource_type) {
        Ok(ConfigResourceType::Topic) => Ok(ConfigResource::Topic(r.name)),
        Ok(ConfigResourceType::Broker) => Ok(ConfigResource::Broker(r.name)),
        _ => Err(Refusal::new(
            ErrorCode::InvalidRequest,
            "resource_type must be TOPIC or BROKER",
        )),
    }
}

fn topic_results(
    names: Vec<String>,
    results: Vec<Result<rill_types::TopicId, Refusal>>,
) -> Vec<TopicResult> {
    names
        .into_iter()
        .zip(results)
        .map(|(name, r)| match r {
            Ok(id) => TopicResult {
                name,
                topic_id: Some(id.into()),
                error: None,
            },
            Err(e) => TopicResult {
                name,
                topic_id: None,
                error: Some(e.to_proto()),
            },
        })
        .collect()
}

fn describe_partition(
    index: PartitionIndex,
    p: &rill_metadata::PartitionState,
) -> PartitionDescription {
    PartitionDescription {
        partition: Some(index.into()),
        replicas: p.replicas.iter().map(|b| (*b).into()).collect(),
        isr: p.isr.iter().map(|b| (*b).into()).collect(),
        leader: p.leader.map(Into::into),
        leader_epoch: Some(p.leader_epoch.into()),
        partition_epoch: Some(p.partition_epoch.into()),
    }
}

fn describe_topics(image: &MetadataImage, names: &[String]) -> Vec<TopicDescription> {
    let describe = |t: &rill_metadata::TopicImage| TopicDescription {
        name: t.name.clone(),
        topic_id: Some(t.id.into()),
        error: None,
        partitions: t
            .partitions
            .iter()
            .map(|(i, p)| describe_partition(*i, p))
            .collect(),
    };
    if names.is_empty() {
        let mut all: Vec<_> = image.topics().map(describe).collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        return all;
    }
    names
        .iter()
        .map(|n| match image.topic_by_name(n) {
            Some(t) => describe(t),
            None => TopicDescription {
                name: n.clone(),
                topic_id: None,
                error: Some(
                    Refusal::new(
                        ErrorCode::UnknownTopicOrPartition,
                        format!("topic {n:?} does not exist"),
                    )
                    .to_proto(),
                ),
                partitions: vec![],
            },
        })
        .collect()
}

type FetchStream = Pin<Box<dyn Stream<Item = Result<FetchMetadataResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ControllerService for ControllerGrpc {
    async fn register_broker(
        &self,
        request: Request<RegisterBrokerRequest>,
    ) -> Result<Response<RegisterBrokerResponse>, Status> {
        let r = request.into_inner();
        let registration = Registration {
            broker_id: broker(r.broker_id)?,
            incarnation_id: r.incarnation_id,
            listeners: r.listeners,
            rack: r.rack,
        };
        let out = self
            .handle
            .write(move |state, image| {
                let now = state.clock.now_ms();
                let alive = state.leases.is_alive(registration.broker_id, now);
                cluster::register(image, &registration, alive)
            })
            .await;
        Ok(Response::new(match item(out)? {
            Ok((Registered::New, Some(offset))) => RegisterBrokerResponse {
                error: None,
                broker_epoch: offset as i64,
            },
            Ok((Registered::Existing(epoch), _)) => RegisterBrokerResponse {
                error: None,
                broker_epoch: epoch,
            },
            Ok((Registered::New, None)) => {
                return Err(Status::internal("a registration committed no record"));
            }
            Err(e) => RegisterBrokerResponse {
                error: Some(e.to_proto()),
                broker_epoch: -1,
            },
        }))
    }

    async fn broker_heartbeat(
        &self,
        request: Request<BrokerHeartbeatRequest>,
    ) -> Result<Response<BrokerHeartbeatResponse>, Status> {
        let r = request.into_inner();
        let hb = Heartbeat {
            broker_id: broker(r.broker_id)?,
            broker_epoch: r.broker_epoch,
            applied_offset: r
                .applied_offset
                .map(Into::into)
                .unwrap_or(MetadataOffset::new(0)),
            want_shutdown: r.want_shutdown,
        };
        let out = self
            .handle
            .write(move |state, image| {
                let now = state.clock.now_ms();
                crate::metrics::broker_lag(hb.broker_id.get(), hb.applied_offset.get(), image);
                cluster::heartbeat(image, &mut state.leases, &hb, now)
            })
            .await;
        Ok(Response::new(match item(out)? {
            Ok((reply, _)) => BrokerHeartbeatResponse {
                error: None,
                is_fenced: reply.is_fenced,
                should_shutdown: reply.should_shutdown,
            },
            Err(e) => BrokerHeartbeatResponse {
                error: Some(e.to_proto()),
                is_fenced: true,
                should_shutdown: false,
            },
        }))
    }

    async fn alter_partition(
        &self,
        request: Request<AlterPartitionRequest>,
    ) -> Result<Response<AlterPartitionResponse>, Status> {
        let r = request.into_inner();
        let topic = r
            .topic_id
            .ok_or_else(|| invalid("topic_id is required"))?
            .try_into()
            .map_err(|e: rill_proto::ConvertError| invalid(e.to_string()))?;
        let req = partitions::AlterPartition {
            broker_id: broker(r.broker_id)?,
            broker_epoch: r.broker_epoch,
            topic,
            partition: r
                .partition
                .map(Into::into)
                .ok_or_else(|| invalid("partition is required"))?,
            leader_epoch: r
                .leader_epoch
                .map(Into::into)
                .ok_or_else(|| invalid("leader_epoch is required"))?,
            partition_epoch: r
                .partition_epoch
                .map(Into::into)
                .ok_or_else(|| invalid("partition_epoch is required"))?,
            new_isr: r.new_isr.into_iter().map(Into::into).collect(),
        };
        let out = self
            .handle
            .write(move |_, image| partitions::alter_partition(image, &req))
            .await;
        Ok(Response::new(match item(out)? {
            Ok((p, _)) => AlterPartitionResponse {
                error: None,
                isr: p.isr.iter().map(|b| (*b).into()).collect(),
                leader: p.leader.map(Into::into),
                leader_epoch: Some(p.leader_epoch.into()),
                partition_epoch: Some(p.partition_epoch.into()),
            },
            Err(e) => AlterPartitionResponse {
                error: Some(e.to_proto()),
                ..Default::default()
            },
        }))
    }

    async fn allocate_producer_ids(
        &self,
        request: Request<AllocateProducerIdsRequest>,
    ) -> Result<Response<AllocateProducerIdsResponse>, Status> {
        let r = request.into_inner();
        let id = broker(r.broker_id)?;
        let epoch = r.broker_epoch;
        let out = self
            .handle
            .write(move |_, image| producer_ids::allocate(image, id, epoch))
            .await;
        Ok(Response::new(match item(out)? {
            Ok((block, _)) => AllocateProducerIdsResponse {
                error: None,
                first_producer_id: Some(block.first.into()),
                count: block.count,
            },
            Err(e) => AllocateProducerIdsResponse {
                error: Some(e.to_proto()),
                first_producer_id: None,
                count: 0,
            },
        }))
    }

    type FetchMetadataStream = FetchStream;

    async fn fetch_metadata(
        &self,
        request: Request<FetchMetadataRequest>,
    ) -> Result<Response<Self::FetchMetadataStream>, Status> {
        let from = request
            .into_inner()
            .applied_offset
            .map(Into::into)
            .unwrap_or(MetadataOffset::new(0));
        Ok(Response::new(Box::pin(self.stream.follow(from))))
    }

    async fn create_topics(
        &self,
        request: Request<CreateTopicsRequest>,
    ) -> Result<Response<CreateTopicsResponse>, Status> {
        let r = request.into_inner();
        let names: Vec<String> = r.topics.iter().map(|t| t.name.clone()).collect();
        let topics: Vec<NewTopic> = r
            .topics
            .into_iter()
            .map(|t| NewTopic {
                name: t.name,
                partitions: t.partitions,
                replication_factor: t.replication_factor,
                configs: t.configs.into_iter().collect::<BTreeMap<_, _>>(),
            })
            .collect();
        let validate_only = r.validate_only;
        let out = self
            .handle
            .write(move |state, image| {
                Ok(topics::create_topics(
                    image,
                    &topics,
                    validate_only,
                    &mut *state.random,
                ))
            })
            .await;
        let results = per_item(out, names.len())?;
        Ok(Response::new(CreateTopicsResponse {
            topics: topic_results(names, results),
        }))
    }

    async fn delete_topics(
        &self,
        request: Request<DeleteTopicsRequest>,
    ) -> Result<Response<DeleteTopicsResponse>, Status> {
        let names = request.into_inner().names;
        let asked = names.clone();
        let out = self
            .handle
            .write(move |_, image| Ok(topics::delete_topics(image, &asked)))
            .await;
        let results = per_item(out, names.len())?;
        Ok(Response::new(DeleteTopicsResponse {
            topics: topic_results(names, results),
        }))
    }

    async fn create_partitions(
        &self,
        request: Request<CreatePartitionsRequest>,
    ) -> Result<Response<CreatePartitionsResponse>, Status> {
        let r = request.into_inner();
        let names: Vec<String> = r.topics.iter().map(|t| t.name.clone()).collect();
        let asked: Vec<MorePartitions> = r
            .topics
            .into_iter()
            .map(|t| MorePartitions {
                name: t.name,
                total_count: t.total_count,
            })
            .collect();
        let validate_only = r.validate_only;
        let out = self
            .handle
            .write(move |_, image| Ok(topics::create_partitions(image, &asked, validate_only)))
            .await;
        let results = per_item(out, names.len())?;
        Ok(Response::new(CreatePartitionsResponse {
            topics: topic_results(names, results),
        }))
    }

    async fn describe_cluster(
        &self,
        _: Request<DescribeClusterRequest>,
    ) -> Result<Response<DescribeClusterResponse>, Status> {
        let image = self.handle.read().await.map_err(status)?;
        let m = self.raft.metrics().borrow().clone();
        let last = m.last_log_index.unwrap_or(0);
        let voters = m
            .membership_config
            .membership()
            .nodes()
            .map(|(id, node)| {
                let matched = m
                    .replication
                    .as_ref()
                    .map(|r| r.get(id).copied().flatten().map_or(0, |l| l.index));
                VoterDescription {
                    node_id: Some(rill_types::NodeId::new(*id).into()),
                    address: node.addr.clone(),
                    matched_index: matched,
                    lag: matched.map(|i| last.saturating_sub(i)),
                }
            })
            .collect();
        let brokers = image
            .brokers()
            .values()
            .map(|b| BrokerDescription {
                broker_id: Some(b.id.into()),
                broker_epoch: b.epoch,
                listeners: b.listeners.clone(),
                rack: b.rack.clone(),
                fenced: b.fenced,
                in_controlled_shutdown: b.in_controlled_shutdown,
            })
            .collect();
        Ok(Response::new(DescribeClusterResponse {
            cluster_id: image.cluster_id().unwrap_or_default().to_owned(),
            leader_id: m.current_leader.map(|l| rill_types::NodeId::new(l).into()),
            term: m.current_term,
            metadata_offset: Some(MetadataOffset::new(self.sm.applied_index()).into()),
            voters,
            brokers,
        }))
    }

    async fn describe_topics(
        &self,
        request: Request<DescribeTopicsRequest>,
    ) -> Result<Response<DescribeTopicsResponse>, Status> {
        let names = request.into_inner().names;
        let image = self.handle.read().await.map_err(status)?;
        Ok(Response::new(DescribeTopicsResponse {
            topics: describe_topics(&image, &names),
        }))
    }

    async fn describe_configs(
        &self,
        request: Request<DescribeConfigsRequest>,
    ) -> Result<Response<DescribeConfigsResponse>, Status> {
        let asked = request.into_inner().resources;
        let image = self.handle.read().await.map_err(status)?;
        let resources = asked
            .into_iter()
            .map(|r| {
                let described = resource(Some(r.clone()))
                    .and_then(|res| configs::describe_configs(&image, &res));
                match described {
                    Ok(entries) => ResourceConfigs {
                        resource: Some(r),
                        error: None,
                        entries: entries
                            .into_iter()
                            .map(|d| ConfigEntry {
                                key: d.key.to_owned(),
                                value: d.value,
                                is_default: d.is_default,
                                doc: d.doc.to_owned(),
                            })
                            .collect(),
                    },
                    Err(e) => ResourceConfigs {
                        resource: Some(r),
                        error: Some(e.to_proto()),
                        entries: vec![],
                    },
                }
            })
            .collect();
        Ok(Response::new(DescribeConfigsResponse { resources }))
    }

    async fn alter_configs(
        &self,
        request: Request<AlterConfigsRequest>,
    ) -> Result<Response<AlterConfigsResponse>, Status> {
        let r = request.into_inner();
        let refs: Vec<Option<ConfigResourceRef>> =
            r.resources.iter().map(|x| x.resource.clone()).collect();
        let mut parsed = Vec::new();
        let mut early: BTreeMap<usize, Refusal> = BTreeMap::new();
        for (i, x) in r.resources.into_iter().enumerate() {
            match resource(x.resource) {
                Ok(res) => parsed.push((
                    i,
                    AlterResource {
                        resource: res,
                        changes: x.configs.into_iter().map(|c| (c.key, c.value)).collect(),
                    },
                )),
                Err(e) => {
                    early.insert(i, e);
                }
            }
        }
        let validate_only = r.validate_only;
        let requests: Vec<AlterResource> = parsed.iter().map(|(_, a)| a.clone()).collect();
        let items = parsed.len();
        let out = self
            .handle
            .write(move |_, image| Ok(configs::alter_configs(image, &requests, validate_only)))
            .await;
        let results = per_item(out, items)?;
        let mut by_index: BTreeMap<usize, Result<(), Refusal>> =
            parsed.iter().map(|(i, _)| *i).zip(results).collect();
        by_index.extend(early.into_iter().map(|(i, e)| (i, Err(e))));
        let results = refs
            .into_iter()
            .enumerate()
            .map(|(i, res)| AlterConfigsResult {
                resource: res,
                error: by_index
                    .remove(&i)
                    .and_then(|r| r.err())
                    .map(|e| e.to_proto()),
            })
            .collect();
        Ok(Response::new(AlterConfigsResponse { results }))
    }

    async fn elect_leaders(
        &self,
        request: Request<ElectLeadersRequest>,
    ) -> Result<Response<ElectLeadersResponse>, Status> {
        let r = request.into_inner();
        let kind = match ElectionType::try_from(r.election_type) {
            Ok(ElectionType::Preferred) => ElectionKind::Preferred,
            Ok(ElectionType::Unclean) => ElectionKind::Unclean,
            _ => return Err(invalid("election_type must be PREFERRED or UNCLEAN")),
        };
        let asked: Option<Vec<(String, PartitionIndex)>> = if r.partitions.is_empty() {
            None
        } else {
            Some(
                r.partitions
                    .into_iter()
                    .map(|p| {
                        Ok((
                            p.topic,
                            p.partition
                                .map(Into::into)
                                .ok_or_else(|| invalid("partition is required"))?,
                        ))
                    })
                    .collect::<Result<_, Status>>()?,
            )
        };
        let (results, _) = self
            .handle
            .write(move |_, image| Ok(partitions::elect_leaders(image, kind, asked.as_deref())))
            .await
            .map_err(status)?;
        let results = results
            .into_iter()
            .map(|((topic, index), r)| ElectionResult {
                partition: Some(TopicPartitionRef {
                    topic,
                    partition: Some(index.into()),
                }),
                leader: r.as_ref().ok().copied().flatten().map(Into::into),
                error: r.err().map(|e| e.to_proto()),
            })
            .collect();
        Ok(Response::new(ElectLeadersResponse { results }))
    }
}
