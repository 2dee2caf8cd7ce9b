//! [`decode_batches`]: RecordBatch v2 bytes (as fetched) → records.
//!
//! Strict: every batch must be whole, carry magic 2 and a matching CRC32C, and its
//! records must fill it exactly; anything else is [`DataError::Corrupt`] naming the batch
//! and the byte. (A Kafka fetch may end in a partial batch; rill's `Fetch` promises whole
//! batches, so a partial one is a broker bug worth seeing.)

use bytes::Bytes;
use rill_types::{LeaderEpoch, Offset};

use super::varint::Reader;
use super::{
    ATTR_COMPRESSION, ATTR_CONTROL, ATTR_LOG_APPEND_TIME, CRC_START, ConsumedRecord, HEADER_SIZE,
    LOG_OVERHEAD, MAGIC_V2, RecordHeader,
};
use crate::DataError;

/// The smallest record body: attributes, timestamp delta, offset delta, key length,
/// value length and header count, one byte each (plus its length varint).
const MIN_RECORD_SIZE: usize = 7;

/// What a run of batches held.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Decoded {
    /// The data records, in order; control batches contribute none.
    pub records: Vec<ConsumedRecord>,
    /// One past the last offset of the last batch (control batches included): where the
    /// next fetch starts. `None` when there were no batches.
    pub next_offset: Option<Offset>,
}

/// Decodes every record of the uncompressed RecordBatch v2 batches in `bytes`, skipping
/// control batches.
///
/// Fails with [`DataError::Corrupt`] on a bad CRC, a truncated batch, or lengths that do
/// not add up; with [`DataError::Unsupported`] on a compressed batch or an old format.
pub fn decode_batches(bytes: Bytes) -> Result<Vec<ConsumedRecord>, DataError> {
    decode(bytes).map(|d| d.records)
}

/// [`decode_batches`], also reporting where the batches end.
pub(crate) fn decode(bytes: Bytes) -> Result<Decoded, DataError> {
    let mut out = Decoded::default();
    let mut at = 0;
    while at < bytes.len() {
        let left = bytes.len() - at;
        if left < LOG_OVERHEAD {
            return Err(DataError::Corrupt(format!(
                "{left} trailing bytes at byte {at}, fewer than a batch header"
            )));
        }
        let length = i32::from_be_bytes(bytes[at + 8..at + 12].try_into().expect("4 bytes"));
        let min = (HEADER_SIZE - LOG_OVERHEAD) as i32;
        if length < min {
            return Err(DataError::Corrupt(format!(
                "batch at byte {at} has length {length}, less than its header's {min}"
            )));
        }
        let size = LOG_OVERHEAD + length as usize;
        if size > left {
            return Err(DataError::Corrupt(format!(
                "batch at byte {at} is truncated: {size} bytes long, {left} left"
            )));
        }
        let batch = bytes.slice(at..at + size);
        let end = decode_batch(batch, &mut out.records).map_err(|e| match e {
            DataError::Corrupt(m) => DataError::Corrupt(format!("batch at byte {at}: {m}")),
            DataError::Unsupported(m) => DataError::Unsupported(format!("batch at byte {at}: {m}")),
            other => other,
        })?;
        out.next_offset = Some(end);
        at += size;
    }
    Ok(out)
}

/// The big-endian integer of `N` bytes at `at` (in bounds: the header was checked).
fn be<const N: usize>(batch: &[u8], at: usize) -> [u8; N] {
    batch[at..at + N].try_into().expect("in header")
}

/// Decodes one whole batch into `out`; returns one past its last offset.
fn decode_batch(batch: Bytes, out: &mut Vec<ConsumedRecord>) -> Result<Offset, DataError> {
    let corrupt = DataError::Corrupt;
    let base_offset = i64::from_be_bytes(be(&batch, 0));
    let magic = batch[16] as i8;
    if magic != MAGIC_V2 {
        return Err(if (0..MAGIC_V2).contains(&magic) {
            DataError::Unsupported(format!("message format v{magic}; only v2 is read"))
        } else {
            corrupt(format!("magic byte {magic}, expected 2"))
        });
    }
    let stored_crc = u32::from_be_bytes(be(&batch, 17));
    let crc = crc32c::crc32c(&batch[CRC_START..]);
    if stored_crc != crc {
        return Err(corrupt(format!(
            "base offset {base_offset}: CRC32C mismatch, stored {stored_crc:#010x}, \
             computed {crc:#010x}"
        )));
    }
    if base_offset < 0 {
        return Err(corrupt(format!("negative base offset {base_offset}")));
    }
    let leader_epoch = i32::from_be_bytes(be(&batch, 12));
    let attributes = i16::from_be_bytes(be(&batch, 21));
    let last_offset_delta = i32::from_be_bytes(be(&batch, 23));
    let base_timestamp = i64::from_be_bytes(be(&batch, 27));
    let max_timestamp = i64::from_be_bytes(be(&batch, 35));
    let count = i32::from_be_bytes(be(&batch, 57));
    if last_offset_delta < 0 {
        return Err(corrupt(format!(
            "negative last offset delta {last_offset_delta}"
        )));
    }
    let next_offset = base_offset
        .checked_add(i64::from(last_offset_delta) + 1)
        .ok_or_else(|| corrupt(format!("base offset {base_offset} overflows")))?;
    if attributes & ATTR_CONTROL != 0 {
        return Ok(Offset::new(next_offset)); // transaction markers: not data
    }
    let codec = attributes & ATTR_COMPRESSION;
    if codec != 0 {
        return Err(DataError::Unsupported(format!(
            "base offset {base_offset}: compressed (codec {codec}); only uncompressed \
             batches are read"
        )));
    }
    let records_len = batch.len() - HEADER_SIZE;
    if count < 0 || count as usize > records_len / MIN_RECORD_SIZE {
        return Err(corrupt(format!(
            "record count {count} impossible in {records_len} bytes"
        )));
    }
    let batch_info = BatchInfo {
        base_offset,
        last_offset_delta,
        base_timestamp,
        log_append_time: (attributes & ATTR_LOG_APPEND_TIME != 0).then_some(max_timestamp),
        leader_epoch: (leader_epoch >= 0).then_some(LeaderEpoch::new(leader_epoch)),
    };
    let mut reader = Reader::new(batch, HEADER_SIZE);
    for i in 0..count {
        let record = decode_record(&mut reader, &batch_info)
            .map_err(|m| corrupt(format!("base offset {base_offset}, record {i}: {m}")))?;
        out.push(record);
    }
    if reader.remaining() != 0 {
        return Err(corrupt(format!(
            "base offset {base_offset}: {} bytes after its {count} records",
            reader.remaining()
        )));
    }
    Ok(Offset::new(next_offset))
}

/// The batch fields every record of it needs.
struct BatchInfo {
    base_offset: i64,
    last_offset_delta: i32,
    base_timestamp: i64,
    /// The broker's append time, on LogAppendTime batches: every record's timestamp.
    log_append_time: Option<i64>,
    leader_epoch: Option<LeaderEpoch>,
}

/// One record; the reader must end exactly at the end of its declared length.
fn decode_record(reader: &mut Reader, batch: &BatchInfo) -> Result<ConsumedRecord, String> {
    let length = reader.varint("record length")?;
    if length < 0 {
        return Err(format!("negative record length {length}"));
    }
    let mut r = Reader::new(reader.take(length as usize, "record")?, 0);
    let _attributes = r.i8("record attributes")?;
    let timestamp_delta = r.varlong("timestamp delta")?;
    let offset_delta = r.varint("offset delta")?;
    if !(0..=batch.last_offset_delta).contains(&offset_delta) {
        return Err(format!(
            "offset delta {offset_delta} outside 0..={}",
            batch.last_offset_delta
        ));
    }
    let key = r.nullable("key")?;
    let value = r.nullable("value")?;
    let header_count = r.varint("header count")?;
    if header_count < 0 || header_count as usize > r.remaining() / 2 {
        return Err(format!("header count {header_count} impossible"));
    }
    let mut headers = Vec::with_capacity(header_count as usize);
    for _ in 0..header_count {
        let key = r.nullable("header key")?.ok_or("null header key")?;
        let key = String::from_utf8(key.to_vec()).map_err(|_| "header key is not UTF-8")?;
        let value = r.nullable("header value")?;
        headers.push(RecordHeader { key, value });
    }
    if r.remaining() != 0 {
        return Err(format!("{} bytes after the record's fields", r.remaining()));
    }
    let timestamp = match batch.log_append_time {
        Some(t) => t,
        None => batch
            .base_timestamp
            .checked_add(timestamp_delta)
            .ok_or("timestamp overflows")?,
    };
    Ok(ConsumedRecord {
        offset: Offset::new(batch.base_offset + i64::from(offset_delta)),
        timestamp,
        key,
        value,
        headers,
        leader_epoch: batch.leader_epoch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProducerRecord;
    use crate::batch::encode_batch;

    fn batch(values: &[&'static str], base_offset: i64, epoch: i32) -> Vec<u8> {
        let records: Vec<_> = values
            .iter()
            .map(|v| ProducerRecord::new(*v).with_timestamp(10))
            .collect();
        let mut b = encode_batch(&records).unwrap().to_vec();
        // What a leader does on append: fields outside the CRC.
        b[0..8].copy_from_slice(&base_offset.to_be_bytes());
        b[12..16].copy_from_slice(&epoch.to_be_bytes());
        b
    }

    #[test]
    fn offsets_and_epochs_come_from_the_stamped_header() {
        let mut bytes = batch(&["a", "b"], 40, 3);
        bytes.extend(batch(&["c"], 42, 4));
        let d = decode(Bytes::from(bytes)).unwrap();
        let offsets: Vec<i64> = d.records.iter().map(|r| r.offset.get()).collect();
        assert_eq!(offsets, vec![40, 41, 42]);
        assert_eq!(d.records[2].leader_epoch, Some(LeaderEpoch::new(4)));
        assert_eq!(d.records[2].value.as_deref(), Some(&b"c"[..]));
        assert_eq!(d.next_offset, Some(Offset::new(43)));
    }

    #[test]
    fn a_flipped_byte_fails_the_crc_check() {
        let good = batch(&["hello", "world"], 0, 0);
        for at in CRC_START..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x01;
            let err = decode_batches(Bytes::from(bad)).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, DataError::Corrupt(_)), "{msg}");
            assert!(msg.contains("CRC32C mismatch"), "byte {at}: {msg}");
        }
    }

    #[test]
    fn truncation_is_reported_with_its_position() {
        let mut bytes = batch(&["a"], 0, 0);
        let whole = bytes.len();
        bytes.extend(batch(&["b"], 1, 0));
        bytes.truncate(bytes.len() - 1);
        let msg = decode_batches(Bytes::from(bytes)).unwrap_err().to_string();
        assert!(
            msg.contains(&format!("batch at byte {whole} is truncated")),
            "{msg}"
        );
    }

    /// Sets attribute bits and recomputes the CRC, as a broker would write them.
    fn with_attributes(mut b: Vec<u8>, bits: i16) -> Vec<u8> {
        b[21..23].copy_from_slice(&bits.to_be_bytes());
        let crc = crc32c::crc32c(&b[CRC_START..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }

    #[test]
    fn control_batches_are_skipped_but_advance_the_next_offset() {
        let mut bytes = batch(&["a"], 5, 0);
        bytes.extend(with_attributes(batch(&["marker"], 6, 0), ATTR_CONTROL));
        let d = decode(Bytes::from(bytes)).unwrap();
        assert_eq!(d.records.len(), 1);
        assert_eq!(d.next_offset, Some(Offset::new(7)));
    }

    #[test]
    fn log_append_time_replaces_every_timestamp() {
        let mut b = batch(&["a", "b"], 0, 0);
        b[35..43].copy_from_slice(&999i64.to_be_bytes()); // the broker's append time
        let b = with_attributes(b, ATTR_LOG_APPEND_TIME);
        let records = decode_batches(Bytes::from(b)).unwrap();
        assert!(records.iter().all(|r| r.timestamp == 999));
    }

    #[test]
    fn compressed_batches_are_unsupported_not_corrupt() {
        let b = with_attributes(batch(&["a"], 0, 0), 1);
        assert!(matches!(
            decode_batches(Bytes::from(b)),
            Err(DataError::Unsupported(_))
        ));
    }

    #[test]
    fn a_record_count_larger_than_the_bytes_is_corrupt() {
        let mut b = batch(&["a"], 0, 0);
        b[57..61].copy_from_slice(&i32::MAX.to_be_bytes());
        let crc = crc32c::crc32c(&b[CRC_START..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        let msg = decode_batches(Bytes::from(b)).unwrap_err().to_string();
        assert!(msg.contains("record count"), "{msg}");
    }

    #[test]
    fn nothing_decodes_to_nothing() {
        assert_eq!(decode(Bytes::new()).unwrap(), Decoded::default());
    }
}
