//! Topic keys (Kafka's `LogConfig`), declared once. The controller validates
//! CreateTopics / AlterConfigs values and answers DescribeConfigs from [`TOPIC_KEYS`];
//! the storage crate's typed `LogConfig` takes each key's type, default and bounds from
//! the named constants; docs/configuration.md is generated from the table.
//!
//! Names, defaults and bounds are Kafka 3.x's, except where a comment says otherwise.
//! The table is sorted by name (a test checks it, which also rules out duplicates).

use super::{ConfigKey, ConfigType, LONG_MAX_TEXT, decl, int, long};

/// Kafka's `BrokerCompressionType` names.
pub const COMPRESSION_TYPES: &[&str] =
    &["producer", "gzip", "snappy", "lz4", "zstd", "uncompressed"];
/// The members of `cleanup.policy`.
pub const CLEANUP_POLICIES: &[&str] = &["delete", "compact"];
/// The values of `message.timestamp.type`.
pub const TIMESTAMP_TYPES: &[&str] = &["CreateTime", "LogAppendTime"];

/// Declares each key as a named constant and lists them all in [`TOPIC_KEYS`].
macro_rules! topic_keys {
    ($( $(#[$meta:meta])* $id:ident = $decl:expr; )+) => {
        $( $(#[$meta])* pub const $id: ConfigKey = $decl; )+
        /// Every topic key, sorted by name.
        pub static TOPIC_KEYS: &[ConfigKey] = &[$($id),+];
    };
}

#[rustfmt::skip]
topic_keys! {
    /// `cleanup.policy`.
    CLEANUP_POLICY = decl("cleanup.policy", ConfigType::List(CLEANUP_POLICIES), "delete",
        "Retention policies for old segments: delete discards them past the retention time or size, compact keeps only the latest record per key.");
    /// `compression.type`.
    COMPRESSION_TYPE = decl("compression.type", ConfigType::Enum(COMPRESSION_TYPES), "producer",
        "The codec the topic's data is stored with; producer keeps the codec the producer used and uncompressed stores it without compression.");
    /// `delete.retention.ms`.
    DELETE_RETENTION_MS = decl("delete.retention.ms", long(0), "86400000",
        "How long tombstones are kept in a compacted topic, in milliseconds, which bounds how long a consumer reading from the start has to see deletions.");
    /// `file.delete.delay.ms`.
    FILE_DELETE_DELAY_MS = decl("file.delete.delay.ms", long(0), "60000",
        "How long to wait, in milliseconds, before deleting a removed segment's files from the filesystem.");
    /// `flush.messages`.
    FLUSH_MESSAGES = decl("flush.messages", long(1), LONG_MAX_TEXT,
        "Force an fsync of the log after this many messages have been appended since the last one; 1 means before every acknowledgement.");
    /// `flush.ms`.
    FLUSH_MS = decl("flush.ms", long(0), LONG_MAX_TEXT,
        "Force an fsync of the log once this many milliseconds have passed since the last one.");
    /// `index.interval.bytes`.
    INDEX_INTERVAL_BYTES = decl("index.interval.bytes", int(0), "4096",
        "How many bytes of log lie between two entries of the offset index.");
    /// `max.compaction.lag.ms`.
    MAX_COMPACTION_LAG_MS = decl("max.compaction.lag.ms", long(1), LONG_MAX_TEXT,
        "The longest time, in milliseconds, a record may remain ineligible for compaction in a compacted topic.");
    /// `max.message.bytes`.
    MAX_MESSAGE_BYTES = decl("max.message.bytes", int(0), "1048588",
        "The largest record batch the topic accepts, in bytes.");
    /// `message.timestamp.after.max.ms`.
    MESSAGE_TIMESTAMP_AFTER_MAX_MS = decl("message.timestamp.after.max.ms", long(0), LONG_MAX_TEXT,
        "How far, in milliseconds, a CreateTime record's timestamp may lie ahead of the broker's clock before the record is rejected.");
    /// `message.timestamp.before.max.ms`.
    MESSAGE_TIMESTAMP_BEFORE_MAX_MS = decl("message.timestamp.before.max.ms", long(0), LONG_MAX_TEXT,
        "How far, in milliseconds, a CreateTime record's timestamp may lie behind the broker's clock before the record is rejected.");
    /// `message.timestamp.type`.
    MESSAGE_TIMESTAMP_TYPE = decl("message.timestamp.type", ConfigType::Enum(TIMESTAMP_TYPES), "CreateTime",
        "Whether records keep the producer's timestamp (CreateTime) or are stamped with the broker's append time (LogAppendTime).");
    /// `min.cleanable.dirty.ratio`.
    MIN_CLEANABLE_DIRTY_RATIO = decl("min.cleanable.dirty.ratio", ConfigType::Double { min: 0.0, max: 1.0 }, "0.5",
        "The fraction of the log that must be uncompacted (dirty) before the cleaner compacts it.");
    /// `min.compaction.lag.ms`.
    MIN_COMPACTION_LAG_MS = decl("min.compaction.lag.ms", long(0), "0",
        "The shortest time, in milliseconds, a record stays uncompacted in a compacted topic.");
    /// `min.insync.replicas`.
    MIN_INSYNC_REPLICAS = decl("min.insync.replicas", int(1), "1",
        "How many in-sync replicas must acknowledge a write with acks=all for it to succeed.");
    /// `producer.id.expiration.ms`: a broker setting in Kafka; per topic here, as the
    /// log owns the producer state.
    PRODUCER_ID_EXPIRATION_MS = decl("producer.id.expiration.ms", int(1), "86400000",
        "How long, in milliseconds, a partition remembers an idle idempotent producer's sequence numbers (to deduplicate its retries).");
    /// `retention.bytes`: Kafka declares no bound and treats any negative value as
    /// unlimited; -1 is the documented spelling, so anything lower is refused as a
    /// likely mistake.
    RETENTION_BYTES = decl("retention.bytes", long(-1), "-1",
        "The size, in bytes, a partition may reach before its oldest segments are deleted; -1 means no size limit.");
    /// `retention.ms`.
    RETENTION_MS = decl("retention.ms", long(-1), "604800000",
        "How long, in milliseconds, a segment is kept after its newest record before it is deleted; -1 means no time limit.");
    /// `segment.bytes`: Kafka 3.x's bound is 14 (the v0 record overhead); rill's log
    /// needs 64 (a batch header plus a record).
    SEGMENT_BYTES = decl("segment.bytes", int(64), "1073741824",
        "The size, in bytes, a segment file may reach before a new segment is rolled.");
    /// `segment.index.bytes`: Kafka's bound is 4; rill's log needs room for two 8-byte
    /// entries.
    SEGMENT_INDEX_BYTES = decl("segment.index.bytes", int(16), "10485760",
        "The size, in bytes, of a segment's offset index; a new segment is rolled when it is full.");
    /// `segment.jitter.ms`.
    SEGMENT_JITTER_MS = decl("segment.jitter.ms", long(0), "0",
        "The largest random amount, in milliseconds, subtracted from segment.ms so that many segments do not roll at once.");
    /// `segment.ms`.
    SEGMENT_MS = decl("segment.ms", long(1), "604800000",
        "How long, in milliseconds, a segment may stay active before a new one is rolled even if it is not full.");
    /// `unclean.leader.election.enable`.
    UNCLEAN_LEADER_ELECTION_ENABLE = decl("unclean.leader.election.enable", ConfigType::Boolean, "false",
        "Whether a replica outside the ISR may be elected leader as a last resort, at the risk of losing data.");
}

/// The topic key `name`, if declared.
pub fn topic_key(name: &str) -> Option<&'static ConfigKey> {
    TOPIC_KEYS.iter().find(|k| k.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_documented_and_defaults_valid() {
        assert_eq!(TOPIC_KEYS.len(), 23);
        assert!(TOPIC_KEYS.windows(2).all(|w| w[0].name < w[1].name));
        for k in TOPIC_KEYS {
            assert_eq!(k.check(k.default), Ok(()), "{}", k.name);
            assert!(k.doc.ends_with('.') && k.doc.len() > 20, "{}", k.name);
        }
        assert_eq!(topic_key("segment.bytes"), Some(&SEGMENT_BYTES));
    }
}
