//! A scripted in-process cluster of fake brokers serving `DataService` on 127.0.0.1:0,
//! for one topic "t". Every broker shares one [`State`]: one partition log (the
//! partitions share it; tests use partition 0), who leads, what Metadata says, and
//! errors to answer next.
//!
//! The model of metadata propagation: Metadata advertises `advertised_leader`; a broker
//! that refuses a request with NOT_LEADER_OR_FOLLOWER "propagates" the change by setting
//! `advertised_leader = leader`, so only a client that refreshes its metadata finds the
//! real leader.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{Bytes, BytesMut};
use rill_client::decode_batches;
use rill_proto::common;
use rill_proto::data::data_service_server::{DataService, DataServiceServer};
use rill_proto::data::*;
use rill_types::ErrorCode;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

/// The topic every fake broker knows.
pub const TOPIC: &str = "t";

/// What the fake cluster does and saw.
#[derive(Debug, Default)]
pub struct State {
    /// The broker that accepts produces and fetches.
    pub leader: i32,
    /// The leader Metadata answers with.
    pub advertised_leader: i32,
    /// The leader epoch Metadata reports and appends stamp.
    pub leader_epoch: i32,
    /// The topic's partition count.
    pub partitions: i32,
    /// Brokers Metadata lists: (id, address); a listed address may have no server.
    pub brokers: Vec<(i32, SocketAddr)>,
    /// Errors the leader answers to the next produces, before appending, in order.
    pub produce_errors: VecDeque<ErrorCode>,
    /// An error the leader answers to every produce once `produce_errors` is empty.
    pub always_produce_error: Option<ErrorCode>,
    /// Errors the leader answers to the next fetches, in order.
    pub fetch_errors: VecDeque<ErrorCode>,
    /// Produces never answer (the client must time out).
    pub hang_produce: bool,
    /// The stored batches, stamped with base offset and leader epoch.
    pub batches: Vec<Bytes>,
    /// The next offset to assign (= the high watermark: every append commits at once).
    pub log_end: i64,
    /// Every call: (broker id, RPC name).
    pub calls: Vec<(i32, &'static str)>,
    /// The broker coordinating every group (`fake_groups.rs`).
    pub coordinator: i32,
    /// The coordinator FindCoordinator names (may be stale, as `advertised_leader`).
    pub advertised_coordinator: i32,
}

impl State {
    /// How many calls of `rpc` were made, to any broker.
    pub fn count(&self, rpc: &str) -> usize {
        self.calls.iter().filter(|(_, r)| *r == rpc).count()
    }

    /// The brokers that received `rpc`, in order.
    pub fn receivers(&self, rpc: &str) -> Vec<i32> {
        self.calls
            .iter()
            .filter(|(_, r)| *r == rpc)
            .map(|(b, _)| *b)
            .collect()
    }
}

/// A running fake cluster.
#[derive(Clone)]
pub struct FakeCluster {
    state: Arc<Mutex<State>>,
}

impl FakeCluster {
    /// Starts `count` brokers (ids 1..=count) led by broker 1, topic "t" with one
    /// partition.
    pub async fn start(count: i32) -> FakeCluster {
        let cluster = FakeCluster {
            state: Arc::new(Mutex::new(State {
                leader: 1,
                advertised_leader: 1,
                leader_epoch: 1,
                partitions: 1,
                coordinator: 1,
                advertised_coordinator: 1,
                ..State::default()
            })),
        };
        for id in 1..=count {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("addr");
            cluster.state().brokers.push((id, addr));
            let service = DataServiceServer::new(FakeBroker {
                id,
                state: Arc::clone(&cluster.state),
            });
            let groups = crate::fake_groups::FakeGroups {
                id,
                state: Arc::clone(&cluster.state),
            };
            tokio::spawn(
                tonic::transport::Server::builder()
                    .add_service(service)
                    .add_service(groups.into_server())
                    .serve_with_incoming(TcpListenerStream::new(listener)),
            );
        }
        cluster
    }

    /// The shared state, to script or inspect.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("state lock")
    }

    /// The address of broker `id`, as a bootstrap list.
    pub fn bootstrap(&self, id: i32) -> Vec<String> {
        let state = self.state();
        let (_, addr) = state
            .brokers
            .iter()
            .find(|(b, _)| *b == id)
            .expect("broker");
        vec![addr.to_string()]
    }
}

struct FakeBroker {
    id: i32,
    state: Arc<Mutex<State>>,
}

impl FakeBroker {
    fn state(&self, rpc: &'static str) -> MutexGuard<'_, State> {
        let mut state = self.state.lock().expect("state lock");
        state.calls.push((self.id, rpc));
        state
    }
}

pub fn error(code: ErrorCode) -> Option<common::Error> {
    Some(common::Error {
        code: code.code(),
        name: code.name().into(),
        message: "scripted by the fake broker".into(),
    })
}

fn offset(offset: i64) -> Option<common::Offset> {
    Some(common::Offset { offset })
}

/// The refusal a non-leader (or a scripted leader) answers, if any; a non-leader's
/// refusal propagates the leader to Metadata.
fn refusal(state: &mut State, id: i32, scripted: Option<ErrorCode>) -> Option<ErrorCode> {
    if id != state.leader {
        state.advertised_leader = state.leader;
        return Some(ErrorCode::NotLeaderOrFollower);
    }
    scripted
}

/// Stamps base offset and leader epoch into each batch of `records` (outside the CRC,
/// as a leader does) and stores them; returns the first offset.
fn append(state: &mut State, records: &Bytes) -> Result<i64, ErrorCode> {
    let count = decode_batches(records.clone())
        .map_err(|_| ErrorCode::CorruptMessage)?
        .len() as i64;
    let base = state.log_end;
    let mut batch = BytesMut::from(&records[..]);
    batch[0..8].copy_from_slice(&base.to_be_bytes());
    batch[12..16].copy_from_slice(&state.leader_epoch.to_be_bytes());
    state.batches.push(batch.freeze());
    state.log_end += count;
    Ok(base)
}

#[tonic::async_trait]
impl DataService for FakeBroker {
    async fn produce(
        &self,
        request: Request<ProduceRequest>,
    ) -> Result<Response<ProduceResponse>, Status> {
        let request = request.into_inner();
        let hang = {
            let state = self.state("Produce");
            state.hang_produce
        };
        if hang {
            std::future::pending::<()>().await;
        }
        let mut state = self.state.lock().expect("state lock");
        let mut results = Vec::new();
        for p in request.partitions {
            let scripted = state
                .produce_errors
                .pop_front()
                .or(state.always_produce_error);
            let outcome = match refusal(&mut state, self.id, scripted) {
                Some(code) => Err(code),
                None => append(&mut state, &p.records),
            };
            results.push(ProducePartitionResult {
                topic: p.topic,
                partition: p.partition,
                error: outcome.err().and_then(error),
                base_offset: outcome.ok().and_then(offset),
                log_append_time: -1,
                log_start_offset: offset(0),
            });
        }
        if request.acks == 0 {
            results.clear();
        }
        Ok(Response::new(ProduceResponse {
            partitions: results,
        }))
    }

    async fn fetch(
        &self,
        request: Request<FetchRequest>,
    ) -> Result<Response<FetchResponse>, Status> {
        let mut state = self.state("Fetch");
        let mut results = Vec::new();
        for p in request.into_inner().partitions {
            let scripted = state.fetch_errors.pop_front();
            let fetch_offset = p.fetch_offset.map_or(0, |o| o.offset);
            let mut data = FetchPartitionData {
                topic: p.topic,
                partition: p.partition,
                error: None,
                high_watermark: offset(state.log_end),
                log_start_offset: offset(0),
                records: Bytes::new(),
            };
            if let Some(code) = refusal(&mut state, self.id, scripted) {
                data.error = error(code);
            } else if fetch_offset > state.log_end {
                data.error = error(ErrorCode::OffsetOutOfRange);
            } else {
                // Whole batches from the one holding the fetch offset.
                let mut out = BytesMut::new();
                for batch in &state.batches {
                    let base = i64::from_be_bytes(batch[0..8].try_into().unwrap());
                    let count = decode_batches(batch.clone()).unwrap().len() as i64;
                    if base + count > fetch_offset {
                        out.extend_from_slice(batch);
                    }
                }
                data.records = out.freeze();
            }
            results.push(data);
        }
        Ok(Response::new(FetchResponse {
            partitions: results,
        }))
    }

    async fn list_offsets(
        &self,
        request: Request<ListOffsetsRequest>,
    ) -> Result<Response<ListOffsetsResponse>, Status> {
        let mut state = self.state("ListOffsets");
        let mut results = Vec::new();
        for p in request.into_inner().partitions {
            let mut result = ListOffsetsResult {
                topic: p.topic,
                partition: p.partition,
                error: None,
                offset: None,
                timestamp: -1,
            };
            if let Some(code) = refusal(&mut state, self.id, None) {
                result.error = error(code);
            } else {
                result.offset = match p.timestamp {
                    -2 => offset(0),
                    -1 => offset(state.log_end),
                    t => state
                        .batches
                        .iter()
                        .flat_map(|b| decode_batches(b.clone()).unwrap())
                        .find(|r| r.timestamp >= t)
                        .and_then(|r| offset(r.offset.get())),
                };
            }
            results.push(result);
        }
        Ok(Response::new(ListOffsetsResponse {
            partitions: results,
        }))
    }

    async fn metadata(
        &self,
        request: Request<MetadataRequest>,
    ) -> Result<Response<MetadataResponse>, Status> {
        let state = self.state("Metadata");
        let brokers = state
            .brokers
            .iter()
            .map(|(id, addr)| BrokerEndpoint {
                broker_id: Some(common::BrokerId { id: *id }),
                endpoint: Some(common::Endpoint {
                    name: "DATA".into(),
                    host: addr.ip().to_string(),
                    port: u32::from(addr.port()),
                }),
                rack: None,
                fenced: false,
            })
            .collect();
        let mut asked = request.into_inner().topics;
        if asked.is_empty() {
            asked.push(TOPIC.to_owned()); // every topic
        }
        let topics = asked
            .into_iter()
            .map(|name| {
                if name != TOPIC {
                    return TopicMetadata {
                        name,
                        topic_id: None,
                        error: error(ErrorCode::UnknownTopicOrPartition),
                        partitions: vec![],
                    };
                }
                let partitions = (0..state.partitions)
                    .map(|index| PartitionMetadata {
                        partition: Some(common::PartitionIndex { index }),
                        leader: Some(common::BrokerId {
                            id: state.advertised_leader,
                        }),
                        leader_epoch: Some(common::LeaderEpoch {
                            epoch: state.leader_epoch,
                        }),
                        replicas: vec![],
                        isr: vec![],
                    })
                    .collect();
                TopicMetadata {
                    name,
                    topic_id: None,
                    error: None,
                    partitions,
                }
            })
            .collect();
        Ok(Response::new(MetadataResponse {
            cluster_id: "fake".into(),
            brokers,
            topics,
            metadata_offset: None,
        }))
    }
}
