//! Reading: whole batches from an offset, bounded by bytes and by an upper offset (the
//! high watermark for consumers, the log end for followers); and lookup by timestamp.

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use rill_types::Offset;

use super::{Log, Shared};
use crate::batch::{BatchHeader, HEADER_SIZE};
use crate::error::{IoContext as _, Result, StorageError};
use crate::records;
use crate::scan::scan_file;

/// A read that overlapped this many truncations in a row gives up (each retry only
/// happens when the writer truncated meanwhile, which followers do rarely).
const MAX_READ_ATTEMPTS: usize = 100;

/// What a read returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    /// Whole batches, as stored, starting with the batch that holds the start offset (so
    /// it may begin below it: clients skip those records). Empty when nothing is readable.
    pub records: Bytes,
    /// The log start offset at the time of the read.
    pub log_start_offset: Offset,
    /// The log end offset at the time of the read.
    pub log_end_offset: Offset,
}

/// A cheap, cloneable read handle on a log, for threads other than the writer's.
#[derive(Debug, Clone)]
pub struct LogReader {
    shared: Arc<Shared>,
}

/// What a read needs from one segment, copied out under the lock.
struct Plan {
    file: Arc<File>,
    path: PathBuf,
    segment_base: Offset,
    from: u64,
    size: u64,
    verified_to: u64,
    log_start: Offset,
    log_end: Offset,
}

impl LogReader {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Reads whole batches from `start`: at most `max_bytes`, except that the first batch
    /// is returned whole even when larger (Kafka's KIP-74 rule, so a consumer can always
    /// make progress), and never a batch whose last offset is at or past `upper_bound`.
    ///
    /// Errors with `OffsetOutOfRange` below the log start or above the log end. Batches
    /// this process has not yet CRC-checked (segments trusted at open) are checked before
    /// they are served; a corrupt one is an error naming file and offset, never returned.
    pub fn read(&self, start: Offset, max_bytes: usize, upper_bound: Offset) -> Result<ReadResult> {
        for _ in 0..MAX_READ_ATTEMPTS {
            let generation = self.shared.generation.load(Ordering::Acquire);
            if generation % 2 == 1 {
                std::thread::yield_now();
                continue;
            }
            let plan = match self.plan(start, upper_bound)? {
                Ok(plan) => plan,
                Err(empty) => return Ok(empty),
            };
            let (records, verified) = execute(&plan, start, max_bytes, upper_bound)?;
            if self.shared.generation.load(Ordering::Acquire) == generation {
                if let Some((from, to)) = verified {
                    let mut state = self.shared.lock();
                    if let Some(segment) = state.segments.get_mut(&plan.segment_base) {
                        segment.note_verified(from, to);
                    }
                }
                return Ok(ReadResult {
                    records,
                    log_start_offset: plan.log_start,
                    log_end_offset: plan.log_end,
                });
            }
        }
        Err(StorageError::Io {
            context: "read kept overlapping truncations",
            path: self.shared.dir.clone(),
            source: std::io::Error::from(std::io::ErrorKind::Interrupted),
        })
    }

    /// Under the lock: range checks and the segment to read from. `Ok(Err(empty))` when
    /// there is nothing to read.
    fn plan(&self, start: Offset, upper_bound: Offset) -> Result<Result<Plan, ReadResult>> {
        let state = self.shared.lock();
        state.ensure_ok(&self.shared.dir)?;
        let (log_start, log_end) = (state.log_start, state.log_end);
        if start < log_start || start > log_end {
            return Err(StorageError::OffsetOutOfRange {
                offset: start,
                log_start,
                log_end,
            });
        }
        let empty = ReadResult {
            records: Bytes::new(),
            log_start_offset: log_start,
            log_end_offset: log_end,
        };
        if start >= log_end.min(upper_bound) {
            return Ok(Err(empty));
        }
        // The segment holding `start`, or the first after it that has anything at or
        // above it: compaction may empty a segment, or remove its last batches so that it
        // ends below `start` though its successor starts above it.
        let floor = state
            .segments
            .range(..=start)
            .next_back()
            .map_or(Offset::ZERO, |(base, _)| *base);
        let Some(segment) = state
            .segments
            .range(floor..)
            .map(|(_, s)| s)
            .find(|s| s.size() > 0 && s.next_offset() > start)
        else {
            return Ok(Err(empty));
        };
        Ok(Ok(Plan {
            file: Arc::clone(segment.file()),
            path: segment.path().to_owned(),
            segment_base: segment.base(),
            from: segment.scan_start(start),
            size: segment.size(),
            verified_to: segment.verified_to(),
            log_start,
            log_end,
        }))
    }

    /// The first offset whose record timestamp is at least `timestamp`, with that record's
    /// timestamp (ListOffsets by time), or `None` when every record is older.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(Offset, i64)>> {
        let candidates: Vec<(Arc<File>, PathBuf, u64, u64)> = {
            let state = self.shared.lock();
            state.ensure_ok(&self.shared.dir)?;
            state
                .segments
                .values()
                .filter_map(|s| {
                    let from = s.scan_start_for_timestamp(timestamp)?;
                    Some((Arc::clone(s.file()), s.path().to_owned(), from, s.size()))
                })
                .collect()
        };
        let log_start = self.shared.lock().log_start;
        for (file, path, from, size) in candidates {
            let mut found = None;
            let mut failure = None;
            scan_file(&file, &path, from, size, true, |_, header, bytes| {
                if header.max_timestamp < timestamp || header.last_offset() < log_start {
                    return true;
                }
                match records::first_at_or_after(bytes, timestamp, log_start) {
                    Ok(Some(hit)) => {
                        found = Some(hit);
                        false
                    }
                    Ok(None) => true,
                    Err(reason) => {
                        failure = Some(StorageError::Codec {
                            file: path.clone(),
                            offset: header.base_offset,
                            reason,
                        });
                        false
                    }
                }
            })?;
            if let Some(error) = failure {
                return Err(error);
            }
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }
}

/// Outside the lock: find the batch holding `start`, then read whole batches.
/// Returns the bytes and, if CRCs were checked here, the file range they cover.
fn execute(
    plan: &Plan,
    start: Offset,
    max_bytes: usize,
    upper_bound: Offset,
) -> Result<(Bytes, Option<(u64, u64)>)> {
    let corrupt =
        |position: u64, offset: Option<Offset>, reason: String| StorageError::CorruptBatch {
            file: plan.path.clone(),
            position,
            offset,
            reason,
        };
    // Skip, header by header, the batches below the one holding `start`.
    let mut position = plan.from;
    let mut header_buf = [0u8; HEADER_SIZE];
    let first = loop {
        if position >= plan.size {
            return Ok((Bytes::new(), None));
        }
        let len = (HEADER_SIZE as u64).min(plan.size - position) as usize;
        plan.file
            .read_exact_at(&mut header_buf[..len], position)
            .io_context("read segment", &plan.path)?;
        let header =
            BatchHeader::parse(&header_buf[..len]).map_err(|r| corrupt(position, None, r))?;
        if header.total_size() as u64 > plan.size - position {
            return Err(corrupt(
                position,
                Some(header.base_offset),
                "batch runs past the segment end".to_owned(),
            ));
        }
        if header.last_offset() >= start {
            break header;
        }
        position += header.total_size() as u64;
    };
    if first.last_offset() >= upper_bound {
        return Ok((Bytes::new(), None));
    }

    let want = (max_bytes.max(first.total_size()) as u64).min(plan.size - position) as usize;
    let mut buf = vec![0u8; want];
    plan.file
        .read_exact_at(&mut buf, position)
        .io_context("read segment", &plan.path)?;
    let mut end = 0;
    let mut check_crc_from = None;
    while end < buf.len() {
        let Ok(header) = BatchHeader::parse(&buf[end..]) else {
            break;
        };
        let size = header.total_size();
        let whole = end + size <= buf.len();
        let fits = end == 0 || end + size <= max_bytes;
        if !whole || !fits || header.last_offset() >= upper_bound {
            break;
        }
        let file_position = position + end as u64;
        if file_position + size as u64 > plan.verified_to {
            check_crc_from.get_or_insert(file_position);
            if !header.crc_matches(&buf[end..end + size]) {
                return Err(corrupt(
                    file_position,
                    Some(header.base_offset),
                    "CRC32C mismatch".to_owned(),
                ));
            }
        }
        end += size;
    }
    buf.truncate(end);
    let verified = check_crc_from.map(|from| (from, position + end as u64));
    Ok((Bytes::from(buf), verified))
}

impl Log {
    /// Reads as [`LogReader::read`] does.
    pub fn read(&self, start: Offset, max_bytes: usize, upper_bound: Offset) -> Result<ReadResult> {
        self.reader().read(start, max_bytes, upper_bound)
    }

    /// Looks up by timestamp as [`LogReader::offset_for_timestamp`] does.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(Offset, i64)>> {
        self.reader().offset_for_timestamp(timestamp)
    }
}
