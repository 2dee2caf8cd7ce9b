//! [`Log`]: one partition's log — an ordered set of segments, its checkpoints, and the
//! single writer that appends to it. [`LogReader`] is the handle readers share.
//!
//! Concurrency contract: one writer (`&mut Log`); any number of readers on other threads.
//! The state lock covers in-memory bookkeeping only (segment list, sizes, index lookups);
//! file reads, writes and fsyncs happen outside it, so a reader never holds the writer up
//! on I/O. A segment's `size` grows only after its bytes are written, so readers never see
//! a partial batch. Truncation — the one operation that rewrites bytes readers might be
//! reading — bumps `generation` around itself, and a read that overlapped it retries.
//!
//! Durability contract: everything below `recovery_point` has been fsynced (segments,
//! their indexes, and the directory entries). `flush_up_to` is the group commit: one
//! fsync per file covers every batch appended since the last one. An fsync or write error
//! fails the log for good: it is never retried, since after a failed fsync the kernel may
//! have dropped the dirty pages it could not write.

mod append;
mod open;
mod producers;
mod read;
mod trim;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};

use rill_types::{LeaderEpoch, Offset};

use crate::checkpoint;
use crate::clock::Clock;
use crate::config::LogConfig;
use crate::disk::Disk;
use crate::error::{IoContext as _, Result, StorageError};
use crate::leader_epoch_cache::LeaderEpochCache;
use crate::producer_snapshot::ProducerSnapshots;
use crate::producer_state::ProducerStateTable;
use crate::segment::Segment;

pub use append::AppendInfo;
pub use read::{LogReader, ReadResult};
pub use trim::RetentionOutcome;

/// Checkpoint file: offsets below this are durable.
pub const RECOVERY_POINT_FILE: &str = "recovery-point-offset-checkpoint";
/// Checkpoint file: the log start offset.
pub const LOG_START_FILE: &str = "log-start-offset-checkpoint";
/// Marker file: present only between a clean close and the next open.
pub const CLEAN_SHUTDOWN_FILE: &str = ".kafka_cleanshutdown";

/// State shared by the writer and readers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) dir: PathBuf,
    pub(crate) state: Mutex<State>,
    /// Even when no truncation is running; bumped before and after each.
    pub(crate) generation: AtomicU64,
}

/// The bookkeeping behind the lock.
#[derive(Debug)]
pub(crate) struct State {
    /// Segments by base offset; the last is the active one. Never empty.
    pub(crate) segments: BTreeMap<Offset, Segment>,
    pub(crate) log_start: Offset,
    pub(crate) log_end: Offset,
    /// Why the log failed, once it has.
    pub(crate) failed: Option<String>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves bookkeeping half-updated: refuse to go on.
        self.state.lock().expect("log state lock poisoned")
    }
}

impl State {
    pub(crate) fn ensure_ok(&self, dir: &Path) -> Result<()> {
        match &self.failed {
            Some(reason) => Err(StorageError::LogFailed {
                dir: dir.to_owned(),
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    pub(crate) fn active(&self) -> &Segment {
        self.segments
            .values()
            .next_back()
            .expect("a log always has a segment")
    }

    pub(crate) fn active_mut(&mut self) -> &mut Segment {
        self.segments
            .values_mut()
            .next_back()
            .expect("a log always has a segment")
    }
}

/// One partition's log on disk.
#[derive(Debug)]
pub struct Log {
    pub(crate) shared: Arc<Shared>,
    pub(crate) config: LogConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) disk: Arc<dyn Disk>,
    pub(crate) epochs: LeaderEpochCache,
    /// The idempotent producers, as of the log end (see `producers.rs`).
    pub(crate) producers: ProducerStateTable,
    pub(crate) snapshots: ProducerSnapshots,
    pub(crate) recovery_point: Offset,
    pub(crate) unflushed_records: u64,
    /// When set, an append never flushes for `flush.messages`; the owner calls
    /// [`Log::flush_up_to`] when [`Log::policy_flush_due`] says so (group commit across
    /// concurrent writers).
    pub(crate) defer_policy_flush: bool,
    pub(crate) last_flush_ms: i64,
    /// Segment files were created or removed since the directory was last fsynced.
    pub(crate) dir_dirty: bool,
}

impl Log {
    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// The log's configuration.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// The first offset a read may ask for.
    pub fn log_start_offset(&self) -> Offset {
        self.shared.lock().log_start
    }

    /// The offset the next record will get.
    pub fn log_end_offset(&self) -> Offset {
        self.shared.lock().log_end
    }

    /// Offsets below this are durable on disk.
    pub fn recovery_point(&self) -> Offset {
        self.recovery_point
    }

    /// Number of segments, the active one included.
    pub fn segment_count(&self) -> usize {
        self.shared.lock().segments.len()
    }

    /// Base offsets of the segments, oldest first.
    pub fn segment_bases(&self) -> Vec<Offset> {
        self.shared.lock().segments.keys().copied().collect()
    }

    /// Total bytes of all segments.
    pub fn size_bytes(&self) -> u64 {
        self.shared
            .lock()
            .segments
            .values()
            .map(Segment::size)
            .sum()
    }

    /// The newest leader epoch appended, if any.
    pub fn latest_epoch(&self) -> Option<LeaderEpoch> {
        self.epochs.latest_epoch()
    }

    /// Kafka's OffsetForLeaderEpoch: the largest epoch ≤ `epoch` this log knows and the
    /// offset where it ends (the next epoch's start, or the log end for the latest).
    pub fn end_offset_for_epoch(&self, epoch: LeaderEpoch) -> Option<(LeaderEpoch, Offset)> {
        self.epochs.end_offset_for(epoch, self.log_end_offset())
    }

    /// The leader-epoch cache (clone it for readers that must not wait for the writer).
    pub fn epoch_cache(&self) -> &LeaderEpochCache {
        &self.epochs
    }

    /// A handle for readers on other threads.
    pub fn reader(&self) -> LogReader {
        LogReader::new(Arc::clone(&self.shared))
    }

    /// Why the log failed, if it has.
    pub fn failure(&self) -> Option<String> {
        self.shared.lock().failed.clone()
    }

    /// Fails the log for good with `error`'s description and returns `error`.
    pub(crate) fn fail(&self, error: StorageError) -> StorageError {
        let mut state = self.shared.lock();
        if state.failed.is_none() {
            tracing::error!(dir = %self.shared.dir.display(), %error, "log failed");
            state.failed = Some(error.to_string());
        }
        error
    }

    pub(crate) fn ensure_ok(&self) -> Result<()> {
        self.shared.lock().ensure_ok(&self.shared.dir)
    }

    /// Makes everything appended so far durable if the offsets below `offset` are not
    /// yet: the group commit. One fsync per dirty file covers all batches appended since
    /// the last flush; a caller whose batch an earlier flush covered returns at once.
    pub fn flush_up_to(&mut self, offset: Offset) -> Result<()> {
        if self.recovery_point >= offset {
            return Ok(());
        }
        self.flush()
    }

    /// Whether `flush.messages` records are waiting for an fsync.
    pub fn policy_flush_due(&self) -> bool {
        self.unflushed_records >= u64::try_from(self.config.flush_messages).unwrap_or(u64::MAX)
    }

    /// Makes appends leave the `flush.messages` flush to the owner (see
    /// [`Log::policy_flush_due`]), so that writers appending concurrently share one fsync:
    /// each appends, releases the log, then calls [`Log::flush_up_to`] its own end, which
    /// returns at once when another writer's flush already covered it.
    pub fn defer_policy_flush(&mut self, deferred: bool) {
        self.defer_policy_flush = deferred;
    }

    /// Makes everything appended so far durable and advances the recovery point.
    pub fn flush(&mut self) -> Result<()> {
        self.flush_files(false)
    }

    /// Flushes the dirty segments' `.log` files, and with `with_indexes` every segment's
    /// index files too (clean close, after a truncation rewrote them).
    pub(crate) fn flush_files(&mut self, with_indexes: bool) -> Result<()> {
        self.ensure_ok()?;
        let (end, handles) = {
            let mut state = self.shared.lock();
            let end = state.log_end;
            let mut handles = Vec::new();
            for segment in state.segments.values_mut() {
                let taken = if with_indexes {
                    segment
                        .take_all_for_sync()
                        .map(|files| handles.extend(files))
                } else if segment.is_dirty() {
                    segment.take_for_sync().map(|file| handles.push(file))
                } else {
                    Ok(())
                };
                if let Err(e) = taken {
                    drop(state);
                    return Err(self.fail(e));
                }
            }
            (end, handles)
        };
        for (file, path) in &handles {
            if let Err(e) = self.disk.sync_file(file).io_context("fsync", path) {
                return Err(self.fail(e));
            }
        }
        self.sync_dir_if_dirty()?;
        self.recovery_point = self.recovery_point.max(end);
        self.unflushed_records = 0;
        self.last_flush_ms = self.clock.now_ms();
        Ok(())
    }

    /// Flushes if `flush.ms` has passed since the last flush and there is something to
    /// flush. The owner calls this periodically.
    pub fn maybe_flush(&mut self) -> Result<()> {
        let due = self.clock.now_ms().saturating_sub(self.last_flush_ms) >= self.config.flush_ms;
        if due && self.recovery_point < self.log_end_offset() {
            self.flush()?;
        }
        Ok(())
    }

    pub(crate) fn sync_dir_if_dirty(&mut self) -> Result<()> {
        if self.dir_dirty {
            let dir = self.shared.dir.clone();
            if let Err(e) = self.disk.sync_dir(&dir).io_context("fsync directory", &dir) {
                return Err(self.fail(e));
            }
            self.dir_dirty = false;
        }
        Ok(())
    }

    /// Writes the recovery-point and log-start checkpoints. The owner calls this
    /// periodically; a stale recovery point only makes recovery scan more, never less.
    pub fn checkpoint(&mut self) -> Result<()> {
        self.ensure_ok()?;
        let dir = self.shared.dir.clone();
        let start = self.log_start_offset();
        checkpoint::write_i64(
            &*self.disk,
            &dir.join(RECOVERY_POINT_FILE),
            self.recovery_point.get(),
        )
        .map_err(|e| self.fail(e))?;
        checkpoint::write_i64(&*self.disk, &dir.join(LOG_START_FILE), start.get())
            .map_err(|e| self.fail(e))
    }

    /// Closes the log cleanly: flush everything, write the checkpoints, a producer-state
    /// snapshot at the log end and the clean-shutdown marker, so the next open trusts the
    /// files without a scan.
    pub fn close(mut self) -> Result<()> {
        self.flush_files(true)?;
        self.checkpoint()?;
        self.snapshot_producers()?;
        let marker = self.shared.dir.join(CLEAN_SHUTDOWN_FILE);
        let file =
            std::fs::File::create(&marker).io_context("create clean-shutdown marker", &marker)?;
        self.disk
            .sync_file(&file)
            .io_context("fsync clean-shutdown marker", &marker)?;
        self.disk
            .sync_dir(&self.shared.dir)
            .io_context("fsync directory", &self.shared.dir)
    }

    /// Starts a new active segment at the log end (also done by append when a roll is
    /// due), after a producer-state snapshot there, so that replay on open covers at most
    /// the active segment.
    pub fn roll(&mut self) -> Result<()> {
        self.ensure_ok()?;
        if self.shared.lock().active().size() == 0 {
            return Ok(());
        }
        self.snapshot_producers()?;
        let mut state = self.shared.lock();
        let end = state.log_end;
        let created = state
            .active_mut()
            .write_indexes()
            .and_then(|()| Segment::create(&self.shared.dir, end, &self.config));
        match created {
            Ok(segment) => {
                state.segments.insert(end, segment);
                self.dir_dirty = true;
                Ok(())
            }
            Err(e) => {
                drop(state);
                Err(self.fail(e))
            }
        }
    }
}
