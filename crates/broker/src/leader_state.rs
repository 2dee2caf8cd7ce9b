//! [`LeaderState`]: the pure core of a partition leader — follower progress, the high
//! watermark and the ISR decisions. No I/O, no clock: callers pass `now_ms`.
//!
//! Invariants:
//! - the high watermark never moves backwards while this state lives (one leader epoch);
//! - it is the minimum log end offset over the *maximal* ISR (the committed ISR plus a
//!   pending expansion), and it does not move until every member has fetched once in
//!   this epoch (a member's log end is unknown until then);
//! - an ISR change is only proposed here; it takes effect when the controller's answer
//!   (or a metadata record) arrives through [`LeaderState::apply_isr`]. A shrink never
//!   lowers the set the high watermark is computed over before it is committed.

use std::collections::BTreeMap;

use rill_types::{BrokerId, LeaderEpoch, Offset, PartitionEpoch};

/// What the leader knows of one follower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowerProgress {
    /// The follower's log end offset (its last fetch offset); `None` until it fetched in
    /// this epoch.
    pub log_end: Option<Offset>,
    /// The last time the follower was caught up with the leader (Kafka's
    /// lastCaughtUpTimeMs).
    pub last_caught_up_ms: i64,
    /// The leader's log end at the follower's previous fetch, and that fetch's time.
    last_fetch_leader_end: Offset,
    last_fetch_ms: i64,
    /// The broker epoch (registration) of the incarnation that fetched; 0 before.
    pub broker_epoch: i64,
}

/// A partition's leader-side state for one leader epoch.
#[derive(Debug, Clone)]
pub struct LeaderState {
    /// The epoch this broker leads in.
    pub leader_epoch: LeaderEpoch,
    /// The partition epoch of the ISR in force.
    pub partition_epoch: PartitionEpoch,
    /// This broker.
    pub leader: BrokerId,
    /// The committed ISR (contains the leader).
    pub isr: Vec<BrokerId>,
    /// An ISR sent to the controller and not yet answered.
    pub pending_isr: Option<Vec<BrokerId>>,
    /// Every replica but the leader.
    pub followers: BTreeMap<BrokerId, FollowerProgress>,
    /// The log end offset when this epoch began: a follower must reach it to join the ISR.
    pub epoch_start_offset: Offset,
    high_watermark: Offset,
}

impl LeaderState {
    /// The state of a new leadership: `replicas` (with the leader), the committed `isr`,
    /// the leader's log end and its last known high watermark.
    #[allow(clippy::too_many_arguments)] // one plain constructor of plain facts
    pub fn new(
        leader: BrokerId,
        leader_epoch: LeaderEpoch,
        partition_epoch: PartitionEpoch,
        replicas: &[BrokerId],
        isr: Vec<BrokerId>,
        log_end: Offset,
        high_watermark: Offset,
        now_ms: i64,
    ) -> Self {
        let followers = replicas
            .iter()
            .filter(|b| **b != leader)
            .map(|b| {
                (
                    *b,
                    FollowerProgress {
                        log_end: None,
                        // Kafka gives every follower a full lag period from the election.
                        last_caught_up_ms: now_ms,
                        last_fetch_leader_end: Offset::new(0),
                        last_fetch_ms: now_ms,
                        broker_epoch: 0,
                    },
                )
            })
            .collect();
        Self {
            leader_epoch,
            partition_epoch,
            leader,
            isr,
            pending_isr: None,
            followers,
            epoch_start_offset: log_end,
            high_watermark: high_watermark.min(log_end),
        }
    }

    /// The high watermark.
    pub fn high_watermark(&self) -> Offset {
        self.high_watermark
    }

    /// The members the high watermark waits for: the ISR and a pending expansion.
    fn maximal_isr(&self) -> impl Iterator<Item = BrokerId> + '_ {
        let pending = self.pending_isr.iter().flatten();
        self.isr
            .iter()
            .chain(pending.filter(|b| !self.isr.contains(b)))
            .copied()
    }

    /// Recomputes the high watermark from `leader_end`; returns whether it advanced.
    pub fn update_high_watermark(&mut self, leader_end: Offset) -> bool {
        let mut candidate = leader_end;
        for member in self.maximal_isr() {
            if member == self.leader {
                continue;
            }
            match self.followers.get(&member).and_then(|f| f.log_end) {
                Some(end) => candidate = candidate.min(end),
                None => return false,
            }
        }
        if candidate > self.high_watermark {
            self.high_watermark = candidate;
            true
        } else {
            false
        }
    }

    /// Records a follower's fetch at `fetch_offset` (its log end) while the leader's log
    /// ends at `leader_end`. Returns whether the high watermark advanced.
    /// `broker_epoch` names the follower's incarnation: what an earlier one fetched says
    /// nothing of a restarted follower's log, so a new incarnation starts over.
    pub fn on_follower_fetch(
        &mut self,
        follower: BrokerId,
        broker_epoch: i64,
        fetch_offset: Offset,
        leader_end: Offset,
        now_ms: i64,
    ) -> bool {
        let Some(progress) = self.followers.get_mut(&follower) else {
            return false;
        };
        if progress.broker_epoch != broker_epoch {
            progress.broker_epoch = broker_epoch;
            progress.log_end = None;
            progress.last_fetch_leader_end = Offset::new(0);
        }
        // Kafka's rule: caught up now if it has everything; caught up as of its previous
        // fetch if it has everything the leader had then.
        if fetch_offset >= leader_end {
            progress.last_caught_up_ms = now_ms;
        } else if fetch_offset >= progress.last_fetch_leader_end {
            progress.last_caught_up_ms = progress.last_caught_up_ms.max(progress.last_fetch_ms);
        }
        progress.last_fetch_leader_end = leader_end;
        progress.last_fetch_ms = now_ms;
        progress.log_end = Some(fetch_offset.min(leader_end));
        self.update_high_watermark(leader_end)
    }

    /// The ISR to propose, if any: shrink away members not caught up for longer than
    /// `lag_max_ms`, else add one follower that reached the high watermark and this
    /// epoch's start (`eligible(broker, broker epoch it fetched with)` says which may
    /// join: the current, unfenced registration).
    /// Nothing while a proposal is pending.
    pub fn isr_proposal(
        &self,
        now_ms: i64,
        lag_max_ms: i64,
        eligible: impl Fn(BrokerId, i64) -> bool,
    ) -> Option<Vec<BrokerId>> {
        if self.pending_isr.is_some() {
            return None;
        }
        let lagging: Vec<BrokerId> = self
            .isr
            .iter()
            .copied()
            .filter(|b| *b != self.leader)
            .filter(|b| {
                self.followers
                    .get(b)
                    .is_none_or(|f| now_ms - f.last_caught_up_ms > lag_max_ms)
            })
            .collect();
        if !lagging.is_empty() {
            return Some(
                self.isr
                    .iter()
                    .copied()
                    .filter(|b| !lagging.contains(b))
                    .collect(),
            );
        }
        let joining = self.followers.iter().find(|(b, f)| {
            !self.isr.contains(b)
                && eligible(**b, f.broker_epoch)
                && f.log_end
                    .is_some_and(|end| end >= self.high_watermark && end >= self.epoch_start_offset)
        })?;
        let mut isr = self.isr.clone();
        isr.push(*joining.0);
        Some(isr)
    }

    /// Applies a committed ISR (the controller's answer or a metadata record) if its
    /// partition epoch is newer; clears a pending proposal it answers.
    pub fn apply_isr(&mut self, isr: Vec<BrokerId>, partition_epoch: PartitionEpoch) -> bool {
        if partition_epoch <= self.partition_epoch {
            return false;
        }
        self.partition_epoch = partition_epoch;
        self.isr = isr;
        self.pending_isr = None;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(i: i32) -> BrokerId {
        BrokerId::new(i)
    }
    fn o(i: i64) -> Offset {
        Offset::new(i)
    }

    fn state() -> LeaderState {
        LeaderState::new(
            b(1),
            LeaderEpoch::new(3),
            PartitionEpoch::new(5),
            &[b(1), b(2), b(3)],
            vec![b(1), b(2), b(3)],
            o(10),
            o(4),
            1_000,
        )
    }

    #[test]
    fn high_watermark_waits_for_every_member_then_takes_the_minimum() {
        let mut s = state();
        assert_eq!(s.high_watermark(), o(4));
        assert!(
            !s.update_high_watermark(o(12)),
            "members have not fetched yet"
        );
        assert!(!s.on_follower_fetch(b(2), 1, o(12), o(12), 1_001));
        assert!(s.on_follower_fetch(b(3), 1, o(8), o(12), 1_002));
        assert_eq!(s.high_watermark(), o(8));
        // Never backwards, even if a follower reports less (it truncated).
        s.on_follower_fetch(b(3), 1, o(6), o(12), 1_003);
        assert_eq!(s.high_watermark(), o(8));
    }

    #[test]
    fn a_lone_leader_advances_with_its_own_log() {
        let mut s = LeaderState::new(
            b(1),
            LeaderEpoch::new(0),
            PartitionEpoch::new(0),
            &[b(1)],
            vec![b(1)],
            o(0),
            o(0),
            0,
        );
        assert!(s.update_high_watermark(o(3)));
        assert_eq!(s.high_watermark(), o(3));
    }

    #[test]
    fn a_lagging_follower_is_shrunk_after_the_lag_time_and_not_before() {
        let mut s = state();
        s.on_follower_fetch(b(2), 1, o(10), o(10), 1_000);
        s.on_follower_fetch(b(3), 1, o(10), o(10), 1_000);
        // b3 stops fetching; b2 keeps up.
        s.on_follower_fetch(b(2), 1, o(20), o(20), 30_000);
        assert_eq!(s.isr_proposal(30_000, 30_000, |_, _| true), None);
        s.on_follower_fetch(b(2), 1, o(20), o(20), 31_001);
        assert_eq!(
            s.isr_proposal(31_001, 30_000, |_, _| true),
            Some(vec![b(1), b(2)])
        );
    }

    #[test]
    fn a_shrink_does_not_lower_the_high_watermark_set_before_it_commits() {
        let mut s = state();
        s.on_follower_fetch(b(2), 1, o(10), o(10), 1_000);
        s.on_follower_fetch(b(3), 1, o(10), o(10), 1_000);
        s.pending_isr = Some(vec![b(1), b(2)]);
        s.on_follower_fetch(b(2), 1, o(15), o(15), 2_000);
        assert_eq!(s.high_watermark(), o(10), "b3 is still in the ISR");
        assert!(s.apply_isr(vec![b(1), b(2)], PartitionEpoch::new(6)));
        assert!(s.update_high_watermark(o(15)));
        assert_eq!(s.high_watermark(), o(15));
    }

    #[test]
    fn a_follower_joins_once_it_reaches_the_high_watermark_and_the_epoch_start() {
        let mut s = LeaderState::new(
            b(1),
            LeaderEpoch::new(3),
            PartitionEpoch::new(5),
            &[b(1), b(2), b(3)],
            vec![b(1), b(2)],
            o(10),
            o(10),
            0,
        );
        s.on_follower_fetch(b(2), 1, o(10), o(10), 1);
        s.on_follower_fetch(b(3), 1, o(9), o(10), 1);
        assert_eq!(s.isr_proposal(1, 30_000, |_, _| true), None);
        s.on_follower_fetch(b(3), 1, o(10), o(10), 2);
        assert_eq!(s.isr_proposal(2, 30_000, |_, _| false), None, "ineligible");
        assert_eq!(
            s.isr_proposal(2, 30_000, |_, _| true),
            Some(vec![b(1), b(2), b(3)])
        );
        s.pending_isr = Some(vec![b(1), b(2), b(3)]);
        assert_eq!(
            s.isr_proposal(2, 30_000, |_, _| true),
            None,
            "one at a time"
        );
        assert!(!s.apply_isr(vec![b(1)], PartitionEpoch::new(5)), "stale");
    }

    #[test]
    fn a_restarted_follower_starts_over() {
        let mut s = LeaderState::new(
            b(1),
            LeaderEpoch::new(3),
            PartitionEpoch::new(5),
            &[b(1), b(2)],
            vec![b(1)],
            o(10),
            o(10),
            0,
        );
        s.on_follower_fetch(b(2), 1, o(10), o(10), 1);
        // Broker 2 re-registered (epoch 7): what incarnation 1 had says nothing.
        let current = |_: BrokerId, epoch: i64| epoch == 7;
        assert_eq!(s.isr_proposal(2, 30_000, current), None);
        s.on_follower_fetch(b(2), 7, o(4), o(10), 3);
        assert_eq!(s.followers[&b(2)].log_end, Some(o(4)));
        assert_eq!(s.isr_proposal(3, 30_000, current), None, "behind the HW");
        s.on_follower_fetch(b(2), 7, o(10), o(10), 4);
        assert_eq!(s.isr_proposal(4, 30_000, current), Some(vec![b(1), b(2)]));
    }
}
