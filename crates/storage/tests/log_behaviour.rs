//! Log-level behaviour: rolling, retention, delete-records, timestamp lookup, the
//! leader-epoch cache through appends and truncation, follower appends, and refusals.

mod common;

use std::sync::Arc;

use rill_storage::batch::BatchHeader;
use rill_storage::testing::{batch_of_size, batch_with_records};
use rill_storage::{LogConfig, ManualClock, StorageError};
use rill_types::{LeaderEpoch, Offset};

#[test]
fn rolls_on_size_and_on_age() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let config = LogConfig::from_pairs([("segment.bytes", "1000"), ("segment.ms", "500")]).unwrap();
    let mut log = common::open(dir.path(), &config, &clock);
    common::append(&mut log, 1, 400, 0);
    common::append(&mut log, 1, 400, 0);
    assert_eq!(log.segment_count(), 1);
    common::append(&mut log, 1, 400, 0); // would pass 1000 bytes
    assert_eq!(log.segment_count(), 2);
    clock.advance(499);
    common::append(&mut log, 1, 10, 0);
    assert_eq!(log.segment_count(), 2);
    clock.advance(1);
    common::append(&mut log, 1, 10, 0);
    assert_eq!(log.segment_count(), 3);
    assert_eq!(
        log.segment_bases(),
        vec![Offset::new(0), Offset::new(2), Offset::new(4)]
    );
}

#[test]
fn retention_by_time_and_size_deletes_whole_sealed_segments_only() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let config =
        LogConfig::from_pairs([("segment.bytes", "1000"), ("retention.ms", "1000")]).unwrap();
    let mut log = common::open(dir.path(), &config, &clock);
    for ts in [100, 200, 300, 400, 500, 600] {
        common::append(&mut log, 1, 400, ts); // two per segment
    }
    assert_eq!(log.segment_count(), 3);
    let hw = log.log_end_offset();
    clock.set(1_250); // segment 0's newest record (200) is older than 1000 ms
    let outcome = log.apply_retention(hw).unwrap();
    assert_eq!(outcome.segments_deleted, 1);
    assert_eq!(log.log_start_offset(), Offset::new(2));
    clock.set(100_000); // everything expired, but the active segment stays
    log.apply_retention(hw).unwrap();
    assert_eq!(log.segment_count(), 1);
    assert_eq!(log.log_start_offset(), Offset::new(4));
    let err = log.read(Offset::new(3), 100, hw).unwrap_err();
    assert!(
        matches!(err, StorageError::OffsetOutOfRange { .. }),
        "{err}"
    );
    // No segment files of deleted segments remain.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("000"))
        .collect();
    assert!(
        names.iter().all(|n| n.starts_with("00000000000000000004")),
        "{names:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig::from_pairs([
        ("segment.bytes", "1000"),
        ("retention.bytes", "1500"),
        ("retention.ms", "-1"),
    ])
    .unwrap();
    let mut log = common::open(dir.path(), &config, &clock);
    for _ in 0..6 {
        common::append(&mut log, 1, 400, 0);
    }
    // ~2.8 KB in 3 segments; keeping at least 1500 bytes allows deleting one.
    let outcome = log.apply_retention(log.log_end_offset()).unwrap();
    assert_eq!(outcome.segments_deleted, 1);
    assert!(log.size_bytes() >= 1500);
}

#[test]
fn retention_never_deletes_above_the_high_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let config = LogConfig::from_pairs([("segment.bytes", "1000"), ("retention.ms", "0")]).unwrap();
    let mut log = common::open(dir.path(), &config, &clock);
    for _ in 0..6 {
        common::append(&mut log, 1, 400, 0);
    }
    clock.set(10_000);
    log.apply_retention(Offset::new(3)).unwrap();
    assert_eq!(log.log_start_offset(), Offset::new(2));
}

#[test]
fn delete_records_moves_the_log_start_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let config = LogConfig::from_pairs([("segment.bytes", "1000")]).unwrap();
    let mut log = common::open(dir.path(), &config, &clock);
    for _ in 0..6 {
        common::append(&mut log, 2, 200, 0);
    }
    assert_eq!(log.delete_records(Offset::new(5)).unwrap(), Offset::new(5));
    assert_eq!(log.log_start_offset(), Offset::new(5));
    // A read at the new start returns the batch holding it (offsets 4..5).
    let got = log.read(Offset::new(5), 10, log.log_end_offset()).unwrap();
    assert_eq!(
        common::batches(&got.records)[0].0.base_offset,
        Offset::new(4)
    );
    let err = log.delete_records(Offset::new(99)).unwrap_err();
    assert!(matches!(err, StorageError::InvalidOffset { .. }), "{err}");
    log.close().unwrap();
    let log = common::open(dir.path(), &config, &clock);
    assert_eq!(log.log_start_offset(), Offset::new(5));
    assert!(log.read(Offset::new(4), 10, log.log_end_offset()).is_err());
}

#[test]
fn timestamp_lookup_finds_the_first_record_at_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let config =
        LogConfig::from_pairs([("segment.bytes", "1000"), ("index.interval.bytes", "100")])
            .unwrap();
    let mut log = common::open(dir.path(), &config, &clock);
    // Batches of 3 records at ts, ts+1, ts+2 for ts = 100, 200, ...
    for i in 0..10 {
        let records = [
            (None, Some(&b"a"[..])),
            (None, Some(&b"b"[..])),
            (None, Some(&b"c"[..])),
        ];
        let mut batch = batch_with_records(&records, 100 * (i + 1));
        log.append_as_leader(&mut batch, LeaderEpoch::new(0))
            .unwrap();
    }
    assert_eq!(
        log.offset_for_timestamp(0).unwrap(),
        Some((Offset::new(0), 100))
    );
    assert_eq!(
        log.offset_for_timestamp(101).unwrap(),
        Some((Offset::new(1), 101))
    );
    assert_eq!(
        log.offset_for_timestamp(150).unwrap(),
        Some((Offset::new(3), 200))
    );
    assert_eq!(
        log.offset_for_timestamp(1002).unwrap(),
        Some((Offset::new(29), 1002))
    );
    assert_eq!(log.offset_for_timestamp(1003).unwrap(), None);
}

#[test]
fn log_append_time_is_stamped() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(777));
    let config = LogConfig::from_pairs([("message.timestamp.type", "LogAppendTime")]).unwrap();
    let mut log = common::open(dir.path(), &config, &clock);
    let mut batch = batch_of_size(2, 10, 5);
    let info = log
        .append_as_leader(&mut batch, LeaderEpoch::new(0))
        .unwrap();
    assert_eq!(info.log_append_time, Some(777));
    let got = log.read(Offset::ZERO, 1000, log.log_end_offset()).unwrap();
    let header = BatchHeader::parse(&got.records).unwrap();
    assert_eq!(header.max_timestamp, 777);
    assert!(header.crc_matches(&got.records));
    assert_eq!(
        log.offset_for_timestamp(700).unwrap(),
        Some((Offset::ZERO, 777))
    );
}

#[test]
fn leader_epochs_follow_appends_and_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let mut log = common::open(dir.path(), &common::small_config(), &clock);
    for epoch in [0, 0, 2, 2, 5] {
        let mut batch = batch_of_size(2, 10, 0);
        log.append_as_leader(&mut batch, LeaderEpoch::new(epoch))
            .unwrap();
    }
    let e = LeaderEpoch::new;
    assert_eq!(log.end_offset_for_epoch(e(0)), Some((e(0), Offset::new(4))));
    assert_eq!(log.end_offset_for_epoch(e(1)), Some((e(0), Offset::new(4))));
    assert_eq!(log.end_offset_for_epoch(e(2)), Some((e(2), Offset::new(8))));
    assert_eq!(
        log.end_offset_for_epoch(e(7)),
        Some((e(5), Offset::new(10)))
    );
    // A follower whose log diverged truncates to the leader's end of epoch 2.
    log.truncate_to(Offset::new(8)).unwrap();
    assert_eq!(log.latest_epoch(), Some(e(2)));
    assert_eq!(log.end_offset_for_epoch(e(5)), Some((e(2), Offset::new(8))));
    drop(log);
    let log = common::open(dir.path(), &common::small_config(), &clock);
    assert_eq!(log.latest_epoch(), Some(e(2)));
    assert_eq!(log.log_end_offset(), Offset::new(8));
}

#[test]
fn follower_appends_keep_offsets_and_epochs_and_refuse_going_back() {
    let leader_dir = tempfile::tempdir().unwrap();
    let follower_dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let mut leader = common::open(leader_dir.path(), &common::small_config(), &clock);
    let mut follower = common::open(follower_dir.path(), &common::small_config(), &clock);
    for epoch in [1, 1, 3] {
        let mut batch = batch_of_size(2, 10, 0);
        leader
            .append_as_leader(&mut batch, LeaderEpoch::new(epoch))
            .unwrap();
    }
    let fetched = leader
        .read(Offset::ZERO, 1 << 20, leader.log_end_offset())
        .unwrap();
    follower.append_as_follower(&fetched.records).unwrap();
    assert_eq!(follower.log_end_offset(), leader.log_end_offset());
    assert_eq!(follower.latest_epoch(), Some(LeaderEpoch::new(3)));
    let copy = follower
        .read(Offset::ZERO, 1 << 20, follower.log_end_offset())
        .unwrap();
    assert_eq!(copy.records, fetched.records);
    let err = follower.append_as_follower(&fetched.records).unwrap_err();
    assert!(
        matches!(err, StorageError::NonMonotonicOffset { .. }),
        "{err}"
    );
}

#[test]
fn bad_batches_are_refused_and_nothing_is_appended() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let config = LogConfig::from_pairs([("max.message.bytes", "500")]).unwrap();
    let mut log = common::open(dir.path(), &config, &clock);
    let mut big = batch_of_size(1, 600, 0);
    let err = log
        .append_as_leader(&mut big, LeaderEpoch::new(0))
        .unwrap_err();
    assert!(
        matches!(err, StorageError::BatchTooLarge { max: 500, .. }),
        "{err}"
    );

    let good = batch_of_size(1, 10, 0);
    let mut corrupt = good.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 1;
    let mut two = good.clone();
    two.extend_from_slice(&corrupt);
    let err = log
        .append_as_leader(&mut two, LeaderEpoch::new(0))
        .unwrap_err();
    assert!(
        matches!(err, StorageError::InvalidBatch { position, .. } if position == good.len()),
        "{err}"
    );
    let mut torn = good[..good.len() - 3].to_vec();
    assert!(
        log.append_as_leader(&mut torn, LeaderEpoch::new(0))
            .is_err()
    );
    assert!(log.append_as_leader(&mut [], LeaderEpoch::new(0)).is_err());
    assert_eq!(log.log_end_offset(), Offset::ZERO);
    assert_eq!(log.size_bytes(), 0);
}

#[test]
fn readers_on_other_threads_never_see_a_partial_batch() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let config = LogConfig::from_pairs([("segment.bytes", "20000")]).unwrap();
    let mut log = common::open(dir.path(), &config, &clock);
    let reader = log.reader();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_reader = stop.clone();
    let handle = std::thread::spawn(move || {
        let mut reads = 0u64;
        while !stop_reader.load(std::sync::atomic::Ordering::Relaxed) {
            let Ok(result) = reader.read(Offset::ZERO, 1 << 20, Offset::new(i64::MAX)) else {
                continue;
            };
            let mut at = 0;
            while at < result.records.len() {
                let header = BatchHeader::parse(&result.records[at..]).expect("whole header");
                let bytes = &result.records[at..at + header.total_size()];
                assert!(
                    header.crc_matches(bytes),
                    "reader saw a partial or torn batch"
                );
                at += header.total_size();
            }
            reads += 1;
        }
        reads
    });
    for _ in 0..2_000 {
        common::append(&mut log, 3, 100, 0);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = handle.join().unwrap();
    assert!(reads > 0);
}
