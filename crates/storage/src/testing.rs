//! Helpers for tests and benchmarks (this crate's and its users'): build RecordBatch v2
//! bytes with kafka-protocol's encoder, as a producer would.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

/// A record to encode: (key, value); a `None` value is a tombstone.
pub type KeyValue<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// One batch holding `records` (key, value), timestamps `timestamp`, `timestamp + 1`, …,
/// uncompressed, offsets from 0 (the log assigns real ones on append).
pub fn batch_with_records(records: &[KeyValue<'_>], timestamp: i64) -> Vec<u8> {
    batch_with_compression(records, timestamp, Compression::None)
}

/// Like [`batch_with_records`], compressed with `compression`.
pub fn batch_with_compression(
    records: &[KeyValue<'_>],
    timestamp: i64,
    compression: Compression,
) -> Vec<u8> {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // kafka-protocol keeps records in one batch only while offset - sequence is
            // constant; with base sequence -1 (no idempotence) that gives -1, 0, 1, ...
            sequence: i as i32 - 1,
            timestamp: timestamp + i as i64,
            key: key.map(Bytes::copy_from_slice),
            value: value.map(Bytes::copy_from_slice),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options).expect("encode batch");
    buf.to_vec()
}

/// One batch of `count` records of `value_size` bytes each (keys `k<i>`).
pub fn batch_of_size(count: usize, value_size: usize, timestamp: i64) -> Vec<u8> {
    let value = vec![b'x'; value_size];
    let keys: Vec<Vec<u8>> = (0..count).map(|i| format!("k{i}").into_bytes()).collect();
    let records: Vec<KeyValue<'_>> = keys
        .iter()
        .map(|k| (Some(k.as_slice()), Some(value.as_slice())))
        .collect();
    batch_with_records(&records, timestamp)
}

/// A decoded record: (offset, key, value).
pub type DecodedRecord = (i64, Option<Vec<u8>>, Option<Vec<u8>>);

/// Decodes every record of every whole batch in `bytes` (as returned by a read).
pub fn decode_all(bytes: &[u8]) -> Vec<DecodedRecord> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let header = crate::batch::BatchHeader::parse(&bytes[at..]).expect("whole batch");
        let batch = &bytes[at..at + header.total_size()];
        for record in crate::records::decode(batch).expect("decodable batch") {
            out.push((
                record.offset,
                record.key.map(|k| k.to_vec()),
                record.value.map(|v| v.to_vec()),
            ));
        }
        at += header.total_size();
    }
    out
}

/// One batch of `count` records (10-byte values) from idempotent producer `producer_id`
/// at `epoch`, its first record at sequence `base_sequence`, timestamps from `timestamp`.
pub fn idempotent_batch(
    producer_id: i64,
    epoch: i16,
    base_sequence: i32,
    count: usize,
    timestamp: i64,
) -> Vec<u8> {
    let mut batch = batch_of_size(count, 10, timestamp);
    // The producer fields are covered by the CRC: set them, then recompute it.
    batch[43..51].copy_from_slice(&producer_id.to_be_bytes());
    batch[51..53].copy_from_slice(&epoch.to_be_bytes());
    batch[53..57].copy_from_slice(&base_sequence.to_be_bytes());
    crate::batch::recompute_crc(&mut batch);
    batch
}
