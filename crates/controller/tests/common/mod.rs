//! A single openraft node with no peers, for tests of what sits on top of Raft.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, Unreachable};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{BasicNode, Config, Raft, RaftNetwork, RaftNetworkFactory};
use rill_controller::raft::{MetadataStateMachine, NodeId, SledLogStore, TypeConfig};

/// A single node never sends RPCs; any attempt is answered as unreachable.
pub struct NoNetwork;
/// The client NoNetwork hands out.
pub struct NoPeer;

#[derive(Debug, thiserror::Error)]
#[error("single-node test has no peers")]
struct NoPeers;

impl RaftNetworkFactory<TypeConfig> for NoNetwork {
    type Network = NoPeer;
    async fn new_client(&mut self, _target: NodeId, _node: &BasicNode) -> NoPeer {
        NoPeer
    }
}

impl RaftNetwork<TypeConfig> for NoPeer {
    async fn append_entries(
        &mut self,
        _: AppendEntriesRequest<TypeConfig>,
        _: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        Err(RPCError::Unreachable(Unreachable::new(&NoPeers)))
    }
    async fn install_snapshot(
        &mut self,
        _: InstallSnapshotRequest<TypeConfig>,
        _: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        Err(RPCError::Network(NetworkError::new(&NoPeers)))
    }
    async fn vote(
        &mut self,
        _: VoteRequest<NodeId>,
        _: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        Err(RPCError::Unreachable(Unreachable::new(&NoPeers)))
    }
}

/// Node 1 over sled and a state machine in `dir` (snapshots only when triggered).
pub async fn start(dir: &std::path::Path) -> (Raft<TypeConfig>, MetadataStateMachine) {
    let config = Config {
        heartbeat_interval: 50,
        election_timeout_min: 150,
        election_timeout_max: 300,
        snapshot_policy: openraft::SnapshotPolicy::Never,
        max_in_snapshot_log_to_keep: 0,
        ..Config::default()
    }
    .validate()
    .unwrap();
    let db = sled::Config::new().path(dir.join("raft")).open().unwrap();
    let log = SledLogStore::open(db).unwrap();
    let sm = MetadataStateMachine::open(&dir.join("sm")).unwrap();
    let raft = Raft::new(1, Arc::new(config), NoNetwork, log, sm.clone())
        .await
        .unwrap();
    (raft, sm)
}

/// Starts node 1 and makes it the leader of a one-voter quorum.
pub async fn start_leader(dir: &std::path::Path) -> (Raft<TypeConfig>, MetadataStateMachine) {
    let (raft, sm) = start(dir).await;
    raft.initialize(BTreeMap::from([(1, BasicNode::default())]))
        .await
        .unwrap();
    raft.wait(Some(std::time::Duration::from_secs(10)))
        .current_leader(1, "leader")
        .await
        .unwrap();
    (raft, sm)
}

/// `n` listeners on ephemeral ports of 127.0.0.1 and the voter map naming them 1..=n.
pub async fn bind_voters(n: u64) -> (Vec<tokio::net::TcpListener>, BTreeMap<u64, String>) {
    let mut listeners = Vec::new();
    let mut voters = BTreeMap::new();
    for id in 1..=n {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        voters.insert(id, l.local_addr().unwrap().to_string());
        listeners.push(l);
    }
    (listeners, voters)
}
