//! The log's idempotent-producer state: loading it on open and after a truncation
//! (newest usable snapshot, then the batch headers from there to the log end), and
//! snapshotting it at segment roll, clean close, and when the log start passes every
//! snapshot.
//!
//! Invariant: for every producer in the table, the entry reflects that producer's
//! newest batch in the log (or a newer one retention removed). A producer may be missing
//! altogether (expired, evicted, lost with retention or a damaged snapshot) — that only
//! costs deduplication of its retries, since no state accepts any sequence — but never
//! stale, which would refuse its next batch as out of order. Hence a snapshot is used
//! only when it lies within [log start, log end]: one above the log end describes
//! batches that are gone, and one below the log start misses the batches between it and
//! the log start, which no replay can bring back.

use std::sync::Arc;

use rill_types::Offset;

use super::Log;
use crate::error::{Result, StorageError};
use crate::producer_state::ProducerBatch;
use crate::scan::scan_file;

impl Log {
    /// The producer state (read-only; the log's appends maintain it).
    pub fn producer_state(&self) -> &crate::ProducerStateTable {
        &self.producers
    }

    /// Rebuilds the producer state for the log as it is: deletes snapshots outside
    /// [log start, log end], loads the newest valid one left (a damaged one is removed
    /// with a warning and the next older tried), and replays the batch headers from it
    /// (or from the log start, without one) to the log end.
    pub(crate) fn load_producer_state(&mut self) -> Result<()> {
        let (log_start, log_end) = {
            let state = self.shared.lock();
            (state.log_start, state.log_end)
        };
        if self
            .snapshots
            .delete_where(|o| o > log_end || o < log_start)?
        {
            self.dir_dirty = true;
        }
        self.producers.clear();
        let mut from = log_start;
        while let Some(offset) = self.snapshots.newest() {
            match self.snapshots.read(offset, &mut self.producers)? {
                Ok(()) => {
                    from = offset;
                    break;
                }
                Err(reason) => {
                    tracing::warn!(
                        file = %self.snapshots.path(offset).display(),
                        %reason,
                        "ignoring a damaged producer-state snapshot"
                    );
                    self.snapshots.delete_where(|o| o == offset)?;
                    self.dir_dirty = true;
                }
            }
        }
        self.replay_producers(from)?;
        self.producers.expire(self.clock.now_ms());
        Ok(())
    }

    /// Feeds every batch at or above `from` to the producer state, headers only. A
    /// replayed batch counts as appended at its max timestamp (the log keeps no other
    /// record of when), capped at now so a producer's clock ahead cannot pin an entry.
    fn replay_producers(&mut self, from: Offset) -> Result<()> {
        let ranges: Vec<_> = {
            let state = self.shared.lock();
            state
                .segments
                .values()
                .filter(|s| s.next_offset() > from && s.size() > 0)
                .map(|s| {
                    let start = if s.base() < from {
                        s.scan_start(from)
                    } else {
                        0
                    };
                    (Arc::clone(s.file()), s.path().to_owned(), start, s.size())
                })
                .collect()
        };
        let now = self.clock.now_ms();
        let producers = &mut self.producers;
        for (file, path, start, size) in ranges {
            let stop = scan_file(&file, &path, start, size, false, |_, header, _| {
                if header.base_offset >= from
                    && let Some(batch) = ProducerBatch::of(header, header.base_offset)
                {
                    producers.update(&batch, header.max_timestamp.min(now));
                }
                true
            })?;
            if let Some(stop) = stop {
                // Recovery already cut anything torn: these bytes were trusted.
                return Err(StorageError::CorruptBatch {
                    file: path,
                    position: stop.position,
                    offset: stop.offset,
                    reason: stop.reason,
                });
            }
        }
        Ok(())
    }

    /// Writes the producer-state snapshot at the log end (segment roll, clean close).
    pub(crate) fn snapshot_producers(&mut self) -> Result<()> {
        let end = self.log_end_offset();
        self.producers.expire(self.clock.now_ms());
        let written = self.snapshots.write(&*self.disk, end, &self.producers);
        written.map_err(|e| self.fail(e))
    }

    /// After the log start moved to `start` (retention, delete-records): snapshots below
    /// it are useless (see the module docs) and go; when none is left, one is written at
    /// the log end so that a reopen keeps the producers whose batches retention removed.
    pub(crate) fn producers_after_log_start_moved(&mut self, start: Offset) -> Result<()> {
        self.snapshots
            .delete_where(|o| o < start)
            .map_err(|e| self.fail(e))?;
        if self.snapshots.newest().is_none() {
            self.snapshot_producers()?;
        }
        Ok(())
    }
}
