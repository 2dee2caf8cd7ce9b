//! Three controller nodes in one process, talking Raft over real gRPC on 127.0.0.1 port 0:
//! they elect a leader, replicate metadata writes to every image, survive the leader's
//! loss, and bring a node that is behind the leader's purged log up to date through the
//! chunked snapshot transfer. A third test pins the transport's error mapping, which
//! openraft's retry and backoff decisions depend on.
//!
//! Every wait polls with a deadline (`wait_until`) and fails with what it waited for.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{RPCError, RaftError};
use openraft::network::RPCOption;
use openraft::raft::VoteRequest;
use openraft::{
    BasicNode, Config, LogId, Raft, RaftNetwork, RaftNetworkFactory, ServerState, SnapshotPolicy,
    Vote,
};
use prost::Message as _;
use rill_controller::raft::{
    GrpcNetworkFactory, MetadataStateMachine, MetadataWrite, NodeId, RaftGrpcService, SledLogStore,
    TypeConfig,
};
use rill_metadata::records::{MetadataBatch, TopicRecord};
use rill_metadata::{MetadataRecord, Record};
use rill_proto::raft::raft_service_client::RaftServiceClient;
use rill_proto::raft::{RaftPayload, raft_reply};
use rill_types::TopicId;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;

/// The bound on every wait in these tests.
const DEADLINE: Duration = Duration::from_secs(20);
/// How often a condition is re-checked while waiting.
const POLL: Duration = Duration::from_millis(20);

fn config(snapshots: SnapshotPolicy) -> Arc<Config> {
    let config = Config {
        heartbeat_interval: 50,
        election_timeout_min: 300,
        election_timeout_max: 600,
        install_snapshot_timeout: 2000,
        snapshot_policy: snapshots,
        max_in_snapshot_log_to_keep: 0,
        purge_batch_size: 1,
        // Small chunks, so that a snapshot travels as several InstallSnapshot RPCs.
        snapshot_max_chunk_size: 256,
        ..Config::default()
    };
    Arc::new(config.validate().unwrap())
}

/// A listener on an ephemeral port, and the "host:port" peers reach it at.
async fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (listener, addr)
}

/// One controller: its Raft, its state machine and the gRPC server in front of it.
struct Node {
    id: NodeId,
    raft: Raft<TypeConfig>,
    sm: MetadataStateMachine,
    stop_server: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Node {
    async fn start(id: NodeId, listener: TcpListener, config: Arc<Config>) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new()
            .path(dir.path().join("raft"))
            .open()
            .unwrap();
        let log = SledLogStore::open(db).unwrap();
        let sm = MetadataStateMachine::open(&dir.path().join("sm")).unwrap();
        let raft = Raft::new(id, config, GrpcNetworkFactory::new(id), log, sm.clone())
            .await
            .unwrap();
        let service = RaftGrpcService::new(raft.clone()).into_server();
        let (stop_server, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                    let _ = stopped.await;
                })
                .await
                .expect("raft gRPC server failed");
        });
        Node {
            id,
            raft,
            sm,
            stop_server: Some(stop_server),
            server,
            _dir: dir,
        }
    }

    /// Takes the node down the way a crash looks to its peers: Raft stopped, connections
    /// closed, the port refusing. The server is asked to close its connections first (so
    /// that peers see refused connections, not a stopped Raft answering); if that takes
    /// too long, its task is aborted.
    async fn stop(mut self) {
        self.raft.shutdown().await.unwrap();
        if let Some(stop) = self.stop_server.take() {
            let _ = stop.send(());
        }
        if tokio::time::timeout(Duration::from_secs(5), &mut self.server)
            .await
            .is_err()
        {
            self.server.abort();
        }
    }

    /// Copies the wanted metrics out: a borrow held across an await blocks openraft's core.
    fn leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader
    }

    fn topic_names(&self) -> BTreeSet<String> {
        self.sm.image().topics().map(|t| t.name.clone()).collect()
    }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {DEADLINE:?} waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until every node in `nodes` names the same leader, one of `nodes`, and returns
/// its index in `nodes`.
async fn agreed_leader(nodes: &[&Node]) -> usize {
    let mut leader = None;
    wait_until("a leader all nodes agree on", || {
        let seen: BTreeSet<Option<NodeId>> = nodes.iter().map(|n| n.leader()).collect();
        leader = match seen.into_iter().collect::<Vec<_>>()[..] {
            [Some(id)] => nodes.iter().position(|n| n.id == id),
            _ => None,
        };
        leader.is_some_and(|i| nodes[i].raft.metrics().borrow().state == ServerState::Leader)
    })
    .await;
    leader.unwrap()
}

fn topic_write(names: &[&str]) -> MetadataWrite {
    let records = names.iter().map(|name| {
        let mut id = [0; 16];
        id[..name.len()].copy_from_slice(name.as_bytes());
        MetadataRecord {
            record: Some(Record::Topic(TopicRecord {
                name: (*name).into(),
                topic_id: Some(TopicId::from_bytes(id).into()),
            })),
        }
    });
    MetadataWrite {
        batch: MetadataBatch {
            records: records.collect(),
        }
        .encode_to_vec(),
    }
}

/// Writes through the leader of `nodes`. If leadership moves between finding the leader
/// and proposing (a stall on a loaded machine can outlast the election timeout), the
/// refusal is `ForwardToLeader`, which means nothing was proposed, so the write is retried.
async fn write(nodes: &[&Node], names: &[&str]) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let leader = agreed_leader(nodes).await;
        match nodes[leader].raft.client_write(topic_write(names)).await {
            Ok(_) => return,
            Err(e) if e.forward_to_leader::<BasicNode>().is_some() => assert!(
                tokio::time::Instant::now() < deadline,
                "timed out after {DEADLINE:?} writing {names:?}: {e}"
            ),
            Err(e) => panic!("writing {names:?}: {e}"),
        }
    }
}

fn names(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// Waits until every node's image holds exactly `expected` topics.
async fn converged(nodes: &[&Node], expected: &BTreeSet<String>) {
    wait_until("every image to hold the written topics", || {
        nodes.iter().all(|n| &n.topic_names() == expected)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_replicate_and_survive_the_leaders_loss() {
    let config = config(SnapshotPolicy::Never);
    let mut listeners = Vec::new();
    let mut members = BTreeMap::new();
    for id in 1..=3 {
        let (listener, addr) = bind().await;
        listeners.push((id, listener));
        members.insert(id, BasicNode { addr });
    }
    let mut nodes = Vec::new();
    for (id, listener) in listeners {
        nodes.push(Node::start(id, listener, config.clone()).await);
    }
    nodes[0].raft.initialize(members).await.unwrap();

    let all: Vec<&Node> = nodes.iter().collect();
    let mut written = vec!["a", "b", "c"];
    for name in &written {
        write(&all, &[name]).await;
    }
    write(&all, &["d", "e"]).await;
    written.extend(["d", "e"]);
    converged(&all, &names(&written)).await;

    let leader = agreed_leader(&all).await;

    // The leader goes away; the other two elect one of themselves and keep taking writes.
    let old = nodes.remove(leader);
    let old_id = old.id;
    old.stop().await;
    let survivors: Vec<&Node> = nodes.iter().collect();
    let leader = agreed_leader(&survivors).await;
    assert_ne!(survivors[leader].id, old_id);
    write(&survivors, &["f"]).await;
    written.push("f");
    converged(&survivors, &names(&written)).await;
    assert_eq!(
        survivors[0].sm.image().topics().collect::<Vec<_>>(),
        survivors[1].sm.image().topics().collect::<Vec<_>>(),
        "the survivors' topics are identical, ids included"
    );

    for node in nodes {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_behind_the_purged_log_catches_up_by_snapshot() {
    let config = config(SnapshotPolicy::LogsSinceLast(5));
    let mut nodes = Vec::new();
    let mut addrs = BTreeMap::new();
    for id in 1..=3 {
        let (listener, addr) = bind().await;
        addrs.insert(id, BasicNode { addr });
        nodes.push(Node::start(id, listener, config.clone()).await);
    }
    // Nodes 1 and 2 form the cluster; node 3 runs but is not a member yet.
    let voters = BTreeMap::from([(1, addrs[&1].clone()), (2, addrs[&2].clone())]);
    nodes[0].raft.initialize(voters).await.unwrap();
    let members = [&nodes[0], &nodes[1]];

    let written: Vec<String> = (0..12).map(|i| format!("t{i:02}")).collect();
    for name in &written {
        write(&members, &[name]).await;
    }
    let leader = agreed_leader(&members).await;
    // Wait until the leader has snapshotted and purged the log's beginning: from then on
    // a newcomer can only be brought up to date by a snapshot.
    let mut purged = None;
    wait_until("the leader to snapshot and purge its log", || {
        let m = nodes[leader].raft.metrics().borrow().clone();
        purged = m.purged.filter(|p| p.index >= 5 && m.snapshot >= Some(*p));
        purged.is_some()
    })
    .await;
    let purged: LogId<NodeId> = purged.unwrap();

    nodes[leader]
        .raft
        .add_learner(3, addrs[&3].clone(), true)
        .await
        .unwrap();
    let expected: BTreeSet<String> = written.iter().cloned().collect();
    converged(&nodes.iter().collect::<Vec<_>>(), &expected).await;
    let newcomer_snapshot = nodes[2].raft.metrics().borrow().snapshot;
    assert!(
        newcomer_snapshot.is_some_and(|s| s.index >= purged.index),
        "node 3 holds a snapshot covering the purged log: {newcomer_snapshot:?} vs {purged:?}"
    );
    assert_eq!(
        nodes[2].sm.image().topics().collect::<Vec<_>>(),
        nodes[leader].sm.image().topics().collect::<Vec<_>>()
    );

    // After the snapshot, plain log replication carries on to the learner.
    write(&nodes.iter().collect::<Vec<_>>(), &["after"]).await;
    let mut expected = expected;
    expected.insert("after".into());
    converged(&nodes.iter().collect::<Vec<_>>(), &expected).await;

    for node in nodes {
        node.stop().await;
    }
}

fn vote_request() -> VoteRequest<NodeId> {
    VoteRequest {
        vote: Vote::new(1, 9),
        last_log_id: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_failures_map_to_what_openraft_expects() {
    let option = RPCOption::new(Duration::from_millis(500));
    let mut factory = GrpcNetworkFactory::new(9);

    // Nothing listens: unreachable, so openraft backs off.
    let (listener, refused) = bind().await;
    drop(listener);
    let mut client = factory.new_client(1, &BasicNode { addr: refused }).await;
    let err = client
        .vote(vote_request(), option.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, RPCError::Unreachable(_)), "{err:?}");

    // A peer that accepts but never answers: our deadline fires.
    let (silent, addr) = bind().await;
    let mut client = factory.new_client(2, &BasicNode { addr }).await;
    let err = client
        .vote(vote_request(), option.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, RPCError::Timeout(_)), "{err:?}");
    drop(silent);

    // A peer whose Raft has stopped answers, and its refusal is a remote error.
    let (listener, addr) = bind().await;
    let node = Node::start(3, listener, config(SnapshotPolicy::Never)).await;
    node.raft.shutdown().await.unwrap();
    let mut client = factory
        .new_client(3, &BasicNode { addr: addr.clone() })
        .await;
    let err = client
        .vote(vote_request(), option.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RPCError::RemoteError(e) if e.target == 3 && matches!(e.source, RaftError::Fatal(_))),
        "{err:?}"
    );

    // A payload the server cannot decode is answered with `error`, not a Raft result.
    let mut raw = RaftServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let reply = raw
        .vote(RaftPayload {
            data: vec![0xff; 3],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        matches!(reply.result, Some(raft_reply::Result::Error(_))),
        "{reply:?}"
    );
    node.stop().await;
}
