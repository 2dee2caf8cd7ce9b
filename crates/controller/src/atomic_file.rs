//! Writing a file atomically and durably: temp file, fsync, rename, fsync the directory.
//! A crash leaves the old file or the new one, never a mix. (rill-storage has the same
//! routine for its checkpoints; the controller must not depend on storage.)

use std::fs;
use std::io::Write as _;
use std::path::Path;

/// Replaces `path` with `bytes`, atomically and durably.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let mut file = fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::File::open(dir)?.sync_all()
}
