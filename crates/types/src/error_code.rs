//! [`ErrorCode`]: the Kafka error codes rill answers with, declared once for every crate
//! (the controller's refusals, the broker's per-partition errors, the clients' reading of
//! them). Values and names are those of Kafka's `Errors` class, so a Kafka user sees the
//! error they know whichever API they used.

/// Declares the enum and its tables from one list, so a variant cannot get a code
/// without a name or be left out of [`ErrorCode::ALL`].
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $name:literal;)*) => {
        /// A Kafka error code (never 0, which means "no error" on Kafka's wire).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// Kafka's numeric code.
            pub fn code(self) -> i32 {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            /// Kafka's name for the code.
            pub fn name(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }

            /// The code with Kafka's number `code`, if rill knows it.
            pub fn from_code(code: i32) -> Option<ErrorCode> {
                match code {
                    $($code => Some(ErrorCode::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    /// A bug or an I/O failure on the server's side.
    UnknownServerError = -1, "UNKNOWN_SERVER_ERROR";
    /// The fetch offset is below the log start or above the log end.
    OffsetOutOfRange = 1, "OFFSET_OUT_OF_RANGE";
    /// A batch failed its CRC or is malformed.
    CorruptMessage = 2, "CORRUPT_MESSAGE";
    /// The topic or partition does not exist (here).
    UnknownTopicOrPartition = 3, "UNKNOWN_TOPIC_OR_PARTITION";
    /// The partition has no leader right now (an election is under way).
    LeaderNotAvailable = 5, "LEADER_NOT_AVAILABLE";
    /// This broker does not lead (or follow) the partition.
    NotLeaderOrFollower = 6, "NOT_LEADER_OR_FOLLOWER";
    /// The request's time ran out before it completed.
    RequestTimedOut = 7, "REQUEST_TIMED_OUT";
    /// A batch is larger than the topic allows.
    MessageTooLarge = 10, "MESSAGE_TOO_LARGE";
    /// The topic name is invalid.
    InvalidTopicException = 17, "INVALID_TOPIC_EXCEPTION";
    /// acks=all and the ISR is below `min.insync.replicas`.
    NotEnoughReplicas = 19, "NOT_ENOUGH_REPLICAS";
    /// Appended, but the ISR shrank below `min.insync.replicas` before it was replicated.
    NotEnoughReplicasAfterAppend = 20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND";
    /// acks is not 0, 1 or -1.
    InvalidRequiredAcks = 21, "INVALID_REQUIRED_ACKS";
    /// The topic already exists.
    TopicAlreadyExists = 36, "TOPIC_ALREADY_EXISTS";
    /// The partition count is invalid.
    InvalidPartitions = 37, "INVALID_PARTITIONS";
    /// The replication factor is invalid.
    InvalidReplicationFactor = 38, "INVALID_REPLICATION_FACTOR";
    /// A config key or value is invalid.
    InvalidConfig = 40, "INVALID_CONFIG";
    /// The node asked is not the active controller.
    NotController = 41, "NOT_CONTROLLER";
    /// The request is malformed.
    InvalidRequest = 42, "INVALID_REQUEST";
    /// An idempotent producer's batch does not follow its last one (a gap, or a new
    /// producer epoch not starting at sequence 0).
    OutOfOrderSequenceNumber = 45, "OUT_OF_ORDER_SEQUENCE_NUMBER";
    /// An idempotent producer's epoch is older than the partition knows (it was fenced).
    InvalidProducerEpoch = 47, "INVALID_PRODUCER_EPOCH";
    /// The log of the partition failed (a disk error).
    KafkaStorageError = 56, "KAFKA_STORAGE_ERROR";
    /// The caller's leader epoch is older than the partition's.
    FencedLeaderEpoch = 74, "FENCED_LEADER_EPOCH";
    /// The caller's leader epoch is newer than this broker knows.
    UnknownLeaderEpoch = 75, "UNKNOWN_LEADER_EPOCH";
    /// The broker epoch is not the current one.
    StaleBrokerEpoch = 77, "STALE_BROKER_EPOCH";
    /// The preferred leader cannot lead.
    PreferredLeaderNotAvailable = 80, "PREFERRED_LEADER_NOT_AVAILABLE";
    /// No eligible replica can lead.
    EligibleLeadersNotAvailable = 83, "ELIGIBLE_LEADERS_NOT_AVAILABLE";
    /// The leader is already the preferred one.
    ElectionNotNeeded = 84, "ELECTION_NOT_NEEDED";
    /// A record is invalid (e.g. keyless on a compacted topic).
    InvalidRecord = 87, "INVALID_RECORD";
    /// The change is based on an old partition epoch.
    InvalidUpdateVersion = 95, "INVALID_UPDATE_VERSION";
    /// The topic id is unknown.
    UnknownTopicId = 100, "UNKNOWN_TOPIC_ID";
    /// Another live incarnation holds the broker id.
    DuplicateBrokerRegistration = 101, "DUPLICATE_BROKER_REGISTRATION";
    /// The broker id is not registered.
    BrokerIdNotRegistered = 102, "BROKER_ID_NOT_REGISTERED";
    /// The proposed ISR holds a replica that may not join it.
    IneligibleReplica = 107, "INELIGIBLE_REPLICA";
    /// The group coordinator is still loading the group's state.
    CoordinatorLoadInProgress = 14, "COORDINATOR_LOAD_IN_PROGRESS";
    /// No coordinator is available for the group right now.
    CoordinatorNotAvailable = 15, "COORDINATOR_NOT_AVAILABLE";
    /// This broker is not the group's coordinator.
    NotCoordinator = 16, "NOT_COORDINATOR";
    /// The member's generation is not the group's.
    IllegalGeneration = 22, "ILLEGAL_GENERATION";
    /// The member's protocols share none with the group's.
    InconsistentGroupProtocol = 23, "INCONSISTENT_GROUP_PROTOCOL";
    /// The group id is empty or otherwise invalid.
    InvalidGroupId = 24, "INVALID_GROUP_ID";
    /// The member id is not in the group.
    UnknownMemberId = 25, "UNKNOWN_MEMBER_ID";
    /// The session timeout is outside the broker's allowed range.
    InvalidSessionTimeout = 26, "INVALID_SESSION_TIMEOUT";
    /// The group is rebalancing; rejoin.
    RebalanceInProgress = 27, "REBALANCE_IN_PROGRESS";
    /// The committed offset's metadata is too large.
    OffsetMetadataTooLarge = 12, "OFFSET_METADATA_TOO_LARGE";
    /// The API version asked for is not supported.
    UnsupportedVersion = 35, "UNSUPPORTED_VERSION";
    /// The request needs a feature rill does not have (e.g. transactions).
    TransactionalIdAuthorizationFailed = 53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED";
    /// The group still has members.
    NonEmptyGroup = 68, "NON_EMPTY_GROUP";
    /// The group does not exist.
    GroupIdNotFound = 69, "GROUP_ID_NOT_FOUND";
    /// A new member must rejoin with the member id it was given (KIP-394).
    MemberIdRequired = 79, "MEMBER_ID_REQUIRED";
    /// The group is full.
    GroupMaxSizeReached = 81, "GROUP_MAX_SIZE_REACHED";
    /// Another member holds this static member's group.instance.id.
    FencedInstanceId = 82, "FENCED_INSTANCE_ID";
    /// The group's offset for a topic cannot be deleted while members consume it.
    GroupSubscribedToTopic = 86, "GROUP_SUBSCRIBED_TO_TOPIC";
    /// The policy of this cluster refuses the request.
    PolicyViolation = 44, "POLICY_VIOLATION";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_distinct_and_round_trip() {
        let codes: std::collections::BTreeSet<_> =
            ErrorCode::ALL.iter().map(|c| c.code()).collect();
        let names: std::collections::BTreeSet<_> =
            ErrorCode::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(codes.len(), ErrorCode::ALL.len());
        assert_eq!(names.len(), ErrorCode::ALL.len());
        assert!(!codes.contains(&0), "0 means no error on Kafka's wire");
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(c.code()), Some(*c));
        }
    }
}
