//! Which cluster this controller belongs to, as far as it knows, and the check every
//! Raft RPC passes: a controller never takes Raft messages from a member of another
//! cluster (a data directory restored on the wrong machine, a voter list pointing at the
//! wrong hosts), so its log is never overwritten by a foreign leader.
//!
//! The id is known from `cluster.id` at start, or learned once the quorum's
//! `ClusterRecord` is applied. Callers send it in the `rill-cluster-id` request
//! metadata; while either side does not know it yet (a forming quorum, a wiped node
//! catching up), messages pass.

use std::sync::{Arc, RwLock};

/// The request metadata key carrying the caller's cluster id.
pub const CLUSTER_ID_HEADER: &str = "rill-cluster-id";

/// This controller's cluster id, shared by its Raft client and server.
#[derive(Debug, Clone, Default)]
pub struct ClusterIdentity(Arc<RwLock<Option<String>>>);

impl ClusterIdentity {
    /// Starts with `known` (from `cluster.id`), if any.
    pub fn new(known: Option<String>) -> Self {
        Self(Arc::new(RwLock::new(known)))
    }

    /// The id, if known.
    pub fn get(&self) -> Option<String> {
        self.0.read().expect("identity lock").clone()
    }

    /// Records the quorum's id once learned.
    pub fn set(&self, id: String) {
        *self.0.write().expect("identity lock") = Some(id);
    }
}

/// Whether a Raft message from a member of cluster `remote` may reach a controller of
/// cluster `local`; the error says why not.
pub fn admit(local: Option<&str>, remote: Option<&str>) -> Result<(), String> {
    match (local, remote) {
        (Some(l), Some(r)) if l != r => Err(format!(
            "this controller belongs to cluster {l}, the caller to cluster {r}; refusing its Raft messages"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_two_known_and_different_ids_are_refused() {
        assert!(admit(Some("a"), Some("a")).is_ok());
        assert!(
            admit(None, Some("a")).is_ok(),
            "a forming or wiped node learns from the leader"
        );
        assert!(
            admit(Some("a"), None).is_ok(),
            "a forming quorum's members do not know it yet"
        );
        assert!(admit(None, None).is_ok());
        assert!(
            admit(Some("a"), Some("b"))
                .unwrap_err()
                .contains("cluster a")
        );
    }
}
