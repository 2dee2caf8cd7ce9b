//! Kafka RecordBatch v2, the only form records take on rill's wire: [`encode_batch`] for
//! a producer, [`decode_batches`] for a consumer.
//!
//! ```text
//! offset  size  field                      covered by CRC
//!      0     8  base offset                no  (assigned by the leader)
//!      8     4  batch length (after this)  no
//!     12     4  partition leader epoch     no  (stamped by the leader)
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
//!     61     -  records: length, attributes, timestamp delta, offset delta, key, value,
//!               headers; integers as zigzag varints
//! ```
//!
//! The encoder writes exactly what Kafka's Java producer writes for an uncompressed,
//! non-idempotent batch: base offset 0, leader epoch -1, attributes 0, base timestamp =
//! the first record's, producer id/epoch/base sequence -1. The decoder reads uncompressed
//! batches only, checks every CRC and length, and skips control batches.
//!
//! Hand-written rather than kafka-protocol's records module so that errors say which
//! batch and byte were bad, LogAppendTime and control batches are handled at the header,
//! and the first-record base timestamp matches Kafka's; the tests cross-check both ways
//! against kafka-protocol.

mod decode;
mod encode;
mod varint;

use bytes::Bytes;
use rill_types::{LeaderEpoch, Offset};

pub(crate) use decode::decode;
pub use decode::decode_batches;
pub use encode::encode_batch;

/// The size of the batch header, up to the first record.
pub const HEADER_SIZE: usize = 61;
/// Bytes before the batch length's count starts (base offset and length).
pub const LOG_OVERHEAD: usize = 12;
/// The magic byte of RecordBatch v2.
pub const MAGIC_V2: i8 = 2;
/// Where the CRC-covered bytes start.
pub const CRC_START: usize = 21;

/// Attribute bit: the timestamps are the broker's append time (LogAppendTime).
const ATTR_LOG_APPEND_TIME: i16 = 1 << 3;
/// Attribute bit: the batch holds control records (transaction markers).
const ATTR_CONTROL: i16 = 1 << 5;
/// Attribute bits naming the compression codec (0: none).
const ATTR_COMPRESSION: i16 = 0b111;

/// A record header: a string key and an optional value, as in Kafka.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordHeader {
    /// The key (UTF-8 on the wire).
    pub key: String,
    /// The value; `None` is Kafka's null header value.
    pub value: Option<Bytes>,
}

/// A record to produce.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProducerRecord {
    /// The key; `None` for a keyless record.
    pub key: Option<Bytes>,
    /// The value; `None` is a tombstone.
    pub value: Option<Bytes>,
    /// The headers, in order.
    pub headers: Vec<RecordHeader>,
    /// CreateTime in milliseconds since the epoch; `None` means the time of encoding.
    pub timestamp: Option<i64>,
}

impl ProducerRecord {
    /// A keyless record with `value`.
    pub fn new(value: impl Into<Bytes>) -> ProducerRecord {
        ProducerRecord {
            value: Some(value.into()),
            ..ProducerRecord::default()
        }
    }

    /// A record with `key` and `value`.
    pub fn keyed(key: impl Into<Bytes>, value: impl Into<Bytes>) -> ProducerRecord {
        ProducerRecord {
            key: Some(key.into()),
            value: Some(value.into()),
            ..ProducerRecord::default()
        }
    }

    /// A tombstone (null value) for `key`.
    pub fn tombstone(key: impl Into<Bytes>) -> ProducerRecord {
        ProducerRecord {
            key: Some(key.into()),
            ..ProducerRecord::default()
        }
    }

    /// This record with CreateTime `timestamp` (milliseconds since the epoch).
    #[must_use]
    pub fn with_timestamp(mut self, timestamp: i64) -> ProducerRecord {
        self.timestamp = Some(timestamp);
        self
    }

    /// This record with one more header.
    #[must_use]
    pub fn with_header(mut self, key: impl Into<String>, value: Option<Bytes>) -> ProducerRecord {
        self.headers.push(RecordHeader {
            key: key.into(),
            value,
        });
        self
    }
}

/// A record read from a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    /// Its offset in the partition.
    pub offset: Offset,
    /// Milliseconds since the epoch: the producer's CreateTime, or the broker's append
    /// time on LogAppendTime topics.
    pub timestamp: i64,
    /// The key.
    pub key: Option<Bytes>,
    /// The value; `None` is a tombstone.
    pub value: Option<Bytes>,
    /// The headers, in order.
    pub headers: Vec<RecordHeader>,
    /// The leader epoch stamped on its batch by the leader that appended it; `None` for
    /// -1 (a batch no leader stamped, e.g. one straight from [`encode_batch`]).
    pub leader_epoch: Option<LeaderEpoch>,
}
