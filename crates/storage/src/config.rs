//! `LogConfig`: the per-log settings, with Kafka's names. Each key is declared exactly
//! once (name, type, default, bounds, doc) in the `log_config!` table below; the typed
//! struct, the defaults, parsing, validation and the key catalogue (for DescribeConfigs)
//! all come from that one table.

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

/// One declared config key, for catalogues (DescribeConfigs, docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfigKey {
    /// Kafka's name, e.g. `segment.bytes`.
    pub name: &'static str,
    /// The value's type, as Kafka's docs name it (long, double, string).
    pub kind: &'static str,
    /// The default, in text form.
    pub default: &'static str,
    /// The allowed values, in text form.
    pub bounds: &'static str,
    /// What it does.
    pub doc: &'static str,
}

/// Checks a value against inclusive numeric bounds.
fn within<T: PartialOrd + fmt::Display>(lo: T, hi: T) -> impl Fn(&T) -> Result<(), String> {
    move |v| {
        if *v >= lo && *v <= hi {
            Ok(())
        } else {
            Err(format!("must be in [{lo}, {hi}]"))
        }
    }
}

fn any<T>(_: &T) -> Result<(), String> {
    Ok(())
}

macro_rules! log_config {
    ($( $(#[doc = $doc:literal])+ $field:ident: $ty:ty = $name:literal, $kind:literal,
        default $default:literal, bounds $bounds:literal => $check:expr; )+) => {
        /// The settings of one log. Build with [`LogConfig::default`] and
        /// [`LogConfig::from_pairs`]; every value is checked against its bounds.
        #[derive(Debug, Clone, PartialEq)]
        pub struct LogConfig {
            $( $(#[doc = $doc])+ pub $field: $ty, )+
        }

        impl LogConfig {
            /// Every key, in declaration order.
            pub const KEYS: &'static [ConfigKey] = &[
                $( ConfigKey {
                    name: $name,
                    kind: $kind,
                    default: $default,
                    bounds: $bounds,
                    doc: concat!($($doc),+),
                }, )+
            ];

            /// Sets one key from its text form, checking type and bounds.
            pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
                let invalid = |reason: String| StorageError::InvalidConfig {
                    key: key.to_owned(),
                    value: value.to_owned(),
                    reason,
                };
                match key {
                    $( $name => {
                        let parsed: $ty = value.trim().parse().map_err(|e| invalid(format!("{e}")))?;
                        ($check)(&parsed).map_err(invalid)?;
                        self.$field = parsed;
                    } )+
                    _ => return Err(invalid("unknown log config key".to_owned())),
                }
                Ok(())
            }

            /// The current value of `key` in text form, or `None` for an unknown key.
            pub fn get(&self, key: &str) -> Option<String> {
                match key {
                    $( $name => Some(self.$field.to_string()), )+
                    _ => None,
                }
            }
        }

        impl Default for LogConfig {
            fn default() -> Self {
                Self {
                    $( $field: $default.parse().expect(concat!("default of ", $name)), )+
                }
            }
        }
    };
}

log_config! {
    /// Roll to a new segment when the active one would exceed this many bytes.
    segment_bytes: i64 = "segment.bytes", "int", default "1073741824",
        bounds "[64, 2147483647]" => within(64, i64::from(i32::MAX));
    /// Roll to a new segment when the active one is older than this (ms since its first append).
    segment_ms: i64 = "segment.ms", "long", default "604800000",
        bounds "[1, ...]" => within(1, i64::MAX);
    /// Roll when the active segment's offset index would exceed this many bytes.
    segment_index_bytes: i64 = "segment.index.bytes", "int", default "10485760",
        bounds "[16, 2147483647]" => within(16, i64::from(i32::MAX));
    /// Add an offset-index entry every this many bytes of log.
    index_interval_bytes: i64 = "index.interval.bytes", "int", default "4096",
        bounds "[0, 2147483647]" => within(0, i64::from(i32::MAX));
    /// Delete whole segments whose newest record is older than this (ms); -1 keeps all.
    retention_ms: i64 = "retention.ms", "long", default "604800000",
        bounds "[-1, ...]" => within(-1, i64::MAX);
    /// Delete the oldest segments while the log is larger than this (bytes); -1 keeps all.
    retention_bytes: i64 = "retention.bytes", "long", default "-1",
        bounds "[-1, ...]" => within(-1, i64::MAX);
    /// delete, compact, or compact,delete.
    cleanup_policy: CleanupPolicy = "cleanup.policy", "list", default "delete",
        bounds "delete, compact, compact,delete" => any;
    /// How long tombstones survive compaction (ms), so consumers can see deletions.
    delete_retention_ms: i64 = "delete.retention.ms", "long", default "86400000",
        bounds "[0, ...]" => within(0, i64::MAX);
    /// Compact when the dirty part is at least this fraction of the sealed log.
    min_cleanable_dirty_ratio: f64 = "min.cleanable.dirty.ratio", "double", default "0.5",
        bounds "[0, 1]" => within(0.0, 1.0);
    /// The largest record batch accepted, in bytes.
    max_message_bytes: i64 = "max.message.bytes", "int", default "1048588",
        bounds "[0, 2147483647]" => within(0, i64::from(i32::MAX));
    /// Flush (fsync) after this many records; 1 means before every acknowledgement.
    flush_messages: i64 = "flush.messages", "long", default "9223372036854775807",
        bounds "[1, ...]" => within(1, i64::MAX);
    /// Flush when the last flush is older than this (ms), checked by `Log::maybe_flush`.
    flush_ms: i64 = "flush.ms", "long", default "9223372036854775807",
        bounds "[0, ...]" => within(0, i64::MAX);
    /// CreateTime (keep the producer's timestamps) or LogAppendTime (stamp append time).
    message_timestamp_type: TimestampType = "message.timestamp.type", "string",
        default "CreateTime", bounds "CreateTime, LogAppendTime" => any;
    /// Forget an idempotent producer's state (its epoch and last batches, which retries
    /// are deduplicated against) when it has not appended for this long (ms).
    producer_id_expiration_ms: i64 = "producer.id.expiration.ms", "int", default "86400000",
        bounds "[1, 2147483647]" => within(1, i64::from(i32::MAX));
    /// Memory for the cleaner's key map, in bytes (keys and their offsets).
    cleaner_dedupe_buffer_bytes: i64 = "log.cleaner.dedupe.buffer.size", "long",
        default "134217728", bounds "[1024, ...]" => within(1024, i64::MAX);
    /// The cleaner's read+write rate limit in bytes per second.
    cleaner_io_max_bytes_per_second: f64 = "log.cleaner.io.max.bytes.per.second", "double",
        default "1.7976931348623157e308", bounds "(0, ...]" => within(f64::MIN_POSITIVE, f64::MAX);
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
