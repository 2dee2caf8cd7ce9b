//! Which failures a call retries, which refusals prove nothing was appended, and the
//! bounded backoff between attempts.
//!
//! Every retry loop of this crate is: attempt; on a retriable error refresh the metadata,
//! [`Backoff::pause`], attempt again; stop with the last error when the error is not
//! retriable or the next attempt could not start before the call's deadline.

use std::time::Duration;

use rill_types::ErrorCode;
use tokio::time::Instant;

use crate::DataError;

/// Whether a leader answers `code` to a produce with `acks` only before appending
/// anything, so that a produce refused with it wrote nothing (the contract of
/// `error.rs`).
///
/// NOT_ENOUGH_REPLICAS is checked before the append; NOT_ENOUGH_REPLICAS_AFTER_APPEND,
/// REQUEST_TIMED_OUT and KAFKA_STORAGE_ERROR may come after it. NOT_LEADER_OR_FOLLOWER
/// comes before the append, except with acks=all: a leader that loses leadership while
/// waiting for its ISR answers it after appending (Kafka does, and so does rill's
/// `Partition::wait_replicated`), and the records may survive on the new leader.
/// Unknown codes are assumed to come after the append.
pub(crate) fn refused_before_append(code: ErrorCode, acks: i32) -> bool {
    use ErrorCode::*;
    match code {
        NotLeaderOrFollower => acks != -1,
        LeaderNotAvailable
        | UnknownTopicOrPartition
        | FencedLeaderEpoch
        | UnknownLeaderEpoch
        | NotEnoughReplicas
        | CorruptMessage
        | MessageTooLarge
        | InvalidTopicException
        | InvalidRequiredAcks
        | InvalidRecord
        | InvalidRequest => true,
        _ => false,
    }
}

/// Kafka codes after which the partition may accept the same request soon: the leader
/// moved or is being elected, the metadata has not reached the broker yet, the ISR is
/// short for now, or the leader's disk or replication was slow.
fn transient(code: ErrorCode) -> bool {
    use ErrorCode::*;
    matches!(
        code,
        NotLeaderOrFollower
            | LeaderNotAvailable
            | UnknownTopicOrPartition
            | FencedLeaderEpoch
            | UnknownLeaderEpoch
            | NotEnoughReplicas
            | NotEnoughReplicasAfterAppend
            | RequestTimedOut
            | KafkaStorageError
    )
}

/// gRPC codes of a call that broke or was shed rather than refused: the broker was
/// restarting, the connection dropped, the answer did not arrive.
fn transient_status(code: tonic::Code) -> bool {
    use tonic::Code::*;
    matches!(
        code,
        Unavailable | Unknown | Cancelled | DeadlineExceeded | Aborted | ResourceExhausted
    )
}

/// Whether a failed attempt of a produce is worth repeating (after a metadata refresh).
///
/// Retrying after an unknown outcome may append the records twice: a produce without
/// idempotence is at-least-once, as in Kafka.
pub(crate) fn should_retry(err: &DataError) -> bool {
    match err {
        DataError::Broker { .. } => err.kafka_code().is_some_and(transient),
        DataError::Unreachable { .. } | DataError::Timeout { .. } => true,
        DataError::Transport { code, .. } => transient_status(*code),
        DataError::InvalidArgument(_)
        | DataError::Protocol { .. }
        | DataError::Corrupt(_)
        | DataError::Unsupported(_) => false,
    }
}

/// The most time [`Backoff`] keeps back for the last attempt.
const MAX_RESERVE: Duration = Duration::from_secs(1);

/// Exponential backoff bounded by a deadline.
///
/// No attempt starts with less than `reserve` left before the deadline: an attempt cut
/// short by the caller's own deadline would replace a real answer (e.g. the broker's
/// NOT_ENOUGH_REPLICAS, nothing written) with a timeout whose outcome is unknown.
#[derive(Debug)]
pub(crate) struct Backoff {
    deadline: Instant,
    next: Duration,
    max: Duration,
    reserve: Duration,
}

impl Backoff {
    /// Pauses start at `initial` and double up to `max`; each attempt after one is left
    /// at least `min(request_timeout, 1 s)` before `deadline`.
    pub(crate) fn new(
        deadline: Instant,
        initial: Duration,
        max: Duration,
        request_timeout: Duration,
    ) -> Backoff {
        Backoff {
            deadline,
            next: initial,
            max: max.max(initial),
            reserve: request_timeout.min(MAX_RESERVE),
        }
    }

    /// Sleeps before the next attempt, or returns false at once when that attempt could
    /// not start with its reserve before the deadline (the caller then returns its last
    /// error).
    pub(crate) async fn pause(&mut self) -> bool {
        if Instant::now() + self.next + self.reserve > self.deadline {
            return false;
        }
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(self.max);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(code: ErrorCode) -> DataError {
        DataError::kafka(code, "test")
    }

    #[test]
    fn leader_and_replication_errors_are_retried() {
        for code in [
            ErrorCode::NotLeaderOrFollower,
            ErrorCode::LeaderNotAvailable,
            ErrorCode::UnknownTopicOrPartition,
            ErrorCode::FencedLeaderEpoch,
            ErrorCode::NotEnoughReplicas,
            ErrorCode::NotEnoughReplicasAfterAppend,
            ErrorCode::RequestTimedOut,
            ErrorCode::KafkaStorageError,
        ] {
            assert!(should_retry(&broker(code)), "{code:?}");
        }
    }

    #[test]
    fn refusals_of_the_request_itself_are_not_retried() {
        for code in [
            ErrorCode::CorruptMessage,
            ErrorCode::MessageTooLarge,
            ErrorCode::InvalidRequiredAcks,
            ErrorCode::InvalidRecord,
            ErrorCode::InvalidRequest,
            ErrorCode::OffsetOutOfRange,
            ErrorCode::UnknownServerError,
        ] {
            assert!(!should_retry(&broker(code)), "{code:?}");
        }
        let future_code = DataError::Broker {
            code: 9999,
            name: "FUTURE".into(),
            message: String::new(),
            maybe_written: true,
        };
        assert!(!should_retry(&future_code));
    }

    #[test]
    fn broken_calls_are_retried_refused_calls_are_not() {
        let transport = |code| DataError::Transport {
            broker: "b:1".into(),
            code,
            message: String::new(),
            maybe_written: true,
        };
        assert!(should_retry(&transport(tonic::Code::Unavailable)));
        assert!(should_retry(&transport(tonic::Code::Cancelled)));
        assert!(!should_retry(&transport(tonic::Code::InvalidArgument)));
        assert!(!should_retry(&transport(tonic::Code::Unimplemented)));
        assert!(should_retry(&DataError::Unreachable {
            broker: "b:1".into(),
            message: String::new(),
            maybe_written: false,
        }));
        assert!(!should_retry(&DataError::protocol("x", true)));
    }

    #[test]
    fn only_pre_append_refusals_prove_nothing_was_written() {
        for code in [
            ErrorCode::NotEnoughReplicas,
            ErrorCode::CorruptMessage,
            ErrorCode::MessageTooLarge,
            ErrorCode::UnknownTopicOrPartition,
            ErrorCode::InvalidRequiredAcks,
            ErrorCode::InvalidRecord,
        ] {
            assert!(refused_before_append(code, -1), "{code:?}");
            assert!(refused_before_append(code, 1), "{code:?}");
        }
        for code in [
            ErrorCode::NotEnoughReplicasAfterAppend,
            ErrorCode::RequestTimedOut,
            ErrorCode::KafkaStorageError,
            ErrorCode::UnknownServerError,
        ] {
            assert!(!refused_before_append(code, -1), "{code:?}");
            assert!(!refused_before_append(code, 1), "{code:?}");
        }
    }

    #[test]
    fn not_leader_proves_nothing_only_without_acks_all() {
        // acks=1: the leader checks its role before appending, and only then.
        assert!(refused_before_append(ErrorCode::NotLeaderOrFollower, 1));
        // acks=all: also answered after the append, when leadership moves during the
        // wait for the ISR.
        assert!(!refused_before_append(ErrorCode::NotLeaderOrFollower, -1));
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_doubles_to_its_cap_and_leaves_the_last_attempt_its_reserve() {
        let start = Instant::now();
        let deadline = start + Duration::from_millis(1000);
        let mut backoff = Backoff::new(
            deadline,
            Duration::from_millis(100),
            Duration::from_millis(300),
            Duration::from_millis(50),
        );
        let mut pauses = Vec::new();
        let mut last = start;
        while backoff.pause().await {
            pauses.push(last.elapsed());
            last = Instant::now();
        }
        let ms: Vec<u128> = pauses.iter().map(Duration::as_millis).collect();
        // 100 + 200 + 300 = 600; another 300 ends at 900, leaving the 50 ms reserve; a
        // third would pass the deadline.
        assert_eq!(ms, vec![100, 200, 300, 300]);
        assert!(Instant::now() + Duration::from_millis(50) <= deadline);

        // A 200 ms reserve forbids the fourth pause (900 + 200 > 1000).
        let mut backoff = Backoff::new(
            Instant::now() + Duration::from_millis(1000),
            Duration::from_millis(100),
            Duration::from_millis(300),
            Duration::from_millis(200),
        );
        let mut count = 0;
        while backoff.pause().await {
            count += 1;
        }
        assert_eq!(count, 3);
    }
}
