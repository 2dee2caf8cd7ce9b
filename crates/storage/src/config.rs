//! `LogConfig`: the per-log settings, with Kafka's names. Topic keys are declared once,
//! in `rill_types::config::topic` (the controller validates against the same
//! declarations); the `log_config!` table below only binds each key to a typed field.
//! The cleaner's two broker-wide keys are declared here, as only the log reads them.
//! Defaults, parsing, validation and the key catalogue all come from the declarations:
//! a value is checked by [`ConfigKey::check`] (type and bounds) and then parsed into the
//! field's type.

use std::fmt;
use std::str::FromStr;

use crate::error::{Result, StorageError};

/// What happens to old data: deleted by retention, compacted by key, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanupPolicy {
    /// `delete`: retention by time and size.
    Delete,
    /// `compact`: keep the latest record per key.
    Compact,
    /// `compact,delete`: both.
    CompactDelete,
}

impl CleanupPolicy {
    /// Whether old segments are removed by retention.
    pub fn deletes(self) -> bool {
        matches!(self, CleanupPolicy::Delete | CleanupPolicy::CompactDelete)
    }

    /// Whether the cleaner compacts this log.
    pub fn compacts(self) -> bool {
        matches!(self, CleanupPolicy::Compact | CleanupPolicy::CompactDelete)
    }
}

impl FromStr for CleanupPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts: Vec<&str> = s.split(',').map(str::trim).collect();
        parts.sort_unstable();
        parts.dedup();
        match parts.as_slice() {
            ["delete"] => Ok(CleanupPolicy::Delete),
            ["compact"] => Ok(CleanupPolicy::Compact),
            ["compact", "delete"] => Ok(CleanupPolicy::CompactDelete),
            _ => Err("expected delete, compact, or compact,delete".to_owned()),
        }
    }
}

impl fmt::Display for CleanupPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CleanupPolicy::Delete => "delete",
            CleanupPolicy::Compact => "compact",
            CleanupPolicy::CompactDelete => "compact,delete",
        })
    }
}

/// Which timestamp a batch carries: the producer's, or the broker's at append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    /// The producer's timestamps are kept.
    CreateTime,
    /// The log stamps its append time as the batch's max timestamp.
    LogAppendTime,
}

impl FromStr for TimestampType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "CreateTime" => Ok(TimestampType::CreateTime),
            "LogAppendTime" => Ok(TimestampType::LogAppendTime),
            _ => Err("expected CreateTime or LogAppendTime".to_owned()),
        }
    }
}

impl fmt::Display for TimestampType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        })
    }
}

pub use rill_types::config::ConfigKey;
use rill_types::config::topic as t;
use rill_types::config::{ConfigType, decl};

/// `log.cleaner.dedupe.buffer.size`.
pub const CLEANER_DEDUPE_BUFFER_SIZE: ConfigKey = decl(
    "log.cleaner.dedupe.buffer.size",
    ConfigType::Long {
        min: 1024,
        max: i64::MAX,
    },
    "134217728",
    "Memory for the cleaner's key map, in bytes (keys and their offsets).",
);

/// `log.cleaner.io.max.bytes.per.second`.
pub const CLEANER_IO_MAX_BYTES_PER_SECOND: ConfigKey = decl(
    "log.cleaner.io.max.bytes.per.second",
    ConfigType::Double {
        min: f64::MIN_POSITIVE,
        max: f64::MAX,
    },
    "1.7976931348623157e308",
    "The cleaner's read plus write rate limit, in bytes per second.",
);

macro_rules! log_config {
    ($( $(#[doc = $doc:literal])+ $field:ident: $ty:ty = $key:expr; )+) => {
        /// The settings of one log. Build with [`LogConfig::default`] and
        /// [`LogConfig::from_pairs`]; every value is checked against its declaration.
        #[derive(Debug, Clone, PartialEq)]
        pub struct LogConfig {
            $( $(#[doc = $doc])+ pub $field: $ty, )+
        }

        impl LogConfig {
            /// Every key the log reads, in table order.
            pub const KEYS: &'static [ConfigKey] = &[$($key),+];

            /// Sets one key from its text form, checking type and bounds.
            pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
                let invalid = |reason: String| StorageError::InvalidConfig {
                    key: key.to_owned(),
                    value: value.to_owned(),
                    reason,
                };
                $( if key == $key.name {
                    $key.check(value).map_err(invalid)?;
                    self.$field = value.trim().parse().map_err(|e| invalid(format!("{e}")))?;
                    return Ok(());
                } )+
                Err(invalid("unknown log config key".to_owned()))
            }

            /// The current value of `key` in text form, or `None` for an unknown key.
            pub fn get(&self, key: &str) -> Option<String> {
                $( if key == $key.name {
                    return Some(self.$field.to_string());
                } )+
                None
            }
        }

        impl Default for LogConfig {
            fn default() -> Self {
                Self {
                    $( $field: $key.default.parse().expect($key.name), )+
                }
            }
        }
    };
}

log_config! {
    /// Roll to a new segment when the active one would exceed this many bytes.
    segment_bytes: i64 = t::SEGMENT_BYTES;
    /// Roll to a new segment when the active one is older than this (ms since its first append).
    segment_ms: i64 = t::SEGMENT_MS;
    /// Roll when the active segment's offset index would exceed this many bytes.
    segment_index_bytes: i64 = t::SEGMENT_INDEX_BYTES;
    /// Add an offset-index entry every this many bytes of log.
    index_interval_bytes: i64 = t::INDEX_INTERVAL_BYTES;
    /// Delete whole segments whose newest record is older than this (ms); -1 keeps all.
    retention_ms: i64 = t::RETENTION_MS;
    /// Delete the oldest segments while the log is larger than this (bytes); -1 keeps all.
    retention_bytes: i64 = t::RETENTION_BYTES;
    /// delete, compact, or compact,delete.
    cleanup_policy: CleanupPolicy = t::CLEANUP_POLICY;
    /// How long tombstones survive compaction (ms), so consumers can see deletions.
    delete_retention_ms: i64 = t::DELETE_RETENTION_MS;
    /// Compact when the dirty part is at least this fraction of the sealed log.
    min_cleanable_dirty_ratio: f64 = t::MIN_CLEANABLE_DIRTY_RATIO;
    /// The largest record batch accepted, in bytes.
    max_message_bytes: i64 = t::MAX_MESSAGE_BYTES;
    /// Flush (fsync) after this many records; 1 means before every acknowledgement.
    flush_messages: i64 = t::FLUSH_MESSAGES;
    /// Flush when the last flush is older than this (ms), checked by `Log::maybe_flush`.
    flush_ms: i64 = t::FLUSH_MS;
    /// CreateTime (keep the producer's timestamps) or LogAppendTime (stamp append time).
    message_timestamp_type: TimestampType = t::MESSAGE_TIMESTAMP_TYPE;
    /// Forget an idempotent producer's state (its epoch and last batches, which retries
    /// are deduplicated against) when it has not appended for this long (ms).
    producer_id_expiration_ms: i64 = t::PRODUCER_ID_EXPIRATION_MS;
    /// Memory for the cleaner's key map, in bytes (keys and their offsets).
    cleaner_dedupe_buffer_bytes: i64 = CLEANER_DEDUPE_BUFFER_SIZE;
    /// The cleaner's read+write rate limit in bytes per second.
    cleaner_io_max_bytes_per_second: f64 = CLEANER_IO_MAX_BYTES_PER_SECOND;
}

impl LogConfig {
    /// The defaults overridden by `pairs`; the first bad pair is the error.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let mut config = LogConfig::default();
        for (key, value) in pairs {
            config.set(key, value)?;
        }
        Ok(config)
    }

    /// The byte size of one batch above which append refuses it.
    pub fn max_batch_bytes(&self) -> usize {
        usize::try_from(self.max_message_bytes).unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_kafkas() {
        let c = LogConfig::default();
        assert_eq!(c.segment_bytes, 1 << 30);
        assert_eq!(c.index_interval_bytes, 4096);
        assert_eq!(c.segment_index_bytes, 10 << 20);
        assert_eq!(c.cleanup_policy, CleanupPolicy::Delete);
        assert_eq!(c.message_timestamp_type, TimestampType::CreateTime);
        assert_eq!(c.flush_messages, i64::MAX);
        assert_eq!(c.producer_id_expiration_ms, 86_400_000);
    }

    #[test]
    fn every_declared_key_round_trips_its_default() {
        let c = LogConfig::default();
        assert_eq!(LogConfig::KEYS.len(), 16);
        for key in LogConfig::KEYS {
            let mut other = c.clone();
            other.set(key.name, key.default).unwrap();
            assert_eq!(other, c, "{}", key.name);
            assert!(c.get(key.name).is_some(), "{}", key.name);
            assert!(!key.doc.is_empty());
        }
    }

    #[test]
    fn bad_values_are_refused_with_the_key_named() {
        for (key, value) in [
            ("segment.bytes", "10"),
            ("segment.bytes", "lots"),
            ("min.cleanable.dirty.ratio", "1.5"),
            ("cleanup.policy", "shred"),
            ("retention.ms", "-2"),
            ("no.such.key", "1"),
        ] {
            let err = LogConfig::from_pairs([(key, value)])
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn cleanup_policy_accepts_both_orders() {
        let c = LogConfig::from_pairs([("cleanup.policy", "delete,compact")]).unwrap();
        assert_eq!(c.cleanup_policy, CleanupPolicy::CompactDelete);
        assert_eq!(c.get("cleanup.policy").unwrap(), "compact,delete");
    }
}
