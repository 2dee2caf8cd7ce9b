//! DescribeGroups (key 15), v0–5: state, protocol and members of each group. A group
//! this coordinator does not know is described as Dead, as Kafka does.

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{
    DescribeGroupsRequest, DescribeGroupsResponse, GroupId, RequestHeader,
};
use rill_types::ErrorCode;

use super::s;
use crate::codes;
use crate::context::KafkaContext;
use crate::group::state::Group;

/// Most groups described per request.
const MAX_GROUPS: usize = 10_000;

/// One group's description: (state, protocol type, protocol, members: id, instance,
/// client id, host, metadata, assignment).
pub type Description = (String, String, String, Vec<DescribedGroupMember>);

/// Describes the groups.
pub async fn handle(
    ctx: &KafkaContext,
    header: &RequestHeader,
    req: DescribeGroupsRequest,
) -> Option<DescribeGroupsResponse> {
    let version = header.request_api_version;
    ctx.groups.start();
    let groups = req
        .groups
        .iter()
        .take(MAX_GROUPS)
        .map(|id| {
            let r = crate::group::group_id(id).and_then(|g| {
                Ok(ctx
                    .groups
                    .with_group(&g, false, |g, _| describe(g, version))?
                    .unwrap_or_else(|| ("Dead".into(), String::new(), String::new(), Vec::new())))
            });
            (id.0.as_str().to_owned(), r)
        })
        .collect::<Vec<_>>();
    Some(response(version, groups))
}

fn describe(g: &Group, version: i16) -> Description {
    let protocol = g.protocol.clone().unwrap_or_default();
    let members = g
        .members
        .values()
        .map(|m| {
            DescribedGroupMember::default()
                .with_member_id(s(m.id.clone()))
                .with_group_instance_id(m.instance_id.clone().filter(|_| version >= 4).map(s))
                .with_client_id(s(m.client_id.clone()))
                .with_client_host(s(m.client_host.clone()))
                .with_member_metadata(
                    m.protocols
                        .iter()
                        .find(|(n, _)| *n == protocol)
                        .map(|(_, b)| b.clone())
                        .unwrap_or_default(),
                )
                .with_member_assignment(m.assignment.clone())
        })
        .collect();
    (
        g.state.name().to_owned(),
        g.protocol_type.clone().unwrap_or_default(),
        protocol,
        members,
    )
}

/// The answer at `version`.
pub fn response(
    version: i16,
    groups: Vec<(String, Result<Description, ErrorCode>)>,
) -> DescribeGroupsResponse {
    let groups = groups
        .into_iter()
        .map(|(id, r)| {
            let g = DescribedGroup::default()
                .with_group_id(GroupId(s(id)))
                .with_authorized_operations(if version >= 3 { i32::MIN } else { -2147483648 });
            match r {
                Err(e) => g.with_error_code(codes::code(e)),
                Ok((state, ptype, protocol, members)) => g
                    .with_group_state(s(state))
                    .with_protocol_type(s(ptype))
                    .with_protocol_data(s(protocol))
                    .with_members(members),
            }
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode_response;
    use kafka_protocol::messages::ApiKey;

    #[test]
    fn encodes_at_every_served_version() {
        for v in 0..=5 {
            let m = DescribedGroupMember::default()
                .with_member_id(s("m"))
                .with_group_instance_id((v >= 4).then(|| s("i")));
            let groups = vec![
                (
                    "g".to_owned(),
                    Ok(("Stable".into(), "consumer".into(), "range".into(), vec![m])),
                ),
                ("h".to_owned(), Err(ErrorCode::NotCoordinator)),
            ];
            encode_response(0, ApiKey::DescribeGroups, v, &response(v, groups)).unwrap();
        }
    }
}
