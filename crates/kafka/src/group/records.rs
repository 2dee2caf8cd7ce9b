//! The records of `__consumer_offsets`, in Kafka's key/value formats, so the topic's
//! contents read the same as a Kafka cluster's:
//!
//! - offset commit: key v1 `(group, topic, partition)` → value v3 `(offset, leader
//!   epoch, metadata, commit timestamp)`;
//! - group metadata: key v2 `(group)` → value v3 `(protocol type, generation,
//!   protocol, leader, state timestamp, members)`.
//!
//! A record without a value is a tombstone: the key's state is deleted. Strings are
//! i16-length prefixed (-1: null), byte arrays i32-length prefixed, all big-endian.
//! Decoding never trusts a length: every read is checked against what is left.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

/// The key of a `__consumer_offsets` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    /// A committed offset of one partition.
    Offset {
        /// The group.
        group: String,
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
    },
    /// A group's membership and generation.
    Group {
        /// The group.
        group: String,
    },
}

impl RecordKey {
    /// The group the record belongs to.
    pub fn group(&self) -> &str {
        match self {
            RecordKey::Offset { group, .. } | RecordKey::Group { group } => group,
        }
    }
}

/// A committed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetValue {
    /// The next offset to consume.
    pub offset: i64,
    /// The leader epoch of the last consumed record (-1: unknown).
    pub leader_epoch: i32,
    /// The client's metadata string.
    pub metadata: String,
    /// When the commit was made (ms).
    pub commit_timestamp: i64,
}

/// One member of a stored group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberValue {
    /// The member id.
    pub member_id: String,
    /// The static instance id.
    pub instance_id: Option<String>,
    /// The client id.
    pub client_id: String,
    /// The client host.
    pub client_host: String,
    /// The rebalance timeout (ms).
    pub rebalance_timeout_ms: i32,
    /// The session timeout (ms).
    pub session_timeout_ms: i32,
    /// The member's metadata for the chosen protocol.
    pub subscription: Bytes,
    /// The member's assignment.
    pub assignment: Bytes,
}

/// A group's stored state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupValue {
    /// The protocol type ("consumer"), empty for offset-only groups.
    pub protocol_type: String,
    /// The generation.
    pub generation: i32,
    /// The chosen protocol (assignor).
    pub protocol: Option<String>,
    /// The leader's member id.
    pub leader: Option<String>,
    /// When the state last changed (ms).
    pub state_timestamp: i64,
    /// The members (empty: the group is Empty).
    pub members: Vec<MemberValue>,
}

/// A record's value: `None` is a tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordValue {
    /// An offset commit.
    Offset(OffsetValue),
    /// A group's metadata.
    Group(GroupValue),
}

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad __consumer_offsets record: {0}")]
pub struct RecordError(pub &'static str);

const OFFSET_KEY_VERSION: i16 = 1;
const GROUP_KEY_VERSION: i16 = 2;
const OFFSET_VALUE_VERSION: i16 = 3;
const GROUP_VALUE_VERSION: i16 = 3;

/// The bytes of `key`.
pub fn encode_key(key: &RecordKey) -> Bytes {
    let mut b = BytesMut::new();
    match key {
        RecordKey::Offset {
            group,
            topic,
            partition,
        } => {
            b.put_i16(OFFSET_KEY_VERSION);
            put_str(&mut b, group);
            put_str(&mut b, topic);
            b.put_i32(*partition);
        }
        RecordKey::Group { group } => {
            b.put_i16(GROUP_KEY_VERSION);
            put_str(&mut b, group);
        }
    }
    b.freeze()
}

/// The bytes of `value`.
pub fn encode_value(value: &RecordValue) -> Bytes {
    let mut b = BytesMut::new();
    match value {
        RecordValue::Offset(v) => {
            b.put_i16(OFFSET_VALUE_VERSION);
            b.put_i64(v.offset);
            b.put_i32(v.leader_epoch);
            put_str(&mut b, &v.metadata);
            b.put_i64(v.commit_timestamp);
        }
        RecordValue::Group(g) => {
            b.put_i16(GROUP_VALUE_VERSION);
            put_str(&mut b, &g.protocol_type);
            b.put_i32(g.generation);
            put_opt_str(&mut b, g.protocol.as_deref());
            put_opt_str(&mut b, g.leader.as_deref());
            b.put_i64(g.state_timestamp);
            b.put_i32(i32::try_from(g.members.len()).expect("members are bounded"));
            for m in &g.members {
                put_str(&mut b, &m.member_id);
                put_opt_str(&mut b, m.instance_id.as_deref());
                put_str(&mut b, &m.client_id);
                put_str(&mut b, &m.client_host);
                b.put_i32(m.rebalance_timeout_ms);
                b.put_i32(m.session_timeout_ms);
                put_bytes(&mut b, &m.subscription);
                put_bytes(&mut b, &m.assignment);
            }
        }
    }
    b.freeze()
}

/// Decodes a key. Keys of versions 0/1 are offsets, 2 is a group; others are refused.
pub fn decode_key(mut b: Bytes) -> Result<RecordKey, RecordError> {
    match get_i16(&mut b)? {
        0 | 1 => Ok(RecordKey::Offset {
            group: get_str(&mut b)?,
            topic: get_str(&mut b)?,
            partition: get_i32(&mut b)?,
        }),
        2 => Ok(RecordKey::Group {
            group: get_str(&mut b)?,
        }),
        _ => Err(RecordError("unknown key version")),
    }
}

/// Decodes the value of a record whose key is `key` (`None`: a tombstone).
pub fn decode_value(
    key: &RecordKey,
    value: Option<Bytes>,
) -> Result<Option<RecordValue>, RecordError> {
    let Some(mut b) = value else { return Ok(None) };
    let version = get_i16(&mut b)?;
    match key {
        RecordKey::Offset { .. } => {
            // v0: offset, metadata, timestamp; v1: + expire timestamp; v2: like v0;
            // v3: + leader epoch.
            let offset = get_i64(&mut b)?;
            let leader_epoch = if version >= 3 { get_i32(&mut b)? } else { -1 };
            let metadata = get_str(&mut b)?;
            let commit_timestamp = get_i64(&mut b)?;
            Ok(Some(RecordValue::Offset(OffsetValue {
                offset,
                leader_epoch,
                metadata,
                commit_timestamp,
            })))
        }
        RecordKey::Group { .. } => {
            let protocol_type = get_str(&mut b)?;
            let generation = get_i32(&mut b)?;
            let protocol = get_opt_str(&mut b)?;
            let leader = get_opt_str(&mut b)?;
            let state_timestamp = if version >= 2 { get_i64(&mut b)? } else { -1 };
            let n = get_i32(&mut b)?;
            let n = usize::try_from(n).map_err(|_| RecordError("negative member count"))?;
            // Each member takes at least 20 bytes: the count cannot exceed what is left.
            if n > b.remaining() / 20 + 1 {
                return Err(RecordError("member count beyond the record"));
            }
            let mut members = Vec::with_capacity(n);
            for _ in 0..n {
                let member_id = get_str(&mut b)?;
                let instance_id = if version >= 3 {
                    get_opt_str(&mut b)?
                } else {
                    None
                };
                let client_id = get_str(&mut b)?;
                let client_host = get_str(&mut b)?;
                let rebalance_timeout_ms = if version >= 1 { get_i32(&mut b)? } else { -1 };
                let session_timeout_ms = get_i32(&mut b)?;
                members.push(MemberValue {
                    member_id,
                    instance_id,
                    client_id,
                    client_host,
                    rebalance_timeout_ms: if version >= 1 {
                        rebalance_timeout_ms
                    } else {
                        session_timeout_ms
                    },
                    session_timeout_ms,
                    subscription: get_bytes(&mut b)?,
                    assignment: get_bytes(&mut b)?,
                });
            }
            Ok(Some(RecordValue::Group(GroupValue {
                protocol_type,
                generation,
                protocol,
                leader,
                state_timestamp,
                members,
            })))
        }
    }
}

/// One uncompressed RecordBatch v2 of `records` (key, value; `None` value: tombstone),
/// stamped `timestamp`. The log assigns the offsets on append.
pub fn batch(records: &[(Bytes, Option<Bytes>)], timestamp: i64) -> Bytes {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (k, v))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // One batch holds records only while offset - sequence is constant.
            sequence: i as i32 - 1,
            timestamp,
            key: Some(k.clone()),
            value: v.clone(),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options)
        .expect("an uncompressed batch of in-memory records always encodes");
    buf.freeze()
}

fn put_str(b: &mut BytesMut, s: &str) {
    put_opt_str(b, Some(s));
}

fn put_opt_str(b: &mut BytesMut, s: Option<&str>) {
    match s {
        None => b.put_i16(-1),
        Some(s) => {
            // Callers bound every string well below i16::MAX (group ids, topics, 4 KiB
            // metadata).
            b.put_i16(i16::try_from(s.len()).expect("strings are bounded"));
            b.put_slice(s.as_bytes());
        }
    }
}

fn put_bytes(b: &mut BytesMut, v: &Bytes) {
    b.put_i32(i32::try_from(v.len()).expect("bytes are bounded"));
    b.put_slice(v);
}

fn need(b: &Bytes, n: usize) -> Result<(), RecordError> {
    if b.remaining() < n {
        Err(RecordError("truncated"))
    } else {
        Ok(())
    }
}

fn get_i16(b: &mut Bytes) -> Result<i16, RecordError> {
    need(b, 2)?;
    Ok(b.get_i16())
}

fn get_i32(b: &mut Bytes) -> Result<i32, RecordError> {
    need(b, 4)?;
    Ok(b.get_i32())
}

fn get_i64(b: &mut Bytes) -> Result<i64, RecordError> {
    need(b, 8)?;
    Ok(b.get_i64())
}

fn get_opt_str(b: &mut Bytes) -> Result<Option<String>, RecordError> {
    let n = get_i16(b)?;
    if n < 0 {
        return Ok(None);
    }
    let n = n as usize;
    need(b, n)?;
    let s = b.split_to(n);
    String::from_utf8(s.to_vec())
        .map(Some)
        .map_err(|_| RecordError("string is not UTF-8"))
}

fn get_str(b: &mut Bytes) -> Result<String, RecordError> {
    Ok(get_opt_str(b)?.unwrap_or_default())
}

fn get_bytes(b: &mut Bytes) -> Result<Bytes, RecordError> {
    let n = get_i32(b)?;
    let n = usize::try_from(n).unwrap_or(0);
    need(b, n)?;
    Ok(b.split_to(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::records::RecordBatchDecoder;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9._-]{0,40}"
    }

    fn member() -> impl Strategy<Value = MemberValue> {
        (
            text(),
            proptest::option::of(text()),
            text(),
            text(),
            any::<i32>(),
            any::<i32>(),
            proptest::collection::vec(any::<u8>(), 0..64),
            proptest::collection::vec(any::<u8>(), 0..64),
        )
            .prop_map(|(id, inst, cid, host, rt, st, sub, asg)| MemberValue {
                member_id: id,
                instance_id: inst,
                client_id: cid,
                client_host: host,
                rebalance_timeout_ms: rt,
                session_timeout_ms: st,
                subscription: Bytes::from(sub),
                assignment: Bytes::from(asg),
            })
    }

    proptest! {
        #[test]
        fn offset_records_round_trip(group in text(), topic in text(), partition in any::<i32>(),
                                     offset in any::<i64>(), epoch in any::<i32>(),
                                     metadata in text(), ts in any::<i64>()) {
            let key = RecordKey::Offset { group, topic, partition };
            let value = RecordValue::Offset(OffsetValue { offset, leader_epoch: epoch, metadata, commit_timestamp: ts });
            let k = decode_key(encode_key(&key)).unwrap();
            prop_assert_eq!(&k, &key);
            prop_assert_eq!(decode_value(&k, Some(encode_value(&value))).unwrap(), Some(value));
        }

        #[test]
        fn group_records_round_trip(group in text(), ptype in text(), generation in any::<i32>(),
                                    protocol in proptest::option::of(text()),
                                    leader in proptest::option::of(text()), ts in any::<i64>(),
                                    members in proptest::collection::vec(member(), 0..5)) {
            let key = RecordKey::Group { group };
            let value = RecordValue::Group(GroupValue { protocol_type: ptype, generation, protocol, leader, state_timestamp: ts, members });
            let k = decode_key(encode_key(&key)).unwrap();
            prop_assert_eq!(&k, &key);
            prop_assert_eq!(decode_value(&k, Some(encode_value(&value))).unwrap(), Some(value));
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(k) = decode_key(Bytes::from(bytes.clone())) {
                let _ = decode_value(&k, Some(Bytes::from(bytes)));
            }
        }
    }

    #[test]
    fn tombstones_decode_to_none() {
        let key = RecordKey::Group { group: "g".into() };
        assert_eq!(decode_value(&key, None).unwrap(), None);
    }

    #[test]
    fn batches_decode_back_to_their_records() {
        let records = vec![
            (Bytes::from_static(b"k1"), Some(Bytes::from_static(b"v1"))),
            (Bytes::from_static(b"k2"), None),
        ];
        let mut b = batch(&records, 7);
        let set = RecordBatchDecoder::decode(&mut b).unwrap();
        assert_eq!(set.records.len(), 2);
        assert_eq!(set.records[0].value.as_deref(), Some(&b"v1"[..]));
        assert_eq!(set.records[1].value, None);
        assert_eq!(set.records[1].key.as_deref(), Some(&b"k2"[..]));
    }
}
