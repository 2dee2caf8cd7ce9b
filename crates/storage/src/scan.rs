//! Reading whole batches sequentially out of a segment file, in bounded chunks: the one
//! loop behind recovery, index rebuilding, compaction and timestamp lookup.

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use crate::batch::{BatchHeader, HEADER_SIZE};
use crate::error::{IoContext as _, Result};

/// How much of the file is read per system call when batches are small.
const CHUNK: usize = 1 << 20;

/// Why a scan stopped before the end it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// File position of the first byte that is not a whole, valid batch.
    pub position: u64,
    /// The base offset in the bad batch's header, if it could be read.
    pub offset: Option<rill_types::Offset>,
    /// Why.
    pub reason: String,
}

/// Calls `visit(position, header, batch bytes)` for each whole batch in `file` between
/// `from` and `to`, checking headers, sizes (never allocating more than `to - position`
/// from a length read off disk), offset order and (when `check_crc`) CRCs. Returns
/// `Ok(None)` when the range ended on a batch boundary, or where and why it stopped.
/// `visit` returning `false` ends the scan early with `Ok(None)`.
pub fn scan_file(
    file: &File,
    path: &Path,
    from: u64,
    to: u64,
    check_crc: bool,
    mut visit: impl FnMut(u64, &BatchHeader, &[u8]) -> bool,
) -> Result<Option<Stop>> {
    let mut buf: Vec<u8> = Vec::new();
    let mut buf_start = from; // file position of buf[0]
    let mut position = from;
    let mut previous_last = None;
    while position < to {
        let remaining = to - position;
        // Make sure the header is in the buffer.
        let in_buf = (buf_start + buf.len() as u64).saturating_sub(position) as usize;
        if in_buf < HEADER_SIZE.min(remaining as usize) || position < buf_start {
            let len = (CHUNK as u64).min(remaining) as usize;
            buf.resize(len, 0);
            file.read_exact_at(&mut buf, position)
                .io_context("read segment", path)?;
            buf_start = position;
        }
        let at = (position - buf_start) as usize;
        let header = match BatchHeader::parse(&buf[at..]) {
            Ok(header) => header,
            Err(reason) => {
                return Ok(Some(Stop {
                    position,
                    offset: None,
                    reason,
                }));
            }
        };
        let size = header.total_size();
        if size as u64 > remaining {
            return Ok(Some(Stop {
                position,
                offset: Some(header.base_offset),
                reason: format!("batch of {size} bytes but only {remaining} remain"),
            }));
        }
        if header.last_offset_delta < 0 || previous_last.is_some_and(|p| header.base_offset <= p) {
            return Ok(Some(Stop {
                position,
                offset: Some(header.base_offset),
                reason: format!(
                    "offsets out of order: base {} after last {:?}",
                    header.base_offset, previous_last
                ),
            }));
        }
        if at + size > buf.len() {
            // The batch runs past the buffer: read it (and the next chunk) from here.
            let len = (size.max(CHUNK) as u64).min(remaining) as usize;
            buf.resize(len, 0);
            file.read_exact_at(&mut buf, position)
                .io_context("read segment", path)?;
            buf_start = position;
        }
        let at = (position - buf_start) as usize;
        let bytes = &buf[at..at + size];
        if check_crc && !header.crc_matches(bytes) {
            return Ok(Some(Stop {
                position,
                offset: Some(header.base_offset),
                reason: "CRC32C mismatch".to_owned(),
            }));
        }
        if !visit(position, &header, bytes) {
            return Ok(None);
        }
        previous_last = Some(header.last_offset());
        position += size as u64;
    }
    Ok(None)
}
