//! Shared helpers for rill-storage's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

use rill_storage::batch::BatchHeader;
use rill_storage::{Clock, Disk, Log, LogConfig, ManualClock, RealDisk, StorageError};
use rill_types::{LeaderEpoch, Offset};

/// Opens `dir` with `config`, a manual clock at `now`, and the real disk.
pub fn open(dir: &Path, config: &LogConfig, clock: &Arc<ManualClock>) -> Log {
    Log::open(
        dir,
        config.clone(),
        clock.clone() as Arc<dyn Clock>,
        Arc::new(RealDisk) as Arc<dyn Disk>,
    )
    .expect("open log")
}

/// A small-segment config so tests roll often.
pub fn small_config() -> LogConfig {
    LogConfig::from_pairs([
        ("segment.bytes", "1500"),
        ("index.interval.bytes", "200"),
        ("segment.index.bytes", "4096"),
        ("retention.ms", "-1"),
    ])
    .unwrap()
}

/// Appends `count` records with values of `value_len` bytes at `timestamp`, as leader.
pub fn append(
    log: &mut Log,
    count: usize,
    value_len: usize,
    timestamp: i64,
) -> (Offset, Offset, Vec<u8>) {
    let mut batch = rill_storage::testing::batch_of_size(count, value_len, timestamp);
    let info = log
        .append_as_leader(&mut batch, LeaderEpoch::new(0))
        .expect("append");
    (info.first_offset, info.last_offset, batch)
}

/// Splits a buffer of whole batches into (header, bytes) pairs.
pub fn batches(bytes: &[u8]) -> Vec<(BatchHeader, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let header = BatchHeader::parse(&bytes[at..]).expect("whole batch");
        out.push((header, bytes[at..at + header.total_size()].to_vec()));
        at += header.total_size();
    }
    out
}

/// Reads everything from `start` to the log end, one read after another.
pub fn read_all(log: &Log, start: Offset) -> Vec<(BatchHeader, Vec<u8>)> {
    let end = log.log_end_offset();
    let mut out = Vec::new();
    let mut next = start;
    while next < end {
        let result = log.read(next, 700, end).expect("read");
        let got = batches(&result.records);
        let Some((last, _)) = got.last() else { break };
        next = last.next_offset();
        out.extend(got);
    }
    out
}

/// The seed for a randomised test: `RILL_SEED` if set, else fresh; printed either way.
pub fn seed(test: &str) -> u64 {
    let seed = std::env::var("RILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(7)
        });
    eprintln!("{test}: seed {seed} (replay with RILL_SEED={seed})");
    seed
}

/// Runs a property test of `cases` cases over `strategy` with the seed of [`seed`], so a
/// failure names the seed that replays it (proptest then shrinks it).
pub fn run_seeded<S: Strategy>(
    test: &str,
    cases: u32,
    strategy: S,
    run: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let seed = seed(test);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
    if let Err(e) = runner.run(&strategy, run) {
        panic!("seed {seed}: {e}");
    }
}

/// A storage error as a property-test failure.
pub fn fail(e: StorageError) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

/// The files in `dir` ending in `.<extension>`, sorted.
pub fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

/// Closes `log` cleanly, or drops it as a process crash would (the page cache keeps what
/// was written), and opens `dir` again.
pub fn reopen(
    log: Log,
    clean: bool,
    dir: &Path,
    config: &LogConfig,
    clock: &Arc<ManualClock>,
) -> Result<Log, TestCaseError> {
    if clean {
        log.close().map_err(fail)?;
    } else {
        drop(log);
    }
    Ok(open(dir, config, clock))
}
