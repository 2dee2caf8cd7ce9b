//! The one place a broker's gRPC listener gets the Kafka layer's group admin service
//! (`proto/group.proto`): `rill broker` and `rill server` both start their broker with
//! `BrokerNode::start_with(config, listener, group_service::routes)`. The broker crate
//! cannot name the service (it must not depend on rill-kafka), so it takes it as an
//! extra route.

use std::sync::Arc;

use rill_broker::replica_manager::ReplicaManager;
use rill_kafka::group_admin::GroupAdminGrpc;
use tonic::service::Routes;

/// The extra services of a broker: the group admin service over the broker's one group
/// coordinator (shared with its Kafka listeners).
pub fn routes(rm: &Arc<ReplicaManager>) -> Routes {
    Routes::new(GroupAdminGrpc::new(rm.clone()).into_server())
}
