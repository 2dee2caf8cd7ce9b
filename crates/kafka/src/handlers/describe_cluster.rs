//! DescribeCluster (key 60), v0–1, from this broker's metadata image (as Metadata):
//! the cluster id, this broker as the controller (KRaft brokers forward admin requests
//! to the quorum, and so does rill, so any broker is a fine target), and the unfenced
//! brokers with their endpoint of the request's listener (by name) and rack. Authorized operations are not
//! computed (no ACLs): -2147483648, Kafka's "not asked / unknown".
//!
//! `endpoint_type` (v1) 2 asks for the controllers' endpoints. Kafka brokers refuse that
//! (only a controller answers it, with its controller listener); rill's controllers
//! speak gRPC, not Kafka, so there is no Kafka endpoint to give: the answer is
//! UNSUPPORTED_VERSION with a message, and the client should ask with endpoint type 1.

use super::metadata::kafka_endpoints;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{
    BrokerId, DescribeClusterRequest, DescribeClusterResponse, RequestHeader,
};
use rill_metadata::MetadataImage;
use rill_types::ErrorCode;

use super::s;
use crate::codes;
use crate::context::KafkaContext;

/// Kafka's "authorized operations not computed".
const OPERATIONS_UNKNOWN: i32 = i32::MIN;
/// `endpoint_type` of brokers.
const BROKERS: i8 = 1;

/// Describes the cluster.
pub async fn handle(
    ctx: &KafkaContext,
    _header: &RequestHeader,
    req: DescribeClusterRequest,
) -> Option<DescribeClusterResponse> {
    let image = ctx.image();
    let resp = DescribeClusterResponse::default()
        .with_endpoint_type(req.endpoint_type)
        .with_cluster_id(s(image.cluster_id().unwrap_or_default().to_owned()))
        .with_cluster_authorized_operations(OPERATIONS_UNKNOWN);
    if req.endpoint_type != BROKERS {
        return Some(
            resp.with_controller_id(BrokerId(-1))
                .with_error_code(codes::code(ErrorCode::UnsupportedVersion))
                .with_error_message(Some(s(format!(
                    "endpoint type {} is not served: rill's controllers have no Kafka endpoint; ask for brokers (1)",
                    req.endpoint_type
                )))),
        );
    }
    Some(
        resp.with_controller_id(BrokerId(ctx.broker_id.get()))
            .with_brokers(brokers(&image, &ctx.listener)),
    )
}

/// Unfenced brokers with a `listener` endpoint, by id (as Metadata lists them).
fn brokers(image: &MetadataImage, listener: &str) -> Vec<DescribeClusterBroker> {
    kafka_endpoints(image, listener)
        .map(|e| {
            DescribeClusterBroker::default()
                .with_broker_id(BrokerId(e.id))
                .with_host(s(e.host.to_owned()))
                .with_port(e.port)
                .with_rack(e.rack.map(|r| s(r.to_owned())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_encodes_at_every_served_version() {
        super::super::configs::assert_encodes(0..=1, |_| {
            DescribeClusterResponse::default()
                // The request's endpoint type: 1 from v1; v0 decodes it as the default, 1.
                .with_endpoint_type(1)
                .with_cluster_id(s("c"))
                .with_controller_id(BrokerId(1))
                .with_cluster_authorized_operations(OPERATIONS_UNKNOWN)
                .with_brokers(vec![
                    DescribeClusterBroker::default()
                        .with_broker_id(BrokerId(1))
                        .with_host(s("127.0.0.1"))
                        .with_port(9092)
                        .with_rack(Some(s("r1"))),
                ])
        });
        // The refusal at v1.
        super::super::configs::assert_encodes(1..=1, |_| {
            DescribeClusterResponse::default()
                .with_endpoint_type(2)
                .with_error_code(35)
                .with_error_message(Some(s("no")))
        });
    }
}
