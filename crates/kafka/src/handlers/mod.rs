//! One module per Kafka API. Each has `handle(ctx, header, request) -> Option<response>`
//! (see [`crate::apis`]); the versions each serves are in the table there. Handlers
//! answer every refusal with a Kafka error code from [`crate::codes`], per partition or
//! topic where the API allows it, and never fail the connection for bad content.

pub mod alter_configs;
pub mod api_versions;
pub mod configs;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_groups;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_groups;
pub mod fetch;
pub mod find_coordinator;
pub mod heartbeat;
pub mod incremental_alter_configs;
pub mod init_producer_id;
pub mod join_group;
pub mod leave_group;
pub mod list_groups;
pub mod list_offsets;
pub mod metadata;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod offset_for_leader_epoch;
pub mod produce;
pub mod quorum;
pub mod sync_group;

use kafka_protocol::protocol::StrBytes;

/// A wire string from a Rust one.
pub(crate) fn s(text: impl Into<String>) -> StrBytes {
    StrBytes::from_string(text.into())
}
