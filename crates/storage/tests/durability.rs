//! Durability: group commit, flush policy, and an fsync error failing the log for good.

mod common;

use std::sync::Arc;

use rill_storage::{Clock, Disk, FaultyDisk, Log, LogConfig, ManualClock, StorageError};
use rill_types::{LeaderEpoch, Offset};

fn open_faulty(
    dir: &std::path::Path,
    config: LogConfig,
) -> (Log, Arc<FaultyDisk>, Arc<ManualClock>) {
    let disk = Arc::new(FaultyDisk::default());
    let clock = Arc::new(ManualClock::new(1_000));
    let log = Log::open(
        dir,
        config,
        clock.clone() as Arc<dyn Clock>,
        disk.clone() as Arc<dyn Disk>,
    )
    .unwrap();
    (log, disk, clock)
}

#[test]
fn one_flush_covers_every_append_since_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, disk, _) = open_faulty(dir.path(), LogConfig::default());
    // The first append of epoch 0 writes the leader-epoch checkpoint (one fsync).
    let mut last = common::append(&mut log, 2, 50, 1).1;
    let before = disk.file_syncs();
    for _ in 0..49 {
        last = common::append(&mut log, 2, 50, 1).1;
    }
    assert_eq!(
        disk.file_syncs(),
        before,
        "Kafka's default leaves flushing to the OS"
    );
    assert!(log.recovery_point() <= Offset::ZERO);
    log.flush_up_to(last.next()).unwrap();
    // One segment: one fsync of its .log (indexes are rebuildable and not synced here).
    assert_eq!(disk.file_syncs(), before + 1);
    assert_eq!(log.recovery_point(), last.next());
    // A second caller whose batch the flush already covered costs nothing.
    log.flush_up_to(Offset::new(10)).unwrap();
    assert_eq!(disk.file_syncs(), before + 1);
}

#[test]
fn flush_messages_one_fsyncs_before_append_returns() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig::from_pairs([("flush.messages", "1")]).unwrap();
    let (mut log, disk, _) = open_faulty(dir.path(), config);
    for i in 1..=5u64 {
        let before = disk.file_syncs();
        let (_, last, _) = common::append(&mut log, 1, 10, 1);
        assert!(
            disk.file_syncs() > before,
            "append {i} returned before an fsync"
        );
        assert_eq!(log.recovery_point(), last.next());
    }
}

#[test]
fn flush_ms_flushes_once_due() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig::from_pairs([("flush.ms", "100")]).unwrap();
    let (mut log, disk, clock) = open_faulty(dir.path(), config);
    common::append(&mut log, 1, 10, 1);
    let before = disk.file_syncs();
    clock.advance(50);
    log.maybe_flush().unwrap();
    assert_eq!(disk.file_syncs(), before);
    clock.advance(50);
    log.maybe_flush().unwrap();
    assert!(disk.file_syncs() > before);
    assert_eq!(log.recovery_point(), log.log_end_offset());
}

#[test]
fn an_fsync_error_fails_the_log_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, disk, _) = open_faulty(dir.path(), LogConfig::default());
    common::append(&mut log, 1, 10, 1);
    disk.set_failing(true);
    let err = log.flush().unwrap_err();
    assert!(err.to_string().contains("injected fsync failure"), "{err}");
    // The disk recovers, but the log must not: no retry, no carrying on.
    disk.set_failing(false);
    let again = log.flush().unwrap_err();
    assert!(matches!(again, StorageError::LogFailed { .. }), "{again}");
    let mut batch = rill_storage::testing::batch_of_size(1, 10, 1);
    let append = log
        .append_as_leader(&mut batch, LeaderEpoch::new(0))
        .unwrap_err();
    assert!(matches!(append, StorageError::LogFailed { .. }), "{append}");
    let read = log.read(Offset::ZERO, 100, Offset::new(1)).unwrap_err();
    assert!(matches!(read, StorageError::LogFailed { .. }), "{read}");
    assert!(log.failure().is_some());
    drop(log);
    // Reopening recovers from what is on disk.
    let (log, _, _) = open_faulty(dir.path(), LogConfig::default());
    assert_eq!(log.log_end_offset(), Offset::new(1));
}

#[test]
fn clean_close_is_trusted_and_leaves_no_marker_behind_after_open() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _, _) = open_faulty(dir.path(), LogConfig::default());
    common::append(&mut log, 3, 10, 1);
    log.close().unwrap();
    assert!(dir.path().join(rill_storage::CLEAN_SHUTDOWN_FILE).exists());
    let (log, _, _) = open_faulty(dir.path(), LogConfig::default());
    assert!(!dir.path().join(rill_storage::CLEAN_SHUTDOWN_FILE).exists());
    assert_eq!(log.log_end_offset(), Offset::new(3));
    assert_eq!(log.recovery_point(), Offset::new(3));
}

/// The leader-epoch cache is durable before the batches that start a new epoch: an
/// append that fails (or a process killed) while the epoch checkpoint is being written
/// must not leave, after a restart, batches of an epoch the cache does not know. A
/// follower restarted with such a log sends no last-fetched epoch, so its leader cannot
/// see the divergence and the follower keeps batches no other replica has (seen in
/// `leader_killed_every_five_seconds`: one replica's batch at offset 0 carried epoch 0,
/// the others' epoch 1).
#[test]
fn a_failed_epoch_checkpoint_leaves_no_batch_of_an_unknown_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, disk, _) = open_faulty(dir.path(), LogConfig::default());
    disk.set_failing(true);
    let mut batch = rill_storage::testing::batch_of_size(3, 20, 1);
    assert!(
        log.append_as_leader(&mut batch, LeaderEpoch::new(0))
            .is_err(),
        "the epoch checkpoint's fsync failed"
    );
    drop(log);

    let (mut log, _, _) = open_faulty(dir.path(), LogConfig::default());
    let end = log.log_end_offset();
    let epoch = log.latest_epoch();
    assert!(
        end == Offset::ZERO || epoch == Some(LeaderEpoch::new(0)),
        "after the restart the log ends at {end} but the epoch cache's latest epoch is {epoch:?}"
    );
    // The log is usable again, and the epoch is recorded with its first batch.
    let mut batch = rill_storage::testing::batch_of_size(3, 20, 1);
    let info = log
        .append_as_leader(&mut batch, LeaderEpoch::new(1))
        .unwrap();
    assert_eq!(
        log.end_offset_for_epoch(LeaderEpoch::new(1)),
        Some((LeaderEpoch::new(1), info.last_offset.next()))
    );
    drop(log);
    let (log, _, _) = open_faulty(dir.path(), LogConfig::default());
    assert_eq!(log.latest_epoch(), Some(LeaderEpoch::new(1)));
}
