//! RecordBatch v2 codec: our encoder and decoder round-trip, and each agrees with an
//! independent implementation (kafka-protocol's records module) in both directions.
//!
//! proptest prints the failing case and its seed, and keeps regressions in
//! `proptest-regressions/`; a failure replays from there.

use bytes::{Bytes, BytesMut};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use rill_client::{
    ConsumedRecord, DataError, ProducerRecord, RecordHeader, decode_batches, encode_batch,
};
use rill_types::{LeaderEpoch, Offset};

fn bytes() -> impl Strategy<Value = Option<Bytes>> {
    proptest::option::of(vec(any::<u8>(), 0..40).prop_map(Bytes::from))
}

/// Records with distinct header keys (kafka-protocol keeps headers in a map) and
/// timestamps within Kafka's plausible range.
fn records() -> impl Strategy<Value = Vec<ProducerRecord>> {
    let headers = btree_map("[a-z]{1,6}", bytes(), 0..4);
    let record =
        (bytes(), bytes(), headers, 0i64..1 << 45).prop_map(|(k, v, h, t)| ProducerRecord {
            key: k,
            value: v,
            headers: h
                .into_iter()
                .map(|(key, value)| RecordHeader { key, value })
                .collect(),
            timestamp: Some(t),
        });
    vec(record, 1..20)
}

/// What a leader does on append: base offset and leader epoch, outside the CRC.
fn stamp(batch: &Bytes, base_offset: i64, epoch: i32) -> Bytes {
    let mut b = BytesMut::from(&batch[..]);
    b[0..8].copy_from_slice(&base_offset.to_be_bytes());
    b[12..16].copy_from_slice(&epoch.to_be_bytes());
    b.freeze()
}

fn expected(records: &[ProducerRecord], base_offset: i64, epoch: i32) -> Vec<ConsumedRecord> {
    records
        .iter()
        .enumerate()
        .map(|(i, r)| ConsumedRecord {
            offset: Offset::new(base_offset + i as i64),
            timestamp: r.timestamp.unwrap(),
            key: r.key.clone(),
            value: r.value.clone(),
            headers: r.headers.clone(),
            leader_epoch: Some(LeaderEpoch::new(epoch)),
        })
        .collect()
}

proptest! {
    #[test]
    fn encode_then_decode_round_trips(
        first in records(),
        second in records(),
        base in 0i64..1 << 40,
        epoch in 0i32..1000,
    ) {
        let a = stamp(&encode_batch(&first).unwrap(), base, epoch);
        let next = base + first.len() as i64;
        let b = stamp(&encode_batch(&second).unwrap(), next, epoch + 1);
        let decoded = decode_batches([a, b].concat().into()).unwrap();
        let mut want = expected(&first, base, epoch);
        want.extend(expected(&second, next, epoch + 1));
        prop_assert_eq!(decoded, want);
    }

    #[test]
    fn kafka_protocol_reads_our_batches(records in records(), base in 0i64..1 << 40) {
        let mut batch = stamp(&encode_batch(&records).unwrap(), base, 3);
        let set = RecordBatchDecoder::decode(&mut batch).unwrap();
        prop_assert_eq!(set.records.len(), records.len());
        for (i, (theirs, ours)) in set.records.iter().zip(&records).enumerate() {
            prop_assert_eq!(theirs.offset, base + i as i64);
            prop_assert_eq!(theirs.timestamp, ours.timestamp.unwrap());
            prop_assert_eq!(&theirs.key, &ours.key);
            prop_assert_eq!(&theirs.value, &ours.value);
            prop_assert_eq!(theirs.partition_leader_epoch, 3);
            prop_assert_eq!((theirs.producer_id, theirs.producer_epoch), (-1, -1));
            let headers: Vec<RecordHeader> = theirs
                .headers
                .iter()
                .map(|(k, v)| RecordHeader { key: k.as_str().to_owned(), value: v.clone() })
                .collect();
            prop_assert_eq!(&headers, &ours.headers);
        }
    }

    #[test]
    fn we_read_kafka_protocol_batches(records in records(), base in 0i64..1 << 40) {
        let theirs: Vec<Record> = records
            .iter()
            .enumerate()
            .map(|(i, r)| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 9,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: base + i as i64,
                // kafka-protocol keeps records in one batch while offset - sequence is
                // constant; base sequence -1 then gives -1, 0, 1, ...
                sequence: i as i32 - 1,
                timestamp: r.timestamp.unwrap(),
                key: r.key.clone(),
                value: r.value.clone(),
                headers: r
                    .headers
                    .iter()
                    .map(|h| (StrBytes::from_string(h.key.clone()), h.value.clone()))
                    .collect(),
            })
            .collect();
        let mut buf = BytesMut::new();
        let options = RecordEncodeOptions { version: 2, compression: Compression::None };
        RecordBatchEncoder::encode(&mut buf, &theirs, &options).unwrap();
        let decoded = decode_batches(buf.freeze()).unwrap();
        prop_assert_eq!(decoded, expected(&records, base, 9));
    }

    #[test]
    fn any_flipped_covered_byte_is_caught(records in records(), at in any::<prop::sample::Index>()) {
        let good = encode_batch(&records).unwrap();
        let mut bad = good.to_vec();
        let i = 21 + at.index(bad.len() - 21);
        bad[i] ^= 0x80;
        let err = decode_batches(bad.into()).unwrap_err();
        prop_assert!(matches!(&err, DataError::Corrupt(m) if m.contains("CRC32C")), "{}", err);
    }
}
