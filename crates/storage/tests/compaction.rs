//! Compaction: the latest record per key survives in sealed segments, offsets are kept
//! (with gaps), tombstones go after delete.retention.ms, compressed batches stay
//! compressed, the key map's budget is honoured, and a crash in the middle of a swap
//! leaves the old or the new segment, whole.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use kafka_protocol::records::Compression;
use rill_storage::batch::BatchHeader;
use rill_storage::testing::{DecodedRecord, KeyValue, batch_with_compression, decode_all};
use rill_storage::{Log, LogConfig, ManualClock};
use rill_types::{LeaderEpoch, Offset};

fn config(extra: &[(&str, &str)]) -> LogConfig {
    let mut pairs = vec![
        ("cleanup.policy", "compact"),
        ("segment.bytes", "300"),
        ("index.interval.bytes", "100"),
        ("delete.retention.ms", "1000"),
    ];
    pairs.extend_from_slice(extra);
    LogConfig::from_pairs(pairs).unwrap()
}

/// Appends one batch of `records` (key, value; `None` value = tombstone).
fn put(log: &mut Log, records: &[(&str, Option<&str>)], compression: Compression, ts: i64) {
    let records: Vec<KeyValue<'_>> = records
        .iter()
        .map(|(k, v)| (Some(k.as_bytes()), v.map(str::as_bytes)))
        .collect();
    let mut batch = batch_with_compression(&records, ts, compression);
    log.append_as_leader(&mut batch, LeaderEpoch::new(4))
        .unwrap();
}

fn everything(log: &Log) -> Vec<DecodedRecord> {
    let bytes: Vec<u8> = common::read_all(log, log.log_start_offset())
        .into_iter()
        .flat_map(|(_, b)| b)
        .collect();
    decode_all(&bytes)
}

/// Writes 6 rounds of keys k0..k4 (value "<key>-<round>") in batches of 5.
fn fill(log: &mut Log, compression: Compression) -> Vec<DecodedRecord> {
    for round in 0..6 {
        let values: Vec<String> = (0..5).map(|k| format!("k{k}-{round}")).collect();
        let keys: Vec<String> = (0..5).map(|k| format!("k{k}")).collect();
        let records: Vec<(&str, Option<&str>)> = keys
            .iter()
            .zip(&values)
            .map(|(k, v)| (k.as_str(), Some(v.as_str())))
            .collect();
        put(log, &records, compression, 100 + round);
    }
    everything(log)
}

/// What compaction must leave: in sealed segments only the last record per key among the
/// sealed segments (the cleaner never reads the active one), everything from the active
/// segment on.
fn expected_after(before: &[DecodedRecord], active_base: Offset) -> Vec<DecodedRecord> {
    let mut latest: BTreeMap<Vec<u8>, i64> = BTreeMap::new();
    for (offset, key, _) in before.iter().filter(|r| r.0 < active_base.get()) {
        latest.insert(key.clone().unwrap(), *offset);
    }
    before
        .iter()
        .filter(|(offset, key, _)| {
            *offset >= active_base.get() || latest[key.as_ref().unwrap()] == *offset
        })
        .cloned()
        .collect()
}

fn active_base(log: &Log) -> Offset {
    *log.segment_bases().last().unwrap()
}

#[test]
fn keeps_the_latest_record_per_key_with_offsets_preserved() {
    for compression in [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(0));
        let mut log = common::open(dir.path(), &config(&[]), &clock);
        let before = fill(&mut log, compression);
        assert!(
            log.segment_count() >= 3,
            "{compression:?}: {} segments",
            log.segment_count()
        );
        let active = active_base(&log);
        let stats = log.compact(true).unwrap();
        assert!(
            stats.ran && stats.records_superseded > 0,
            "{compression:?}: {stats:?}"
        );
        assert!(stats.bytes_after < stats.bytes_before);
        let after = everything(&log);
        assert_eq!(after, expected_after(&before, active), "{compression:?}");
        assert_every_offset_reads_its_batch(&log);

        // Every stored batch is valid, keeps its compression and leader epoch.
        for (header, bytes) in common::read_all(&log, Offset::ZERO) {
            assert!(header.crc_matches(&bytes));
            assert_eq!(header.leader_epoch, LeaderEpoch::new(4));
            assert_eq!(header.compression(), compression as i16, "{compression:?}");
            assert_eq!(header.base_sequence, -1);
        }
        // A read from an offset that compaction removed returns the next batch.
        let gone = before.iter().find(|r| !after.contains(r)).unwrap().0;
        let got = log
            .read(Offset::new(gone), 1, log.log_end_offset())
            .unwrap();
        let first = BatchHeader::parse(&got.records).unwrap();
        assert!(first.last_offset().get() >= gone);
        // And it all survives a reopen, clean or not.
        drop(log);
        let log = common::open(dir.path(), &config(&[]), &clock);
        assert_eq!(everything(&log), expected_after(&before, active));
    }
}

#[test]
fn tombstones_stay_for_delete_retention_then_go() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let mut log = common::open(dir.path(), &config(&[]), &clock);
    put(
        &mut log,
        &[("a", Some("1")), ("b", Some("1"))],
        Compression::None,
        10,
    );
    put(&mut log, &[("a", None)], Compression::None, 20);
    for i in 0..12 {
        put(
            &mut log,
            &[("filler", Some(&"x".repeat(100)))],
            Compression::None,
            30 + i,
        );
    }
    clock.set(500);
    log.compact(true).unwrap();
    let after = everything(&log);
    assert!(
        after.contains(&(2, Some(b"a".to_vec()), None)),
        "tombstone kept within retention"
    );
    assert!(
        !after
            .iter()
            .any(|r| r.1.as_deref() == Some(b"a") && r.2.is_some())
    );
    assert!(after.contains(&(1, Some(b"b".to_vec()), Some(b"1".to_vec()))));

    clock.set(5_000); // the tombstone's segment is now older than delete.retention.ms
    put(&mut log, &[("b", Some("2"))], Compression::None, 4_000);
    log.roll().unwrap();
    let stats = log.compact(true).unwrap();
    assert_eq!(stats.tombstones_dropped, 1, "{stats:?}");
    let after = everything(&log);
    assert!(
        !after.iter().any(|r| r.1.as_deref() == Some(b"a")),
        "{after:?}"
    );
    assert!(!after.iter().any(|r| r.0 == 1), "old b superseded");
}

#[test]
fn a_small_key_map_compacts_in_several_passes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    // Room for about 4 keys at a time.
    let mut log = common::open(
        dir.path(),
        &config(&[("log.cleaner.dedupe.buffer.size", "1024")]),
        &clock,
    );
    let mut before = Vec::new();
    for round in 0..4 {
        for key in 0..12 {
            let k = format!("key-{key:03}-{}", "p".repeat(150));
            let v = format!("v{round}");
            put(&mut log, &[(&k, Some(&v))], Compression::None, round);
        }
    }
    before.extend(everything(&log));
    let active = active_base(&log);
    let mut passes = 0;
    let mut last_end = Offset::ZERO;
    loop {
        let stats = log.compact(true).unwrap();
        if !stats.ran {
            break;
        }
        assert!(stats.cleaned_up_to > last_end, "each pass makes progress");
        last_end = stats.cleaned_up_to;
        passes += 1;
        assert!(passes < 100);
    }
    assert!(
        passes > 1,
        "budget should force several passes, got {passes}"
    );
    assert_eq!(everything(&log), expected_after(&before, active));
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_crash_in_the_middle_of_a_swap_leaves_old_or_new_whole() {
    // Build a log, then a compacted copy of it, to have both versions of a segment.
    let original = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let mut log = common::open(original.path(), &config(&[]), &clock);
    let before = fill(&mut log, Compression::None);
    let active = active_base(&log);
    log.close().unwrap();
    let compacted = tempfile::tempdir().unwrap();
    for name in names(original.path()) {
        fs::copy(original.path().join(&name), compacted.path().join(&name)).unwrap();
    }
    let mut copy = common::open(compacted.path(), &config(&[]), &clock);
    copy.compact(true).unwrap();
    copy.close().unwrap();
    let first = "00000000000000000000.log";
    let new_bytes = fs::read(compacted.path().join(first)).unwrap();
    assert_ne!(new_bytes, fs::read(original.path().join(first)).unwrap());

    // (a) Crash while writing the cleaned file: the old segment stays.
    let dir = tempfile::tempdir().unwrap();
    for name in names(original.path()) {
        fs::copy(original.path().join(&name), dir.path().join(&name)).unwrap();
    }
    fs::write(
        dir.path().join(format!("{first}.cleaned")),
        &new_bytes[..new_bytes.len() / 2],
    )
    .unwrap();
    let log = common::open(dir.path(), &config(&[]), &clock);
    assert_eq!(everything(&log), before);
    assert!(!names(dir.path()).iter().any(|n| n.ends_with(".cleaned")));
    drop(log);

    // (b) Crash after the cleaned file was complete (renamed to .swap), before or after
    // the old indexes were removed: the swap is finished on open.
    for remove_indexes in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        for name in names(original.path()) {
            fs::copy(original.path().join(&name), dir.path().join(&name)).unwrap();
        }
        fs::write(dir.path().join(format!("{first}.swap")), &new_bytes).unwrap();
        if remove_indexes {
            fs::remove_file(dir.path().join("00000000000000000000.index")).unwrap();
        }
        let log = common::open(dir.path(), &config(&[]), &clock);
        assert!(!names(dir.path()).iter().any(|n| n.ends_with(".swap")));
        assert_eq!(fs::read(dir.path().join(first)).unwrap(), new_bytes);
        let after = everything(&log);
        // The first segment is the compacted one; the rest are as they were.
        let first_segment_end = log.segment_bases()[1].get();
        let expected: Vec<_> = expected_after(&before, active)
            .into_iter()
            .filter(|r| r.0 < first_segment_end)
            .chain(before.iter().filter(|r| r.0 >= first_segment_end).cloned())
            .collect();
        assert_eq!(after, expected, "remove_indexes={remove_indexes}");
        assert_every_offset_reads_its_batch(&log);
    }
}

/// Reads every offset on its own: each read must start with the first batch holding an
/// offset at or above it. A stale index would send some reads to the wrong batch.
fn assert_every_offset_reads_its_batch(log: &Log) {
    let all = common::read_all(log, log.log_start_offset());
    for offset in log.log_start_offset().get()..log.log_end_offset().get() {
        let offset = Offset::new(offset);
        let got = log.read(offset, 1, log.log_end_offset()).unwrap();
        let want = all
            .iter()
            .find(|(h, _)| h.last_offset() >= offset)
            .map(|(_, b)| b.clone());
        let first = common::batches(&got.records)
            .into_iter()
            .next()
            .map(|(_, b)| b);
        assert_eq!(first, want, "read at {offset}");
    }
}

#[test]
fn delete_policy_logs_are_not_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let mut log = common::open(dir.path(), &config(&[("cleanup.policy", "delete")]), &clock);
    let before = fill(&mut log, Compression::None);
    assert!(!log.compact(true).unwrap().ran);
    assert_eq!(everything(&log), before);
}
