//! Leader election, pure: who leads a partition after a change of broker liveness, and
//! what its ISR becomes.
//!
//! Rules (KRaft's):
//! - a clean election picks the first replica, in replica order, that is in the ISR and
//!   active (registered, unfenced, not shutting down); it never picks outside the ISR;
//! - with `unclean.leader.election.enable` and no active ISR member, the first active
//!   replica leads and the ISR becomes just it (data may be lost; that is the setting);
//! - otherwise the partition has no leader (offline) until an ISR member comes back;
//! - a fenced broker leaves every ISR, except that the ISR never becomes empty: the last
//!   member stays, so it can lead again when it comes back without unclean election.

use rill_metadata::PartitionState;
use rill_types::BrokerId;

/// A partition's new leader and ISR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Election {
    /// The new leader, `None` when the partition goes offline.
    pub leader: Option<BrokerId>,
    /// The new ISR.
    pub isr: Vec<BrokerId>,
}

/// The leader and ISR after the brokers for which `active` is false went away, or `None`
/// when nothing changes. `active` says whether a broker may lead / be in the ISR.
pub fn after_liveness_change(
    partition: &PartitionState,
    active: impl Fn(BrokerId) -> bool,
    unclean: bool,
) -> Option<Election> {
    let mut isr: Vec<BrokerId> = partition
        .isr
        .iter()
        .copied()
        .filter(|b| active(*b))
        .collect();
    if isr.is_empty() {
        // Keep the last in-sync member(s) on record (KRaft never empties the ISR).
        isr = partition.isr.clone();
    }
    let leader_ok = partition
        .leader
        .is_some_and(|l| active(l) && isr.contains(&l));
    let mut leader = if leader_ok {
        partition.leader
    } else {
        partition
            .replicas
            .iter()
            .copied()
            .find(|b| isr.contains(b) && active(*b))
    };
    if leader.is_none()
        && unclean
        && let Some(b) = partition.replicas.iter().copied().find(|b| active(*b))
    {
        leader = Some(b);
        isr = vec![b];
    }
    let election = Election { leader, isr };
    (election.leader != partition.leader || election.isr != partition.isr).then_some(election)
}

/// Preferred-leader election: the first replica becomes leader if it is in the ISR and
/// active and does not lead already; `None` otherwise.
pub fn preferred(
    partition: &PartitionState,
    active: impl Fn(BrokerId) -> bool,
) -> Option<Election> {
    let preferred = partition.preferred_leader()?;
    (partition.leader != Some(preferred) && partition.isr.contains(&preferred) && active(preferred))
        .then(|| Election {
            leader: Some(preferred),
            isr: partition.isr.clone(),
        })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rill_types::{LeaderEpoch, PartitionEpoch};

    use super::*;

    fn b(ids: &[i32]) -> Vec<BrokerId> {
        ids.iter().map(|i| BrokerId::new(*i)).collect()
    }

    fn state(replicas: &[i32], isr: &[i32], leader: Option<i32>) -> PartitionState {
        PartitionState {
            replicas: b(replicas),
            isr: b(isr),
            leader: leader.map(BrokerId::new),
            leader_epoch: LeaderEpoch::new(0),
            partition_epoch: PartitionEpoch::new(0),
        }
    }

    #[test]
    fn a_fenced_leader_is_replaced_from_the_isr_in_replica_order() {
        let p = state(&[1, 2, 3], &[1, 3, 2], Some(1));
        let e = after_liveness_change(&p, |x| x.get() != 1, false).unwrap();
        assert_eq!(e.leader, Some(BrokerId::new(2)));
        assert_eq!(e.isr, b(&[3, 2]));
    }

    #[test]
    fn without_an_active_isr_member_the_partition_goes_offline_unless_unclean() {
        let p = state(&[1, 2, 3], &[1], Some(1));
        let e = after_liveness_change(&p, |x| x.get() != 1, false).unwrap();
        assert_eq!(
            e,
            Election {
                leader: None,
                isr: b(&[1])
            }
        );
        let e = after_liveness_change(&p, |x| x.get() != 1, true).unwrap();
        assert_eq!(
            e,
            Election {
                leader: Some(BrokerId::new(2)),
                isr: b(&[2])
            }
        );
    }

    #[test]
    fn nothing_changes_when_everyone_is_alive() {
        let p = state(&[1, 2, 3], &[1, 2, 3], Some(2));
        assert_eq!(after_liveness_change(&p, |_| true, false), None);
    }

    #[test]
    fn an_offline_partition_comes_back_when_its_isr_member_does() {
        let p = state(&[1, 2], &[1], None);
        let e = after_liveness_change(&p, |_| true, false).unwrap();
        assert_eq!(e.leader, Some(BrokerId::new(1)));
    }

    #[test]
    fn preferred_election_only_within_the_isr() {
        assert_eq!(
            preferred(&state(&[1, 2], &[1, 2], Some(2)), |_| true)
                .unwrap()
                .leader,
            Some(BrokerId::new(1))
        );
        assert_eq!(preferred(&state(&[1, 2], &[2], Some(2)), |_| true), None);
        assert_eq!(preferred(&state(&[1, 2], &[1, 2], Some(1)), |_| true), None);
        assert_eq!(
            preferred(&state(&[1, 2], &[1, 2], Some(2)), |x| x.get() != 1),
            None
        );
    }

    proptest! {
        #[test]
        fn a_clean_election_never_leaves_the_active_isr(
            n in 1usize..6, isr_mask in 1u8..64, live_mask in any::<u8>(), leader in proptest::option::of(0usize..6),
        ) {
            let replicas: Vec<i32> = (0..n as i32).collect();
            let isr: Vec<i32> = replicas.iter().copied().filter(|r| isr_mask & (1 << r) != 0).collect();
            prop_assume!(!isr.is_empty());
            let leader = leader.map(|l| isr[l % isr.len()]);
            let p = state(&replicas, &isr, leader);
            let active = |x: BrokerId| live_mask & (1 << x.get()) != 0;
            let e = after_liveness_change(&p, active, false).unwrap_or(Election { leader: p.leader, isr: p.isr.clone() });
            if let Some(l) = e.leader {
                prop_assert!(p.isr.contains(&l) && active(l), "leader {} outside the active ISR {:?}", l, p.isr);
                prop_assert!(e.isr.contains(&l));
            }
            prop_assert!(!e.isr.is_empty());
            prop_assert!(e.isr.iter().all(|m| p.isr.contains(m)), "the ISR only shrinks");
            let next = PartitionState { replicas: p.replicas.clone(), isr: e.isr.clone(), leader: e.leader, ..p.clone() };
            prop_assert!(next.check().is_ok());
        }
    }
}
