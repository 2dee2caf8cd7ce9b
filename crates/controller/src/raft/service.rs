//! The server side of the Raft transport: a thin gRPC adapter that hands the decoded
//! openraft request to the local [`Raft`] and sends its whole `Result` back.
//!
//! Contract with [`super::GrpcNetworkFactory`]'s clients (see `network.rs`): the payload is
//! the postcard-encoded openraft request; the reply's `ok` is the postcard-encoded
//! `Result<Response, RaftError<..>>` exactly as `Raft` returned it, so a Raft-level
//! refusal (higher vote, node shutting down) reaches the caller as a remote error and not
//! as a transport failure; `error` is used only when the payload cannot be decoded (a
//! peer on an incompatible version, or a bug), which the caller treats as a network
//! error.
//!
//! No gRPC status is returned for Raft outcomes: a status would be mapped to a transport
//! error on the caller's side and trigger the wrong retry behaviour. The one status is
//! PERMISSION_DENIED for a caller of another cluster ([`super::admit`]), which the
//! caller backs off from like an unreachable peer.

use openraft::Raft;
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
use rill_proto::raft::raft_service_server::{RaftService, RaftServiceServer};
use rill_proto::raft::{RaftPayload, RaftReply, raft_reply};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::{Request, Response, Status};

use super::identity::{CLUSTER_ID_HEADER, ClusterIdentity, admit};
use super::network::MAX_MESSAGE_BYTES;
use super::types::{NodeId, TypeConfig, decode, encode};

/// Serves `RaftService` for one local Raft node. Cheap to clone (a `Raft` handle).
#[derive(Clone)]
pub struct RaftGrpcService {
    raft: Raft<TypeConfig>,
    identity: ClusterIdentity,
    /// Votes are refused before this instant (see [`RaftGrpcService::refuse_votes_until`]).
    votes_from: Option<tokio::time::Instant>,
}

impl RaftGrpcService {
    /// Serves RPCs addressed to `raft`.
    pub fn new(raft: Raft<TypeConfig>) -> Self {
        Self::with_identity(raft, ClusterIdentity::default())
    }

    /// Serves RPCs addressed to `raft`, refusing callers of a cluster other than
    /// `identity`'s.
    pub fn with_identity(raft: Raft<TypeConfig>, identity: ClusterIdentity) -> Self {
        Self {
            raft,
            identity,
            votes_from: None,
        }
    }

    /// Refuses vote requests until `instant`. For a node that starts without any data:
    /// it may be a voter whose data directory was wiped, and so have lost the record of
    /// a vote it gave in the current term; granting another vote in that term could
    /// elect two leaders. Waiting out every election that could have been running when
    /// it lost its data (a few maximum election timeouts) restores Raft's "one vote per
    /// term" without knowing the term. Appends and snapshots are accepted meanwhile.
    pub fn refuse_votes_until(mut self, instant: tokio::time::Instant) -> Self {
        self.votes_from = Some(instant);
        self
    }

    fn admit(&self, request: &Request<RaftPayload>) -> Result<(), Status> {
        let remote = request
            .metadata()
            .get(CLUSTER_ID_HEADER)
            .and_then(|v| v.to_str().ok());
        admit(self.identity.get().as_deref(), remote).map_err(|reason| {
            tracing::error!(%reason, "refused a Raft message");
            Status::permission_denied(reason)
        })
    }

    /// The tonic service, with message limits large enough for snapshot chunks and append
    /// batches (64 MiB, the limit the clients use too).
    pub fn into_server(self) -> RaftServiceServer<Self> {
        RaftServiceServer::new(self)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    fn id(&self) -> NodeId {
        // Copied out at once: a metrics borrow must not outlive this expression.
        self.raft.metrics().borrow().id
    }
}

impl std::fmt::Debug for RaftGrpcService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `Raft`'s own Debug dumps its whole inner state; the node id is what identifies us.
        f.debug_struct("RaftGrpcService")
            .field("id", &self.id())
            .finish()
    }
}

/// Decodes a request payload, or answers the `error` reply the contract prescribes.
fn decode_request<T: DeserializeOwned>(
    rpc: &str,
    request: Request<RaftPayload>,
) -> Result<T, Response<RaftReply>> {
    decode(&request.into_inner().data).map_err(|e| {
        tracing::warn!(rpc, error = %e, "undecodable Raft request");
        Response::new(RaftReply {
            result: Some(raft_reply::Result::Error(format!(
                "undecodable {rpc} request: {e}"
            ))),
        })
    })
}

/// Encodes the local Raft's whole result as the `ok` reply.
fn reply<T: Serialize>(result: &T) -> Result<Response<RaftReply>, Status> {
    // Encoding openraft's own serde types into a Vec cannot fail short of a bug, which
    // the caller sees as a transport error (`Internal` → network).
    let bytes = encode(result).map_err(|e| Status::internal(format!("encode reply: {e}")))?;
    Ok(Response::new(RaftReply {
        result: Some(raft_reply::Result::Ok(bytes)),
    }))
}

#[tonic::async_trait]
impl RaftService for RaftGrpcService {
    async fn append_entries(
        &self,
        request: Request<RaftPayload>,
    ) -> Result<Response<RaftReply>, Status> {
        self.admit(&request)?;
        let rpc: AppendEntriesRequest<TypeConfig> = match decode_request("append_entries", request)
        {
            Ok(rpc) => rpc,
            Err(refused) => return Ok(refused),
        };
        reply(&self.raft.append_entries(rpc).await)
    }

    async fn vote(&self, request: Request<RaftPayload>) -> Result<Response<RaftReply>, Status> {
        self.admit(&request)?;
        if self
            .votes_from
            .is_some_and(|from| tokio::time::Instant::now() < from)
        {
            return Err(Status::permission_denied(
                "this controller started without data and does not vote yet",
            ));
        }
        let rpc: VoteRequest<NodeId> = match decode_request("vote", request) {
            Ok(rpc) => rpc,
            Err(refused) => return Ok(refused),
        };
        reply(&self.raft.vote(rpc).await)
    }

    async fn install_snapshot(
        &self,
        request: Request<RaftPayload>,
    ) -> Result<Response<RaftReply>, Status> {
        self.admit(&request)?;
        let rpc: InstallSnapshotRequest<TypeConfig> =
            match decode_request("install_snapshot", request) {
                Ok(rpc) => rpc,
                Err(refused) => return Ok(refused),
            };
        reply(&self.raft.install_snapshot(rpc).await)
    }
}
