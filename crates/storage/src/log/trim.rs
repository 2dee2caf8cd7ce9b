//! Making the log shorter: truncation at the end (a follower whose log diverged),
//! delete-records at the start (moves the log start offset), and retention.

use std::sync::atomic::Ordering;

use rill_types::Offset;

use super::Log;
use super::open::delete_segment_files;
use crate::checkpoint;
use crate::error::{IoContext as _, Result, StorageError};
use crate::retention::{self, SegmentFacts};
use crate::scan::scan_file;
use crate::segment::Segment;

/// What a retention pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetentionOutcome {
    /// Segments deleted.
    pub segments_deleted: usize,
    /// Bytes freed.
    pub bytes_deleted: u64,
}

impl Log {
    /// Removes every batch at or above `offset`; a batch that straddles `offset` goes
    /// whole, so the new log end is at most `offset` (but never below the log start
    /// offset). Returns the new log end. Durable
    /// before it returns, so a crash cannot bring the removed data back under offsets
    /// that new appends will reuse.
    pub fn truncate_to(&mut self, offset: Offset) -> Result<Offset> {
        self.ensure_ok()?;
        let (log_start, log_end) = {
            let state = self.shared.lock();
            (state.log_start, state.log_end)
        };
        if offset >= log_end {
            return Ok(log_end);
        }
        if offset < log_start {
            return Err(StorageError::InvalidOffset {
                operation: "truncate",
                offset,
                reason: format!("below the log start offset {log_start}"),
            });
        }
        // Readers that overlap this see an odd or changed generation and retry.
        self.shared.generation.fetch_add(1, Ordering::AcqRel);
        let result = self.truncate_locked(offset);
        self.shared.generation.fetch_add(1, Ordering::AcqRel);
        let new_end = match result {
            Ok(end) => end,
            Err(e) => return Err(self.fail(e)),
        };
        self.recovery_point = self.recovery_point.min(new_end);
        if self.epochs.truncate_from_end(new_end) {
            self.epochs.persist(&*self.disk).map_err(|e| self.fail(e))?;
        }
        // The producer state goes back to what the shorter log says; snapshots above the
        // new end go first, durably with the directory fsync below, so that no crash can
        // bring back a snapshot of the removed batches.
        self.load_producer_state().map_err(|e| self.fail(e))?;
        self.dir_dirty = true;
        // The truncated segment's indexes were rewritten: sync them too (see
        // `Segment::take_for_sync` on why appended-to indexes need no sync).
        self.flush_files(true)?;
        Ok(new_end)
    }

    fn truncate_locked(&mut self, offset: Offset) -> Result<Offset> {
        let dir = self.shared.dir.clone();
        let mut state = self.shared.lock();
        // Whole segments at or above `offset` go, except the first segment, which is
        // emptied instead (a log always has one).
        let doomed: Vec<Offset> = state
            .segments
            .range(offset..)
            .map(|(base, _)| *base)
            .filter(|base| Some(base) != state.segments.keys().next())
            .collect();
        for base in &doomed {
            state.segments.remove(base);
            delete_segment_files(&dir, *base)?;
        }
        let segment = state.active_mut();
        let mut cut = segment.size();
        scan_file(
            segment.file(),
            segment.path(),
            segment.scan_start(offset),
            segment.size(),
            false,
            |pos, h, _| {
                if h.last_offset() >= offset {
                    cut = pos;
                    return false;
                }
                true
            },
        )?;
        if cut < segment.size() {
            segment.truncate_at(cut, &self.config)?;
        }
        // Never below the log start: when the cut batch began below it, the offsets up to
        // the log start hold nothing now and are not handed out again.
        let end = segment.next_offset().max(state.log_start);
        state.log_end = end;
        Ok(end)
    }

    /// Moves the log start offset up to `offset` (Kafka's DeleteRecords): reads below it
    /// fail from now on, and segments wholly below it are deleted. `offset` may not pass
    /// the log end (the caller also keeps it at or below the high watermark).
    pub fn delete_records(&mut self, offset: Offset) -> Result<Offset> {
        self.ensure_ok()?;
        let (log_start, log_end) = {
            let state = self.shared.lock();
            (state.log_start, state.log_end)
        };
        if offset > log_end {
            return Err(StorageError::InvalidOffset {
                operation: "delete-records",
                offset,
                reason: format!("above the log end offset {log_end}"),
            });
        }
        if offset <= log_start {
            return Ok(log_start);
        }
        self.shared.lock().log_start = offset;
        let dir = self.shared.dir.clone();
        checkpoint::write_i64(&*self.disk, &dir.join(super::LOG_START_FILE), offset.get())
            .map_err(|e| self.fail(e))?;
        if self.epochs.truncate_from_start(offset) {
            self.epochs.persist(&*self.disk).map_err(|e| self.fail(e))?;
        }
        // Bounded by the new start, retention deletes exactly the segments wholly below it.
        self.apply_retention(offset)?;
        self.producers_after_log_start_moved(offset)?;
        Ok(offset)
    }

    /// Deletes the oldest sealed segments that retention (time, size, log start offset)
    /// allows, never past `high_watermark`. Each is renamed to `.deleted` before removal,
    /// so a crash midway is finished on the next open.
    pub fn apply_retention(&mut self, high_watermark: Offset) -> Result<RetentionOutcome> {
        self.ensure_ok()?;
        let now = self.clock.now_ms();
        let doomed: Vec<Segment> = {
            let mut state = self.shared.lock();
            let total: u64 = state.segments.values().map(Segment::size).sum();
            let sealed: Vec<SegmentFacts> = state
                .segments
                .values()
                .take(state.segments.len() - 1)
                .map(|s| SegmentFacts {
                    base: s.base(),
                    next_offset: s.next_offset(),
                    size: s.size(),
                    max_timestamp: s.max_timestamp(),
                })
                .collect();
            let count = retention::segments_to_delete(
                &sealed,
                total,
                &self.config,
                now,
                state.log_start,
                high_watermark,
            );
            let doomed: Vec<Segment> = sealed[..count]
                .iter()
                .filter_map(|f| state.segments.remove(&f.base))
                .collect();
            if let Some(first) = state.segments.keys().next().copied() {
                state.log_start = state.log_start.max(first);
            }
            doomed
        };
        if doomed.is_empty() {
            return Ok(RetentionOutcome::default());
        }
        let dir = self.shared.dir.clone();
        let start = self.log_start_offset();
        let mut outcome = RetentionOutcome::default();
        checkpoint::write_i64(&*self.disk, &dir.join(super::LOG_START_FILE), start.get())
            .map_err(|e| self.fail(e))?;
        if self.epochs.truncate_from_start(start) {
            self.epochs.persist(&*self.disk).map_err(|e| self.fail(e))?;
        }
        self.producers_after_log_start_moved(start)?;
        for segment in doomed {
            tracing::info!(dir = %dir.display(), base = %segment.base(), "deleting segment by retention");
            outcome.segments_deleted += 1;
            outcome.bytes_deleted += segment.size();
            delete_segment_files(&dir, segment.base()).map_err(|e| self.fail(e))?;
        }
        self.disk
            .sync_dir(&dir)
            .io_context("fsync directory", &dir)
            .map_err(|e| self.fail(e))?;
        Ok(outcome)
    }
}
