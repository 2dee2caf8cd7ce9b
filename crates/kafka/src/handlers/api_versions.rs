//! ApiVersions (key 18), v0–4: the served APIs and versions, from [`crate::apis::APIS`].
//!
//! No feature tags are sent: librdkafka before 2.2 (Debian's kcat uses 2.0.2) misreads
//! the v3 response's tagged fields.

use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse, RequestHeader};

use crate::apis;
use crate::context::KafkaContext;

/// Answers with every served API.
pub async fn handle(
    _ctx: &KafkaContext,
    _header: &RequestHeader,
    _req: ApiVersionsRequest,
) -> Option<ApiVersionsResponse> {
    Some(ApiVersionsResponse::default().with_api_keys(apis::advertised()))
}
