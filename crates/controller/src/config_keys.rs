//! The declared config keys of topics and brokers, like Kafka's `ConfigDef`: each key's
//! name, value type with bounds, default and one-line documentation.
//!
//! Pure: the controller checks every CreateTopics / AlterConfigs value with [`validate`]
//! before it writes a config record, and answers DescribeConfigs with [`describe`]. A
//! refused value becomes Kafka's INVALID_CONFIG, and the [`ConfigError`] text is the
//! message the client sees, so it names the key, the value and the rule broken.
//!
//! Parsing follows Kafka's: the value is trimmed first; booleans are `true` / `false` in
//! any case; enum and list members are matched exactly (case-sensitive). Names, defaults
//! and bounds are Kafka 3.x's (`LogConfig`, `KafkaConfig`); where Kafka leaves a broker
//! key unbounded but a value below 1 would make no sense here, the bound says so at the
//! declaration.
//!
//! Each table is kept sorted by name: `describe` returns keys in that order, and a test
//! checks the order (which also rules out duplicates).

use std::collections::BTreeMap;
use std::num::IntErrorKind;

/// Which kind of resource a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// A topic's own settings (`retention.ms`, ...).
    Topic,
    /// Broker settings, cluster-wide or for one broker (`log.retention.ms`, ...).
    Broker,
}

/// The value type of a key, with bounds (inclusive on both sides).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConfigType {
    /// `true` or `false`, in any case.
    Boolean,
    /// A 32-bit integer (Kafka's INT); `max` is at most `i32::MAX`.
    Int {
        /// Smallest value allowed.
        min: i64,
        /// Largest value allowed.
        max: i64,
    },
    /// A 64-bit integer (Kafka's LONG).
    Long {
        /// Smallest value allowed.
        min: i64,
        /// Largest value allowed.
        max: i64,
    },
    /// A floating-point number (Kafka's DOUBLE); NaN is refused.
    Double {
        /// Smallest value allowed.
        min: f64,
        /// Largest value allowed.
        max: f64,
    },
    /// Any text.
    String,
    /// Exactly one of these strings.
    Enum(&'static [&'static str]),
    /// A non-empty comma-separated list, each item one of these strings.
    List(&'static [&'static str]),
}

/// One declared key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfigKey {
    /// Kafka's name, e.g. `retention.ms`.
    pub name: &'static str,
    /// The value type and bounds.
    pub kind: ConfigType,
    /// The value in force when the key is not set, in text form; valid for `kind`.
    pub default: &'static str,
    /// What the key does, in one sentence.
    pub doc: &'static str,
}

/// One key as DescribeConfigs reports it: the value in force and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedConfig {
    /// The key's name.
    pub key: &'static str,
    /// The value in force: the one set on the resource, else the declared default.
    pub value: String,
    /// True when the key is not set on the resource (the value is the default).
    pub is_default: bool,
    /// The key's documentation.
    pub doc: &'static str,
}

/// Why a config value was refused (Kafka's INVALID_CONFIG).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The key is not declared for this kind of resource.
    #[error("unknown config key {0:?}")]
    UnknownKey(String),
    /// The value does not parse as the key's type or breaks its bounds.
    #[error("invalid value {value:?} for {key}: {reason}")]
    InvalidValue {
        /// The key's name.
        key: String,
        /// The value as sent (untrimmed).
        value: String,
        /// The rule broken, e.g. "must be at least 1".
        reason: String,
    },
}

/// Every key declared for `kind`, sorted by name.
pub fn keys(kind: ResourceKind) -> &'static [ConfigKey] {
    match kind {
        ResourceKind::Topic => TOPIC_KEYS,
        ResourceKind::Broker => BROKER_KEYS,
    }
}

/// The key `name` of `kind`, if declared.
pub fn key(kind: ResourceKind, name: &str) -> Option<&'static ConfigKey> {
    keys(kind).iter().find(|k| k.name == name)
}

/// Checks one value; Err carries a human message naming the key, the value and the rule
/// it broke (this becomes Kafka's INVALID_CONFIG message).
pub fn validate(kind: ResourceKind, name: &str, value: &str) -> Result<(), ConfigError> {
    let declared = key(kind, name).ok_or_else(|| ConfigError::UnknownKey(name.to_owned()))?;
    check(declared.kind, value.trim()).map_err(|reason| ConfigError::InvalidValue {
        key: name.to_owned(),
        value: value.to_owned(),
        reason,
    })
}

/// Every declared key with the value in force: `set` holds the resource's explicitly set
/// keys. Keys in `set` that are not declared for `kind` are not reported.
pub fn describe(
    kind: ResourceKind,
    set: Option<&BTreeMap<String, String>>,
) -> Vec<DescribedConfig> {
    keys(kind)
        .iter()
        .map(|k| {
            let explicit = set.and_then(|s| s.get(k.name));
            DescribedConfig {
                key: k.name,
                value: explicit.map_or_else(|| k.default.to_owned(), Clone::clone),
                is_default: explicit.is_none(),
                doc: k.doc,
            }
        })
        .collect()
}

/// Checks an already trimmed value against a type; Err is the rule broken.
fn check(kind: ConfigType, value: &str) -> Result<(), String> {
    match kind {
        ConfigType::Boolean => {
            if value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false") {
                Ok(())
            } else {
                Err("expected true or false".to_owned())
            }
        }
        ConfigType::Int { min, max } | ConfigType::Long { min, max } => {
            let v = match value.parse::<i64>() {
                Ok(v) => v,
                // Too many digits for an i64 is still a number: name the bound it breaks
                // (every bound fits in an i64, so an overflowing value breaks one).
                Err(e) if *e.kind() == IntErrorKind::PosOverflow => {
                    return Err(format!("must be at most {max}"));
                }
                Err(e) if *e.kind() == IntErrorKind::NegOverflow => {
                    return Err(format!("must be at least {min}"));
                }
                Err(_) => return Err("expected a whole number".to_owned()),
            };
            within(v, min, max)
        }
        ConfigType::Double { min, max } => {
            let v: f64 = value.parse().map_err(|_| "expected a number".to_owned())?;
            if v.is_nan() {
                return Err("expected a number, not NaN".to_owned());
            }
            within(v, min, max)
        }
        ConfigType::String => Ok(()),
        ConfigType::Enum(allowed) => {
            if allowed.contains(&value) {
                Ok(())
            } else {
                Err(format!("must be one of {}", allowed.join(", ")))
            }
        }
        ConfigType::List(allowed) => {
            if value.is_empty() {
                return Err(format!("must list at least one of {}", allowed.join(", ")));
            }
            match value
                .split(',')
                .map(str::trim)
                .find(|item| !allowed.contains(item))
            {
                None => Ok(()),
                Some(bad) => Err(format!("item {bad:?} is not one of {}", allowed.join(", "))),
            }
        }
    }
}

/// Checks inclusive bounds; Err names the bound broken.
fn within<T: PartialOrd + std::fmt::Display>(v: T, min: T, max: T) -> Result<(), String> {
    if v < min {
        Err(format!("must be at least {min}"))
    } else if v > max {
        Err(format!("must be at most {max}"))
    } else {
        Ok(())
    }
}

/// Kafka's INT holds an `i32`.
const INT_MAX: i64 = i32::MAX as i64;
const LONG_MAX_TEXT: &str = "9223372036854775807";

const fn int(min: i64) -> ConfigType {
    ConfigType::Int { min, max: INT_MAX }
}

const fn long(min: i64) -> ConfigType {
    ConfigType::Long { min, max: i64::MAX }
}

const fn decl(
    name: &'static str,
    kind: ConfigType,
    default: &'static str,
    doc: &'static str,
) -> ConfigKey {
    ConfigKey {
        name,
        kind,
        default,
        doc,
    }
}

/// Kafka's `BrokerCompressionType` names.
const COMPRESSION_TYPES: &[&str] = &["producer", "gzip", "snappy", "lz4", "zstd", "uncompressed"];
const CLEANUP_POLICIES: &[&str] = &["delete", "compact"];
const TIMESTAMP_TYPES: &[&str] = &["CreateTime", "LogAppendTime"];

/// Topic keys (Kafka's `LogConfig`), sorted by name.
#[rustfmt::skip]
static TOPIC_KEYS: &[ConfigKey] = &[
    decl("cleanup.policy", ConfigType::List(CLEANUP_POLICIES), "delete",
        "Retention policies for old segments: delete discards them past the retention time or size, compact keeps only the latest record per key."),
    decl("compression.type", ConfigType::Enum(COMPRESSION_TYPES), "producer",
        "The codec the topic's data is stored with; producer keeps the codec the producer used and uncompressed stores it without compression."),
    decl("delete.retention.ms", long(0), "86400000",
        "How long tombstones are kept in a compacted topic, in milliseconds, which bounds how long a consumer reading from the start has to see deletions."),
    decl("file.delete.delay.ms", long(0), "60000",
        "How long to wait, in milliseconds, before deleting a removed segment's files from the filesystem."),
    decl("flush.messages", long(1), LONG_MAX_TEXT,
        "Force an fsync of the log after this many messages have been appended since the last one."),
    decl("flush.ms", long(0), LONG_MAX_TEXT,
        "Force an fsync of the log once this many milliseconds have passed since the last one."),
    decl("index.interval.bytes", int(0), "4096",
        "How many bytes of log lie between two entries of the offset index."),
    decl("max.compaction.lag.ms", long(1), LONG_MAX_TEXT,
        "The longest time, in milliseconds, a record may remain ineligible for compaction in a compacted topic."),
    decl("max.message.bytes", int(0), "1048588",
        "The largest record batch the topic accepts, in bytes."),
    decl("message.timestamp.after.max.ms", long(0), LONG_MAX_TEXT,
        "How far, in milliseconds, a CreateTime record's timestamp may lie ahead of the broker's clock before the record is rejected."),
    decl("message.timestamp.before.max.ms", long(0), LONG_MAX_TEXT,
        "How far, in milliseconds, a CreateTime record's timestamp may lie behind the broker's clock before the record is rejected."),
    decl("message.timestamp.type", ConfigType::Enum(TIMESTAMP_TYPES), "CreateTime",
        "Whether records keep the producer's timestamp (CreateTime) or are stamped with the broker's append time (LogAppendTime)."),
    decl("min.cleanable.dirty.ratio", ConfigType::Double { min: 0.0, max: 1.0 }, "0.5",
        "The fraction of the log that must be uncompacted (dirty) before the cleaner compacts it."),
    decl("min.compaction.lag.ms", long(0), "0",
        "The shortest time, in milliseconds, a record stays uncompacted in a compacted topic."),
    decl("min.insync.replicas", int(1), "1",
        "How many in-sync replicas must acknowledge a write with acks=all for it to succeed."),
    // A broker setting in Kafka; per topic here, as the log owns the producer state.
    decl("producer.id.expiration.ms", int(1), "86400000",
        "How long, in milliseconds, a partition remembers an idle idempotent producer's sequence numbers (to deduplicate its retries)."),
    // Kafka declares no bound and treats any negative value as unlimited; -1 is the
    // documented spelling, so anything lower is refused as a likely mistake.
    decl("retention.bytes", long(-1), "-1",
        "The size, in bytes, a partition may reach before its oldest segments are deleted; -1 means no size limit."),
    decl("retention.ms", long(-1), "604800000",
        "How long, in milliseconds, a segment is kept after its newest record before it is deleted; -1 means no time limit."),
    // Kafka 3.x's bound is 14 (the v0 record overhead; Kafka 4.0 raised it to 1 MiB).
    // rill-storage needs 64 (a batch header plus a record); the controller must never
    // accept what the log refuses (tests/tests/config_agreement.rs).
    decl("segment.bytes", int(64), "1073741824",
        "The size, in bytes, a segment file may reach before a new segment is rolled."),
    // Kafka's bound is 4; rill-storage needs room for two 8-byte entries.
    decl("segment.index.bytes", int(16), "10485760",
        "The size, in bytes, of a segment's offset index; a new segment is rolled when it is full."),
    decl("segment.jitter.ms", long(0), "0",
        "The largest random amount, in milliseconds, subtracted from segment.ms so that many segments do not roll at once."),
    decl("segment.ms", long(1), "604800000",
        "How long, in milliseconds, a segment may stay active before a new one is rolled even if it is not full."),
    decl("unclean.leader.election.enable", ConfigType::Boolean, "false",
        "Whether a replica outside the ISR may be elected leader as a last resort, at the risk of losing data."),
];

/// Broker keys (Kafka's `KafkaConfig`), sorted by name. The `log.*` keys, `message.max.bytes`,
/// `min.insync.replicas` and `unclean.leader.election.enable` are the defaults of the
/// matching topic keys, with the same bounds.
#[rustfmt::skip]
static BROKER_KEYS: &[ConfigKey] = &[
    decl("auto.create.topics.enable", ConfigType::Boolean, "true",
        "Whether the broker creates a topic the first time a client asks for one that does not exist."),
    // Kafka leaves this unbounded; a lease of 0 ms or less would fence every broker.
    decl("broker.session.timeout.ms", int(1), "9000",
        "How long, in milliseconds, a broker's lease lasts without a heartbeat before the controller fences it."),
    // Kafka leaves this unbounded; a replication factor below 1 cannot be placed.
    decl("default.replication.factor", int(1), "1",
        "The replication factor of automatically created topics and of topics created without one."),
    decl("log.flush.interval.messages", long(1), LONG_MAX_TEXT,
        "The default of flush.messages: force an fsync after this many messages have been appended since the last one."),
    // Kafka's default is unset (falling back to log.flush.scheduler.interval.ms, Long.MAX).
    decl("log.flush.interval.ms", long(0), LONG_MAX_TEXT,
        "The default of flush.ms: force an fsync once this many milliseconds have passed since the last one."),
    decl("log.retention.bytes", long(-1), "-1",
        "The default of retention.bytes: the size a partition may reach before its oldest segments are deleted; -1 means no size limit."),
    // Kafka's default is unset (falling back to log.retention.hours = 168, i.e. 7 days).
    decl("log.retention.ms", long(-1), "604800000",
        "The default of retention.ms: how long a segment is kept after its newest record; -1 means no time limit."),
    decl("log.segment.bytes", int(64), "1073741824",
        "The default of segment.bytes: the size a segment file may reach before a new segment is rolled."),
    decl("message.max.bytes", int(0), "1048588",
        "The default of max.message.bytes: the largest record batch a topic accepts, in bytes."),
    decl("min.insync.replicas", int(1), "1",
        "The default of min.insync.replicas: how many in-sync replicas must acknowledge a write with acks=all."),
    decl("num.partitions", int(1), "1",
        "The partition count of automatically created topics and of topics created without one."),
    // Kafka leaves this unbounded; 0 or less would drop every follower from the ISR at once.
    decl("replica.lag.time.max.ms", long(1), "30000",
        "How long, in milliseconds, a follower may go without catching up to the leader's log end before it is removed from the ISR."),
    decl("unclean.leader.election.enable", ConfigType::Boolean, "false",
        "The default of unclean.leader.election.enable: whether a replica outside the ISR may be elected leader as a last resort."),
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    const KINDS: [ResourceKind; 2] = [ResourceKind::Topic, ResourceKind::Broker];

    fn reason(kind: ResourceKind, name: &str, value: &str) -> String {
        match validate(kind, name, value) {
            Err(ConfigError::InvalidValue { reason, .. }) => reason,
            other => panic!("{name}={value:?}: expected InvalidValue, got {other:?}"),
        }
    }

    #[test]
    fn key_counts() {
        assert_eq!(keys(ResourceKind::Topic).len(), 23);
        assert_eq!(keys(ResourceKind::Broker).len(), 13);
    }

    #[test]
    fn every_default_validates_against_its_own_key() {
        for kind in KINDS {
            for k in keys(kind) {
                assert_eq!(
                    validate(kind, k.name, k.default),
                    Ok(()),
                    "{kind:?} {}",
                    k.name
                );
            }
        }
    }

    #[test]
    fn every_key_is_documented_and_bounds_are_sane() {
        for kind in KINDS {
            for k in keys(kind) {
                assert!(k.doc.ends_with('.') && k.doc.len() > 20, "{}", k.name);
                match k.kind {
                    ConfigType::Int { min, max } => assert!(min <= max && max <= INT_MAX),
                    ConfigType::Long { min, max } => assert!(min <= max, "{}", k.name),
                    ConfigType::Double { min, max } => assert!(min <= max, "{}", k.name),
                    ConfigType::Enum(a) | ConfigType::List(a) => assert!(!a.is_empty()),
                    ConfigType::Boolean | ConfigType::String => {}
                }
            }
        }
    }

    #[test]
    fn names_are_unique_and_sorted_within_a_kind() {
        for kind in KINDS {
            let names: Vec<&str> = keys(kind).iter().map(|k| k.name).collect();
            let unique: BTreeSet<&str> = names.iter().copied().collect();
            assert_eq!(unique.len(), names.len(), "{kind:?} has a duplicate name");
            assert!(names.windows(2).all(|w| w[0] < w[1]), "{kind:?} not sorted");
        }
    }

    #[test]
    fn kafka_defaults_of_note() {
        let default = |kind, name| key(kind, name).unwrap().default;
        assert_eq!(default(ResourceKind::Topic, "segment.bytes"), "1073741824");
        assert_eq!(default(ResourceKind::Topic, "max.message.bytes"), "1048588");
        assert_eq!(default(ResourceKind::Topic, "retention.ms"), "604800000");
        assert_eq!(default(ResourceKind::Topic, "cleanup.policy"), "delete");
        assert_eq!(
            default(ResourceKind::Broker, "auto.create.topics.enable"),
            "true"
        );
        assert_eq!(
            default(ResourceKind::Broker, "broker.session.timeout.ms"),
            "9000"
        );
        assert_eq!(LONG_MAX_TEXT.parse::<i64>(), Ok(i64::MAX));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert_eq!(
            validate(ResourceKind::Topic, "retention.hours", "1"),
            Err(ConfigError::UnknownKey("retention.hours".to_owned()))
        );
        // Names belong to one kind: the broker spelling is not a topic key and vice versa.
        assert!(matches!(
            validate(ResourceKind::Topic, "log.retention.ms", "1"),
            Err(ConfigError::UnknownKey(_))
        ));
        assert!(matches!(
            validate(ResourceKind::Broker, "retention.ms", "1"),
            Err(ConfigError::UnknownKey(_))
        ));
        assert!(key(ResourceKind::Topic, "").is_none());
    }

    #[test]
    fn bounds_are_enforced_on_both_sides() {
        let t = ResourceKind::Topic;
        assert_eq!(reason(t, "retention.ms", "-2"), "must be at least -1");
        assert_eq!(validate(t, "retention.ms", "-1"), Ok(()));
        assert_eq!(validate(t, "retention.ms", "9223372036854775807"), Ok(()));
        assert_eq!(
            reason(t, "retention.ms", "9223372036854775808"),
            "must be at most 9223372036854775807"
        );
        assert_eq!(reason(t, "flush.messages", "0"), "must be at least 1");
        assert_eq!(reason(t, "segment.bytes", "63"), "must be at least 64");
        assert_eq!(validate(t, "segment.bytes", "64"), Ok(()));
        assert_eq!(validate(t, "segment.bytes", "2147483647"), Ok(()));
        assert_eq!(
            reason(t, "segment.bytes", "2147483648"),
            "must be at most 2147483647"
        );
        assert_eq!(
            reason(t, "segment.bytes", "-99999999999999999999"),
            "must be at least 64"
        );
        assert_eq!(
            reason(t, "min.cleanable.dirty.ratio", "-0.01"),
            "must be at least 0"
        );
        assert_eq!(
            reason(t, "min.cleanable.dirty.ratio", "1.01"),
            "must be at most 1"
        );
        assert_eq!(validate(t, "min.cleanable.dirty.ratio", "0"), Ok(()));
        assert_eq!(validate(t, "min.cleanable.dirty.ratio", "1.0"), Ok(()));
        assert_eq!(
            reason(ResourceKind::Broker, "num.partitions", "0"),
            "must be at least 1"
        );
    }

    #[test]
    fn numbers_must_parse() {
        let t = ResourceKind::Topic;
        assert_eq!(reason(t, "retention.ms", "7d"), "expected a whole number");
        assert_eq!(reason(t, "retention.ms", "1.5"), "expected a whole number");
        assert_eq!(reason(t, "retention.ms", ""), "expected a whole number");
        assert_eq!(
            reason(t, "min.cleanable.dirty.ratio", "half"),
            "expected a number"
        );
        assert_eq!(
            reason(t, "min.cleanable.dirty.ratio", "NaN"),
            "expected a number, not NaN"
        );
        assert_eq!(
            reason(t, "min.cleanable.dirty.ratio", "inf"),
            "must be at most 1"
        );
    }

    #[test]
    fn values_are_trimmed_and_booleans_ignore_case() {
        let t = ResourceKind::Topic;
        assert_eq!(validate(t, "retention.ms", " 1000 "), Ok(()));
        assert_eq!(
            validate(t, "unclean.leader.election.enable", "TRUE"),
            Ok(())
        );
        assert_eq!(
            validate(t, "unclean.leader.election.enable", " False\n"),
            Ok(())
        );
        assert_eq!(
            reason(t, "unclean.leader.election.enable", "yes"),
            "expected true or false"
        );
        assert_eq!(
            reason(t, "unclean.leader.election.enable", "1"),
            "expected true or false"
        );
    }

    #[test]
    fn enum_membership() {
        let t = ResourceKind::Topic;
        for codec in COMPRESSION_TYPES {
            assert_eq!(validate(t, "compression.type", codec), Ok(()), "{codec}");
        }
        assert_eq!(
            reason(t, "compression.type", "brotli"),
            "must be one of producer, gzip, snappy, lz4, zstd, uncompressed"
        );
        assert_eq!(
            validate(t, "message.timestamp.type", " LogAppendTime "),
            Ok(())
        );
        // Kafka matches enum members case-sensitively.
        assert!(validate(t, "message.timestamp.type", "createtime").is_err());
    }

    #[test]
    fn list_membership() {
        let t = ResourceKind::Topic;
        for ok in [
            "delete",
            "compact",
            "compact,delete",
            "delete, compact",
            " compact ",
        ] {
            assert_eq!(validate(t, "cleanup.policy", ok), Ok(()), "{ok:?}");
        }
        assert_eq!(
            reason(t, "cleanup.policy", "compact,shred"),
            "item \"shred\" is not one of delete, compact"
        );
        assert_eq!(
            reason(t, "cleanup.policy", "delete,"),
            "item \"\" is not one of delete, compact"
        );
        assert_eq!(
            reason(t, "cleanup.policy", "  "),
            "must list at least one of delete, compact"
        );
    }

    #[test]
    fn error_message_names_key_value_and_rule() {
        let err = validate(ResourceKind::Topic, "min.insync.replicas", "0").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value \"0\" for min.insync.replicas: must be at least 1"
        );
        let err = validate(ResourceKind::Topic, "nope", "0").unwrap_err();
        assert_eq!(err.to_string(), "unknown config key \"nope\"");
    }

    #[test]
    fn describe_marks_set_versus_default() {
        let all = describe(ResourceKind::Topic, None);
        assert_eq!(all.len(), keys(ResourceKind::Topic).len());
        assert!(all.iter().all(|c| c.is_default));
        assert!(
            all.iter()
                .zip(keys(ResourceKind::Topic))
                .all(|(c, k)| c.key == k.name && c.value == k.default && c.doc == k.doc)
        );

        let set = BTreeMap::from([
            ("retention.ms".to_owned(), "1000".to_owned()),
            // Set to its default value: still reported as set, as Kafka does.
            ("cleanup.policy".to_owned(), "delete".to_owned()),
            ("not.a.key".to_owned(), "x".to_owned()),
        ]);
        let described = describe(ResourceKind::Topic, Some(&set));
        assert_eq!(
            described.len(),
            all.len(),
            "undeclared keys are not reported"
        );
        let get = |name: &str| described.iter().find(|c| c.key == name).unwrap();
        assert_eq!(get("retention.ms").value, "1000");
        assert!(!get("retention.ms").is_default);
        assert!(!get("cleanup.policy").is_default);
        assert_eq!(get("segment.ms").value, "604800000");
        assert!(get("segment.ms").is_default);
        assert_eq!(described.iter().filter(|c| !c.is_default).count(), 2);

        let empty = BTreeMap::new();
        assert_eq!(
            describe(ResourceKind::Broker, Some(&empty)),
            describe(ResourceKind::Broker, None)
        );
    }

    proptest! {
        #[test]
        fn long_bounds_hold_for_any_value(v in any::<i64>()) {
            let t = ResourceKind::Topic;
            prop_assert_eq!(validate(t, "retention.ms", &v.to_string()).is_ok(), v >= -1);
            let int_ok = (14..=INT_MAX).contains(&v);
            prop_assert_eq!(validate(t, "segment.bytes", &v.to_string()).is_ok(), int_ok);
        }

        #[test]
        fn validate_never_panics(name_index in 0usize..40, value in ".{0,24}") {
            for kind in KINDS {
                let all = keys(kind);
                let name = all.get(name_index).map_or("unknown.key", |k| k.name);
                let _ = validate(kind, name, &value);
            }
        }
    }
}
