//! Kafka's error codes, in one place for the controller, and [`Refusal`]: a request (or
//! one item of it) the controller turned down, with the code a Kafka user knows and a
//! message saying what was wrong.

use rill_proto::common;

use crate::ControllerError;

/// The Kafka error codes the controller answers with (values from Kafka's `Errors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// -1: a bug or an I/O failure on our side.
    UnknownServerError,
    /// 3.
    UnknownTopicOrPartition,
    /// 6.
    NotLeaderOrFollower,
    /// 7.
    RequestTimedOut,
    /// 17.
    InvalidTopicException,
    /// 36.
    TopicAlreadyExists,
    /// 37.
    InvalidPartitions,
    /// 38.
    InvalidReplicationFactor,
    /// 40.
    InvalidConfig,
    /// 41.
    NotController,
    /// 42.
    InvalidRequest,
    /// 74.
    FencedLeaderEpoch,
    /// 77.
    StaleBrokerEpoch,
    /// 80.
    PreferredLeaderNotAvailable,
    /// 83.
    EligibleLeadersNotAvailable,
    /// 84.
    ElectionNotNeeded,
    /// 95.
    InvalidUpdateVersion,
    /// 100.
    UnknownTopicId,
    /// 101.
    DuplicateBrokerRegistration,
    /// 102.
    BrokerIdNotRegistered,
    /// 107.
    IneligibleReplica,
}

impl ErrorCode {
    /// Kafka's numeric code.
    pub fn code(self) -> i32 {
        use ErrorCode::*;
        match self {
            UnknownServerError => -1,
            UnknownTopicOrPartition => 3,
            NotLeaderOrFollower => 6,
            RequestTimedOut => 7,
            InvalidTopicException => 17,
            TopicAlreadyExists => 36,
            InvalidPartitions => 37,
            InvalidReplicationFactor => 38,
            InvalidConfig => 40,
            NotController => 41,
            InvalidRequest => 42,
            FencedLeaderEpoch => 74,
            StaleBrokerEpoch => 77,
            PreferredLeaderNotAvailable => 80,
            EligibleLeadersNotAvailable => 83,
            ElectionNotNeeded => 84,
            InvalidUpdateVersion => 95,
            UnknownTopicId => 100,
            DuplicateBrokerRegistration => 101,
            BrokerIdNotRegistered => 102,
            IneligibleReplica => 107,
        }
    }

    /// Kafka's name for the code.
    pub fn name(self) -> &'static str {
        use ErrorCode::*;
        match self {
            UnknownServerError => "UNKNOWN_SERVER_ERROR",
            UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION",
            NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            RequestTimedOut => "REQUEST_TIMED_OUT",
            InvalidTopicException => "INVALID_TOPIC_EXCEPTION",
            TopicAlreadyExists => "TOPIC_ALREADY_EXISTS",
            InvalidPartitions => "INVALID_PARTITIONS",
            InvalidReplicationFactor => "INVALID_REPLICATION_FACTOR",
            InvalidConfig => "INVALID_CONFIG",
            NotController => "NOT_CONTROLLER",
            InvalidRequest => "INVALID_REQUEST",
            FencedLeaderEpoch => "FENCED_LEADER_EPOCH",
            StaleBrokerEpoch => "STALE_BROKER_EPOCH",
            PreferredLeaderNotAvailable => "PREFERRED_LEADER_NOT_AVAILABLE",
            EligibleLeadersNotAvailable => "ELIGIBLE_LEADERS_NOT_AVAILABLE",
            ElectionNotNeeded => "ELECTION_NOT_NEEDED",
            InvalidUpdateVersion => "INVALID_UPDATE_VERSION",
            UnknownTopicId => "UNKNOWN_TOPIC_ID",
            DuplicateBrokerRegistration => "DUPLICATE_BROKER_REGISTRATION",
            BrokerIdNotRegistered => "BROKER_ID_NOT_REGISTERED",
            IneligibleReplica => "INELIGIBLE_REPLICA",
        }
    }
}

/// A refused request or request item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} ({}): {message}", code.name(), code.code())]
pub struct Refusal {
    /// The Kafka error.
    pub code: ErrorCode,
    /// What was wrong.
    pub message: String,
}

impl Refusal {
    /// A refusal with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The wire form.
    pub fn to_proto(&self) -> common::Error {
        common::Error {
            code: self.code.code(),
            name: self.code.name().to_owned(),
            message: self.message.clone(),
        }
    }
}

impl From<ControllerError> for Refusal {
    fn from(e: ControllerError) -> Self {
        match e {
            ControllerError::InvalidReplicationFactor(m) => {
                Refusal::new(ErrorCode::InvalidReplicationFactor, m)
            }
            ControllerError::InvalidPartitions(m) => Refusal::new(ErrorCode::InvalidPartitions, m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_distinct() {
        use ErrorCode::*;
        let all = [
            UnknownServerError,
            UnknownTopicOrPartition,
            NotLeaderOrFollower,
            RequestTimedOut,
            InvalidTopicException,
            TopicAlreadyExists,
            InvalidPartitions,
            InvalidReplicationFactor,
            InvalidConfig,
            NotController,
            InvalidRequest,
            FencedLeaderEpoch,
            StaleBrokerEpoch,
            PreferredLeaderNotAvailable,
            EligibleLeadersNotAvailable,
            ElectionNotNeeded,
            InvalidUpdateVersion,
            UnknownTopicId,
            DuplicateBrokerRegistration,
            BrokerIdNotRegistered,
            IneligibleReplica,
        ];
        let codes: std::collections::BTreeSet<_> = all.iter().map(|c| c.code()).collect();
        let names: std::collections::BTreeSet<_> = all.iter().map(|c| c.name()).collect();
        assert_eq!(codes.len(), all.len());
        assert_eq!(names.len(), all.len());
        assert!(!codes.contains(&0), "0 means no error on Kafka's wire");
    }
}
