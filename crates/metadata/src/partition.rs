//! [`PartitionState`]: replicas, ISR, leader and epochs of one partition.

use rill_types::{BrokerId, LeaderEpoch, PartitionEpoch};

/// One partition's replication state.
///
/// Invariants (checked by [`PartitionState::check`]): replicas are distinct and non-empty;
/// the ISR is a subset of the replicas, distinct; the leader, if any, is in the ISR.
/// Across changes both epochs never decrease; the partition epoch grows on every change
/// and the leader epoch on every leader change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    /// Replicas, preferred leader first.
    pub replicas: Vec<BrokerId>,
    /// In-sync replicas.
    pub isr: Vec<BrokerId>,
    /// The leader, or `None` when offline.
    pub leader: Option<BrokerId>,
    /// Bumped on every leader change.
    pub leader_epoch: LeaderEpoch,
    /// Bumped on every change.
    pub partition_epoch: PartitionEpoch,
}

impl PartitionState {
    /// The preferred leader: the first replica.
    pub fn preferred_leader(&self) -> Option<BrokerId> {
        self.replicas.first().copied()
    }

    /// Checks the invariants of one state; the error says which one broke.
    pub fn check(&self) -> Result<(), String> {
        if self.replicas.is_empty() {
            return Err("no replicas".to_owned());
        }
        if has_duplicates(&self.replicas) {
            return Err(format!("duplicate replicas {:?}", self.replicas));
        }
        if has_duplicates(&self.isr) {
            return Err(format!("duplicate ISR members {:?}", self.isr));
        }
        if let Some(outsider) = self.isr.iter().find(|b| !self.replicas.contains(b)) {
            return Err(format!("ISR member {outsider} is not a replica"));
        }
        if let Some(leader) = self.leader
            && !self.isr.contains(&leader)
        {
            return Err(format!("leader {leader} is not in the ISR {:?}", self.isr));
        }
        Ok(())
    }

    /// Checks that `next` may follow `self`: epochs never decrease, the partition epoch
    /// grows on any change, the leader epoch on a leader change.
    pub fn check_transition(&self, next: &PartitionState) -> Result<(), String> {
        if next.leader_epoch < self.leader_epoch || next.partition_epoch < self.partition_epoch {
            return Err("an epoch decreased".to_owned());
        }
        if next != self && next.partition_epoch == self.partition_epoch {
            return Err("changed without a new partition epoch".to_owned());
        }
        if next.leader != self.leader && next.leader_epoch == self.leader_epoch {
            return Err("leader changed without a new leader epoch".to_owned());
        }
        Ok(())
    }
}

fn has_duplicates(brokers: &[BrokerId]) -> bool {
    let mut sorted = brokers.to_vec();
    sorted.sort_unstable();
    sorted.windows(2).any(|w| w[0] == w[1])
}
