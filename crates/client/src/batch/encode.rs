//! [`encode_batch`]: records → one uncompressed RecordBatch v2, as Kafka's producer
//! writes it.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};

use super::varint::{put_nullable, put_varlong};
use super::{CRC_START, HEADER_SIZE, LOG_OVERHEAD, MAGIC_V2, ProducerRecord};
use crate::DataError;

/// Encodes `records` as one uncompressed RecordBatch v2 with base offset 0 and leader
/// epoch -1 (the leader assigns both); records without a timestamp get the current time.
///
/// Fails with [`DataError::InvalidArgument`] for no records, or for a batch whose sizes
/// or timestamp deltas do not fit Kafka's fields.
pub fn encode_batch(records: &[ProducerRecord]) -> Result<Bytes, DataError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    encode_batch_at(records, now)
}

/// [`encode_batch`] with `now_ms` as the current time.
fn encode_batch_at(records: &[ProducerRecord], now_ms: i64) -> Result<Bytes, DataError> {
    let invalid = |m: String| DataError::InvalidArgument(m);
    if records.is_empty() {
        return Err(invalid("a batch needs at least one record".into()));
    }
    let count = i32::try_from(records.len())
        .map_err(|_| invalid(format!("{} records do not fit one batch", records.len())))?;
    let timestamps: Vec<i64> = records
        .iter()
        .map(|r| r.timestamp.unwrap_or(now_ms))
        .collect();
    // Kafka's base timestamp is the first record's; deltas may be negative.
    let base_timestamp = timestamps[0];
    let max_timestamp = timestamps.iter().copied().max().unwrap_or(base_timestamp);

    let mut buf = BytesMut::with_capacity(HEADER_SIZE + records.len() * 16);
    buf.put_i64(0); // base offset: assigned by the leader
    buf.put_i32(0); // batch length: filled in below
    buf.put_i32(-1); // partition leader epoch: stamped by the leader
    buf.put_i8(MAGIC_V2);
    buf.put_u32(0); // CRC: filled in below
    buf.put_i16(0); // attributes: no compression, CreateTime, not transactional
    buf.put_i32(count - 1); // last offset delta
    buf.put_i64(base_timestamp);
    buf.put_i64(max_timestamp);
    buf.put_i64(-1); // producer id: not idempotent
    buf.put_i16(-1); // producer epoch
    buf.put_i32(-1); // base sequence
    buf.put_i32(count);
    debug_assert_eq!(buf.len(), HEADER_SIZE);

    let mut body = BytesMut::new();
    for (delta, (record, timestamp)) in records.iter().zip(&timestamps).enumerate() {
        let timestamp_delta = timestamp.checked_sub(base_timestamp).ok_or_else(|| {
            invalid(format!(
                "timestamp {timestamp} too far from {base_timestamp}"
            ))
        })?;
        body.clear();
        encode_record(&mut body, record, timestamp_delta, delta as i64)?;
        put_varlong(&mut buf, body.len() as i64);
        buf.put_slice(&body);
    }

    let length = i32::try_from(buf.len() - LOG_OVERHEAD)
        .map_err(|_| invalid(format!("batch of {} bytes is too large", buf.len())))?;
    buf[8..12].copy_from_slice(&length.to_be_bytes());
    let crc = crc32c::crc32c(&buf[CRC_START..]);
    buf[17..21].copy_from_slice(&crc.to_be_bytes());
    Ok(buf.freeze())
}

/// One record's body (everything after its length varint).
fn encode_record(
    buf: &mut BytesMut,
    record: &ProducerRecord,
    timestamp_delta: i64,
    offset_delta: i64,
) -> Result<(), DataError> {
    let fits = |len: usize, what: &str| {
        i32::try_from(len)
            .map(|_| ())
            .map_err(|_| DataError::InvalidArgument(format!("{what} of {len} bytes is too large")))
    };
    buf.put_i8(0); // record attributes: unused
    put_varlong(buf, timestamp_delta);
    put_varlong(buf, offset_delta);
    if let Some(key) = &record.key {
        fits(key.len(), "key")?;
    }
    put_nullable(buf, record.key.as_deref());
    if let Some(value) = &record.value {
        fits(value.len(), "value")?;
    }
    put_nullable(buf, record.value.as_deref());
    fits(record.headers.len(), "header list")?;
    put_varlong(buf, record.headers.len() as i64);
    for header in &record.headers {
        fits(header.key.len(), "header key")?;
        put_nullable(buf, Some(header.key.as_bytes()));
        if let Some(value) = &header.value {
            fits(value.len(), "header value")?;
        }
        put_nullable(buf, header.value.as_deref());
    }
    fits(buf.len(), "record")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::RecordHeader;

    /// A batch of one record (key "k", value "v", timestamp 1000, no headers), assembled
    /// field by field from Kafka's format description, independently of the encoder.
    fn known_batch() -> Vec<u8> {
        // Record body: attributes 0, timestamp delta 0, offset delta 0, key length 1
        // (zigzag 2), "k", value length 1, "v", header count 0.
        let body = [0x00, 0x00, 0x00, 0x02, b'k', 0x02, b'v', 0x00];
        let mut records = vec![(body.len() as u8) << 1]; // zigzag length 8 → 16
        records.extend_from_slice(&body);

        let mut covered = Vec::new(); // bytes 21.. (CRC-covered)
        covered.extend_from_slice(&0i16.to_be_bytes()); // attributes
        covered.extend_from_slice(&0i32.to_be_bytes()); // last offset delta
        covered.extend_from_slice(&1000i64.to_be_bytes()); // base timestamp
        covered.extend_from_slice(&1000i64.to_be_bytes()); // max timestamp
        covered.extend_from_slice(&(-1i64).to_be_bytes()); // producer id
        covered.extend_from_slice(&(-1i16).to_be_bytes()); // producer epoch
        covered.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
        covered.extend_from_slice(&1i32.to_be_bytes()); // record count
        covered.extend_from_slice(&records);

        let mut batch = Vec::new();
        batch.extend_from_slice(&0i64.to_be_bytes()); // base offset
        let length = 4 + 1 + 4 + covered.len(); // epoch + magic + crc + covered
        batch.extend_from_slice(&(length as i32).to_be_bytes());
        batch.extend_from_slice(&(-1i32).to_be_bytes()); // leader epoch
        batch.push(2); // magic
        batch.extend_from_slice(&crc32c::crc32c(&covered).to_be_bytes());
        batch.extend_from_slice(&covered);
        batch
    }

    #[test]
    fn one_record_matches_a_batch_assembled_by_hand() {
        let record = ProducerRecord::keyed("k", "v").with_timestamp(1000);
        let encoded = encode_batch_at(&[record], 5).unwrap();
        assert_eq!(&encoded[..], &known_batch()[..]);
    }

    #[test]
    fn header_fields_are_kafkas() {
        let records = vec![
            ProducerRecord::new("a").with_timestamp(2000),
            ProducerRecord::keyed("k", "b").with_timestamp(1500),
            ProducerRecord::tombstone("k")
                .with_timestamp(2500)
                .with_header("h", None),
        ];
        let b = encode_batch_at(&records, 0).unwrap();
        let i32_at = |at: usize| i32::from_be_bytes(b[at..at + 4].try_into().unwrap());
        let i64_at = |at: usize| i64::from_be_bytes(b[at..at + 8].try_into().unwrap());
        assert_eq!(i64_at(0), 0, "base offset");
        assert_eq!(i32_at(8) as usize, b.len() - LOG_OVERHEAD, "batch length");
        assert_eq!(i32_at(12), -1, "leader epoch");
        assert_eq!(b[16], 2, "magic");
        assert_eq!(
            u32::from_be_bytes(b[17..21].try_into().unwrap()),
            crc32c::crc32c(&b[21..]),
            "crc"
        );
        assert_eq!(&b[21..23], &[0, 0], "attributes");
        assert_eq!(i32_at(23), 2, "last offset delta");
        assert_eq!(i64_at(27), 2000, "base timestamp is the first record's");
        assert_eq!(i64_at(35), 2500, "max timestamp");
        assert_eq!(i64_at(43), -1, "producer id");
        assert_eq!(&b[51..53], &[0xff, 0xff], "producer epoch");
        assert_eq!(i32_at(53), -1, "base sequence");
        assert_eq!(i32_at(57), 3, "record count");
    }

    #[test]
    fn missing_timestamps_take_the_encoding_time() {
        let b = encode_batch_at(&[ProducerRecord::new("x")], 77).unwrap();
        let decoded = crate::batch::decode_batches(b).unwrap();
        assert_eq!(decoded[0].timestamp, 77);
    }

    #[test]
    fn empty_batches_are_refused() {
        assert!(matches!(
            encode_batch(&[]),
            Err(DataError::InvalidArgument(_))
        ));
    }

    #[test]
    fn headers_keep_their_order_and_nulls() {
        let record = ProducerRecord::new("v")
            .with_header("a", Some(Bytes::from_static(b"1")))
            .with_header("b", None);
        let decoded = crate::batch::decode_batches(encode_batch(&[record]).unwrap()).unwrap();
        assert_eq!(
            decoded[0].headers,
            vec![
                RecordHeader {
                    key: "a".into(),
                    value: Some(Bytes::from_static(b"1"))
                },
                RecordHeader {
                    key: "b".into(),
                    value: None
                },
            ]
        );
    }
}
