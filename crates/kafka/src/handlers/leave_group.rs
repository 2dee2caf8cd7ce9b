//! LeaveGroup (key 13), v0–5 (v3+: a batch of members, by member or instance id). A
//! leave triggers a rebalance of the members left.

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse, RequestHeader};
use rill_types::ErrorCode;

use super::s;
use crate::codes;
use crate::context::KafkaContext;

/// One leaving member's outcome: (member id, instance id, result).
type Left = (String, Option<String>, Result<(), ErrorCode>);

/// Removes the members.
pub async fn handle(
    ctx: &KafkaContext,
    header: &RequestHeader,
    req: LeaveGroupRequest,
) -> Option<LeaveGroupResponse> {
    let version = header.request_api_version;
    ctx.groups.start();
    let who: Vec<(String, Option<String>)> = if version >= 3 {
        req.members
            .iter()
            .map(|m| {
                (
                    m.member_id.as_str().to_owned(),
                    m.group_instance_id.as_ref().map(|i| i.as_str().to_owned()),
                )
            })
            .collect()
    } else {
        vec![(req.member_id.as_str().to_owned(), None)]
    };
    let group = match crate::group::group_id(&req.group_id) {
        Ok(g) => g,
        Err(e) => return Some(response(version, Err(e), &[])),
    };
    let left = ctx.groups.with_group(&group, false, |g, now| {
        who.iter()
            .map(|(m, i)| (m.clone(), i.clone(), g.leave(m, i.as_deref(), now)))
            .collect::<Vec<Left>>()
    });
    let left = match left {
        Err(e) => return Some(response(version, Err(e), &[])),
        Ok(None) => who
            .into_iter()
            .map(|(m, i)| (m, i, Err(ErrorCode::UnknownMemberId)))
            .collect(),
        Ok(Some(l)) => l,
    };
    let _ = ctx.groups.flush(&group).await;
    // v0–2 have one member and a top-level code; v3+ a code per member.
    let top = if version < 3 { left[0].2 } else { Ok(()) };
    Some(response(version, top, &left))
}

/// The answer at `version`.
pub fn response(version: i16, top: Result<(), ErrorCode>, left: &[Left]) -> LeaveGroupResponse {
    let members = if version >= 3 {
        left.iter()
            .map(|(m, i, r)| {
                MemberResponse::default()
                    .with_member_id(s(m.clone()))
                    .with_group_instance_id(i.clone().map(s))
                    .with_error_code(r.err().map_or(codes::NONE, codes::code))
            })
            .collect()
    } else {
        Vec::new()
    };
    LeaveGroupResponse::default()
        .with_error_code(top.err().map_or(codes::NONE, codes::code))
        .with_members(members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode_response;
    use kafka_protocol::messages::ApiKey;

    #[test]
    fn encodes_at_every_served_version() {
        let left = vec![(
            "m".to_owned(),
            Some("i".to_owned()),
            Err(ErrorCode::UnknownMemberId),
        )];
        for v in 0..=5 {
            let r = response(v, Err(ErrorCode::NotCoordinator), &left);
            encode_response(0, ApiKey::LeaveGroup, v, &r).unwrap();
        }
    }
}
