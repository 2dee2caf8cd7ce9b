//! openraft's own storage conformance suite, run against the sled log store and the
//! metadata state machine. Each case gets a fresh temp dir (the suite builds a new, empty
//! store per case, and two at once for snapshot transfer).
//!
//! A plain `#[test]`: the suite starts a tokio runtime per case itself.

use openraft::StorageError;
use openraft::testing::{StoreBuilder, Suite};
use rill_controller::raft::{MetadataStateMachine, NodeId, SledLogStore, TypeConfig};

struct Builder;

impl StoreBuilder<TypeConfig, SledLogStore, MetadataStateMachine, tempfile::TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, SledLogStore, MetadataStateMachine), StorageError<NodeId>> {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = sled::Config::new()
            .path(dir.path().join("raft"))
            .open()
            .expect("open sled");
        let log = SledLogStore::open(db).expect("open log store");
        let sm = MetadataStateMachine::open(&dir.path().join("sm"))?;
        Ok((dir, log, sm))
    }
}

#[test]
fn sled_log_store_and_metadata_state_machine_pass_openrafts_suite() {
    Suite::test_all(Builder).expect("openraft storage suite");
}
