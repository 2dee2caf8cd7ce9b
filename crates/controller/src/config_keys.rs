//! The declared config keys of topics and brokers, like Kafka's `ConfigDef`: each key's
//! name, value type with bounds, default and one-line documentation.
//!
//! Pure: the controller checks every CreateTopics / AlterConfigs value with [`validate`]
//! before it writes a config record, and answers DescribeConfigs with [`describe`]. A
//! refused value becomes Kafka's INVALID_CONFIG, and the [`ConfigError`] text is the
//! message the client sees, so it names the key, the value and the rule broken.
//!
//! Topic keys are declared once in `rill_types::config::topic` (the broker's log takes
//! its typed settings from the same declarations); the broker-wide defaults of topic
//! keys (`log.retention.ms` for `retention.ms`) are derived from them with
//! [`ConfigKey::renamed`], so type, bounds and default cannot drift apart. Where Kafka
//! leaves a broker key unbounded but a value below 1 would make no sense here, the bound
//! says so at the declaration.
//!
//! Each table is kept sorted by name: `describe` returns keys in that order, and a test
//! checks the order (which also rules out duplicates).

use std::collections::BTreeMap;

use rill_types::config::broker::REPLICA_LAG_TIME_MAX_MS;
use rill_types::config::topic::{self as t, TOPIC_KEYS};
pub use rill_types::config::{ConfigKey, ConfigType};
use rill_types::config::{decl, int};

/// Which kind of resource a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// A topic's own settings (`retention.ms`, ...).
    Topic,
    /// Broker settings, cluster-wide or for one broker (`log.retention.ms`, ...).
    Broker,
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
    declared
        .check(value)
        .map_err(|reason| ConfigError::InvalidValue {
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

/// Broker keys (Kafka's `KafkaConfig`), sorted by name. The `log.*` keys,
/// `message.max.bytes`, `min.insync.replicas` and `unclean.leader.election.enable` are
/// the defaults of the matching topic keys, derived from their declarations.
#[rustfmt::skip]
static BROKER_KEYS: &[ConfigKey] = &[
    decl("auto.create.topics.enable", ConfigType::Boolean, "true",
        "Whether the broker creates a topic the first time a client asks for one that does not exist."),
    BROKER_SESSION_TIMEOUT_MS,
    // Kafka leaves this unbounded; a replication factor below 1 cannot be placed.
    decl("default.replication.factor", int(1), "1",
        "The replication factor of automatically created topics and of topics created without one."),
    t::FLUSH_MESSAGES.renamed("log.flush.interval.messages",
        "The default of flush.messages: force an fsync after this many messages have been appended since the last one."),
    // Kafka's default is unset (falling back to log.flush.scheduler.interval.ms, Long.MAX).
    t::FLUSH_MS.renamed("log.flush.interval.ms",
        "The default of flush.ms: force an fsync once this many milliseconds have passed since the last one."),
    t::RETENTION_BYTES.renamed("log.retention.bytes",
        "The default of retention.bytes: the size a partition may reach before its oldest segments are deleted; -1 means no size limit."),
    // Kafka's default is unset (falling back to log.retention.hours = 168, i.e. 7 days).
    t::RETENTION_MS.renamed("log.retention.ms",
        "The default of retention.ms: how long a segment is kept after its newest record; -1 means no time limit."),
    t::SEGMENT_BYTES.renamed("log.segment.bytes",
        "The default of segment.bytes: the size a segment file may reach before a new segment is rolled."),
    t::MAX_MESSAGE_BYTES.renamed("message.max.bytes",
        "The default of max.message.bytes: the largest record batch a topic accepts, in bytes."),
    t::MIN_INSYNC_REPLICAS.renamed("min.insync.replicas",
        "The default of min.insync.replicas: how many in-sync replicas must acknowledge a write with acks=all."),
    decl("num.partitions", int(1), "1",
        "The partition count of automatically created topics and of topics created without one."),
    REPLICA_LAG_TIME_MAX_MS,
    t::UNCLEAN_LEADER_ELECTION_ENABLE.renamed("unclean.leader.election.enable",
        "The default of unclean.leader.election.enable: whether a replica outside the ISR may be elected leader as a last resort."),
];

/// `broker.session.timeout.ms`: a dynamic broker key and the controller process's
/// setting of the same name (`rill controller --broker-session-timeout-ms`), which takes
/// its type, bounds and default from here. Kafka leaves it unbounded; a lease of 0 ms
/// would fence every broker.
pub const BROKER_SESSION_TIMEOUT_MS: ConfigKey = decl(
    "broker.session.timeout.ms",
    int(1),
    "9000",
    "How long, in milliseconds, a broker's lease lasts without a heartbeat before the controller fences it.",
);

/// `metadata.snapshot.entries`: a controller process setting (`rill controller
/// --metadata-snapshot-entries`), declared here beside the node that reads it.
pub const METADATA_SNAPSHOT_ENTRIES: ConfigKey = decl(
    "metadata.snapshot.entries",
    ConfigType::Long {
        min: 1,
        max: i64::MAX,
    },
    "5000",
    "How many metadata log entries the controller writes between two snapshots of its state.",
);

/// The default of a whole-number key with a non-negative lower bound.
///
/// # Panics
/// If the declared default is not such a number (a bug in the declaration; every
/// declaration's default is checked by a test).
pub fn default_u64(key: &ConfigKey) -> u64 {
    key.default
        .parse()
        .unwrap_or_else(|_| panic!("default of {} is not a u64", key.name))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    use rill_types::config::INT_MAX;
    use rill_types::config::LONG_MAX_TEXT;
    use rill_types::config::topic::COMPRESSION_TYPES;

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
            let int_ok = (64..=INT_MAX).contains(&v);
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
