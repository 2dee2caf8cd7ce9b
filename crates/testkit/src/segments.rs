//! Reading a partition directory the way a power cut would leave it: its segment files
//! (`<20-digit base offset>.log`, each a run of Kafka RecordBatch v2) and its
//! `recovery-point-offset-checkpoint`. Independent of rill-storage on purpose: the kit
//! checks the broker's files against the format, not against the broker's own reader.
//!
//! Batch header fields used: baseOffset (i64 BE at 0), batchLength (i32 BE at 8, bytes
//! after that field), lastOffsetDelta (i32 BE at 23). A v2 header is 61 bytes, so a
//! batchLength below 49, or one running past the end of the file, is a torn tail.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext as _, Result};

/// The recovery-point checkpoint: offsets below it are fsynced.
pub const RECOVERY_POINT_FILE: &str = "recovery-point-offset-checkpoint";
/// Present only between a clean close of the log and its next open.
pub const CLEAN_SHUTDOWN_FILE: &str = ".kafka_cleanshutdown";
/// Bytes of a RecordBatch v2 header.
const HEADER_BYTES: usize = 61;
/// Bytes before the batchLength field's count starts (baseOffset + batchLength).
const LENGTH_PREFIX: usize = 12;

/// One whole batch found in a segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The segment's base offset (from its file name).
    pub segment: i64,
    /// Byte position of the batch in its segment file.
    pub position: u64,
    /// The batch's first offset.
    pub base_offset: i64,
    /// The batch's last offset (baseOffset + lastOffsetDelta).
    pub last_offset: i64,
    /// The batch, header included, exactly as stored.
    pub bytes: Vec<u8>,
}

/// The whole batches of one segment file and where its torn tail (if any) starts.
#[derive(Debug)]
struct ScannedSegment {
    base: i64,
    path: PathBuf,
    len: u64,
    batches: Vec<Batch>,
    /// Position of the first byte that is not part of a whole batch, if any.
    torn_at: Option<u64>,
}

/// Every whole batch of the partition in `dir`, in offset order (segment by segment).
/// A torn tail at the end of a segment is skipped, not an error.
pub fn read_batches(dir: &Path) -> Result<Vec<Batch>> {
    Ok(scan_dir(dir)?
        .into_iter()
        .flat_map(|segment| segment.batches)
        .collect())
}

/// The recovery point from `dir`'s checkpoint; 0 when there is no checkpoint (nothing
/// is known to be durable). The format is rill-storage's (Kafka's): a version line `0`,
/// a count line `1`, then the offset.
pub fn read_recovery_point(dir: &Path) -> Result<i64> {
    let path = dir.join(RECOVERY_POINT_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).io("read checkpoint", path),
    };
    parse_single_entry_checkpoint(&text).map_err(|reason| Error::Format { path, reason })
}

fn parse_single_entry_checkpoint(text: &str) -> Result<i64, String> {
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some("0") {
        return Err("unknown checkpoint version".into());
    }
    if lines.next().map(str::trim) != Some("1") {
        return Err("expected a count of 1".into());
    }
    let entry = lines.next().ok_or("missing entry")?;
    if lines.next().is_some() {
        return Err("more lines than the count says".into());
    }
    entry
        .trim()
        .parse()
        .map_err(|_| format!("not an integer: {entry:?}"))
}

/// Simulates a power cut on the (stopped) partition in `dir`: every byte from the first
/// batch whose last offset is at or past the recovery point — or from the first torn
/// batch, whichever comes first — vanishes. That segment is truncated there, later
/// segments are deleted (with their indexes), and the clean-shutdown marker is removed
/// so that the broker recovers the log when it opens it. Indexes of the truncated
/// segment are left alone: recovery rebuilds them. Returns the number of log bytes cut.
pub fn cut_to_flushed(dir: &Path) -> Result<u64> {
    let recovery_point = read_recovery_point(dir)?;
    let segments = scan_dir(dir)?;
    let mut cut = 0;
    let mut cutting = false;
    for segment in &segments {
        if cutting {
            cut += segment.len;
            delete_segment(dir, segment.base)?;
            continue;
        }
        let first_unflushed = segment
            .batches
            .iter()
            .find(|b| b.last_offset >= recovery_point)
            .map(|b| b.position);
        let Some(at) = first_unflushed.or(segment.torn_at) else {
            continue;
        };
        let file = fs::OpenOptions::new()
            .write(true)
            .open(&segment.path)
            .io("open segment", &segment.path)?;
        file.set_len(at).io("truncate segment", &segment.path)?;
        cut += segment.len - at;
        cutting = true;
    }
    let marker = dir.join(CLEAN_SHUTDOWN_FILE);
    match fs::remove_file(&marker) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).io("remove clean-shutdown marker", marker);
        }
        _ => {}
    }
    Ok(cut)
}

/// Removes the segment at `base` (its log and both indexes).
fn delete_segment(dir: &Path, base: i64) -> Result<()> {
    for ext in ["log", "index", "timeindex"] {
        let path = dir.join(format!("{base:020}.{ext}"));
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).io("delete segment file", path);
            }
            _ => {}
        }
    }
    Ok(())
}

/// The segments of `dir`, in base-offset order, each scanned.
fn scan_dir(dir: &Path) -> Result<Vec<ScannedSegment>> {
    let mut bases = Vec::new();
    for entry in fs::read_dir(dir).io("list partition directory", dir)? {
        let name = entry.io("list partition directory", dir)?.file_name();
        let name = name.to_string_lossy();
        let Some(stem) = name.strip_suffix(".log") else {
            continue;
        };
        if stem.len() == 20
            && stem.bytes().all(|b| b.is_ascii_digit())
            && let Ok(base) = stem.parse::<i64>()
        {
            bases.push(base);
        }
    }
    bases.sort_unstable();
    bases
        .into_iter()
        .map(|base| {
            let path = dir.join(format!("{base:020}.log"));
            let bytes = fs::read(&path).io("read segment", &path)?;
            let (batches, torn_at) = scan(base, &bytes);
            Ok(ScannedSegment {
                base,
                path,
                len: bytes.len() as u64,
                batches,
                torn_at,
            })
        })
        .collect()
}

/// The whole batches in a segment's `bytes`, and where the torn tail starts, if any.
fn scan(segment: i64, bytes: &[u8]) -> (Vec<Batch>, Option<u64>) {
    let mut batches = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let Some(total) = whole_batch_len(rest) else {
            return (batches, Some(at as u64));
        };
        let batch = &rest[..total];
        let base_offset = i64::from_be_bytes(batch[0..8].try_into().expect("8 bytes"));
        let delta = i32::from_be_bytes(batch[23..27].try_into().expect("4 bytes"));
        batches.push(Batch {
            segment,
            position: at as u64,
            base_offset,
            last_offset: base_offset + i64::from(delta),
            bytes: batch.to_vec(),
        });
        at += total;
    }
    (batches, None)
}

/// The length of the whole batch at the start of `bytes`, or `None` if it is torn
/// (too short for its header or its stated length) or its length is impossible.
fn whole_batch_len(bytes: &[u8]) -> Option<usize> {
    let length = i32::from_be_bytes(bytes.get(8..12)?.try_into().ok()?);
    let total = LENGTH_PREFIX.checked_add(usize::try_from(length).ok()?)?;
    (total >= HEADER_BYTES && total <= bytes.len()).then_some(total)
}

/// Hand-made batches and partition directories for unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A v2-shaped batch of `records` records from `base`: a real header layout with
    /// `fill` as payload. The CRC is not computed: nothing here checks it.
    pub(crate) fn batch(base: i64, records: i32, fill: u8) -> Vec<u8> {
        let payload = [fill; 10];
        let length = (HEADER_BYTES - LENGTH_PREFIX + payload.len()) as i32;
        let mut b = Vec::new();
        b.extend_from_slice(&base.to_be_bytes());
        b.extend_from_slice(&length.to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes()); // partitionLeaderEpoch
        b.push(2); // magic
        b.extend_from_slice(&0u32.to_be_bytes()); // crc
        b.extend_from_slice(&0i16.to_be_bytes()); // attributes
        b.extend_from_slice(&(records - 1).to_be_bytes()); // lastOffsetDelta
        b.resize(HEADER_BYTES - 4, 0); // timestamps, producer fields
        b.extend_from_slice(&records.to_be_bytes()); // record count
        b.extend_from_slice(&payload);
        assert_eq!(b.len(), LENGTH_PREFIX + length as usize);
        b
    }

    /// Writes segment `base` of `dir` holding `batches`.
    pub(crate) fn write_segment(dir: &Path, base: i64, batches: &[Vec<u8>]) {
        fs::write(dir.join(format!("{base:020}.log")), batches.concat()).unwrap();
    }

    /// Writes the recovery-point checkpoint of `dir`.
    pub(crate) fn write_recovery_point(dir: &Path, offset: i64) {
        fs::write(dir.join(RECOVERY_POINT_FILE), format!("0\n1\n{offset}\n")).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn reads_batches_across_segments_skipping_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        write_segment(dir.path(), 0, &[batch(0, 3, 1), batch(3, 2, 2)]);
        let mut second = batch(5, 1, 3);
        second.extend_from_slice(&batch(6, 1, 4)[..20]); // torn
        write_segment(dir.path(), 5, &[second]);
        let got = read_batches(dir.path()).unwrap();
        let offsets: Vec<_> = got.iter().map(|b| (b.base_offset, b.last_offset)).collect();
        assert_eq!(offsets, [(0, 2), (3, 4), (5, 5)]);
        assert_eq!(got[1].position, batch(0, 3, 1).len() as u64);
        assert_eq!(got[2].segment, 5);
    }

    #[test]
    fn recovery_point_parses_the_storage_format() {
        assert_eq!(parse_single_entry_checkpoint("0\n1\n1200\n"), Ok(1200));
        for bad in [
            "",
            "1\n1\n5\n",
            "0\n2\n5\n6\n",
            "0\n1\nfive\n",
            "0\n1\n5\n6\n",
        ] {
            assert!(parse_single_entry_checkpoint(bad).is_err(), "{bad:?}");
        }
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_recovery_point(dir.path()).unwrap(), 0);
    }

    #[test]
    fn cut_removes_batches_at_or_past_the_recovery_point() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (batch(0, 3, 1), batch(3, 3, 2), batch(6, 3, 3));
        write_segment(dir.path(), 0, &[a.clone(), b.clone(), c.clone()]);
        write_recovery_point(dir.path(), 5); // batch b (3..=5) is not wholly durable
        fs::write(dir.path().join(CLEAN_SHUTDOWN_FILE), "").unwrap();
        let cut = cut_to_flushed(dir.path()).unwrap();
        assert_eq!(cut, (b.len() + c.len()) as u64);
        let left = fs::read(dir.path().join(format!("{:020}.log", 0))).unwrap();
        assert_eq!(left, a);
        assert!(!dir.path().join(CLEAN_SHUTDOWN_FILE).exists());
    }

    #[test]
    fn cut_deletes_later_segments_and_keeps_a_fully_flushed_log() {
        let dir = tempfile::tempdir().unwrap();
        write_segment(dir.path(), 0, &[batch(0, 3, 1)]);
        write_segment(dir.path(), 3, &[batch(3, 3, 2)]);
        fs::write(dir.path().join(format!("{:020}.index", 3)), "x").unwrap();
        write_recovery_point(dir.path(), 6);
        assert_eq!(cut_to_flushed(dir.path()).unwrap(), 0);

        write_recovery_point(dir.path(), 2);
        let cut = cut_to_flushed(dir.path()).unwrap();
        assert_eq!(cut, 2 * batch(0, 3, 1).len() as u64);
        assert!(read_batches(dir.path()).unwrap().is_empty());
        assert!(!dir.path().join(format!("{:020}.log", 3)).exists());
        assert!(!dir.path().join(format!("{:020}.index", 3)).exists());
    }

    #[test]
    fn cut_removes_a_torn_tail_even_below_the_recovery_point() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = batch(0, 1, 1);
        bytes.extend_from_slice(&[0; 30]);
        write_segment(dir.path(), 0, &[bytes]);
        write_recovery_point(dir.path(), 100);
        assert_eq!(cut_to_flushed(dir.path()).unwrap(), 30);
    }
}
