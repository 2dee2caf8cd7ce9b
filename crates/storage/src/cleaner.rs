//! Compaction: in sealed segments, keep the latest record per key.
//!
//! A pass (`Log::compact`) works in three steps:
//! 1. **Map** the dirty part (from the cleaner checkpoint to the active segment): key →
//!    offset of its latest record. The map's memory (keys plus overhead) is bounded by
//!    `log.cleaner.dedupe.buffer.size`; when full, the pass covers only the offsets
//!    mapped so far and the next pass goes on from there.
//! 2. **Rewrite** every sealed segment up to the mapped end: a record goes when a later
//!    record has its key, or when it is a tombstone (null value) in a segment whose
//!    newest record is older than `delete.retention.ms`. Records without a key, control
//!    batches, and batches past the mapped end are kept as they are. Batches that keep
//!    every record are copied byte for byte; the others are re-encoded by kafka-protocol
//!    with their original offsets, compression, epoch and timestamp type, so offsets are
//!    preserved and gaps appear where records went.
//! 3. **Swap** each rewritten segment in, crash-safely:
//!    write `<base>.log.cleaned` and fsync it → rename it to `<base>.log.swap` and fsync
//!    the directory (the new file is now complete) → delete the segment's indexes →
//!    rename `.swap` over `.log` (atomic) and fsync the directory. The indexes are
//!    rebuilt from the new file. On open, a `.cleaned` file is an unfinished rewrite and
//!    is deleted; a `.swap` file is a finished one whose swap is completed (indexes
//!    deleted, renamed over `.log`), so a crash at any point leaves either the old or the
//!    new segment, whole.
//!
//! The cleaner's reads and writes are throttled to `log.cleaner.io.max.bytes.per.second`.
//! Today it runs on the writer's thread, so appends wait for a pass (see ARCHITECTURE.md).

use std::collections::HashMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{Compression, RecordBatchEncoder, RecordEncodeOptions};
use rill_types::Offset;

use crate::batch::{self, BatchHeader};
use crate::checkpoint;
use crate::error::{IoContext as _, Result, StorageError};
use crate::log::Log;
use crate::records;
use crate::scan::scan_file;
use crate::segment::{self, Segment};

/// The cleaner's checkpoint: offsets below it have been compacted at least once.
pub const CLEANER_CHECKPOINT_FILE: &str = "cleaner-offset-checkpoint";
const CLEANED_SUFFIX: &str = ".cleaned";
const SWAP_SUFFIX: &str = ".swap";
/// Bytes charged per map entry beyond its key (hash table slot, offset, allocation).
const MAP_ENTRY_OVERHEAD: usize = 48;

/// What a compaction pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CleanerStats {
    /// Whether a pass ran (false: nothing dirty enough, or not a compacted log).
    pub ran: bool,
    /// Records examined in the rewrite.
    pub records_read: u64,
    /// Records dropped as superseded by a later record with the same key.
    pub records_superseded: u64,
    /// Tombstones dropped after `delete.retention.ms`.
    pub tombstones_dropped: u64,
    /// Bytes of the rewritten segments before and after.
    pub bytes_before: u64,
    /// Bytes after.
    pub bytes_after: u64,
    /// Offsets below this are now compacted (the new cleaner checkpoint).
    pub cleaned_up_to: Offset,
}

/// Keys to the offset of their latest record, within a memory budget.
struct OffsetMap {
    latest: HashMap<Bytes, i64>,
    bytes: usize,
    budget: usize,
}

impl OffsetMap {
    /// Records `key` at `offset`; false when the budget would be exceeded (nothing changed).
    fn put(&mut self, key: Bytes, offset: i64) -> bool {
        if let Some(existing) = self.latest.get_mut(&key) {
            *existing = (*existing).max(offset);
            return true;
        }
        let cost = key.len() + MAP_ENTRY_OVERHEAD;
        if self.bytes + cost > self.budget {
            return false;
        }
        self.bytes += cost;
        self.latest.insert(key, offset);
        true
    }
}

/// Limits I/O to a rate by sleeping when ahead of it. The sleep is the point here (rate
/// limiting), not waiting for a condition.
struct Throttle {
    started: Instant,
    bytes: f64,
    rate: f64,
}

impl Throttle {
    fn charge(&mut self, bytes: usize) {
        self.bytes += bytes as f64;
        let delay = owed_delay(self.bytes, self.rate, self.started.elapsed());
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
    }
}

/// How long to pause so that `bytes` done since the start stay within `rate` bytes/s.
fn owed_delay(bytes: f64, rate: f64, elapsed: Duration) -> Duration {
    let due = bytes / rate;
    let ahead = due - elapsed.as_secs_f64();
    if ahead > 0.0 && ahead.is_finite() {
        Duration::from_secs_f64(ahead.min(60.0))
    } else {
        Duration::ZERO
    }
}

impl Log {
    /// Runs one compaction pass if the log is compacted and its dirty ratio reaches
    /// `min.cleanable.dirty.ratio` (or always with `force`). Sealed segments only.
    pub fn compact(&mut self, force: bool) -> Result<CleanerStats> {
        self.ensure_ok()?;
        if !self.config.cleanup_policy.compacts() {
            return Ok(CleanerStats::default());
        }
        let dir = self.shared.dir.clone();
        let checkpoint_path = dir.join(CLEANER_CHECKPOINT_FILE);
        let first_dirty = Offset::new(checkpoint::read_i64(&checkpoint_path)?.unwrap_or(0));
        // Sealed segments: (base, next offset, size, file, path, max timestamp).
        let sealed: Vec<(Offset, Offset, u64, std::sync::Arc<fs::File>, PathBuf, i64)> = {
            let state = self.shared.lock();
            state
                .segments
                .values()
                .take(state.segments.len() - 1)
                .map(|s| {
                    (
                        s.base(),
                        s.next_offset(),
                        s.size(),
                        s.file().clone(),
                        s.path().to_owned(),
                        s.max_timestamp(),
                    )
                })
                .collect()
        };
        let total: u64 = sealed.iter().map(|s| s.2).sum();
        let dirty: u64 = sealed
            .iter()
            .filter(|s| s.1 > first_dirty)
            .map(|s| s.2)
            .sum();
        let ratio = if total == 0 {
            0.0
        } else {
            dirty as f64 / total as f64
        };
        if dirty == 0 || (!force && ratio < self.config.min_cleanable_dirty_ratio) {
            return Ok(CleanerStats::default());
        }

        let mut throttle = Throttle {
            started: Instant::now(),
            bytes: 0.0,
            rate: self.config.cleaner_io_max_bytes_per_second,
        };
        // 1. Map the dirty part.
        let mut map = OffsetMap {
            latest: HashMap::new(),
            bytes: 0,
            budget: usize::try_from(self.config.cleaner_dedupe_buffer_bytes).unwrap_or(usize::MAX),
        };
        let mut mapped_end = first_dirty;
        let mut full = false;
        for (_, _, size, file, path, _) in sealed.iter().filter(|s| s.1 > first_dirty) {
            let mut failure = None;
            scan_file(file, path, 0, *size, true, |_, header, bytes| {
                throttle.charge(bytes.len());
                if header.last_offset() < first_dirty {
                    return true;
                }
                if !header.is_control() {
                    match records::decode(bytes) {
                        Ok(decoded) => {
                            // Keys of a batch that did not fit whole may stay in the map:
                            // each points at a real record, so it only ever drops records
                            // that something later in the log supersedes.
                            full = decoded
                                .into_iter()
                                .filter_map(|r| Some((r.key?, r.offset)))
                                .any(|(key, offset)| !map.put(key, offset));
                        }
                        Err(reason) => {
                            failure = Some(codec_error(path, header.base_offset, reason));
                            return false;
                        }
                    }
                }
                if full {
                    return false; // the mapped end stays at the previous batch's end
                }
                mapped_end = header.next_offset();
                true
            })?;
            if let Some(error) = failure {
                return Err(error);
            }
            if full {
                break;
            }
        }
        if mapped_end <= first_dirty {
            tracing::warn!(dir = %dir.display(), "log.cleaner.dedupe.buffer.size cannot hold one batch's keys");
            return Ok(CleanerStats::default());
        }

        // 2 and 3. Rewrite and swap every sealed segment that starts below the mapped end.
        let horizon = self
            .clock
            .now_ms()
            .saturating_sub(self.config.delete_retention_ms);
        let mut stats = CleanerStats {
            ran: true,
            cleaned_up_to: mapped_end,
            ..CleanerStats::default()
        };
        for (base, _, size, file, path, max_ts) in sealed.iter().filter(|s| s.0 < mapped_end) {
            let drop_tombstones = *max_ts < horizon;
            let mut out = Vec::with_capacity(*size as usize);
            let mut failure = None;
            scan_file(file, path, 0, *size, true, |_, header, bytes| {
                throttle.charge(bytes.len());
                if header.last_offset() >= mapped_end || header.is_control() {
                    out.extend_from_slice(bytes);
                    return true;
                }
                match rewrite_batch(header, bytes, &map, mapped_end, drop_tombstones, &mut stats) {
                    Ok(Some(new)) => out.extend_from_slice(&new),
                    Ok(None) => out.extend_from_slice(bytes),
                    Err(reason) => {
                        failure = Some(codec_error(path, header.base_offset, reason));
                        return false;
                    }
                }
                true
            })?;
            if let Some(error) = failure {
                return Err(error);
            }
            throttle.charge(out.len());
            stats.bytes_before += size;
            stats.bytes_after += out.len() as u64;
            if out.len() as u64 == *size {
                continue; // nothing dropped: leave the segment alone
            }
            self.swap_in(*base, &out).map_err(|e| self.fail(e))?;
        }
        checkpoint::write_i64(&*self.disk, &checkpoint_path, mapped_end.get())
            .map_err(|e| self.fail(e))?;
        Ok(stats)
    }

    /// Replaces the sealed segment at `base` with `bytes`, following the swap protocol.
    fn swap_in(&mut self, base: Offset, bytes: &[u8]) -> Result<()> {
        let dir = self.shared.dir.clone();
        let [log_path, index_path, time_index_path] = segment::paths(&dir, base);
        let cleaned = with_suffix(&log_path, CLEANED_SUFFIX);
        let swap = with_suffix(&log_path, SWAP_SUFFIX);
        let mut file = fs::File::create(&cleaned).io_context("create cleaned segment", &cleaned)?;
        file.write_all(bytes)
            .io_context("write cleaned segment", &cleaned)?;
        self.disk
            .sync_file(&file)
            .io_context("fsync cleaned segment", &cleaned)?;
        drop(file);
        fs::rename(&cleaned, &swap).io_context("rename cleaned segment", &swap)?;
        self.disk
            .sync_dir(&dir)
            .io_context("fsync directory", &dir)?;
        complete_swap(&swap, &log_path, [&index_path, &time_index_path])?;
        self.disk
            .sync_dir(&dir)
            .io_context("fsync directory", &dir)?;
        let segment = Segment::open_trusted(&dir, base, &self.config)?;
        // Readers that planned on the old segment keep reading its (unlinked) file, which
        // is consistent; the generation bump makes them retry so that what they note as
        // CRC-verified is about the new file.
        self.shared.generation.fetch_add(1, Ordering::AcqRel);
        self.shared.lock().segments.insert(base, segment);
        self.shared.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
}

/// The batch without its superseded records and expired tombstones: `Ok(None)` when every
/// record stays (the original bytes are kept), `Ok(Some(empty))` when none does.
fn rewrite_batch(
    header: &BatchHeader,
    bytes: &[u8],
    map: &OffsetMap,
    mapped_end: Offset,
    drop_tombstones: bool,
    stats: &mut CleanerStats,
) -> Result<Option<Vec<u8>>, String> {
    let decoded = records::decode(bytes)?;
    let count = decoded.len();
    stats.records_read += count as u64;
    let kept: Vec<_> = decoded
        .into_iter()
        .filter(|record| {
            let Some(key) = &record.key else { return true };
            if record.offset >= mapped_end.get() {
                return true;
            }
            if map
                .latest
                .get(key)
                .is_some_and(|latest| *latest > record.offset)
            {
                stats.records_superseded += 1;
                return false;
            }
            if record.value.is_none() && drop_tombstones {
                stats.tombstones_dropped += 1;
                return false;
            }
            true
        })
        .collect();
    if kept.len() == count {
        return Ok(None);
    }
    if kept.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let compression = match header.compression() {
        0 => Compression::None,
        1 => Compression::Gzip,
        2 => Compression::Snappy,
        3 => Compression::Lz4,
        4 => Compression::Zstd,
        other => return Err(format!("unknown compression codec {other}")),
    };
    let mut out = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut out, &kept, &options).map_err(|e| e.to_string())?;
    let mut out = out.to_vec();
    let new = BatchHeader::parse(&out)?;
    if new.total_size() != out.len() {
        return Err("re-encoded records did not fit one batch".to_owned());
    }
    // What the encoder does not carry over: the timestamp type (and LogAppendTime's max
    // timestamp), and "no idempotence" as base sequence -1.
    let log_append_time = header.attributes & (1 << 3) != 0;
    if log_append_time {
        batch::set_log_append_time(&mut out, header.max_timestamp);
    }
    if header.base_sequence == -1 {
        out[53..57].copy_from_slice(&(-1i32).to_be_bytes());
        batch::recompute_crc(&mut out);
    }
    batch::set_leader_epoch(&mut out, header.leader_epoch);
    Ok(Some(out))
}

fn codec_error(path: &Path, offset: Offset, reason: String) -> StorageError {
    StorageError::Codec {
        file: path.to_owned(),
        offset,
        reason,
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The last step of a swap, also run on open: drop the old indexes (they describe the old
/// file), then rename the finished `.swap` over the `.log`.
fn complete_swap(swap: &Path, log: &Path, indexes: [&Path; 2]) -> Result<()> {
    for index in indexes {
        match fs::remove_file(index) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).io_context("remove stale index", index),
        }
    }
    fs::rename(swap, log).io_context("swap cleaned segment in", log)
}

/// Finishes or rolls back cleaner swaps a crash interrupted: `.cleaned` files were not
/// finished and are deleted; `.swap` files were, and are swapped in.
pub(crate) fn finish_interrupted_swaps(dir: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry.io_context("list log directory", dir)?.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(CLEANED_SUFFIX) {
            tracing::warn!(file = %path.display(), "removing unfinished cleaner output");
            fs::remove_file(&path).io_context("remove unfinished cleaner output", &path)?;
        } else if let Some(log_name) = name.strip_suffix(SWAP_SUFFIX) {
            let log = dir.join(log_name);
            let stem = log_name.trim_end_matches(".log");
            tracing::warn!(file = %path.display(), "completing interrupted cleaner swap");
            complete_swap(
                &path,
                &log,
                [
                    &dir.join(format!("{stem}.index")),
                    &dir.join(format!("{stem}.timeindex")),
                ],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_owes_time_only_when_ahead_of_the_rate() {
        assert_eq!(
            owed_delay(1000.0, 1000.0, Duration::from_secs(1)),
            Duration::ZERO
        );
        assert_eq!(
            owed_delay(3000.0, 1000.0, Duration::from_secs(1)),
            Duration::from_secs(2)
        );
        assert_eq!(owed_delay(1e12, f64::MAX, Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn the_offset_map_respects_its_budget() {
        let mut map = OffsetMap {
            latest: HashMap::new(),
            bytes: 0,
            budget: 2 * (MAP_ENTRY_OVERHEAD + 1),
        };
        assert!(map.put(Bytes::from_static(b"a"), 1));
        assert!(map.put(Bytes::from_static(b"b"), 2));
        assert!(map.put(Bytes::from_static(b"a"), 5)); // existing key: no new memory
        assert!(!map.put(Bytes::from_static(b"c"), 6));
        assert_eq!(map.latest.get(&Bytes::from_static(b"a")), Some(&5));
    }
}
