//! The table of served APIs: each entry names the API, its request type, its handler
//! module and the versions served. The ApiVersions answer and the dispatcher are both
//! generated from this one table ([`apis!`]), so an API is advertised exactly when it
//! has a handler, at exactly the versions the handler serves.
//!
//! Ranges follow a real Kafka release (clients infer broker features from them), with
//! one deliberate exception: Produce is advertised from v0 although v3 is the oldest
//! served, because librdkafka checks that Produce v0 exists before it compresses.
//!
//! A handler is `async fn handle(ctx: &KafkaContext, header: &RequestHeader, req: R)
//! -> Option<Response>`; `None` means "send no response" (Produce with acks=0).

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{self, ApiKey, ApiVersionsResponse, RequestHeader};

use crate::codec::{decode, encode_response};
use crate::context::KafkaContext;
use crate::error::KafkaError;
use crate::handlers;

/// Decodes the body of a request to a served API, runs its handler and encodes the
/// answer (`None`: no answer is sent). Counts the request and its latency per API
/// ([`crate::metrics`]).
pub async fn route(
    ctx: &KafkaContext,
    header: &RequestHeader,
    key: ApiKey,
    body: Bytes,
) -> Result<Option<BytesMut>, KafkaError> {
    let started = std::time::Instant::now();
    let out = route_untimed(ctx, header, key, body).await;
    crate::metrics::request(key, out.is_ok(), started.elapsed());
    out
}

/// One served API.
#[derive(Debug, Clone, Copy)]
pub struct ApiSpec {
    /// The API.
    pub key: ApiKey,
    /// Its name, for logs and errors.
    pub name: &'static str,
    /// The oldest version served.
    pub min: i16,
    /// The newest version served.
    pub max: i16,
    /// The oldest version advertised (at most `min`; see the module docs).
    pub advertised_min: i16,
}

macro_rules! apis {
    ($( $key:ident : $req:ident => $module:ident, $min:literal ..= $max:literal $(, advertised from $amin:literal)? ; )*) => {
        /// Every served API, in API-key order.
        pub const APIS: &[ApiSpec] = &[$(
            ApiSpec {
                key: ApiKey::$key,
                name: stringify!($key),
                min: $min,
                max: $max,
                advertised_min: apis!(@amin $min $(, $amin)?),
            },
        )*];

        /// Decodes the body of a request to a served API, runs its handler and encodes
        /// the answer (`None`: no answer is sent).
        async fn route_untimed(
            ctx: &KafkaContext,
            header: &RequestHeader,
            key: ApiKey,
            mut body: Bytes,
        ) -> Result<Option<BytesMut>, KafkaError> {
            let version = header.request_api_version;
            let correlation = header.correlation_id;
            match key {
                $(ApiKey::$key => {
                    let req: messages::$req = decode(&mut body, version, stringify!($key))?;
                    match handlers::$module::handle(ctx, header, req).await {
                        Some(resp) => encode_response(correlation, key, version, &resp).map(Some),
                        None => Ok(None),
                    }
                })*
                _ => Err(KafkaError::UnknownApi(key as i16)),
            }
        }

        /// Decodes the body of a request to a served API and drops it: the whole
        /// decoding path of [`route`] without a broker (the fuzz target's entry).
        pub fn decode_only(key: ApiKey, version: i16, mut body: Bytes) -> Result<(), KafkaError> {
            match key {
                $(ApiKey::$key => {
                    let _: messages::$req = decode(&mut body, version, stringify!($key))?;
                    Ok(())
                })*
                _ => Err(KafkaError::UnknownApi(key as i16)),
            }
        }
    };
    (@amin $min:literal) => { $min };
    (@amin $min:literal, $amin:literal) => { $amin };
}

apis! {
    Produce: ProduceRequest => produce, 3..=11, advertised from 0;
    Fetch: FetchRequest => fetch, 4..=12;
    ListOffsets: ListOffsetsRequest => list_offsets, 1..=8;
    Metadata: MetadataRequest => metadata, 0..=12;
    OffsetCommit: OffsetCommitRequest => offset_commit, 2..=8;
    OffsetFetch: OffsetFetchRequest => offset_fetch, 1..=8;
    FindCoordinator: FindCoordinatorRequest => find_coordinator, 0..=4;
    JoinGroup: JoinGroupRequest => join_group, 0..=9;
    Heartbeat: HeartbeatRequest => heartbeat, 0..=4;
    LeaveGroup: LeaveGroupRequest => leave_group, 0..=5;
    SyncGroup: SyncGroupRequest => sync_group, 0..=5;
    DescribeGroups: DescribeGroupsRequest => describe_groups, 0..=5;
    ListGroups: ListGroupsRequest => list_groups, 0..=4;
    ApiVersions: ApiVersionsRequest => api_versions, 0..=4;
    CreateTopics: CreateTopicsRequest => create_topics, 2..=7;
    DeleteTopics: DeleteTopicsRequest => delete_topics, 1..=6;
    DeleteRecords: DeleteRecordsRequest => delete_records, 0..=2;
    InitProducerId: InitProducerIdRequest => init_producer_id, 0..=5;
    OffsetForLeaderEpoch: OffsetForLeaderEpochRequest => offset_for_leader_epoch, 2..=4;
    DescribeConfigs: DescribeConfigsRequest => describe_configs, 1..=4;
    AlterConfigs: AlterConfigsRequest => alter_configs, 0..=2;
    CreatePartitions: CreatePartitionsRequest => create_partitions, 0..=3;
    DeleteGroups: DeleteGroupsRequest => delete_groups, 0..=2;
    IncrementalAlterConfigs: IncrementalAlterConfigsRequest => incremental_alter_configs, 0..=1;
    OffsetDelete: OffsetDeleteRequest => offset_delete, 0..=0;
    DescribeCluster: DescribeClusterRequest => describe_cluster, 0..=1;
}

/// The served API with wire key `key`.
pub fn spec(key: i16) -> Option<&'static ApiSpec> {
    APIS.iter().find(|s| s.key as i16 == key)
}

/// The ApiVersions list, derived from [`APIS`].
pub fn advertised() -> Vec<ApiVersion> {
    APIS.iter()
        .map(|s| {
            ApiVersion::default()
                .with_api_key(s.key as i16)
                .with_min_version(s.advertised_min)
                .with_max_version(s.max)
        })
        .collect()
}

/// The v0 answer to an ApiVersions request at a version we do not serve: the error and
/// the list, so the client retries at a version we do.
pub fn unsupported_api_versions(correlation_id: i32) -> Result<BytesMut, KafkaError> {
    let body = ApiVersionsResponse::default()
        .with_error_code(crate::codes::code(
            rill_types::ErrorCode::UnsupportedVersion,
        ))
        .with_api_keys(advertised());
    encode_response(correlation_id, ApiKey::ApiVersions, 0, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_range_is_one_the_codec_can_decode_and_encode() {
        for s in APIS {
            let codec = s.key.valid_versions();
            assert!(
                s.min >= codec.min && s.max <= codec.max,
                "{}: {s:?} vs {codec:?}",
                s.name
            );
            assert!(s.advertised_min <= s.min, "{}", s.name);
        }
    }

    #[test]
    fn keys_are_unique_and_in_order() {
        for w in APIS.windows(2) {
            assert!(
                (w[0].key as i16) < (w[1].key as i16),
                "{} / {}",
                w[0].name,
                w[1].name
            );
        }
    }

    #[test]
    fn produce_is_advertised_from_v0() {
        let p = advertised().into_iter().find(|a| a.api_key == 0).unwrap();
        assert_eq!((p.min_version, p.max_version), (0, 11));
    }
}
