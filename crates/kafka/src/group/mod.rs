//! Consumer groups, classic protocol: the group coordinator.
//!
//! - [`state`]: one group's state machine, pure (time is a parameter);
//! - [`records`]: the `__consumer_offsets` record formats (Kafka's);
//! - [`coordinator`]: the async shell — the groups of the `__consumer_offsets`
//!   partitions this broker leads, waiting requests, timers, writes (acks=all) and
//!   the reload when leadership moves here.
//!
//! A group's coordinator is the leader of partition
//! `abs(java hashCode(group id)) % partitions` of `__consumer_offsets`, as in Kafka, so
//! clients that compute it (none should) agree, and so does every broker.

pub mod coordinator;
pub mod load;
pub mod records;
mod shared;
pub mod state;
#[cfg(test)]
mod state_tests;

use bytes::{Buf, Bytes};
use kafka_protocol::messages::ConsumerProtocolSubscription;
use kafka_protocol::protocol::Decodable;

pub use coordinator::GroupCoordinator;

/// The internal topic of group state.
pub use crate::handlers::metadata::CONSUMER_OFFSETS;

/// Partitions of `__consumer_offsets` (`offsets.topic.num.partitions`).
pub const OFFSETS_PARTITIONS: i32 = 50;

/// Longest group id accepted (Kafka has none; this bounds records and memory).
pub const MAX_GROUP_ID_LEN: usize = 255;

/// Most groups one coordinator holds.
pub const MAX_GROUPS: usize = 100_000;

/// Java's `String.hashCode` (over UTF-16 code units, wrapping).
pub fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The `__consumer_offsets` partition of `group` among `partitions`.
pub fn partition_for(group: &str, partitions: i32) -> i32 {
    assert!(partitions > 0, "__consumer_offsets has partitions");
    // Kafka's Utils.abs: MIN_VALUE maps to 0 rather than overflowing.
    (java_hash(group) & 0x7fff_ffff) % partitions
}

/// The topics a consumer-protocol subscription names (none when it does not parse).
pub fn subscription_topics(metadata: &Bytes) -> Vec<String> {
    let mut b = metadata.clone();
    if b.remaining() < 2 {
        return Vec::new();
    }
    // Newer clients may send versions this codec does not know; their prefix is v3's.
    let version = b.get_i16().clamp(0, 3);
    ConsumerProtocolSubscription::decode(&mut b, version)
        .map(|s| {
            s.topics
                .into_iter()
                .map(|t| t.as_str().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Creates `__consumer_offsets` if it does not exist yet (50 partitions, replication
/// factor min(3, live brokers), compacted), through the controller, and waits briefly
/// for its partitions to get leaders.
pub async fn ensure_offsets_topic(ctx: &crate::context::KafkaContext) {
    use crate::handlers::create_topics::{create, wait_for_leaders};
    let image = ctx.image();
    if image.topic_by_name(CONSUMER_OFFSETS).is_some() {
        return;
    }
    let live = image.brokers().values().filter(|b| !b.fenced).count();
    let rf = live.clamp(1, 3) as i32;
    let topic = rill_proto::controller::CreatableTopic {
        name: CONSUMER_OFFSETS.to_owned(),
        partitions: OFFSETS_PARTITIONS,
        replication_factor: rf,
        configs: [("cleanup.policy".to_owned(), "compact".to_owned())].into(),
    };
    match create(ctx, vec![topic], false).await.pop() {
        Some(Ok(_)) => tracing::info!(replication_factor = rf, "__consumer_offsets created"),
        Some(Err((rill_types::ErrorCode::TopicAlreadyExists, _))) | None => {}
        Some(Err((code, message))) => {
            tracing::warn!(code = code.name(), %message, "__consumer_offsets creation refused")
        }
    }
    wait_for_leaders(
        ctx,
        &[CONSUMER_OFFSETS.to_owned()],
        std::time::Duration::from_secs(10),
    )
    .await;
}

/// A group id from the wire, refused (INVALID_GROUP_ID) when empty or too long.
pub fn group_id(g: &kafka_protocol::messages::GroupId) -> Result<String, rill_types::ErrorCode> {
    let id = g.0.as_str();
    if id.is_empty() || id.len() > MAX_GROUP_ID_LEN {
        Err(rill_types::ErrorCode::InvalidGroupId)
    } else {
        Ok(id.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_java() {
        // Values of "x".hashCode() in Java.
        assert_eq!(java_hash(""), 0);
        assert_eq!(java_hash("a"), 97);
        assert_eq!(java_hash("hello"), 99_162_322);
        assert_eq!(java_hash("polygenelubricants"), i32::MIN);
        assert_eq!(partition_for("polygenelubricants", 50), 0);
        assert!((0..50).contains(&partition_for("my-group", 50)));
    }

    #[test]
    fn subscriptions_name_their_topics() {
        use kafka_protocol::protocol::{Encodable, StrBytes};
        let sub = ConsumerProtocolSubscription::default().with_topics(vec![
            StrBytes::from_static_str("t1"),
            StrBytes::from_static_str("t2"),
        ]);
        let mut b = bytes::BytesMut::new();
        bytes::BufMut::put_i16(&mut b, 1);
        sub.encode(&mut b, 1).unwrap();
        assert_eq!(subscription_topics(&b.freeze()), vec!["t1", "t2"]);
        assert!(subscription_topics(&Bytes::from_static(b"\x00")).is_empty());
    }
}
