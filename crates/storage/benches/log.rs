//! Log throughput against the raw filesystem it sits on.
//!
//! Measures, for ~1 KiB records in 16 KiB batches (16 records) and 1 MiB batches (1024
//! records), one batch per `Log::append_as_leader` call:
//! - append throughput with (a) no fsync, (b) a group commit (`Log::flush`) every 4 MiB
//!   appended, (c) a `Log::flush` after every batch;
//! - sequential read throughput: the whole log from offset 0, `Log::read` with
//!   `max_bytes` = 1 MiB and the log end as upper bound, warm from the page cache (the
//!   log just written by a run of (a); nothing is dropped from the cache);
//! - the same on a plain file on the same filesystem, as the baseline: one `write()` per
//!   batch of the same bytes, `File::sync_data` (fdatasync) at the same points, and
//!   plain 1 MiB `read()`s;
//! - and, to tell how much of append's cost over raw is validation, the throughput of
//!   checking the CRC of the same batches (`BatchHeader::crc_matches`, as append does).
//!
//! The batches are prepared before timing (one buffer per batch, timestamps 1 ms apart
//! so the time index grows as with a live producer); the log stamps offsets and epoch in
//! place, outside the CRC, so the same buffers serve every run. Each figure is the median
//! of 5 runs (rill and raw alternating, a fresh temp dir per run), printed with min and
//! max and its ratio to the raw median. Figures are printed, never asserted; the targets
//! the ratios are read against: append ≥ 0.9 of raw for (a) and (b), read ≥ 0.8.
//!
//! Run: `cargo bench -p rill-storage --bench log` (about a minute; writes ~11 GiB
//! through the page cache, at most 256 MiB at a time, and holds 256 MiB of prepared
//! batches). `RILL_BENCH_QUICK=1` shrinks the volumes 16x for a smoke run;
//! `RILL_BENCH_DIR=/some/dir` measures another filesystem (default: cargo's target tmp
//! dir). Without `--bench` (as `cargo test --all-targets` runs it) it does nothing.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rill_storage::batch::{self, BatchHeader};
use rill_storage::{Clock as _, Log, LogConfig, RealDisk, SystemClock, testing};
use rill_types::{LeaderEpoch, Offset};

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

const MIB: u64 = 1 << 20;
/// Runs per measurement, for each of rill and raw.
const RUNS: usize = 5;
/// Bytes appended between two group commits in case (b).
const GROUP_COMMIT_BYTES: u64 = 4 * MIB;
/// `max_bytes` of each log read, and the chunk of each raw `read()`.
const READ_CHUNK: usize = 1 << 20;
/// Value bytes per record: with its key and record framing a record is ~1 KiB, and 1024
/// of them fit Kafka's default `max.message.bytes` (1 MiB + 12).
const VALUE_BYTES: usize = 1000;
/// Volume appended per run for the no-fsync and group-commit cases.
const BULK_VOLUME: u64 = 256 * MIB;
/// Volumes shrink by this factor with `RILL_BENCH_QUICK=1`.
const QUICK_DIVISOR: u64 = 16;
/// The goal ratio to raw for appends without fsync and with group commit.
const APPEND_GOAL: f64 = 0.9;
/// The goal ratio to raw for sequential reads.
const READ_GOAL: f64 = 0.8;

/// One batch size under test.
struct Shape {
    label: &'static str,
    records: usize,
    /// Volume per run when every batch is fsynced (each fsync costs milliseconds).
    fsync_every_batch_volume: u64,
}

const SHAPES: [Shape; 2] = [
    Shape {
        label: "16KiB",
        records: 16,
        fsync_every_batch_volume: 8 * MIB,
    },
    Shape {
        label: "1MiB",
        records: 1024,
        fsync_every_batch_volume: 64 * MIB,
    },
];

/// When the appender makes its data durable.
#[derive(Debug, Clone, Copy)]
enum Fsync {
    Never,
    EveryBytes(u64),
    EveryBatch,
}

impl Fsync {
    fn label(self) -> String {
        match self {
            Fsync::Never => "no fsync".to_owned(),
            Fsync::EveryBytes(bytes) => format!("group commit every {}", volume(bytes)),
            Fsync::EveryBatch => "fsync every batch".to_owned(),
        }
    }

    /// Counts `appended` bytes into `pending`; whether to sync now (then `pending` resets).
    fn due(self, pending: &mut u64, appended: usize) -> bool {
        *pending += appended as u64;
        let due = match self {
            Fsync::Never => false,
            Fsync::EveryBytes(bytes) => *pending >= bytes,
            Fsync::EveryBatch => true,
        };
        if due {
            *pending = 0;
        }
        due
    }

    /// Whether the tail appended since the last sync is synced when the run ends.
    fn sync_at_end(self, pending: u64) -> bool {
        !matches!(self, Fsync::Never) && pending > 0
    }
}

/// Throughputs (MB/s) of the runs of one measurement.
#[derive(Debug, Default)]
struct Samples {
    rill: Vec<f64>,
    raw: Vec<f64>,
}

fn main() -> BenchResult<()> {
    if !std::env::args().any(|arg| arg == "--bench") {
        println!(
            "log bench: not run without --bench; use `cargo bench -p rill-storage --bench log`"
        );
        return Ok(());
    }
    let quick = std::env::var("RILL_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let divisor = if quick { QUICK_DIVISOR } else { 1 };
    let root = bench_root();
    std::fs::create_dir_all(&root)?;
    let started = Instant::now();

    let chunk = volume(READ_CHUNK as u64);
    println!(
        "rill-storage log bench{}",
        if quick {
            " (RILL_BENCH_QUICK: volumes / 16)"
        } else {
            ""
        }
    );
    println!(
        "  temp dirs under {} (rill and raw on the same filesystem)",
        root.display()
    );
    println!(
        "  records: {VALUE_BYTES}-byte values (~1 KiB with key and framing), uncompressed; \
         one batch per append, batch timestamps 1 ms apart; default LogConfig"
    );
    println!(
        "  each figure: median of {RUNS} runs [min..max], rill and raw alternating, fresh temp dir \
         per run; MB/s = 10^6 bytes/s of batch bytes"
    );
    println!(
        "  raw baseline: one write() per batch of the same bytes to a plain file, fdatasync at the \
         same points; read() in {chunk} chunks into one buffer"
    );
    println!(
        "  reads: warm from the page cache (nothing dropped), right after a no-fsync run wrote the \
         data; log reads: max_bytes {chunk}, upper bound = log end"
    );
    println!(
        "  goals: append ratio >= {APPEND_GOAL:.2} for no fsync and group commit; read ratio >= \
         {READ_GOAL:.2}"
    );

    for shape in &SHAPES {
        let template = testing::batch_of_size(shape.records, VALUE_BYTES, SystemClock.now_ms());
        let batch_len = template.len();
        let most = usize::try_from(BULK_VOLUME / divisor)?.div_ceil(batch_len);
        let mut pool = batch_pool(&template, most);
        println!();
        println!(
            "{} batches: {} records, {batch_len} bytes per batch",
            shape.label, shape.records
        );
        let crc = crc_throughput(&pool, batch_len)?;
        println!(
            "CRC check alone (BatchHeader::crc_matches, as append validates): {crc:.1} MB/s \
             [{} per run; median of {RUNS}]",
            volume(pool.len() as u64)
        );
        let cases = [
            (Fsync::Never, BULK_VOLUME, Some(APPEND_GOAL)),
            (
                Fsync::EveryBytes(GROUP_COMMIT_BYTES),
                BULK_VOLUME,
                Some(APPEND_GOAL),
            ),
            (Fsync::EveryBatch, shape.fsync_every_batch_volume, None),
        ];
        for (fsync, target_volume, goal) in cases {
            let count = usize::try_from(target_volume / divisor)?
                .div_ceil(batch_len)
                .clamp(1, most);
            let batches = &mut pool[..count * batch_len];
            let with_read = matches!(fsync, Fsync::Never);
            let (append, read) = measure(&root, batches, batch_len, fsync, with_read)?;
            let bytes = batches.len() as u64;
            let label = format!("append {} batches, {}", shape.label, fsync.label());
            let raw = report(&label, bytes, &append, goal);
            if matches!(fsync, Fsync::Never) {
                println!(
                    "  (validation alone caps this ratio at {:.2}: raw write time + CRC check time)",
                    1.0 / (1.0 + raw / crc)
                );
            }
            if let Some(read) = read {
                let label = format!("read {} batches, sequential", shape.label);
                report(&label, bytes, &read, Some(READ_GOAL));
            }
        }
    }
    println!();
    println!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Where the temp dirs go: `RILL_BENCH_DIR`, else cargo's target tmp dir, else the
/// system temp dir.
fn bench_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("RILL_BENCH_DIR") {
        return PathBuf::from(dir);
    }
    match option_env!("CARGO_TARGET_TMPDIR") {
        Some(dir) => Path::new(dir).join("rill-storage-log-bench"),
        None => std::env::temp_dir(),
    }
}

/// `count` copies of `template` back to back, the i-th with its timestamps i ms later
/// (CRC recomputed), as a producer sending a batch every millisecond would make them.
fn batch_pool(template: &[u8], count: usize) -> Vec<u8> {
    /// Where a RecordBatch v2 header keeps its base and max timestamps (CRC-covered).
    const TIMESTAMPS_AT: [usize; 2] = [27, 35];
    let mut pool = Vec::with_capacity(template.len() * count);
    for i in 0..count {
        let start = pool.len();
        pool.extend_from_slice(template);
        let batch = &mut pool[start..];
        for at in TIMESTAMPS_AT {
            let field: &mut [u8; 8] = (&mut batch[at..at + 8]).try_into().expect("8 bytes");
            *field = (i64::from_be_bytes(*field) + i as i64).to_be_bytes();
        }
        batch::recompute_crc(batch);
    }
    pool
}

/// Runs one measurement `RUNS` times for rill and for raw, alternating which goes first.
fn measure(
    root: &Path,
    batches: &mut [u8],
    batch_len: usize,
    fsync: Fsync,
    with_read: bool,
) -> BenchResult<(Samples, Option<Samples>)> {
    let bytes = batches.len() as u64;
    let mut append = Samples::default();
    let mut read = Samples::default();
    for run in 0..RUNS {
        for rill in [run % 2 == 0, run % 2 != 0] {
            let dir = tempfile::tempdir_in(root)?;
            if rill {
                let (elapsed, log) = rill_append(dir.path(), batches, batch_len, fsync)?;
                append.rill.push(mb_per_s(bytes, elapsed));
                if with_read {
                    let (elapsed, got) = rill_read(&log)?;
                    check_read("log", got, bytes)?;
                    read.rill.push(mb_per_s(bytes, elapsed));
                }
            } else {
                let (elapsed, path) = raw_append(dir.path(), batches, batch_len, fsync)?;
                append.raw.push(mb_per_s(bytes, elapsed));
                if with_read {
                    let (elapsed, got) = raw_read(&path)?;
                    check_read("raw file", got, bytes)?;
                    read.raw.push(mb_per_s(bytes, elapsed));
                }
            }
        }
    }
    Ok((append, with_read.then_some(read)))
}

/// Appends `batches` (each `batch_len` bytes), one per call, to a new log in `dir`.
/// Times the appends and flushes only (not opening the log).
fn rill_append(
    dir: &Path,
    batches: &mut [u8],
    batch_len: usize,
    fsync: Fsync,
) -> BenchResult<(Duration, Log)> {
    let mut log = Log::open(
        &dir.join("bench-0"),
        LogConfig::default(),
        Arc::new(SystemClock),
        Arc::new(RealDisk),
    )?;
    let mut pending = 0;
    let started = Instant::now();
    for batch in batches.chunks_exact_mut(batch_len) {
        log.append_as_leader(batch, LeaderEpoch::new(0))?;
        if fsync.due(&mut pending, batch.len()) {
            log.flush()?;
        }
    }
    if fsync.sync_at_end(pending) {
        log.flush()?;
    }
    Ok((started.elapsed(), log))
}

/// Writes `batches` to a plain file in `dir`, one `write()` per batch, fdatasyncing as
/// `fsync` says. Times the writes and syncs only (not creating the file).
fn raw_append(
    dir: &Path,
    batches: &[u8],
    batch_len: usize,
    fsync: Fsync,
) -> BenchResult<(Duration, PathBuf)> {
    let path = dir.join("raw.log");
    let mut file = File::create(&path)?;
    let mut pending = 0;
    let started = Instant::now();
    for batch in batches.chunks_exact(batch_len) {
        file.write_all(batch)?;
        if fsync.due(&mut pending, batch.len()) {
            file.sync_data()?;
        }
    }
    if fsync.sync_at_end(pending) {
        file.sync_data()?;
    }
    Ok((started.elapsed(), path))
}

/// Reads the whole log from offset 0 as a consumer would: each read starts at the offset
/// after the last batch of the previous one. Returns the time and the bytes read.
fn rill_read(log: &Log) -> BenchResult<(Duration, u64)> {
    let end = log.log_end_offset();
    let mut start = Offset::ZERO;
    let mut total = 0u64;
    let started = Instant::now();
    while start < end {
        let records = log.read(start, READ_CHUNK, end)?.records;
        if records.is_empty() {
            return Err(format!("empty read at offset {start}, below the log end {end}").into());
        }
        let mut position = 0;
        while position < records.len() {
            let header = BatchHeader::parse(&records[position..])?;
            position += header.total_size();
            start = header.next_offset();
        }
        total += std::hint::black_box(records).len() as u64;
    }
    Ok((started.elapsed(), total))
}

/// Reads the whole file front to back in `READ_CHUNK` `read()`s into one buffer.
fn raw_read(path: &Path) -> BenchResult<(Duration, u64)> {
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; READ_CHUNK];
    let mut total = 0u64;
    let started = Instant::now();
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += std::hint::black_box(&buf[..n]).len() as u64;
    }
    Ok((started.elapsed(), total))
}

/// MB/s of checking every batch's CRC in `batches` (median of `RUNS`), to tell how much
/// of append's cost over raw is validation.
fn crc_throughput(batches: &[u8], batch_len: usize) -> BenchResult<f64> {
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        for bytes in batches.chunks_exact(batch_len) {
            let header = BatchHeader::parse(bytes)?;
            if !header.crc_matches(std::hint::black_box(bytes)) {
                return Err("a prepared batch fails its CRC".into());
            }
        }
        samples.push(mb_per_s(batches.len() as u64, started.elapsed()));
    }
    Ok(stats(&samples).0)
}

fn check_read(what: &str, got: u64, want: u64) -> BenchResult<()> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: read {got} bytes back, {want} were written").into())
    }
}

fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64().max(1e-9)
}

/// (median, min, max) of `samples`.
fn stats(samples: &[f64]) -> (f64, f64, f64) {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    (median, sorted[0], sorted[n - 1])
}

/// Prints one figure; returns the raw median.
fn report(label: &str, bytes: u64, samples: &Samples, goal: Option<f64>) -> f64 {
    let (rill, rill_min, rill_max) = stats(&samples.rill);
    let (raw, raw_min, raw_max) = stats(&samples.raw);
    let ratio = rill / raw;
    let verdict = match goal {
        Some(goal) if ratio >= goal => format!(", goal {goal:.2} met"),
        Some(goal) => format!(", goal {goal:.2} MISSED"),
        None => String::new(),
    };
    println!(
        "{label}: {rill:.1} MB/s (raw {raw:.1} MB/s, ratio {ratio:.2}{verdict}) \
         [{} per run; rill {rill_min:.1}..{rill_max:.1}, raw {raw_min:.1}..{raw_max:.1}]",
        volume(bytes)
    );
    raw
}

/// A byte count in MiB, or KiB below 1 MiB.
fn volume(bytes: u64) -> String {
    if bytes >= MIB {
        format!("{:.0} MiB", bytes as f64 / MIB as f64)
    } else {
        format!("{:.0} KiB", bytes as f64 / 1024.0)
    }
}
