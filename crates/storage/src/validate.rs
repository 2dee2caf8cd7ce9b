//! Record-level validation of producer batches, beyond the header and CRC checks of
//! `batch.rs`: every batch must decode whole — its records decompressed (gzip, snappy,
//! lz4, zstd, through kafka-protocol's codecs) and as many as its header claims — and on
//! a compacted topic every record must have a key (Kafka refuses keyless records there:
//! compaction could never drop them). The batch is still stored and served as sent.
//!
//! Cost: one decode per produced batch, as Kafka's `LogValidator` does. Not bounded
//! here: the size a compressed batch inflates to (Kafka does not bound it either); the
//! record count is checked against the header only after decoding.

use bytes::Bytes;
use kafka_protocol::records::RecordBatchDecoder;

/// Why a producer's batches were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordCheckError {
    /// A batch does not decode (Kafka's CORRUPT_MESSAGE).
    #[error("batch at byte {at} does not decode: {reason}")]
    Corrupt {
        /// Where the batch starts in the produced bytes.
        at: usize,
        /// What was wrong.
        reason: String,
    },
    /// A record breaks the topic's rules (Kafka's INVALID_RECORD).
    #[error("{0}")]
    InvalidRecord(String),
}

const LENGTH_OFFSET: usize = 8;
const LOG_OVERHEAD: usize = 12;

/// Checks every batch of `records` (RecordBatch v2, back to back).
pub fn validate_records(records: &[u8], compacted: bool) -> Result<(), RecordCheckError> {
    let mut at = 0usize;
    while at < records.len() {
        let corrupt = |reason: String| RecordCheckError::Corrupt { at, reason };
        let len_bytes = records
            .get(at + LENGTH_OFFSET..at + LOG_OVERHEAD)
            .ok_or_else(|| corrupt("truncated batch header".into()))?;
        let len = i32::from_be_bytes(len_bytes.try_into().expect("4 bytes"));
        let total = usize::try_from(len)
            .ok()
            .and_then(|l| l.checked_add(LOG_OVERHEAD))
            .filter(|t| at + t <= records.len())
            .ok_or_else(|| corrupt(format!("batch length {len} runs past the request")))?;
        let batch = &records[at..at + total];
        let claimed = i32::from_be_bytes(
            batch
                .get(57..61)
                .ok_or_else(|| corrupt("truncated batch header".into()))?
                .try_into()
                .expect("4 bytes"),
        );
        let mut buf = Bytes::copy_from_slice(batch);
        let set = RecordBatchDecoder::decode(&mut buf).map_err(|e| corrupt(e.to_string()))?;
        if i64::try_from(set.records.len()).ok() != Some(i64::from(claimed)) {
            return Err(corrupt(format!(
                "the header claims {claimed} records, the batch holds {}",
                set.records.len()
            )));
        }
        if compacted && let Some(r) = set.records.iter().find(|r| r.key.is_none()) {
            return Err(RecordCheckError::InvalidRecord(format!(
                "a compacted topic only accepts records with a key; the record with offset delta {} has none",
                r.offset - set.records[0].offset
            )));
        }
        at += total;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use kafka_protocol::records::Compression;

    use super::*;
    use crate::testing::batch_with_compression;

    /// One batch of records keyed by `keys` (`None`: no key), compressed with `compression`.
    fn batch(keys: &[Option<&str>], compression: Compression) -> Vec<u8> {
        let records: Vec<_> = keys
            .iter()
            .map(|k| (k.map(str::as_bytes), Some(&b"value value value"[..])))
            .collect();
        batch_with_compression(&records, 1, compression)
    }

    #[test]
    fn every_codec_decodes_and_passes() {
        for c in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let mut two = batch(&[Some("a"), Some("b")], c);
            two.extend(batch(&[Some("c")], c));
            validate_records(&two, true).unwrap_or_else(|e| panic!("{c:?}: {e}"));
        }
    }

    #[test]
    fn keyless_records_are_refused_only_on_compacted_topics() {
        let b = batch(&[Some("a"), None], Compression::Lz4);
        assert!(validate_records(&b, false).is_ok());
        assert!(matches!(
            validate_records(&b, true),
            Err(RecordCheckError::InvalidRecord(_))
        ));
    }

    #[test]
    fn damaged_compressed_payloads_and_lying_counts_are_corrupt() {
        let mut b = batch(&[Some("a"), Some("b")], Compression::Gzip);
        let n = b.len();
        b[n - 5] ^= 0xff;
        assert!(matches!(
            validate_records(&b, false),
            Err(RecordCheckError::Corrupt { .. })
        ));
        let mut b = batch(&[Some("a"), Some("b")], Compression::None);
        b[57..61].copy_from_slice(&3i32.to_be_bytes());
        assert!(validate_records(&b, false).is_err());
        assert!(validate_records(&b[..20], false).is_err());
    }
}
