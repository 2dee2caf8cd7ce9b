//! [`KafkaContext`]: what every handler may use — the broker's replica manager (and
//! through it the metadata image), the controller client, the producer-id allocator and
//! the listener's settings. One per listener, shared by every connection that came in on
//! it; the listeners of one broker share everything but the listener name
//! ([`KafkaContext::for_listener`]).

use std::sync::Arc;

use rill_broker::replica_manager::{KAFKA_LISTENER, ReplicaManager};
use rill_proto::controller_client::ControllerClient;
use rill_types::BrokerId;

use crate::frame::DEFAULT_MAX_REQUEST_BYTES;
use crate::producer_ids::ProducerIds;

/// The listener's settings.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// `socket.request.max.bytes`: the largest request accepted; a larger size prefix
    /// closes the connection before anything is allocated.
    pub max_request_bytes: usize,
    /// The most connections served at once; more wait in the accept queue.
    pub max_connections: usize,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_connections: 10_000,
        }
    }
}

/// Shared state of one Kafka listener.
#[derive(Debug)]
pub struct KafkaContext {
    /// This broker's id.
    pub broker_id: BrokerId,
    /// The broker's replicas and metadata view.
    pub rm: Arc<ReplicaManager>,
    /// The controller quorum (admin requests are forwarded there).
    pub controllers: ControllerClient,
    /// Producer ids handed out by this broker, in blocks from the controller.
    pub producer_ids: Arc<ProducerIds>,
    /// Settings.
    pub config: KafkaConfig,
    /// The consumer-group coordinator.
    pub groups: Arc<crate::group::GroupCoordinator>,
    /// The name of the listener this context serves. Metadata, FindCoordinator and
    /// DescribeCluster answer with every broker's endpoint of this name, so a client sees
    /// the addresses of the network it connected from (Kafka's behaviour).
    pub listener: String,
}

impl KafkaContext {
    /// A context over a running broker, for its `PLAINTEXT` listener.
    pub fn new(
        broker_id: BrokerId,
        rm: Arc<ReplicaManager>,
        controllers: ControllerClient,
        config: KafkaConfig,
    ) -> Arc<Self> {
        Arc::new(Self {
            broker_id,
            groups: crate::group::GroupCoordinator::shared(&rm),
            rm,
            controllers,
            producer_ids: Arc::default(),
            config,
            listener: KAFKA_LISTENER.to_owned(),
        })
    }

    /// A context for the broker's listener `name`, sharing this one's state (groups,
    /// producer ids, settings): only the endpoints it answers with differ.
    pub fn for_listener(&self, name: &str) -> Arc<Self> {
        Arc::new(Self {
            broker_id: self.broker_id,
            rm: self.rm.clone(),
            controllers: self.controllers.clone(),
            producer_ids: self.producer_ids.clone(),
            config: self.config.clone(),
            groups: self.groups.clone(),
            listener: name.to_owned(),
        })
    }

    /// The metadata image the broker has applied.
    pub fn image(&self) -> Arc<rill_metadata::MetadataImage> {
        self.rm.metadata.borrow().image.clone()
    }

    /// The broker's current epoch (from its registration).
    pub fn broker_epoch(&self) -> i64 {
        self.rm.lease.borrow().broker_epoch
    }
}
