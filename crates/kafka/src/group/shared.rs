//! One [`GroupCoordinator`] per broker, however many front ends serve its groups.
//!
//! The Kafka listeners (through `KafkaContext`) and the gRPC group admin service
//! (`crate::group_admin`) are started at different moments by different code, but must
//! run against the same coordinator: two coordinators over one replica manager would
//! each load the `__consumer_offsets` partitions the broker leads and hold diverging
//! copies of the groups (an admin reset would not see the live members). So the
//! coordinator of a replica manager is looked up here, created by whichever asks first.
//!
//! Entries are keyed by the replica manager's address and hold the coordinator weakly.
//! A live coordinator holds its replica manager, so a live entry's address cannot be
//! reused by another replica manager; dead entries are dropped on every lookup.

use std::sync::{Arc, Mutex, Weak};

use rill_broker::replica_manager::ReplicaManager;

use super::GroupCoordinator;

/// (replica manager address, its coordinator).
type Entries = Vec<(usize, Weak<GroupCoordinator>)>;

static COORDINATORS: Mutex<Entries> = Mutex::new(Vec::new());

impl GroupCoordinator {
    /// The coordinator of `rm` (default limits), created on first use and shared by
    /// every caller while any of them holds it.
    pub fn shared(rm: &Arc<ReplicaManager>) -> Arc<GroupCoordinator> {
        let key = Arc::as_ptr(rm) as usize;
        let mut entries = COORDINATORS.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|(_, w)| w.strong_count() > 0);
        if let Some(c) = entries
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, w)| w.upgrade())
        {
            return c;
        }
        let c = GroupCoordinator::new(rm.clone(), Default::default());
        entries.push((key, Arc::downgrade(&c)));
        c
    }
}
