//! The durability calls, injected: every fsync the log makes goes through a [`Disk`], so
//! tests can make one fail and check that the log fails with it instead of carrying on.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The calls that make data durable.
pub trait Disk: Send + Sync + std::fmt::Debug {
    /// Makes a file's data durable (fdatasync).
    fn sync_file(&self, file: &File) -> std::io::Result<()>;

    /// Makes a directory's entries (creations, renames, deletions) durable.
    fn sync_dir(&self, dir: &Path) -> std::io::Result<()>;
}

/// The real disk.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealDisk;

impl Disk for RealDisk {
    fn sync_file(&self, file: &File) -> std::io::Result<()> {
        file.sync_data()
    }

    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

/// A disk that counts syncs and fails them on demand, for tests.
#[derive(Debug, Default)]
pub struct FaultyDisk {
    fail: AtomicBool,
    file_syncs: AtomicU64,
}

impl FaultyDisk {
    /// From now on every sync fails (`true`) or succeeds (`false`).
    pub fn set_failing(&self, fail: bool) {
        self.fail.store(fail, Ordering::SeqCst);
    }

    /// How many file syncs succeeded so far.
    pub fn file_syncs(&self) -> u64 {
        self.file_syncs.load(Ordering::SeqCst)
    }

    fn check(&self) -> std::io::Result<()> {
        if self.fail.load(Ordering::SeqCst) {
            Err(std::io::Error::other("injected fsync failure"))
        } else {
            Ok(())
        }
    }
}

impl Disk for FaultyDisk {
    fn sync_file(&self, file: &File) -> std::io::Result<()> {
        self.check()?;
        file.sync_data()?;
        self.file_syncs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        self.check()?;
        File::open(dir)?.sync_all()
    }
}
