//! The two sparse per-segment indexes, held in memory and appended to their files.
//!
//! - `.index`: relative offset (u32) → byte position (u32) of a batch's start; one
//!   entry per `index.interval.bytes` of log. Lookup gives a batch at or before the one
//!   holding an offset; the reader scans forward from there.
//! - `.timeindex`: largest timestamp so far (i64) → relative offset (u32) of the batch
//!   that carried it; an entry whenever the segment's max timestamp grew since the last.
//!
//! Entries are kept in memory (at most `segment.index.bytes` of them per segment) and
//! written to the file lazily: on flush, roll and close. The file is therefore never
//! trusted beyond what it can prove: on open it is sanity-checked against the log (size
//! a multiple of the entry, entries strictly ordered, positions inside the log) and
//! rebuilt from the log when it fails, or when recovery rescans the segment anyway.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{IoContext as _, Result};

/// One fixed-size index entry.
pub trait IndexEntry: Copy + std::fmt::Debug + PartialEq {
    /// Bytes per entry on disk.
    const SIZE: usize;
    /// Writes the entry (big-endian) into `buf[..SIZE]`.
    fn encode(&self, buf: &mut [u8]);
    /// Reads an entry from `buf[..SIZE]`.
    fn decode(buf: &[u8]) -> Self;
    /// The relative offset the entry points at.
    fn relative_offset(&self) -> u32;
    /// Whether `next` may follow `self` in a valid index.
    fn may_precede(&self, next: &Self) -> bool;
}

/// `.index` entry: the batch starting at `position` has base offset `base + relative_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetEntry {
    /// Base offset of the batch, relative to the segment's base offset.
    pub relative_offset: u32,
    /// Byte position of the batch in the `.log` file.
    pub position: u32,
}

impl IndexEntry for OffsetEntry {
    const SIZE: usize = 8;

    fn encode(&self, buf: &mut [u8]) {
        buf[0..4].copy_from_slice(&self.relative_offset.to_be_bytes());
        buf[4..8].copy_from_slice(&self.position.to_be_bytes());
    }

    fn decode(buf: &[u8]) -> Self {
        Self {
            relative_offset: u32::from_be_bytes(buf[0..4].try_into().expect("4 bytes")),
            position: u32::from_be_bytes(buf[4..8].try_into().expect("4 bytes")),
        }
    }

    fn relative_offset(&self) -> u32 {
        self.relative_offset
    }

    fn may_precede(&self, next: &Self) -> bool {
        self.relative_offset < next.relative_offset && self.position < next.position
    }
}

/// `.timeindex` entry: up to the batch at `relative_offset`, the largest timestamp is `timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeEntry {
    /// The segment's largest timestamp so far.
    pub timestamp: i64,
    /// Base offset (relative) of the batch that first carried it.
    pub relative_offset: u32,
}

impl IndexEntry for TimeEntry {
    const SIZE: usize = 12;

    fn encode(&self, buf: &mut [u8]) {
        buf[0..8].copy_from_slice(&self.timestamp.to_be_bytes());
        buf[8..12].copy_from_slice(&self.relative_offset.to_be_bytes());
    }

    fn decode(buf: &[u8]) -> Self {
        Self {
            timestamp: i64::from_be_bytes(buf[0..8].try_into().expect("8 bytes")),
            relative_offset: u32::from_be_bytes(buf[8..12].try_into().expect("4 bytes")),
        }
    }

    fn relative_offset(&self) -> u32 {
        self.relative_offset
    }

    fn may_precede(&self, next: &Self) -> bool {
        self.timestamp < next.timestamp && self.relative_offset < next.relative_offset
    }
}

/// An index: its entries in memory and its file, of which the first `persisted` entries
/// have been written.
#[derive(Debug)]
pub struct Index<E: IndexEntry> {
    path: PathBuf,
    file: Arc<File>,
    entries: Vec<E>,
    persisted: usize,
    max_entries: usize,
}

impl<E: IndexEntry> Index<E> {
    /// Creates (or truncates) an empty index file.
    pub fn create(path: &Path, max_bytes: usize) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .io_context("create index", path)?;
        Ok(Self {
            path: path.to_owned(),
            file: Arc::new(file),
            entries: Vec::new(),
            persisted: 0,
            max_entries: (max_bytes / E::SIZE).max(1),
        })
    }

    /// Opens an existing index and loads its entries, or `None` when the file is missing,
    /// too large, not a whole number of entries, or its entries are not strictly ordered
    /// or point past `valid`. The caller then rebuilds it from the log.
    pub fn open_checked(
        path: &Path,
        max_bytes: usize,
        valid: impl Fn(&E) -> bool,
    ) -> Result<Option<Self>> {
        let file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).io_context("open index", path),
        };
        let len = file.metadata().io_context("stat index", path)?.len();
        // Checked before allocating: an index can never be larger than its configured
        // maximum (plus one entry of slack for a max that is not a multiple).
        if len > (max_bytes + E::SIZE) as u64 || len % E::SIZE as u64 != 0 {
            return Ok(None);
        }
        let mut bytes = vec![0u8; len as usize];
        file.read_exact_at(&mut bytes, 0)
            .io_context("read index", path)?;
        let entries: Vec<E> = bytes.chunks_exact(E::SIZE).map(E::decode).collect();
        let ordered = entries.windows(2).all(|w| w[0].may_precede(&w[1]));
        if !ordered || !entries.iter().all(valid) {
            return Ok(None);
        }
        Ok(Some(Self {
            path: path.to_owned(),
            file: Arc::new(file),
            persisted: entries.len(),
            entries,
            max_entries: (max_bytes / E::SIZE).max(1),
        }))
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[E] {
        &self.entries
    }

    /// Whether no more entries fit (the segment must roll).
    pub fn is_full(&self) -> bool {
        self.entries.len() >= self.max_entries
    }

    /// Appends an entry. The caller keeps entries ordered and checks `is_full` first.
    pub fn push(&mut self, entry: E) {
        debug_assert!(
            self.entries
                .last()
                .is_none_or(|last| last.may_precede(&entry))
        );
        debug_assert!(!self.is_full());
        self.entries.push(entry);
    }

    /// The last entry whose relative offset is at most `relative_offset`.
    pub fn floor(&self, relative_offset: u32) -> Option<E> {
        let at = self
            .entries
            .partition_point(|e| e.relative_offset() <= relative_offset);
        at.checked_sub(1).map(|i| self.entries[i])
    }

    /// Writes the entries not yet in the file; no fsync.
    pub fn write_pending(&mut self) -> Result<()> {
        if self.persisted == self.entries.len() {
            return Ok(());
        }
        let pending = &self.entries[self.persisted..];
        let mut bytes = vec![0u8; pending.len() * E::SIZE];
        for (entry, chunk) in pending.iter().zip(bytes.chunks_exact_mut(E::SIZE)) {
            entry.encode(chunk);
        }
        self.file
            .write_all_at(&bytes, (self.persisted * E::SIZE) as u64)
            .io_context("write index", &self.path)?;
        self.persisted = self.entries.len();
        Ok(())
    }

    /// The file and its path, for an fsync by the caller.
    pub fn handle(&self) -> (Arc<File>, PathBuf) {
        (Arc::clone(&self.file), self.path.clone())
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_write_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        let mut index = Index::<OffsetEntry>::create(&path, 1024).unwrap();
        for i in 0..10 {
            index.push(OffsetEntry {
                relative_offset: i * 10,
                position: i * 100,
            });
        }
        index.write_pending().unwrap();
        let reopened = Index::<OffsetEntry>::open_checked(&path, 1024, |_| true)
            .unwrap()
            .unwrap();
        assert_eq!(reopened.entries(), index.entries());
        assert_eq!(reopened.floor(25).unwrap().relative_offset, 20);
        assert_eq!(reopened.floor(0).unwrap().relative_offset, 0);
    }

    #[test]
    fn garbage_is_refused_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        std::fs::write(&path, [1u8; 13]).unwrap();
        assert!(
            Index::<OffsetEntry>::open_checked(&path, 1024, |_| true)
                .unwrap()
                .is_none()
        );
        std::fs::write(&path, [0u8; 16]).unwrap(); // two equal entries: not strictly ordered
        assert!(
            Index::<OffsetEntry>::open_checked(&path, 1024, |_| true)
                .unwrap()
                .is_none()
        );
        std::fs::write(&path, vec![0u8; 4096]).unwrap(); // over the maximum
        assert!(
            Index::<OffsetEntry>::open_checked(&path, 1024, |_| true)
                .unwrap()
                .is_none()
        );
        let missing = dir.path().join("1.index");
        assert!(
            Index::<OffsetEntry>::open_checked(&missing, 1024, |_| true)
                .unwrap()
                .is_none()
        );
    }
}
