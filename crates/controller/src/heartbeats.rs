//! The broker heartbeat lease, as soft state on the active controller (never in the Raft
//! log, like KRaft's BrokerHeartbeatManager): when each registered broker was last heard
//! from. Time comes in as a parameter, so tests move it by hand.
//!
//! A newly active controller starts every lease afresh at the moment it takes over, so
//! that brokers are not fenced for heartbeats that went to the previous controller.

use std::collections::BTreeMap;

use rill_types::BrokerId;

/// Last heartbeat per broker registration.
#[derive(Debug, Clone)]
pub struct Heartbeats {
    session_timeout_ms: u64,
    last: BTreeMap<BrokerId, Lease>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lease {
    epoch: i64,
    last_ms: u64,
}

impl Heartbeats {
    /// Leases lasting `session_timeout_ms` (Kafka's `broker.session.timeout.ms`, 9000 by default).
    pub fn new(session_timeout_ms: u64) -> Self {
        Self {
            session_timeout_ms,
            last: BTreeMap::new(),
        }
    }

    /// Records a heartbeat (or a registration) of `broker` at `epoch`, at `now_ms`.
    pub fn touch(&mut self, broker: BrokerId, epoch: i64, now_ms: u64) {
        self.last.insert(
            broker,
            Lease {
                epoch,
                last_ms: now_ms,
            },
        );
    }

    /// Forgets a broker (unregistered).
    pub fn remove(&mut self, broker: BrokerId) {
        self.last.remove(&broker);
    }

    /// Restarts every lease in `brokers` at `now_ms` (on becoming the active controller).
    pub fn reset(&mut self, brokers: impl IntoIterator<Item = (BrokerId, i64)>, now_ms: u64) {
        self.last = brokers
            .into_iter()
            .map(|(b, epoch)| {
                (
                    b,
                    Lease {
                        epoch,
                        last_ms: now_ms,
                    },
                )
            })
            .collect();
    }

    /// Whether `broker` holds a lease that has not run out at `now_ms`.
    pub fn is_alive(&self, broker: BrokerId, now_ms: u64) -> bool {
        self.last
            .get(&broker)
            .is_some_and(|lease| now_ms.saturating_sub(lease.last_ms) < self.session_timeout_ms)
    }

    /// Brokers (with the epoch they last heartbeated with) whose lease has run out at `now_ms`.
    pub fn expired(&self, now_ms: u64) -> Vec<(BrokerId, i64)> {
        self.last
            .iter()
            .filter(|(_, lease)| now_ms.saturating_sub(lease.last_ms) >= self.session_timeout_ms)
            .map(|(b, lease)| (*b, lease.epoch))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broker_is_expired_once_its_lease_runs_out() {
        let mut h = Heartbeats::new(9_000);
        h.touch(BrokerId::new(1), 5, 1_000);
        h.touch(BrokerId::new(2), 6, 1_000);
        assert!(h.expired(9_999).is_empty());
        h.touch(BrokerId::new(2), 6, 9_000);
        assert_eq!(h.expired(10_000), vec![(BrokerId::new(1), 5)]);
        h.remove(BrokerId::new(1));
        assert!(h.expired(10_000).is_empty());
        assert_eq!(h.expired(18_000), vec![(BrokerId::new(2), 6)]);
    }

    #[test]
    fn a_new_active_controller_starts_leases_afresh() {
        let mut h = Heartbeats::new(100);
        h.touch(BrokerId::new(1), 1, 0);
        h.reset([(BrokerId::new(1), 1)], 1_000);
        assert!(h.expired(1_099).is_empty());
        assert_eq!(h.expired(1_100).len(), 1);
    }
}
