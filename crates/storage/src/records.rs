//! Record-level work inside a batch, through kafka-protocol's records module (which owns
//! the record format and the gzip/snappy/lz4/zstd codecs): timestamp lookup and, in
//! `cleaner.rs`, compaction.

use bytes::Bytes;
use kafka_protocol::records::{Record, RecordBatchDecoder, TimestampType};
use rill_types::Offset;

/// Decodes every record of one stored batch (`bytes` is exactly the batch).
pub fn decode(bytes: &[u8]) -> Result<Vec<Record>, String> {
    let mut buf = Bytes::copy_from_slice(bytes);
    RecordBatchDecoder::decode(&mut buf)
        .map(|set| set.records)
        .map_err(|e| e.to_string())
}

/// The first record in the batch at or above `min_offset` whose timestamp is at least
/// `timestamp`, as (offset, timestamp). With LogAppendTime every record carries the
/// batch's append time.
pub fn first_at_or_after(
    bytes: &[u8],
    timestamp: i64,
    min_offset: Offset,
) -> Result<Option<(Offset, i64)>, String> {
    Ok(decode(bytes)?
        .into_iter()
        .filter(|r| r.offset >= min_offset.get())
        .map(|r| (r.offset, effective_timestamp(&r, bytes)))
        .find(|(_, ts)| *ts >= timestamp)
        .map(|(offset, ts)| (Offset::new(offset), ts)))
}

fn effective_timestamp(record: &Record, batch: &[u8]) -> i64 {
    match record.timestamp_type {
        TimestampType::LogAppend => i64::from_be_bytes(batch[35..43].try_into().expect("8 bytes")),
        TimestampType::Creation => record.timestamp,
    }
}
