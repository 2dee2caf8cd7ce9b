//! [`ProducerSnapshots`]: the producer-state snapshot files of one log,
//! `<offset, 20 digits>.snapshot` (Kafka's naming). A snapshot at offset `S` holds the
//! [`ProducerStateTable`] as it was with the log ending at `S`: it covers every batch
//! below `S`, and replaying the headers from `S` on rebuilds the state at any later end.
//!
//! Written like every small file here (temp file, fsync, rename, fsync the directory),
//! and carrying a CRC32C, so a torn or damaged snapshot is detected, ignored and removed;
//! the state is then rebuilt from an older snapshot or the log. At most
//! [`KEEP_SNAPSHOTS`] are kept (the newest).
//!
//! Format (big-endian):
//!
//! ```text
//! offset  size  field
//!      0     2  version (= 1)
//!      2     4  CRC32C of bytes 6..end
//!      6     8  snapshot offset (the same as in the file name)
//!     14     4  producer count
//!     18     -  per producer: id i64, epoch i16, last timestamp i64, batch count u8
//!               (1..=5), then per batch: first seq i32, last seq i32,
//!               first offset i64, last offset i64, max timestamp i64
//! ```

use std::collections::{BTreeSet, VecDeque};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use rill_types::{Offset, ProducerId};

use crate::disk::Disk;
use crate::error::{IoContext as _, Result};
use crate::producer_state::{BatchMetadata, CACHED_BATCHES, ProducerEntry, ProducerStateTable};
use crate::segment::file_stem;

/// The file name suffix.
pub const SUFFIX: &str = ".snapshot";
/// Snapshots kept: the newest covers a reopen, the one before a truncation into the
/// active segment; a truncation below both rebuilds from the log start.
pub const KEEP_SNAPSHOTS: usize = 2;

const VERSION: u16 = 1;
const HEADER: usize = 18;
const ENTRY: usize = 8 + 2 + 8 + 1;
const BATCH: usize = 4 + 4 + 8 + 8 + 8;
/// A snapshot larger than this is refused before it is read: at [`MAX_PRODUCERS`] with
/// five batches each one is under 2 MB.
///
/// [`MAX_PRODUCERS`]: crate::producer_state::MAX_PRODUCERS
const MAX_SNAPSHOT_BYTES: u64 = 16 << 20;

/// The snapshot files of one log directory, by offset.
#[derive(Debug, Clone)]
pub struct ProducerSnapshots {
    dir: PathBuf,
    offsets: BTreeSet<Offset>,
}

impl ProducerSnapshots {
    /// The snapshots in `dir` (a leftover `.tmp` is not one; the log's open removes it).
    pub fn list(dir: &Path) -> Result<Self> {
        let mut offsets = BTreeSet::new();
        for entry in fs::read_dir(dir).io_context("list log directory", dir)? {
            let entry = entry.io_context("list log directory", dir)?;
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(SUFFIX)) else {
                continue;
            };
            if stem.len() == 20
                && stem.bytes().all(|b| b.is_ascii_digit())
                && let Ok(offset) = stem.parse()
            {
                offsets.insert(Offset::new(offset));
            }
        }
        Ok(Self {
            dir: dir.to_owned(),
            offsets,
        })
    }

    /// The snapshot offsets, oldest first.
    pub fn offsets(&self) -> impl DoubleEndedIterator<Item = Offset> + '_ {
        self.offsets.iter().copied()
    }

    /// The newest snapshot's offset.
    pub fn newest(&self) -> Option<Offset> {
        self.offsets.last().copied()
    }

    /// The path of the snapshot at `offset`.
    pub fn path(&self, offset: Offset) -> PathBuf {
        self.dir.join(format!("{}{SUFFIX}", file_stem(offset)))
    }

    /// Writes `table` as the snapshot at `offset` atomically and durably, then deletes
    /// the oldest beyond [`KEEP_SNAPSHOTS`].
    pub fn write(
        &mut self,
        disk: &dyn Disk,
        offset: Offset,
        table: &ProducerStateTable,
    ) -> Result<()> {
        let path = self.path(offset);
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut file = fs::File::create(&tmp).io_context("create producer snapshot", &tmp)?;
        file.write_all(&encode(offset, table))
            .io_context("write producer snapshot", &tmp)?;
        disk.sync_file(&file)
            .io_context("fsync producer snapshot", &tmp)?;
        drop(file);
        fs::rename(&tmp, &path).io_context("rename producer snapshot", &path)?;
        self.offsets.insert(offset);
        while self.offsets.len() > KEEP_SNAPSHOTS {
            let oldest = *self.offsets.first().expect("more than KEEP_SNAPSHOTS");
            self.delete(oldest)?;
        }
        disk.sync_dir(&self.dir)
            .io_context("fsync directory", &self.dir)
    }

    /// Deletes every snapshot for which `doomed(offset)` holds; returns whether any went
    /// (the caller fsyncs the directory: a deleted snapshot must not come back).
    pub fn delete_where(&mut self, doomed: impl Fn(Offset) -> bool) -> Result<bool> {
        let victims: Vec<Offset> = self.offsets().filter(|o| doomed(*o)).collect();
        for offset in &victims {
            self.delete(*offset)?;
        }
        Ok(!victims.is_empty())
    }

    fn delete(&mut self, offset: Offset) -> Result<()> {
        let path = self.path(offset);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).io_context("remove producer snapshot", &path),
        }
        self.offsets.remove(&offset);
        Ok(())
    }

    /// Reads the snapshot at `offset` into `table` (cleared first). A snapshot that is
    /// torn, damaged or of another version is an `Err` reason; `table` is then empty.
    pub fn read(
        &self,
        offset: Offset,
        table: &mut ProducerStateTable,
    ) -> Result<Result<(), String>> {
        table.clear();
        let path = self.path(offset);
        let len = fs::metadata(&path)
            .io_context("stat producer snapshot", &path)?
            .len();
        if len > MAX_SNAPSHOT_BYTES {
            return Ok(Err(format!(
                "{len} bytes, larger than any snapshot rill writes"
            )));
        }
        let bytes = fs::read(&path).io_context("read producer snapshot", &path)?;
        let decoded = decode(&bytes, offset, table);
        if decoded.is_err() {
            table.clear();
        }
        Ok(decoded)
    }
}

/// The snapshot file's bytes for `table` at `offset`.
pub fn encode(offset: Offset, table: &ProducerStateTable) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + table.len() * (ENTRY + BATCH * CACHED_BATCHES));
    out.extend_from_slice(&VERSION.to_be_bytes());
    out.extend_from_slice(&[0; 4]); // the CRC, below
    out.extend_from_slice(&offset.get().to_be_bytes());
    let count = u32::try_from(table.len()).expect("the table is bounded far below u32");
    out.extend_from_slice(&count.to_be_bytes());
    for (id, entry) in table.entries() {
        out.extend_from_slice(&id.get().to_be_bytes());
        out.extend_from_slice(&entry.epoch.to_be_bytes());
        out.extend_from_slice(&entry.last_timestamp.to_be_bytes());
        let batches = u8::try_from(entry.batches.len()).expect("at most CACHED_BATCHES");
        out.push(batches);
        for m in &entry.batches {
            out.extend_from_slice(&m.first_seq.to_be_bytes());
            out.extend_from_slice(&m.last_seq.to_be_bytes());
            out.extend_from_slice(&m.first_offset.get().to_be_bytes());
            out.extend_from_slice(&m.last_offset.get().to_be_bytes());
            out.extend_from_slice(&m.max_timestamp.to_be_bytes());
        }
    }
    let crc = crc32c::crc32c(&out[6..]);
    out[2..6].copy_from_slice(&crc.to_be_bytes());
    out
}

/// Reads snapshot `bytes`, which must be for `offset`, into `table`. Never panics and
/// never allocates from a count it read: every entry is checked against the bytes left.
pub fn decode(bytes: &[u8], offset: Offset, table: &mut ProducerStateTable) -> Result<(), String> {
    let mut r = Reader { bytes, at: 0 };
    let version = r.u16()?;
    if version != VERSION {
        return Err(format!("version {version}, expected {VERSION}"));
    }
    let crc = r.u32()?;
    if crc32c::crc32c(&bytes[r.at..]) != crc {
        return Err("CRC32C mismatch (a torn or damaged snapshot)".to_owned());
    }
    let stored = Offset::new(r.i64()?);
    if stored != offset {
        return Err(format!("holds offset {stored} but is named for {offset}"));
    }
    let count = r.u32()?;
    for _ in 0..count {
        let id = ProducerId::new(r.i64()?);
        let epoch = r.i16()?;
        let last_timestamp = r.i64()?;
        let n = usize::from(r.u8()?);
        if n == 0 || n > CACHED_BATCHES {
            return Err(format!("producer {id} has {n} batches"));
        }
        let mut batches = VecDeque::with_capacity(n);
        for _ in 0..n {
            batches.push_back(BatchMetadata {
                first_seq: r.i32()?,
                last_seq: r.i32()?,
                first_offset: Offset::new(r.i64()?),
                last_offset: Offset::new(r.i64()?),
                max_timestamp: r.i64()?,
            });
        }
        table.restore(
            id,
            ProducerEntry {
                epoch,
                batches,
                last_timestamp,
            },
        );
    }
    if r.at != bytes.len() {
        return Err(format!("{} bytes after the last entry", bytes.len() - r.at));
    }
    Ok(())
}

/// A bounds-checked big-endian cursor.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let got = self
            .bytes
            .get(self.at..self.at + N)
            .ok_or_else(|| format!("ends at byte {} inside a field", self.bytes.len()))?;
        self.at += N;
        Ok(got.try_into().expect("N bytes"))
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        self.take().map(u16::from_be_bytes)
    }

    fn i16(&mut self) -> Result<i16, String> {
        self.take().map(i16::from_be_bytes)
    }

    fn u32(&mut self) -> Result<u32, String> {
        self.take().map(u32::from_be_bytes)
    }

    fn i32(&mut self) -> Result<i32, String> {
        self.take().map(i32::from_be_bytes)
    }

    fn i64(&mut self) -> Result<i64, String> {
        self.take().map(i64::from_be_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::RealDisk;
    use crate::producer_state::{MAX_PRODUCERS, ProducerBatch};

    fn table(producers: i64) -> ProducerStateTable {
        let mut t = ProducerStateTable::new(MAX_PRODUCERS, i64::MAX);
        for id in 0..producers {
            for seq in 0..7 {
                let meta = BatchMetadata {
                    first_seq: seq,
                    last_seq: seq,
                    first_offset: Offset::new(id * 10 + i64::from(seq)),
                    last_offset: Offset::new(id * 10 + i64::from(seq)),
                    max_timestamp: 1_000 + id,
                };
                let batch = ProducerBatch {
                    producer_id: ProducerId::new(id),
                    epoch: 2,
                    meta,
                };
                t.update(&batch, 1_000 + id);
            }
        }
        t
    }

    #[test]
    fn round_trips_and_keeps_the_newest_two() {
        let dir = tempfile::tempdir().unwrap();
        let mut snapshots = ProducerSnapshots::list(dir.path()).unwrap();
        let t = table(3);
        for offset in [10, 20, 30] {
            snapshots.write(&RealDisk, Offset::new(offset), &t).unwrap();
        }
        let listed = ProducerSnapshots::list(dir.path()).unwrap();
        let offsets: Vec<_> = listed.offsets().map(Offset::get).collect();
        assert_eq!(offsets, [20, 30]);
        let mut read = ProducerStateTable::new(MAX_PRODUCERS, i64::MAX);
        listed.read(Offset::new(30), &mut read).unwrap().unwrap();
        assert_eq!(read, t);
        assert!(
            !dir.path()
                .join("00000000000000000030.snapshot.tmp")
                .exists()
        );
    }

    #[test]
    fn every_torn_or_flipped_snapshot_is_refused_without_a_panic() {
        let t = table(2);
        let bytes = encode(Offset::new(5), &t);
        let mut read = ProducerStateTable::new(MAX_PRODUCERS, i64::MAX);
        decode(&bytes, Offset::new(5), &mut read).unwrap();
        assert!(decode(&bytes, Offset::new(6), &mut read).is_err());
        for cut in 0..bytes.len() {
            assert!(
                decode(&bytes[..cut], Offset::new(5), &mut read).is_err(),
                "cut {cut}"
            );
        }
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert!(
                decode(&bad, Offset::new(5), &mut read).is_err(),
                "flip {at}"
            );
        }
        // A huge count with a valid CRC but no entries behind it.
        let mut lying = encode(Offset::new(5), &ProducerStateTable::new(1, 1));
        lying[14..18].copy_from_slice(&u32::MAX.to_be_bytes());
        let crc = crc32c::crc32c(&lying[6..]);
        lying[2..6].copy_from_slice(&crc.to_be_bytes());
        assert!(decode(&lying, Offset::new(5), &mut read).is_err());
    }
}
