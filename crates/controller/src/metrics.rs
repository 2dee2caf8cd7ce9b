//! The controller's metrics, through the `metrics` facade (the binary installs the
//! Prometheus recorder; without one every call here is a no-op).
//!
//! Gauges are computed in [`refresh`] from openraft's metrics and the metadata image
//! when the endpoint is scraped. As in Kafka, the cluster-wide counts
//! (ActiveControllerCount, OfflinePartitionsCount) are reported by the active controller
//! only; the others report 0, so a sum over all controllers is the cluster's figure.

use std::collections::BTreeMap;

use metrics::{counter, describe_counter, describe_gauge, gauge};
use openraft::ServerState;
use rill_metadata::MetadataImage;

use crate::raft::NodeId;

/// Gauge: 1 on the active controller, 0 elsewhere (ActiveControllerCount).
pub const ACTIVE_CONTROLLER: &str = "rill_controller_active";
/// Gauge: partitions without a leader, on the active controller (OfflinePartitionsCount).
pub const OFFLINE_PARTITIONS: &str = "rill_controller_offline_partitions";
/// Gauge: registered brokers, on the active controller, label `state` (`fenced`/`active`).
pub const BROKERS: &str = "rill_controller_brokers";
/// Counter: partition leader changes this controller committed as the active one
/// (LeaderElectionRateAndTimeMs' count).
pub const LEADER_ELECTIONS: &str = "rill_controller_leader_elections_total";
/// Gauge, label `broker`: metadata offsets a broker's last heartbeat was behind the
/// active controller's image.
pub const BROKER_METADATA_LAG: &str = "rill_controller_broker_metadata_lag";
/// Gauge: this node's Raft term.
pub const RAFT_TERM: &str = "rill_raft_term";
/// Gauge: the Raft commit index as this node knows it (the active controller: the
/// highest index a majority of voters hold; a follower: the last index it applied).
pub const RAFT_COMMIT_INDEX: &str = "rill_raft_commit_index";
/// Gauge: the last Raft index this node applied to its metadata image.
pub const RAFT_APPLIED_INDEX: &str = "rill_raft_applied_index";
/// Gauge: the last Raft index in this node's log.
pub const RAFT_LAST_LOG_INDEX: &str = "rill_raft_last_log_index";
/// Gauge, label `voter`: entries a voter is behind the active controller's log (the
/// active controller only).
pub const RAFT_VOTER_LAG: &str = "rill_raft_voter_lag";

/// Counts `n` committed leader changes.
pub fn leader_elections(n: usize) {
    if n > 0 {
        counter!(LEADER_ELECTIONS).increment(n as u64);
    }
}

/// Records how far `broker`'s heartbeat says it is behind `image`.
pub fn broker_lag(broker: i32, applied: u64, image: &MetadataImage) {
    let lag = image.offset().get().saturating_sub(applied);
    gauge!(BROKER_METADATA_LAG, "broker" => broker.to_string()).set(lag as f64);
}

/// The highest index held by a majority of voters: the leader's own last index and
/// each other voter's matched index (`None`: nothing matched yet).
pub fn majority_index(own_last: u64, others: &[Option<u64>]) -> u64 {
    let mut held: Vec<u64> = others.iter().map(|m| m.unwrap_or(0)).collect();
    held.push(own_last);
    held.sort_unstable_by(|a, b| b.cmp(a));
    // With n voters, a majority is n/2+1: the (n/2+1)-th largest is held by that many.
    held[held.len() / 2]
}

/// Partitions with no leader in `image`.
pub fn offline_partitions(image: &MetadataImage) -> usize {
    image
        .topics()
        .flat_map(|t| t.partitions.values())
        .filter(|p| p.leader.is_none())
        .count()
}

/// Sets every controller gauge from openraft's view `m` and the current `image`.
pub fn refresh(m: &openraft::RaftMetrics<NodeId, openraft::BasicNode>, image: &MetadataImage) {
    let active = m.state == ServerState::Leader;
    let last_log = m.last_log_index.unwrap_or(0);
    let applied = m.last_applied.map_or(0, |l| l.index);
    gauge!(ACTIVE_CONTROLLER).set(if active { 1.0 } else { 0.0 });
    gauge!(RAFT_TERM).set(m.current_term as f64);
    gauge!(RAFT_APPLIED_INDEX).set(applied as f64);
    gauge!(RAFT_LAST_LOG_INDEX).set(last_log as f64);
    let mut commit = applied;
    if active && let Some(replication) = &m.replication {
        let voters: Vec<NodeId> = m.membership_config.membership().voter_ids().collect();
        let matched: BTreeMap<NodeId, Option<u64>> = replication
            .iter()
            .map(|(id, log)| (*id, log.map(|l| l.index)))
            .collect();
        let others: Vec<Option<u64>> = voters
            .iter()
            .filter(|v| **v != m.id)
            .map(|v| matched.get(v).copied().flatten())
            .collect();
        commit = commit.max(majority_index(last_log, &others));
        for v in voters.iter().filter(|v| **v != m.id) {
            let held = matched.get(v).copied().flatten().unwrap_or(0);
            gauge!(RAFT_VOTER_LAG, "voter" => v.to_string())
                .set(last_log.saturating_sub(held) as f64);
        }
    }
    gauge!(RAFT_COMMIT_INDEX).set(commit as f64);
    let (offline, fenced, unfenced) = if active {
        let fenced = image.brokers().values().filter(|b| b.fenced).count();
        (
            offline_partitions(image),
            fenced,
            image.brokers().len() - fenced,
        )
    } else {
        (0, 0, 0)
    };
    gauge!(OFFLINE_PARTITIONS).set(offline as f64);
    gauge!(BROKERS, "state" => "fenced").set(fenced as f64);
    gauge!(BROKERS, "state" => "active").set(unfenced as f64);
}

/// Registers the help text of every controller metric (once, at start-up).
pub fn describe() {
    describe_gauge!(
        ACTIVE_CONTROLLER,
        "1 on the active controller, 0 on the others."
    );
    describe_gauge!(
        OFFLINE_PARTITIONS,
        "Partitions without a leader (active controller only)."
    );
    describe_gauge!(
        BROKERS,
        "Registered brokers by state (active controller only)."
    );
    describe_counter!(
        LEADER_ELECTIONS,
        "Partition leader changes committed by this controller."
    );
    describe_gauge!(
        BROKER_METADATA_LAG,
        "Metadata offsets a broker's last heartbeat was behind the active controller."
    );
    describe_gauge!(RAFT_TERM, "This node's Raft term.");
    describe_gauge!(
        RAFT_COMMIT_INDEX,
        "The Raft commit index as this node knows it."
    );
    describe_gauge!(
        RAFT_APPLIED_INDEX,
        "The last Raft index applied to the metadata image."
    );
    describe_gauge!(
        RAFT_LAST_LOG_INDEX,
        "The last Raft index in this node's log."
    );
    describe_gauge!(
        RAFT_VOTER_LAG,
        "Entries a voter is behind the active controller's log."
    );
}

#[cfg(test)]
mod tests {
    use super::majority_index;

    #[test]
    fn majority_index_is_what_a_majority_holds() {
        assert_eq!(majority_index(10, &[Some(7), Some(3)]), 7);
        assert_eq!(majority_index(10, &[None, None]), 0);
        assert_eq!(majority_index(10, &[Some(10), None]), 10);
        assert_eq!(majority_index(5, &[]), 5);
        // Five voters: the third largest.
        assert_eq!(majority_index(9, &[Some(8), Some(1), Some(2), None]), 2);
    }
}
