//! Crash consistency: damage the files as a crash or a bad disk would, reopen, and check
//! that recovery keeps exactly the whole, CRC-valid prefix, rebuilds indexes, and never
//! serves a corrupt batch.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rill_storage::{Log, LogConfig, ManualClock, StorageError};
use rill_types::Offset;

/// A log of `batches` batches (3 records each, 100-byte values) in small segments,
/// dropped without close (a process crash). Returns each batch's (base, end position in
/// its segment file, bytes).
fn crashed_log(dir: &Path, batches: usize) -> Vec<(Offset, Vec<u8>)> {
    let clock = Arc::new(ManualClock::new(1_000));
    let mut log = common::open(dir, &common::small_config(), &clock);
    let mut written = Vec::new();
    for i in 0..batches {
        let (first, _, bytes) = common::append(&mut log, 3, 100, 1_000 + i as i64);
        written.push((first, bytes));
    }
    drop(log);
    written
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    common::files_with_extension(dir, "log")
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn reopen(dir: &Path) -> Log {
    common::open(
        dir,
        &common::small_config(),
        &Arc::new(ManualClock::new(2_000)),
    )
}

fn assert_prefix(log: &Log, written: &[(Offset, Vec<u8>)], whole: usize) {
    let all = common::read_all(log, Offset::ZERO);
    assert_eq!(all.len(), whole, "batches kept");
    for ((header, bytes), (base, want)) in all.iter().zip(written) {
        assert_eq!(header.base_offset, *base);
        assert_eq!(bytes, want);
    }
    let expected_end = written.get(whole).map_or_else(
        || {
            written
                .last()
                .map_or(Offset::ZERO, |(base, _)| Offset::new(base.get() + 3))
        },
        |(base, _)| *base,
    );
    assert_eq!(log.log_end_offset(), expected_end);
}

#[test]
fn last_segment_cut_at_every_byte_of_its_last_batches() {
    let original = tempfile::tempdir().unwrap();
    let written = crashed_log(original.path(), 12);
    let last_file = segment_files(original.path()).pop().unwrap();
    let size = fs::metadata(&last_file).unwrap().len();
    let batch_len = written[0].1.len() as u64;
    // Batches in the last segment, counted from the end of the log.
    let in_last = (size / batch_len) as usize;
    let last_three = 3.min(in_last) as u64;
    let mut cuts = 0;
    for cut in size - last_three * batch_len..=size {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(original.path(), dir.path());
        let file = dir.path().join(last_file.file_name().unwrap());
        fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(cut)
            .unwrap();
        let log = reopen(dir.path());
        let whole_in_last = (cut / batch_len) as usize;
        let whole = written.len() - in_last + whole_in_last;
        assert_prefix(&log, &written, whole);
        // The file was cut back to the last whole batch.
        assert_eq!(
            fs::metadata(&file).unwrap().len(),
            whole_in_last as u64 * batch_len
        );
        cuts += 1;
    }
    assert_eq!(cuts, last_three * batch_len + 1);
}

#[test]
fn flipped_byte_after_the_recovery_point_cuts_the_log_there() {
    let dir = tempfile::tempdir().unwrap();
    let written = crashed_log(dir.path(), 12);
    let files = segment_files(dir.path());
    assert!(
        files.len() >= 3,
        "want several segments, got {}",
        files.len()
    );
    // Flip a byte inside the second batch of the second (sealed) segment.
    let victim = &files[1];
    let batch_len = written[0].1.len() as u64;
    let mut bytes = fs::read(victim).unwrap();
    let at = (batch_len + 40) as usize;
    bytes[at] ^= 0xff;
    fs::write(victim, &bytes).unwrap();

    let log = reopen(dir.path());
    let in_first = (fs::metadata(&files[0]).unwrap().len() / batch_len) as usize;
    assert_prefix(&log, &written, in_first + 1);
    // Everything after the corrupt batch is gone, later segments included.
    assert_eq!(segment_files(dir.path()).len(), 2);
}

#[test]
fn flipped_byte_below_the_recovery_point_is_an_error_not_a_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000));
    let mut log = common::open(dir.path(), &common::small_config(), &clock);
    for i in 0..12 {
        common::append(&mut log, 3, 100, 1_000 + i);
    }
    log.flush().unwrap();
    log.checkpoint().unwrap();
    let end = log.log_end_offset();
    drop(log); // crash after the data became durable

    let files = segment_files(dir.path());
    let victim = files.last().unwrap();
    let mut bytes = fs::read(victim).unwrap();
    bytes[40] ^= 0xff;
    fs::write(victim, &bytes).unwrap();

    let err = Log::open(
        dir.path(),
        common::small_config(),
        Arc::new(ManualClock::new(2_000)),
        Arc::new(rill_storage::RealDisk),
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, StorageError::CorruptBatch { .. }),
        "{message}"
    );
    assert!(
        message.contains(&victim.file_name().unwrap().to_string_lossy().to_string()),
        "{message}"
    );
    // Nothing was cut: the file still holds every byte.
    assert_eq!(fs::read(victim).unwrap().len(), bytes.len());
    assert!(end > Offset::ZERO);
}

#[test]
fn a_corrupt_batch_in_a_trusted_segment_is_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000));
    let mut log = common::open(dir.path(), &common::small_config(), &clock);
    for i in 0..12 {
        common::append(&mut log, 3, 100, 1_000 + i);
    }
    log.close().unwrap(); // clean: the next open trusts the files without a scan

    let files = segment_files(dir.path());
    let mut bytes = fs::read(&files[0]).unwrap();
    bytes[100] ^= 0xff; // inside the first batch's records
    fs::write(&files[0], &bytes).unwrap();

    let log = reopen(dir.path());
    let err = log
        .read(Offset::ZERO, 10_000, log.log_end_offset())
        .unwrap_err();
    assert!(matches!(err, StorageError::CorruptBatch { .. }), "{err}");
    assert!(
        err.to_string().contains("00000000000000000000.log"),
        "{err}"
    );
    // The next batch is fine and served.
    let ok = log
        .read(Offset::new(3), 10_000, log.log_end_offset())
        .unwrap();
    assert!(!ok.records.is_empty());
}

#[test]
fn missing_and_garbage_indexes_are_rebuilt() {
    for clean in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(1_000));
        let config =
            LogConfig::from_pairs([("segment.bytes", "4000"), ("index.interval.bytes", "200")])
                .unwrap();
        let mut log = common::open(dir.path(), &config, &clock);
        let mut written = Vec::new();
        for i in 0..30 {
            let (first, _, bytes) = common::append(&mut log, 3, 100, 10_000 + 10 * i);
            written.push((first, bytes));
        }
        if clean {
            log.close().unwrap();
        } else {
            log.flush().unwrap();
            drop(log);
        }
        let files = segment_files(dir.path());
        fs::remove_file(files[0].with_extension("index")).unwrap();
        fs::write(files[0].with_extension("timeindex"), [7u8; 25]).unwrap();
        fs::write(files[1].with_extension("index"), [0u8; 64]).unwrap();
        fs::write(files[1].with_extension("timeindex"), b"not an index at all").unwrap();
        // An index that lost its newest entries (they were never fsynced): still valid,
        // shorter; the tail after its last entry is rescanned.
        let index = files[2].with_extension("index");
        let len = fs::metadata(&index).unwrap().len();
        assert!(len >= 16, "want a few index entries, got {len} bytes");
        fs::OpenOptions::new()
            .write(true)
            .open(&index)
            .unwrap()
            .set_len(len / 16 * 8)
            .unwrap();

        let log = common::open(dir.path(), &config, &clock);
        for (i, (base, want)) in written.iter().enumerate() {
            let got = log.read(*base, 1, log.log_end_offset()).unwrap();
            assert_eq!(
                &common::batches(&got.records)[0].1,
                want,
                "batch {i}, clean={clean}"
            );
            // Timestamp lookup goes through the rebuilt time index.
            let ts = 10_000 + 10 * i as i64;
            assert_eq!(
                log.offset_for_timestamp(ts).unwrap(),
                Some((*base, ts)),
                "ts {ts}"
            );
        }
        assert_eq!(
            fs::metadata(files[0].with_extension("index"))
                .map(|m| m.len())
                .unwrap_or(0)
                % 8,
            0
        );
    }
}

#[test]
fn a_crash_in_the_middle_of_a_retention_deletion_is_finished_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let written = crashed_log(dir.path(), 12);
    let files = segment_files(dir.path());
    // Retention renames the .log first, then the indexes, then removes them: crash after
    // the first rename.
    let first = &files[0];
    let mut deleted = first.clone().into_os_string();
    deleted.push(".deleted");
    fs::rename(first, &deleted).unwrap();
    fs::write(
        dir.path().join("log-start-offset-checkpoint.tmp"),
        "half a checkpoint",
    )
    .unwrap();

    let log = reopen(dir.path());
    let leftovers: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.ends_with(".deleted") || n.ends_with(".tmp") || n.starts_with("00000000000000000000")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let second_base = *log.segment_bases().first().unwrap();
    assert_eq!(log.log_start_offset(), second_base);
    let kept: Vec<_> = written
        .iter()
        .filter(|(b, _)| *b >= second_base)
        .cloned()
        .collect();
    let all = common::read_all(&log, second_base);
    assert_eq!(all.len(), kept.len());
    for ((_, bytes), (_, want)) in all.iter().zip(&kept) {
        assert_eq!(bytes, want);
    }
}
