//! The Kafka RecordBatch v2 header: the unit on disk, on the replication wire and on the
//! Kafka wire. rill-storage parses and validates the 61-byte header itself; records
//! inside a batch are decoded (when needed at all) with kafka-protocol, see `records.rs`.
//!
//! ```text
//! offset  size  field                      covered by CRC
//!      0     8  base offset                no  (set by the log)
//!      8     4  batch length (after this)  no
//!     12     4  partition leader epoch     no  (set by the log)
//!     16     1  magic (= 2)                no
//!     17     4  CRC32C of bytes 21..end    -
//!     21     2  attributes                 yes (bits 0-2 compression, 3 timestamp type,
//!                                               4 transactional, 5 control)
//!     23     4  last offset delta          yes
//!     27     8  base timestamp             yes
//!     35     8  max timestamp              yes
//!     43     8  producer id                yes
//!     51     2  producer epoch             yes
//!     53     4  base sequence              yes
//!     57     4  record count               yes
//!     61     -  records
//! ```
//!
//! Because base offset and leader epoch lie outside the CRC, the log stamps them into a
//! producer's batch without recomputing it; batches are otherwise stored byte for byte.

use rill_types::{LeaderEpoch, Offset, ProducerId};

/// Size of the v2 batch header.
pub const HEADER_SIZE: usize = 61;
/// Bytes before the length field's count starts (base offset + length).
pub const LOG_OVERHEAD: usize = 12;
/// The only batch format rill stores.
pub const MAGIC_V2: i8 = 2;

const CRC_START: usize = 21;
const ATTRIBUTES_TIMESTAMP_TYPE: i16 = 1 << 3;
const ATTRIBUTES_CONTROL: i16 = 1 << 5;

/// The parsed header of one RecordBatch v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: Offset,
    /// Bytes after the length field; the whole batch is `LOG_OVERHEAD + batch_length`.
    pub batch_length: u32,
    /// The leader epoch of the leader that appended the batch.
    pub leader_epoch: LeaderEpoch,
    /// The stored CRC32C.
    pub crc: u32,
    /// Attribute bits (compression, timestamp type, transactional, control).
    pub attributes: i16,
    /// Offset of the last record minus the base offset.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest timestamp in the batch (the append time when the type is LogAppendTime).
    pub max_timestamp: i64,
    /// The producer that wrote the batch, or [`ProducerId::NONE`].
    pub producer_id: ProducerId,
    /// The producer's epoch.
    pub producer_epoch: i16,
    /// Sequence number of the first record (-1 without idempotence).
    pub base_sequence: i32,
    /// Number of records in the batch.
    pub record_count: i32,
}

impl BatchHeader {
    /// Parses the header at the start of `buf` and checks what the header alone can tell:
    /// the magic byte and a length no smaller than the header itself.
    ///
    /// The returned error is a reason; the caller adds where the batch was.
    pub fn parse(buf: &[u8]) -> Result<BatchHeader, String> {
        if buf.len() < HEADER_SIZE {
            return Err(format!("{} bytes, shorter than a batch header", buf.len()));
        }
        let magic = buf[16] as i8;
        if magic != MAGIC_V2 {
            return Err(format!("magic {magic}, only record batch v2 is supported"));
        }
        let raw_length = i32_at(buf, 8);
        let batch_length = u32::try_from(raw_length)
            .ok()
            .filter(|&len| len as usize >= HEADER_SIZE - LOG_OVERHEAD)
            .ok_or_else(|| format!("batch length {raw_length} is below the header size"))?;
        Ok(BatchHeader {
            base_offset: Offset::new(i64_at(buf, 0)),
            batch_length,
            leader_epoch: LeaderEpoch::new(i32_at(buf, 12)),
            crc: u32::from_be_bytes(buf[17..21].try_into().expect("4 bytes")),
            attributes: i16::from_be_bytes(buf[21..23].try_into().expect("2 bytes")),
            last_offset_delta: i32_at(buf, 23),
            base_timestamp: i64_at(buf, 27),
            max_timestamp: i64_at(buf, 35),
            producer_id: ProducerId::new(i64_at(buf, 43)),
            producer_epoch: i16::from_be_bytes(buf[51..53].try_into().expect("2 bytes")),
            base_sequence: i32_at(buf, 53),
            record_count: i32_at(buf, 57),
        })
    }

    /// The whole batch's size in bytes, header included.
    pub fn total_size(&self) -> usize {
        LOG_OVERHEAD + self.batch_length as usize
    }

    /// The offset of the last record (base offset plus last offset delta).
    pub fn last_offset(&self) -> Offset {
        Offset::new(self.base_offset.get() + i64::from(self.last_offset_delta))
    }

    /// The offset after this batch.
    pub fn next_offset(&self) -> Offset {
        self.last_offset().next()
    }

    /// Whether this is a control batch (transaction markers).
    pub fn is_control(&self) -> bool {
        self.attributes & ATTRIBUTES_CONTROL != 0
    }

    /// The compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    pub fn compression(&self) -> i16 {
        self.attributes & 0x7
    }

    /// Checks the CRC of `batch`, which must be exactly this batch's bytes.
    pub fn crc_matches(&self, batch: &[u8]) -> bool {
        batch.len() == self.total_size() && crc32c::crc32c(&batch[CRC_START..]) == self.crc
    }

    /// Checks everything a produced batch must satisfy before it is appended: whole, CRC
    /// valid, known compression, a record count that matches the offset span with at
    /// least one record (a producer's batch has no offset gaps), and with a producer id a
    /// producer epoch and base sequence of at least 0.
    pub fn validate_produced(&self, batch: &[u8]) -> Result<(), String> {
        if batch.len() != self.total_size() {
            return Err(format!(
                "batch claims {} bytes but {} are present",
                self.total_size(),
                batch.len()
            ));
        }
        if !self.crc_matches(batch) {
            return Err("CRC32C mismatch".to_owned());
        }
        if self.compression() > 4 {
            return Err(format!("unknown compression codec {}", self.compression()));
        }
        if self.last_offset_delta < 0 || self.record_count <= 0 {
            return Err(format!(
                "record count {} and last offset delta {} describe no records",
                self.record_count, self.last_offset_delta
            ));
        }
        if self.producer_id.is_some() && (self.producer_epoch < 0 || self.base_sequence < 0) {
            return Err(format!(
                "producer {} sends epoch {} and base sequence {}: an idempotent batch needs both \
                 at least 0",
                self.producer_id, self.producer_epoch, self.base_sequence
            ));
        }
        if i64::from(self.record_count) != i64::from(self.last_offset_delta) + 1 {
            return Err(format!(
                "record count {} does not match last offset delta {}",
                self.record_count, self.last_offset_delta
            ));
        }
        Ok(())
    }
}

/// Sets the base offset of the batch at the start of `batch` (outside the CRC).
pub fn set_base_offset(batch: &mut [u8], offset: Offset) {
    batch[0..8].copy_from_slice(&offset.get().to_be_bytes());
}

/// Sets the partition leader epoch of the batch at the start of `batch` (outside the CRC).
pub fn set_leader_epoch(batch: &mut [u8], epoch: LeaderEpoch) {
    batch[12..16].copy_from_slice(&epoch.get().to_be_bytes());
}

/// Marks the batch as LogAppendTime with `append_time` as its max timestamp, as Kafka does
/// for topics with `message.timestamp.type=LogAppendTime`; the CRC is recomputed since
/// both fields are covered by it.
pub fn set_log_append_time(batch: &mut [u8], append_time: i64) {
    let attributes = i16::from_be_bytes(batch[21..23].try_into().expect("2 bytes"));
    batch[21..23].copy_from_slice(&(attributes | ATTRIBUTES_TIMESTAMP_TYPE).to_be_bytes());
    batch[35..43].copy_from_slice(&append_time.to_be_bytes());
    recompute_crc(batch);
}

/// Recomputes and stores the CRC of a whole batch after a change to covered bytes.
pub fn recompute_crc(batch: &mut [u8]) {
    let crc = crc32c::crc32c(&batch[CRC_START..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// Where a scan over stored batches stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanEnd {
    /// The buffer ended exactly at a batch boundary.
    Clean,
    /// The bytes from `position` on are not a whole, valid batch.
    Invalid {
        /// Position (in the scanned buffer) of the first bad byte range.
        position: usize,
        /// Why.
        reason: String,
    },
}

/// Walks the whole batches at the start of `buf`, checking each one's header and (when
/// `check_crc`) its CRC, and calls `visit(position, header)` for each good one. Returns
/// where and why it stopped. Offsets must increase from batch to batch; a batch whose base
/// offset is not above the previous batch's last offset ends the scan as invalid.
pub fn scan(buf: &[u8], check_crc: bool, mut visit: impl FnMut(usize, &BatchHeader)) -> ScanEnd {
    let mut position = 0;
    let mut previous_last: Option<Offset> = None;
    while position < buf.len() {
        let rest = &buf[position..];
        let header = match BatchHeader::parse(rest) {
            Ok(header) => header,
            Err(reason) => return ScanEnd::Invalid { position, reason },
        };
        if header.total_size() > rest.len() {
            return ScanEnd::Invalid {
                position,
                reason: format!(
                    "batch of {} bytes but only {} remain",
                    header.total_size(),
                    rest.len()
                ),
            };
        }
        if check_crc && !header.crc_matches(&rest[..header.total_size()]) {
            return ScanEnd::Invalid {
                position,
                reason: "CRC32C mismatch".to_owned(),
            };
        }
        if header.last_offset_delta < 0 || previous_last.is_some_and(|p| header.base_offset <= p) {
            return ScanEnd::Invalid {
                position,
                reason: format!(
                    "offsets out of order: base {} after last {:?}",
                    header.base_offset, previous_last
                ),
            };
        }
        visit(position, &header);
        previous_last = Some(header.last_offset());
        position += header.total_size();
    }
    ScanEnd::Clean
}

fn i32_at(buf: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(buf[at..at + 4].try_into().expect("4 bytes"))
}

fn i64_at(buf: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(buf[at..at + 8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use rill_types::{LeaderEpoch, Offset};

    use super::*;
    use crate::testing::batch_with_records;

    #[test]
    fn parses_a_batch_built_by_kafka_protocol() {
        let batch = batch_with_records(&[(Some(b"k"), Some(b"v")), (None, Some(b"w"))], 1000);
        let header = BatchHeader::parse(&batch).unwrap();
        assert_eq!(header.total_size(), batch.len());
        assert_eq!(header.record_count, 2);
        assert_eq!(header.last_offset_delta, 1);
        assert!(header.crc_matches(&batch));
        header.validate_produced(&batch).unwrap();
    }

    #[test]
    fn stamping_offset_and_epoch_keeps_the_crc_valid() {
        let mut batch = batch_with_records(&[(None, Some(b"v"))], 5);
        set_base_offset(&mut batch, Offset::new(77));
        set_leader_epoch(&mut batch, LeaderEpoch::new(3));
        let header = BatchHeader::parse(&batch).unwrap();
        assert_eq!(header.base_offset, Offset::new(77));
        assert_eq!(header.leader_epoch, LeaderEpoch::new(3));
        assert!(header.crc_matches(&batch));
    }

    #[test]
    fn log_append_time_recomputes_the_crc() {
        let mut batch = batch_with_records(&[(None, Some(b"v"))], 5);
        set_log_append_time(&mut batch, 99);
        let header = BatchHeader::parse(&batch).unwrap();
        assert_eq!(header.max_timestamp, 99);
        assert!(header.attributes & ATTRIBUTES_TIMESTAMP_TYPE != 0);
        assert!(header.crc_matches(&batch));
    }

    #[test]
    fn every_single_flipped_byte_in_the_crc_range_is_caught() {
        let batch = batch_with_records(&[(Some(b"key"), Some(b"value"))], 5);
        for at in CRC_START..batch.len() {
            let mut bad = batch.clone();
            bad[at] ^= 0x40;
            let header = BatchHeader::parse(&bad).unwrap();
            assert!(
                header.validate_produced(&bad).is_err(),
                "flip at {at} undetected"
            );
        }
    }

    #[test]
    fn refuses_wrong_magic_short_length_and_count_mismatch() {
        let batch = batch_with_records(&[(None, Some(b"v"))], 5);
        let mut bad = batch.clone();
        bad[16] = 1;
        assert!(BatchHeader::parse(&bad).unwrap_err().contains("magic"));
        let mut bad = batch.clone();
        bad[8..12].copy_from_slice(&10i32.to_be_bytes());
        assert!(BatchHeader::parse(&bad).is_err());
        let mut bad = batch.clone();
        bad[57..61].copy_from_slice(&5i32.to_be_bytes());
        recompute_crc(&mut bad);
        let header = BatchHeader::parse(&bad).unwrap();
        assert!(
            header
                .validate_produced(&bad)
                .unwrap_err()
                .contains("record count")
        );
    }

    #[test]
    fn scan_stops_at_a_torn_tail() {
        let mut buf = batch_with_records(&[(None, Some(b"a"))], 1);
        let mut second = batch_with_records(&[(None, Some(b"b"))], 2);
        set_base_offset(&mut second, Offset::new(1));
        let first_len = buf.len();
        buf.extend_from_slice(&second);
        let mut seen = Vec::new();
        assert_eq!(scan(&buf, true, |p, _| seen.push(p)), ScanEnd::Clean);
        assert_eq!(seen, vec![0, first_len]);
        for cut in first_len + 1..buf.len() {
            let mut seen = Vec::new();
            let end = scan(&buf[..cut], true, |p, _| seen.push(p));
            assert_eq!(seen, vec![0]);
            assert!(matches!(end, ScanEnd::Invalid { position, .. } if position == first_len));
        }
    }
}
