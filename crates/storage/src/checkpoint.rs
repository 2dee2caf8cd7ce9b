//! Small checkpoint files next to the segments, written atomically: write a temp file,
//! fsync it, rename it over the old one, fsync the directory. A crash leaves either the
//! old or the new file, never a mix; a leftover `.tmp` is ignored and overwritten.
//!
//! Format (Kafka's): a version line, a count line, then one entry per line.
//!
//! ```text
//! 0
//! 2
//! 0 0
//! 3 1200
//! ```

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::disk::Disk;
use crate::error::{IoContext as _, Result, StorageError};

const VERSION: &str = "0";
/// A checkpoint larger than this is refused before it is read: none of ours comes near.
const MAX_CHECKPOINT_BYTES: u64 = 16 << 20;

/// Writes `entries` (one line each) to `path` atomically and durably.
pub fn write(disk: &dyn Disk, path: &Path, entries: &[String]) -> Result<()> {
    let mut text = format!("{VERSION}\n{}\n", entries.len());
    for entry in entries {
        text.push_str(entry);
        text.push('\n');
    }
    let tmp = tmp_path(path);
    let mut file = fs::File::create(&tmp).io_context("create checkpoint", &tmp)?;
    file.write_all(text.as_bytes())
        .io_context("write checkpoint", &tmp)?;
    disk.sync_file(&file).io_context("fsync checkpoint", &tmp)?;
    drop(file);
    fs::rename(&tmp, path).io_context("rename checkpoint", path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    disk.sync_dir(dir).io_context("fsync directory", dir)
}

/// Reads the entries of the checkpoint at `path`, or `None` if it does not exist.
pub fn read(path: &Path) -> Result<Option<Vec<String>>> {
    let corrupt = |reason: &str| StorageError::CorruptCheckpoint {
        file: path.to_owned(),
        reason: reason.to_owned(),
    };
    let len = match fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).io_context("stat checkpoint", path),
    };
    if len > MAX_CHECKPOINT_BYTES {
        return Err(corrupt("larger than any checkpoint rill writes"));
    }
    let text = fs::read_to_string(path).io_context("read checkpoint", path)?;
    let mut lines = text.lines();
    if lines.next() != Some(VERSION) {
        return Err(corrupt("unknown version"));
    }
    let count: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| corrupt("bad count line"))?;
    let entries: Vec<String> = lines.map(str::to_owned).collect();
    if entries.len() != count {
        return Err(corrupt(&format!(
            "count says {count} entries, found {}",
            entries.len()
        )));
    }
    Ok(Some(entries))
}

/// Reads a checkpoint holding exactly one integer, or `None` if absent.
pub fn read_i64(path: &Path) -> Result<Option<i64>> {
    let Some(entries) = read(path)? else {
        return Ok(None);
    };
    match entries.as_slice() {
        [one] => one
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| StorageError::CorruptCheckpoint {
                file: path.to_owned(),
                reason: format!("not an integer: {one:?}"),
            }),
        _ => Err(StorageError::CorruptCheckpoint {
            file: path.to_owned(),
            reason: format!("expected one entry, found {}", entries.len()),
        }),
    }
}

/// Writes a checkpoint holding exactly one integer.
pub fn write_i64(disk: &dyn Disk, path: &Path, value: i64) -> Result<()> {
    write(disk, path, &[value.to_string()])
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::RealDisk;

    #[test]
    fn round_trip_and_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("recovery-point");
        assert_eq!(read_i64(&path).unwrap(), None);
        write_i64(&RealDisk, &path, 42).unwrap();
        assert_eq!(read_i64(&path).unwrap(), Some(42));
        write_i64(&RealDisk, &path, 43).unwrap();
        assert_eq!(read_i64(&path).unwrap(), Some(43));
        assert!(!tmp_path(&path).exists());
    }

    #[test]
    fn a_leftover_temp_file_does_not_matter() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp");
        write_i64(&RealDisk, &path, 1).unwrap();
        fs::write(tmp_path(&path), "garbage").unwrap();
        assert_eq!(read_i64(&path).unwrap(), Some(1));
        write_i64(&RealDisk, &path, 2).unwrap();
        assert_eq!(read_i64(&path).unwrap(), Some(2));
    }

    #[test]
    fn garbage_is_a_named_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp");
        for bad in ["", "1\n1\n5\n", "0\n2\n5\n", "0\n1\nfive\n"] {
            fs::write(&path, bad).unwrap();
            let err = read_i64(&path).unwrap_err().to_string();
            assert!(err.contains("cp"), "{err}");
        }
    }
}
