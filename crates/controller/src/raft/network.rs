//! The client side of the Raft transport: openraft's RPCs to the other quorum members
//! over tonic (`proto/raft.proto`), served by [`super::RaftGrpcService`].
//!
//! Wire contract (both ends live in this crate, so they always agree): a request is the
//! openraft request, postcard-encoded ([`super::encode`]) into `RaftPayload.data`; the
//! reply's `ok` is the postcard-encoded `Result<Response, RaftError<..>>` the remote
//! `Raft` returned; `error` means the server could not decode our payload.
//!
//! Error mapping, chosen for openraft's replication loop (which backs off only on
//! `Unreachable` and re-sends at once on the next event otherwise):
//! - gRPC `Unavailable` (connection refused or reset, connect timeout: tonic's mapping of
//!   a peer that is down), `Unimplemented` (something else listens there) and
//!   `PermissionDenied` (the peer belongs to another cluster, see [`super::admit`]) →
//!   [`RPCError::Unreachable`], so the leader backs off instead of spinning on a dead peer;
//! - our deadline (`RPCOption::hard_ttl`) expiring → [`RPCError::Timeout`];
//! - any other gRPC status, an undecodable or empty reply, or the server's `error` →
//!   [`RPCError::Network`];
//! - an `ok` reply holding `Err(raft_error)` → [`RPCError::RemoteError`]: the peer is
//!   fine, its Raft answered (e.g. a higher vote, or it is shutting down).
//!
//! No retries here. openraft already retries: replication re-sends after any error
//! (after the backoff when unreachable), the chunked snapshot sender retries each chunk
//! up to five times, and a failed vote is re-asked by the next election. A retry inside
//! an RPC would spend the caller's time budget twice and hide the error from openraft's
//! backoff. A stale connection after a peer restarts is not a reason either: tonic's
//! channel reconnects by itself on the next call.
//!
//! Connections: one lazily connected tonic [`Channel`] per target, kept by the factory and
//! shared (HTTP/2 multiplexing) by every client openraft makes for that target —
//! openraft makes a new client per replication session and per election, and a new TCP
//! connection each time would be churn. The cache holds one entry per node id ever
//! targeted, i.e. at most the number of quorum members seen; an entry is replaced when
//! the node's address changes.

use std::collections::BTreeMap;
use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Timeout, Unreachable,
};
use openraft::network::{RPCOption, RPCTypes};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{BasicNode, RaftNetwork, RaftNetworkFactory};
use rill_proto::raft::raft_service_client::RaftServiceClient;
use rill_proto::raft::{RaftPayload, raft_reply};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::Code;
use tonic::transport::{Channel, Endpoint};

use super::identity::{CLUSTER_ID_HEADER, ClusterIdentity};
use super::types::{NodeId, TypeConfig, decode, encode};

/// How long establishing a TCP connection to a peer may take. Short: peers are in one
/// data centre, and a peer that does not accept within a second is treated as down
/// (`Unreachable`) rather than holding up a heartbeat.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The largest Raft message either side encodes or decodes. Snapshot chunks are
/// `Config::snapshot_max_chunk_size` (3 MiB by default) and append batches are bounded by
/// `max_payload_entries`; this leaves ample headroom for both while still refusing a
/// runaway message.
pub(super) const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// The error openraft's `RPCError` variants carry when the fault is ours or the
/// transport's rather than the remote Raft's.
#[derive(Debug, Clone, thiserror::Error)]
enum TransportError {
    #[error("node {target} has an invalid address {addr:?}: {reason}")]
    BadAddress {
        target: NodeId,
        addr: String,
        reason: String,
    },
    #[error("encoding a {action} request for node {target}: {reason}")]
    Encode {
        action: RPCTypes,
        target: NodeId,
        reason: String,
    },
    #[error("decoding node {target}'s {action} reply: {reason}")]
    Decode {
        action: RPCTypes,
        target: NodeId,
        reason: String,
    },
    #[error("node {target} sent an empty {action} reply")]
    EmptyReply { action: RPCTypes, target: NodeId },
    #[error("node {target} could not decode our {action} request: {reason}")]
    Rejected {
        action: RPCTypes,
        target: NodeId,
        reason: String,
    },
}

/// Makes `GrpcNetwork` clients for openraft, one per target and session, over a shared
/// per-target channel.
#[derive(Debug)]
pub struct GrpcNetworkFactory {
    /// This node's id, which openraft's `Timeout` error reports as the caller.
    id: NodeId,
    /// This node's cluster id, sent with every RPC once known.
    identity: ClusterIdentity,
    /// Per target: the address the channel was built for, and the channel (or why the
    /// address could not make one).
    channels: BTreeMap<NodeId, (String, Result<Channel, TransportError>)>,
}

impl GrpcNetworkFactory {
    /// A factory for node `id`'s outgoing Raft RPCs.
    pub fn new(id: NodeId) -> Self {
        Self::with_identity(id, ClusterIdentity::default())
    }

    /// A factory whose RPCs carry `identity`'s cluster id (see [`super::admit`]).
    pub fn with_identity(id: NodeId, identity: ClusterIdentity) -> Self {
        Self {
            id,
            identity,
            channels: BTreeMap::new(),
        }
    }

    fn channel(&mut self, target: NodeId, addr: &str) -> Result<Channel, TransportError> {
        if let Some((cached, channel)) = self.channels.get(&target)
            && cached == addr
        {
            return channel.clone();
        }
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .map(|endpoint| {
                endpoint
                    .connect_timeout(CONNECT_TIMEOUT)
                    .tcp_nodelay(true)
                    .connect_lazy()
            })
            .map_err(|e| TransportError::BadAddress {
                target,
                addr: addr.to_owned(),
                reason: e.to_string(),
            });
        self.channels
            .insert(target, (addr.to_owned(), channel.clone()));
        channel
    }
}

impl RaftNetworkFactory<TypeConfig> for GrpcNetworkFactory {
    type Network = GrpcNetwork;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> GrpcNetwork {
        let client = self.channel(target, &node.addr).map(|channel| {
            RaftServiceClient::new(channel)
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES)
        });
        GrpcNetwork {
            id: self.id,
            identity: self.identity.clone(),
            target,
            node: node.clone(),
            client,
        }
    }
}

/// openraft's connection to one target: sends its RPCs and maps failures as described in
/// the module docs.
#[derive(Debug)]
pub struct GrpcNetwork {
    id: NodeId,
    identity: ClusterIdentity,
    target: NodeId,
    node: BasicNode,
    /// `Err` when the target's address is not a valid URI authority: every RPC then fails
    /// as unreachable (a configuration error that retrying at full speed cannot fix).
    client: Result<RaftServiceClient<Channel>, TransportError>,
}

type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>;

impl GrpcNetwork {
    /// Sends one RPC and decodes the remote `Result`, within `option.hard_ttl()`.
    async fn call<Req, Resp, E>(
        &mut self,
        action: RPCTypes,
        request: &Req,
        option: &RPCOption,
    ) -> RpcResult<Resp, E>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let target = self.target;
        let client = match &mut self.client {
            Ok(client) => client,
            Err(e) => return Err(RPCError::Unreachable(Unreachable::new(e))),
        };
        let data = encode(request).map_err(|e| {
            network(TransportError::Encode {
                action,
                target,
                reason: e.to_string(),
            })
        })?;
        let ttl = option.hard_ttl();
        // Our deadline is this timeout alone. No `grpc-timeout` header: tonic's client would
        // enforce it too and race us, reporting `Cancelled` (→ Network) instead of Timeout;
        // and the server needs none, as dropping the call resets the stream, which cancels
        // the handler.
        let mut request = tonic::Request::new(RaftPayload { data });
        if let Some(cluster) = self.identity.get()
            && let Ok(value) = cluster.parse()
        {
            request.metadata_mut().insert(CLUSTER_ID_HEADER, value);
        }
        let sent = async {
            match action {
                RPCTypes::AppendEntries => client.append_entries(request).await,
                RPCTypes::Vote => client.vote(request).await,
                RPCTypes::InstallSnapshot => client.install_snapshot(request).await,
            }
        };
        let reply = match tokio::time::timeout(ttl, sent).await {
            Err(_elapsed) => {
                return Err(RPCError::Timeout(Timeout {
                    action,
                    id: self.id,
                    target,
                    timeout: ttl,
                }));
            }
            Ok(Err(status)) => return Err(status_error(status)),
            Ok(Ok(reply)) => reply.into_inner(),
        };
        let bytes = match reply.result {
            Some(raft_reply::Result::Ok(bytes)) => bytes,
            Some(raft_reply::Result::Error(reason)) => {
                return Err(network(TransportError::Rejected {
                    action,
                    target,
                    reason,
                }));
            }
            None => return Err(network(TransportError::EmptyReply { action, target })),
        };
        let remote: Result<Resp, RaftError<NodeId, E>> = decode(&bytes).map_err(|e| {
            network(TransportError::Decode {
                action,
                target,
                reason: e.to_string(),
            })
        })?;
        remote.map_err(|e| {
            RPCError::RemoteError(RemoteError::new_with_node(target, self.node.clone(), e))
        })
    }
}

fn network<E: std::error::Error>(e: TransportError) -> RPCError<NodeId, BasicNode, E> {
    RPCError::Network(NetworkError::new(&e))
}

/// Maps a failed gRPC call: "nobody (suitable) is there" is `Unreachable`, the rest is
/// `Network` (see the module docs for why the distinction matters).
fn status_error<E: std::error::Error>(status: tonic::Status) -> RPCError<NodeId, BasicNode, E> {
    match status.code() {
        // PermissionDenied: the peer belongs to another cluster; back off like a dead peer.
        Code::Unavailable | Code::Unimplemented | Code::PermissionDenied => {
            RPCError::Unreachable(Unreachable::new(&status))
        }
        _ => RPCError::Network(NetworkError::new(&status)),
    }
}

impl RaftNetwork<TypeConfig> for GrpcNetwork {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>> {
        self.call(RPCTypes::AppendEntries, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        self.call(RPCTypes::InstallSnapshot, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>> {
        self.call(RPCTypes::Vote, &rpc, &option).await
    }
}
