//! Group admin answers built from a [`Group`]: pure, so they are tested without a
//! broker.

use bytes::{Buf as _, Bytes};
use kafka_protocol::messages::ConsumerProtocolAssignment;
use kafka_protocol::protocol::Decodable as _;
use rill_proto::group::*;
use rill_types::{BrokerId, Offset, PartitionIndex};

use crate::group::state::Group;

/// One group's description (its coordinator's view).
pub fn describe(g: &Group) -> DescribeGroupResponse {
    let consumer = g.protocol_type.as_deref() == Some("consumer");
    DescribeGroupResponse {
        error: None,
        group_id: g.id.clone(),
        state: g.state.name().to_owned(),
        protocol_type: g.protocol_type.clone().unwrap_or_default(),
        protocol: g.protocol.clone().unwrap_or_default(),
        generation: g.generation,
        members: g
            .members
            .values()
            .map(|m| GroupMember {
                member_id: m.id.clone(),
                group_instance_id: m.instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                assignment: if consumer {
                    assignment(&m.assignment)
                } else {
                    Vec::new()
                },
            })
            .collect(),
        offsets: g
            .offsets
            .iter()
            .map(|((topic, p), v)| CommittedOffset {
                topic: topic.clone(),
                partition: Some(PartitionIndex::new(*p).into()),
                offset: Some(Offset::new(v.offset.max(0)).into()),
                metadata: v.metadata.clone(),
                commit_timestamp: v.commit_timestamp,
            })
            .collect(),
    }
}

/// The listing of one broker's groups, sorted by id.
pub fn list(broker: BrokerId, groups: Vec<Group>) -> ListGroupsResponse {
    let mut groups: Vec<ListedGroup> = groups
        .into_iter()
        .map(|g| ListedGroup {
            state: g.state.name().to_owned(),
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            members: i32::try_from(g.members.len()).unwrap_or(i32::MAX),
            group_id: g.id,
        })
        .collect();
    groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    ListGroupsResponse {
        broker: Some(broker.into()),
        groups,
        error: None,
    }
}

/// The partitions of a consumer-protocol assignment, by topic (none when the bytes do
/// not parse, e.g. before the first SyncGroup).
pub fn assignment(bytes: &Bytes) -> Vec<TopicPartitions> {
    let mut b = bytes.clone();
    if b.remaining() < 2 {
        return Vec::new();
    }
    // Newer clients may send versions this codec does not know; their prefix is v3's.
    let version = b.get_i16().clamp(0, 3);
    let Ok(a) = ConsumerProtocolAssignment::decode(&mut b, version) else {
        return Vec::new();
    };
    let mut out: Vec<TopicPartitions> = a
        .assigned_partitions
        .into_iter()
        .map(|tp| {
            let mut ps = tp.partitions;
            ps.sort_unstable();
            TopicPartitions {
                topic: tp.topic.0.as_str().to_owned(),
                partitions: ps
                    .into_iter()
                    .map(|p| PartitionIndex::new(p).into())
                    .collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| a.topic.cmp(&b.topic));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::records::OffsetValue;
    use kafka_protocol::messages::TopicName;
    use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
    use kafka_protocol::protocol::{Encodable as _, StrBytes};

    fn encoded(topics: &[(&str, &[i32])]) -> Bytes {
        let a = ConsumerProtocolAssignment::default().with_assigned_partitions(
            topics
                .iter()
                .map(|(t, ps)| {
                    TopicPartition::default()
                        .with_topic(TopicName(StrBytes::from_string((*t).to_owned())))
                        .with_partitions(ps.to_vec())
                })
                .collect(),
        );
        let mut b = bytes::BytesMut::new();
        bytes::BufMut::put_i16(&mut b, 1);
        a.encode(&mut b, 1).unwrap();
        b.freeze()
    }

    #[test]
    fn assignments_decode_sorted_by_topic_and_partition() {
        let got = assignment(&encoded(&[("b", &[2, 0]), ("a", &[1])]));
        let flat: Vec<(String, Vec<i32>)> = got
            .into_iter()
            .map(|t| (t.topic, t.partitions.into_iter().map(|p| p.index).collect()))
            .collect();
        assert_eq!(
            flat,
            [("a".to_owned(), vec![1]), ("b".to_owned(), vec![0, 2])]
        );
        assert!(assignment(&Bytes::new()).is_empty());
        assert!(assignment(&Bytes::from_static(b"\x00\x01\xff")).is_empty());
    }

    #[test]
    fn an_empty_group_describes_its_offsets() {
        let mut g = Group::new("g", Default::default(), 0);
        g.offsets.insert(
            ("t".into(), 1),
            OffsetValue {
                offset: 7,
                leader_epoch: -1,
                metadata: "m".into(),
                commit_timestamp: 5,
            },
        );
        let d = describe(&g);
        assert_eq!(d.state, "Empty");
        assert!(d.members.is_empty());
        assert_eq!(d.offsets.len(), 1);
        assert_eq!(d.offsets[0].offset.map(|o| o.offset), Some(7));
        let l = list(
            BrokerId::new(2),
            vec![Group::new("z", Default::default(), 0), g],
        );
        let ids: Vec<&str> = l.groups.iter().map(|g| g.group_id.as_str()).collect();
        assert_eq!(ids, ["g", "z"]);
        assert_eq!(l.broker.map(|b| b.id), Some(2));
    }
}
