//! One segment: `<base offset, 20 digits>.log` with its `.index` and `.timeindex`.
//!
//! A segment is written by the log's single writer only, at its end. Its state here
//! (size, next offset, indexes) describes whole batches only: `size` advances after the
//! bytes are written, so a reader bounded by it never sees a partial batch.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rill_types::Offset;

use crate::batch::BatchHeader;
use crate::config::LogConfig;
use crate::error::{IoContext as _, Result};
use crate::index::{Index, OffsetEntry, TimeEntry};
use crate::scan::{Stop, scan_file};

/// The file name stem of a segment: its base offset as 20 digits (Kafka's naming).
pub fn file_stem(base: Offset) -> String {
    format!("{:020}", base.get())
}

/// One segment's files and in-memory state.
#[derive(Debug)]
pub struct Segment {
    base: Offset,
    path: PathBuf,
    file: Arc<File>,
    /// Bytes of whole batches; the file is never longer once the segment is open.
    size: u64,
    /// The offset after the last batch (the base offset while empty).
    next_offset: Offset,
    offset_index: Index<OffsetEntry>,
    time_index: Index<TimeEntry>,
    bytes_since_index_entry: u64,
    /// Largest batch max-timestamp in the segment, -1 while empty.
    max_timestamp: i64,
    /// When the first batch was appended (for segment.ms), by the log's clock.
    first_append_ms: Option<i64>,
    /// Bytes from the start whose CRCs this process has checked or written itself.
    verified_to: u64,
    /// Whether there are writes since the last fsync.
    dirty: bool,
}

/// Paths of the three files of the segment at `base` in `dir`.
pub fn paths(dir: &Path, base: Offset) -> [PathBuf; 3] {
    let stem = file_stem(base);
    [
        dir.join(format!("{stem}.log")),
        dir.join(format!("{stem}.index")),
        dir.join(format!("{stem}.timeindex")),
    ]
}

impl Segment {
    /// Creates an empty segment at `base`.
    pub fn create(dir: &Path, base: Offset, config: &LogConfig) -> Result<Self> {
        let [log, _, _] = paths(dir, base);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&log)
            .io_context("create segment", &log)?;
        Self::assemble(dir, base, log, file, 0, None, config)
    }

    /// Opens an existing segment whose bytes are trusted to be whole (clean shutdown, or
    /// below the recovery point). The indexes are loaded if they pass their sanity checks
    /// and rebuilt from the log otherwise; the tail after the last index entry is scanned
    /// (headers only) to find the next offset and max timestamp.
    pub fn open_trusted(dir: &Path, base: Offset, config: &LogConfig) -> Result<Self> {
        let (log, file, size) = open_log(dir, base)?;
        let [_, index, time_index] = paths(dir, base);
        let offsets = Index::<OffsetEntry>::open_checked(&index, index_bytes(config), |e| {
            u64::from(e.position) < size
        })?;
        let times =
            Index::<TimeEntry>::open_checked(&time_index, time_index_bytes(config), |_| true)?;
        let loaded = offsets.zip(times);
        let indexes_loaded = loaded.is_some();
        let mut segment = Self::assemble(dir, base, log, file, size, loaded, config)?;
        if indexes_loaded {
            let from = segment
                .offset_index
                .entries()
                .last()
                .map_or(0, |e| u64::from(e.position));
            if let Some(last) = segment.time_index.entries().last() {
                segment.max_timestamp = last.timestamp;
            }
            if let Some(stop) = segment.rescan(from)? {
                // The index pointed into bytes that do not parse: rebuild from a full scan.
                tracing::warn!(file = %segment.path.display(), ?stop, "index tail invalid, rebuilding");
                segment.rebuild_trusted(config)?;
            }
        } else {
            tracing::info!(file = %segment.path.display(), "rebuilding missing or invalid indexes");
            segment.rebuild_trusted(config)?;
        }
        Ok(segment)
    }

    /// Opens a segment that must be checked batch by batch (after an unclean shutdown):
    /// every batch's length and CRC is verified and the indexes are rebuilt. Returns the
    /// segment, valid up to the first bad batch, and where that batch was, if any. The
    /// caller decides what a bad batch means (truncate, or an error below the recovery
    /// point) and calls [`Segment::truncate_at`].
    pub fn open_recovering(
        dir: &Path,
        base: Offset,
        config: &LogConfig,
    ) -> Result<(Self, Option<Stop>)> {
        let (log, file, size) = open_log(dir, base)?;
        let mut segment = Self::assemble(dir, base, log, file, size, None, config)?;
        let stop = segment.rebuild(config, true)?;
        Ok((segment, stop))
    }

    /// Builds the in-memory segment around an open `.log` file; without `indexes`, empty
    /// index files are created (truncating any old ones) for the caller to rebuild.
    fn assemble(
        dir: &Path,
        base: Offset,
        path: PathBuf,
        file: File,
        size: u64,
        indexes: Option<(Index<OffsetEntry>, Index<TimeEntry>)>,
        config: &LogConfig,
    ) -> Result<Self> {
        let (offset_index, time_index) = match indexes {
            Some(loaded) => loaded,
            None => {
                let [_, index, time_index] = paths(dir, base);
                (
                    Index::create(&index, index_bytes(config))?,
                    Index::create(&time_index, time_index_bytes(config))?,
                )
            }
        };
        Ok(Self {
            base,
            path,
            file: Arc::new(file),
            size,
            next_offset: base,
            offset_index,
            time_index,
            bytes_since_index_entry: 0,
            max_timestamp: -1,
            first_append_ms: None,
            verified_to: 0,
            dirty: false,
        })
    }

    /// Rebuilds both indexes from a full scan (headers only: the bytes are trusted).
    fn rebuild_trusted(&mut self, config: &LogConfig) -> Result<()> {
        if let Some(stop) = self.rebuild(config, false)? {
            // Trusted bytes that do not even parse: refuse to guess.
            return Err(crate::StorageError::CorruptBatch {
                file: self.path.clone(),
                position: stop.position,
                offset: stop.offset,
                reason: stop.reason,
            });
        }
        Ok(())
    }

    /// Fresh indexes from a scan of the whole file; returns where the scan stopped early.
    /// With `check_crc` the scanned bytes count as verified.
    fn rebuild(&mut self, config: &LogConfig, check_crc: bool) -> Result<Option<Stop>> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let [_, index, time_index] = paths(dir, self.base);
        self.offset_index = Index::create(&index, index_bytes(config))?;
        self.time_index = Index::create(&time_index, time_index_bytes(config))?;
        self.next_offset = self.base;
        self.max_timestamp = -1;
        self.bytes_since_index_entry = 0;
        let stop = self.index_from(0, check_crc, config)?;
        if check_crc {
            self.verified_to = stop.as_ref().map_or(self.size, |s| s.position);
        }
        Ok(stop)
    }

    /// Scans from `from` (headers only), updating next offset and max timestamp only.
    fn rescan(&mut self, from: u64) -> Result<Option<Stop>> {
        let mut next = self.next_offset;
        let mut max_ts = self.max_timestamp;
        let stop = scan_file(&self.file, &self.path, from, self.size, false, |_, h, _| {
            next = h.next_offset();
            max_ts = max_ts.max(h.max_timestamp);
            true
        })?;
        self.next_offset = next;
        self.max_timestamp = max_ts;
        Ok(stop)
    }

    /// Scans from `from`, adding index entries as appends would.
    fn index_from(
        &mut self,
        from: u64,
        check_crc: bool,
        config: &LogConfig,
    ) -> Result<Option<Stop>> {
        let mut headers = Vec::new();
        let stop = scan_file(
            &self.file,
            &self.path,
            from,
            self.size,
            check_crc,
            |pos, h, _| {
                headers.push((pos, *h));
                true
            },
        )?;
        for (pos, header) in headers {
            self.note_batch(pos, &header, config);
        }
        Ok(stop)
    }

    /// Updates indexes and counters for a batch now stored at `position`.
    fn note_batch(&mut self, position: u64, header: &BatchHeader, config: &LogConfig) {
        let relative = relative(self.base, header.base_offset);
        let size = header.total_size() as u64;
        let interval = u64::try_from(config.index_interval_bytes).unwrap_or(0);
        let first = self.offset_index.entries().is_empty();
        if (first || self.bytes_since_index_entry >= interval) && !self.offset_index.is_full() {
            self.offset_index.push(OffsetEntry {
                relative_offset: relative,
                position: u32::try_from(position).expect("segment position fits u32"),
            });
            self.bytes_since_index_entry = 0;
        }
        if header.max_timestamp > self.max_timestamp {
            let grows = self
                .time_index
                .entries()
                .last()
                .is_none_or(|last| last.relative_offset < relative);
            if grows && !self.time_index.is_full() {
                self.time_index.push(TimeEntry {
                    timestamp: header.max_timestamp,
                    relative_offset: relative,
                });
            }
            self.max_timestamp = header.max_timestamp;
        }
        self.bytes_since_index_entry += size;
        self.next_offset = header.next_offset();
        self.size = self.size.max(position + size);
    }

    /// Cuts the file at `position` (a batch boundary found by a scan), dropping what follows.
    pub fn truncate_at(&mut self, position: u64, config: &LogConfig) -> Result<()> {
        self.file
            .set_len(position)
            .io_context("truncate segment", &self.path)?;
        self.size = position;
        self.verified_to = self.verified_to.min(position);
        self.dirty = true;
        let _ = self.rebuild(config, false)?;
        Ok(())
    }

    /// Records that `len` bytes of whole batches (`headers`: position within them, header)
    /// were written at `start`, the segment's end; `now_ms` is the append time. The
    /// bytes are written by the caller first, so readers bounded by `size` never see a
    /// partial batch.
    pub fn record_append(
        &mut self,
        start: u64,
        len: usize,
        headers: &[(usize, BatchHeader)],
        config: &LogConfig,
        now_ms: i64,
    ) {
        assert_eq!(start, self.size, "appends go at the end of the segment");
        for (at, header) in headers {
            self.note_batch(start + *at as u64, header, config);
        }
        assert_eq!(
            self.size,
            start + len as u64,
            "headers cover the written bytes"
        );
        if self.verified_to == start {
            self.verified_to = self.size;
        }
        self.first_append_ms.get_or_insert(now_ms);
        self.dirty = true;
    }

    /// Whether appending `incoming` bytes with last offset `last_offset` must go to a new
    /// segment instead: size, age, a full index, or a relative offset beyond u32.
    pub fn should_roll(
        &self,
        incoming: usize,
        last_offset: Offset,
        config: &LogConfig,
        now_ms: i64,
    ) -> bool {
        if self.size == 0 {
            return false;
        }
        let too_big =
            self.size + incoming as u64 > u64::try_from(config.segment_bytes).unwrap_or(u64::MAX);
        let too_old = self
            .first_append_ms
            .is_some_and(|first| now_ms.saturating_sub(first) >= config.segment_ms);
        let full = self.offset_index.is_full() || self.time_index.is_full();
        let offset_overflow = last_offset
            .distance_from(self.base)
            .is_none_or(|d| d > u64::from(u32::MAX));
        too_big || too_old || full || offset_overflow
    }

    /// The file position to start scanning from for `offset`: the indexed batch at or
    /// before the one holding it.
    pub fn scan_start(&self, offset: Offset) -> u64 {
        let rel = offset
            .distance_from(self.base)
            .map_or(0, |d| u32::try_from(d).unwrap_or(u32::MAX));
        self.offset_index
            .floor(rel)
            .map_or(0, |e| u64::from(e.position))
    }

    /// The file position to start scanning from for the first batch whose max timestamp
    /// is at least `timestamp`, or `None` when no batch here reaches it.
    pub fn scan_start_for_timestamp(&self, timestamp: i64) -> Option<u64> {
        if self.max_timestamp < timestamp {
            return None;
        }
        // The first time entry reaching `timestamp` names a batch at or after the target;
        // every batch before the previous entry's batch is below it.
        let entries = self.time_index.entries();
        let at = entries.partition_point(|e| e.timestamp < timestamp);
        let from_rel = at.checked_sub(1).map_or(0, |i| entries[i].relative_offset);
        Some(
            self.scan_start(
                self.base
                    .checked_add(i64::from(from_rel))
                    .unwrap_or(self.base),
            ),
        )
    }

    /// Writes pending index entries to their files (on roll and close); no fsync.
    pub fn write_indexes(&mut self) -> Result<()> {
        self.offset_index.write_pending()?;
        self.time_index.write_pending()
    }

    /// Marks the segment clean and returns the `.log` file, which the caller must now
    /// fsync without holding the log's state lock. If that sync fails the whole log fails,
    /// so "clean" is never trusted after a failed sync.
    ///
    /// The indexes are written but not synced: they are rebuildable, and on open they are
    /// sanity-checked and the tail after their last entry rescanned, so an index that lost
    /// its newest entries in a crash costs a longer scan, never a wrong read. Index files
    /// that were rewritten rather than appended to (truncation, rebuild) are synced with
    /// [`Segment::take_all_for_sync`], since a stale but plausible index could misdirect a
    /// read.
    pub fn take_for_sync(&mut self) -> Result<(Arc<File>, PathBuf)> {
        self.write_indexes()?;
        self.dirty = false;
        Ok((Arc::clone(&self.file), self.path.clone()))
    }

    /// Like [`Segment::take_for_sync`], with the two index files as well (clean close,
    /// truncation).
    pub fn take_all_for_sync(&mut self) -> Result<[(Arc<File>, PathBuf); 3]> {
        let log = self.take_for_sync()?;
        Ok([log, self.offset_index.handle(), self.time_index.handle()])
    }

    /// Whether there are writes since the last sync.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// The segment's base offset.
    pub fn base(&self) -> Offset {
        self.base
    }

    /// The offset after its last batch.
    pub fn next_offset(&self) -> Offset {
        self.next_offset
    }

    /// Bytes of whole batches.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Largest timestamp of any batch, -1 when empty.
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }

    /// The `.log` file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A shared handle on the `.log` file, for readers.
    pub fn file(&self) -> &Arc<File> {
        &self.file
    }

    /// Bytes from the start whose CRCs have been checked (or written by this process).
    pub fn verified_to(&self) -> u64 {
        self.verified_to
    }

    /// Records that a reader checked CRCs from `from` up to `to`.
    pub fn note_verified(&mut self, from: u64, to: u64) {
        if from <= self.verified_to && to > self.verified_to {
            self.verified_to = to;
        }
    }

    /// The index files' paths, for deletion.
    pub fn index_paths(&self) -> [&Path; 2] {
        [self.offset_index.path(), self.time_index.path()]
    }
}

fn index_bytes(config: &LogConfig) -> usize {
    usize::try_from(config.segment_index_bytes).unwrap_or(usize::MAX)
}

/// The time index gets as many entries as the offset index (12 bytes instead of 8).
fn time_index_bytes(config: &LogConfig) -> usize {
    index_bytes(config) / 8 * 12
}

fn open_log(dir: &Path, base: Offset) -> Result<(PathBuf, File, u64)> {
    let [log, _, _] = paths(dir, base);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&log)
        .io_context("open segment", &log)?;
    let size = file.metadata().io_context("stat segment", &log)?.len();
    Ok((log, file, size))
}

fn relative(base: Offset, offset: Offset) -> u32 {
    let distance = offset
        .distance_from(base)
        .expect("batch offset below segment base");
    u32::try_from(distance).expect("relative offset fits u32 (the log rolls before)")
}
