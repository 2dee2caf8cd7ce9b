//! The leader-epoch cache: for each leader epoch, the first offset written in it.
//! Followers ask the leader for "the end offset of epoch E" (Kafka's OffsetForLeaderEpoch,
//! KIP-101/279) to find where their log diverged, and truncate there.
//!
//! Invariants: epochs strictly increase and start offsets never decrease along the
//! entries; every entry's start offset is below the log end offset (entries for data that
//! was truncated away are removed with it). The cache is persisted as the
//! `leader-epoch-checkpoint` file on every change.

use std::path::PathBuf;

use rill_types::{LeaderEpoch, Offset};

use crate::checkpoint;
use crate::disk::Disk;
use crate::error::{Result, StorageError};

/// The file name, next to the segments.
pub const FILE_NAME: &str = "leader-epoch-checkpoint";

/// One entry: epoch `epoch` began at `start_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    /// The leader epoch.
    pub epoch: LeaderEpoch,
    /// The first offset appended in that epoch.
    pub start_offset: Offset,
}

/// The in-memory cache plus its checkpoint file. A clone is a snapshot for readers
/// (it is only persisted through the log that owns the original).
#[derive(Debug, Clone)]
pub struct LeaderEpochCache {
    path: PathBuf,
    entries: Vec<EpochEntry>,
}

impl LeaderEpochCache {
    /// Loads the cache from `dir`'s checkpoint (empty if there is none).
    pub fn load(dir: &std::path::Path) -> Result<Self> {
        let path = dir.join(FILE_NAME);
        let mut entries = Vec::new();
        for line in checkpoint::read(&path)?.unwrap_or_default() {
            let corrupt = || StorageError::CorruptCheckpoint {
                file: path.clone(),
                reason: format!("bad entry {line:?}"),
            };
            let mut parts = line.split_whitespace();
            let epoch = parts
                .next()
                .and_then(|p| p.parse().ok())
                .ok_or_else(corrupt)?;
            let start = parts
                .next()
                .and_then(|p| p.parse().ok())
                .ok_or_else(corrupt)?;
            entries.push(EpochEntry {
                epoch: LeaderEpoch::new(epoch),
                start_offset: Offset::new(start),
            });
        }
        let ordered = entries
            .windows(2)
            .all(|w| w[0].epoch < w[1].epoch && w[0].start_offset <= w[1].start_offset);
        if !ordered {
            return Err(StorageError::CorruptCheckpoint {
                file: path,
                reason: "entries out of order".to_owned(),
            });
        }
        Ok(Self { path, entries })
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    /// The newest epoch, if any.
    pub fn latest_epoch(&self) -> Option<LeaderEpoch> {
        self.entries.last().map(|e| e.epoch)
    }

    /// Records that `epoch` starts at `start_offset` (called for the first batch of each new
    /// epoch appended). An epoch not newer than the latest is ignored (it is already known).
    /// Returns whether the cache changed; the caller persists it.
    pub fn assign(&mut self, epoch: LeaderEpoch, start_offset: Offset) -> bool {
        if self.latest_epoch().is_some_and(|latest| epoch <= latest) {
            return false;
        }
        debug_assert!(
            self.entries
                .last()
                .is_none_or(|e| e.start_offset <= start_offset)
        );
        self.entries.push(EpochEntry {
            epoch,
            start_offset,
        });
        true
    }

    /// The answer to OffsetForLeaderEpoch(`epoch`) on a log whose end is `log_end`:
    /// the largest known epoch ≤ `epoch`, and the offset where the epoch after it starts
    /// (or the log end when it is the latest). `None` when `epoch` is older than every
    /// entry (Kafka answers UNDEFINED_EPOCH_OFFSET then).
    pub fn end_offset_for(
        &self,
        epoch: LeaderEpoch,
        log_end: Offset,
    ) -> Option<(LeaderEpoch, Offset)> {
        let index = self.entries.iter().rposition(|e| e.epoch <= epoch)?;
        let found = self.entries[index].epoch;
        let end = self
            .entries
            .get(index + 1)
            .map_or(log_end, |next| next.start_offset);
        Some((found, end))
    }

    /// Removes entries for offsets at or above `end` (the log was truncated to `end`).
    pub fn truncate_from_end(&mut self, end: Offset) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.start_offset < end);
        before != self.entries.len()
    }

    /// Drops entries made obsolete by a new log start offset: every entry that starts
    /// before `start` except the last of them, which is moved up to `start`.
    pub fn truncate_from_start(&mut self, start: Offset) -> bool {
        let covering = self.entries.iter().rposition(|e| e.start_offset <= start);
        let Some(keep_from) = covering else {
            return false;
        };
        let changed = keep_from > 0 || self.entries[keep_from].start_offset != start;
        self.entries.drain(..keep_from);
        self.entries[0].start_offset = start;
        changed
    }

    /// Writes the checkpoint file atomically.
    pub fn persist(&self, disk: &dyn Disk) -> Result<()> {
        let lines: Vec<String> = self
            .entries
            .iter()
            .map(|e| format!("{} {}", e.epoch, e.start_offset))
            .collect();
        checkpoint::write(disk, &self.path, &lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::RealDisk;

    fn e(epoch: i32) -> LeaderEpoch {
        LeaderEpoch::new(epoch)
    }

    fn o(offset: i64) -> Offset {
        Offset::new(offset)
    }

    fn cache() -> (tempfile::TempDir, LeaderEpochCache) {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = LeaderEpochCache::load(dir.path()).unwrap();
        assert!(cache.assign(e(0), o(0)));
        assert!(cache.assign(e(2), o(10)));
        assert!(cache.assign(e(5), o(25)));
        (dir, cache)
    }

    #[test]
    fn end_offset_for_epoch_is_the_start_of_the_next_epoch() {
        let (_dir, cache) = cache();
        assert_eq!(cache.end_offset_for(e(0), o(40)), Some((e(0), o(10))));
        // Epoch 1 was never used here: the answer is the largest epoch below it.
        assert_eq!(cache.end_offset_for(e(1), o(40)), Some((e(0), o(10))));
        assert_eq!(cache.end_offset_for(e(2), o(40)), Some((e(2), o(25))));
        assert_eq!(cache.end_offset_for(e(5), o(40)), Some((e(5), o(40))));
        assert_eq!(cache.end_offset_for(e(9), o(40)), Some((e(5), o(40))));
        let empty = LeaderEpochCache::load(tempfile::tempdir().unwrap().path()).unwrap();
        assert_eq!(empty.end_offset_for(e(3), o(0)), None);
    }

    #[test]
    fn older_epochs_are_ignored() {
        let (_dir, mut cache) = cache();
        assert!(!cache.assign(e(5), o(30)));
        assert!(!cache.assign(e(1), o(30)));
        assert_eq!(cache.entries().len(), 3);
    }

    #[test]
    fn truncation_from_end_drops_epochs_that_start_at_or_after_it() {
        let (_dir, mut cache) = cache();
        assert!(cache.truncate_from_end(o(25)));
        assert_eq!(cache.latest_epoch(), Some(e(2)));
        assert_eq!(cache.end_offset_for(e(5), o(25)), Some((e(2), o(25))));
        assert!(cache.truncate_from_end(o(3)));
        assert_eq!(cache.latest_epoch(), Some(e(0)));
        assert!(!cache.truncate_from_end(o(3)));
    }

    #[test]
    fn truncation_from_start_keeps_the_covering_epoch() {
        let (_dir, mut cache) = cache();
        assert!(cache.truncate_from_start(o(12)));
        assert_eq!(
            cache.entries(),
            &[
                EpochEntry {
                    epoch: e(2),
                    start_offset: o(12)
                },
                EpochEntry {
                    epoch: e(5),
                    start_offset: o(25)
                }
            ]
        );
    }

    #[test]
    fn persists_and_reloads() {
        let (dir, cache) = cache();
        cache.persist(&RealDisk).unwrap();
        let loaded = LeaderEpochCache::load(dir.path()).unwrap();
        assert_eq!(loaded.entries(), cache.entries());
    }
}
