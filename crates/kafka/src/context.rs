//! [`KafkaContext`]: what every handler may use — the broker's replica manager (and
//! through it the metadata image), the controller client, the producer-id allocator and
//! the listener's settings. One per listener, shared by every connection.

use std::sync::Arc;

use rill_broker::replica_manager::ReplicaManager;
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
    pub producer_ids: ProducerIds,
    /// Settings.
    pub config: KafkaConfig,
    /// The consumer-group coordinator.
    pub groups: Arc<crate::group::GroupCoordinator>,
}

impl KafkaContext {
    /// A context over a running broker.
    pub fn new(
        broker_id: BrokerId,
        rm: Arc<ReplicaManager>,
        controllers: ControllerClient,
        config: KafkaConfig,
    ) -> Arc<Self> {
        Arc::new(Self {
            broker_id,
            groups: crate::group::GroupCoordinator::new(rm.clone(), Default::default()),
            rm,
            controllers,
            producer_ids: ProducerIds::default(),
            config,
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
