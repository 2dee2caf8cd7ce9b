//! JoinGroup (key 11), v0–9. The request waits (parked on the member's slot) until the
//! rebalance completes; see [`crate::group::state`] for the state machine. From v4 a
//! new dynamic member first gets MEMBER_ID_REQUIRED with its id and rejoins with it.

use std::time::Duration;

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse, RequestHeader};
use rill_types::ErrorCode;

use super::s;
use crate::codes;
use crate::context::KafkaContext;
use crate::group::state::{JoinRequest, JoinResult, Pending};

/// Slack beyond the rebalance timeout before a parked join gives up.
const JOIN_SLACK: Duration = Duration::from_secs(5);

/// Joins the group, waiting for the rebalance.
pub async fn handle(
    ctx: &KafkaContext,
    header: &RequestHeader,
    req: JoinGroupRequest,
) -> Option<JoinGroupResponse> {
    let version = header.request_api_version;
    ctx.groups.start();
    let member_id = req.member_id.as_str().to_owned();
    let fail = |e: ErrorCode| Some(response(version, &error(e, &member_id)));
    let group = match crate::group::group_id(&req.group_id) {
        Ok(g) => g,
        Err(e) => return fail(e),
    };
    let rebalance_timeout_ms = if version >= 1 {
        req.rebalance_timeout_ms
    } else {
        req.session_timeout_ms
    };
    let join = JoinRequest {
        member_id: member_id.clone(),
        instance_id: req
            .group_instance_id
            .as_ref()
            .map(|i| i.as_str().to_owned()),
        client_id: header
            .client_id
            .as_ref()
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default(),
        client_host: crate::server::client_host(),
        session_timeout_ms: req.session_timeout_ms,
        rebalance_timeout_ms,
        protocol_type: req.protocol_type.as_str().to_owned(),
        protocols: req
            .protocols
            .iter()
            .map(|p| (p.name.as_str().to_owned(), p.metadata.clone()))
            .collect(),
        require_known_member_id: version >= 4,
    };
    let outcome = match ctx
        .groups
        .with_group(&group, true, |g, now| g.join(join, now))
    {
        Err(e) => return fail(e),
        Ok(o) => o.expect("created"),
    };
    let _ = ctx.groups.flush(&group).await;
    let result = match outcome {
        Pending::Now(r) => r,
        Pending::Wait(id) => {
            let wait = Duration::from_millis(u64::try_from(rebalance_timeout_ms).unwrap_or(0))
                + JOIN_SLACK;
            let deadline = tokio::time::Instant::now() + wait;
            match ctx
                .groups
                .wait(&group, deadline, |g| g.take_join(&id))
                .await
            {
                Ok(r) => r,
                Err(e) => error(e, &id),
            }
        }
    };
    let _ = ctx.groups.flush(&group).await;
    Some(response(version, &result))
}

fn error(e: ErrorCode, member_id: &str) -> JoinResult {
    JoinResult::error(e, member_id)
}

/// The answer at `version`.
pub fn response(version: i16, r: &JoinResult) -> JoinGroupResponse {
    let members = r
        .members
        .iter()
        .map(|(id, inst, meta)| {
            JoinGroupResponseMember::default()
                .with_member_id(s(id.clone()))
                .with_group_instance_id(inst.clone().filter(|_| version >= 5).map(s))
                .with_metadata(meta.clone())
        })
        .collect();
    // protocol_name is nullable from v7; before, an absent protocol is "".
    let protocol_name = match (&r.protocol, version >= 7) {
        (Some(p), _) => Some(s(p.clone())),
        (None, true) => None,
        (None, false) => Some(s("")),
    };
    JoinGroupResponse::default()
        .with_error_code(r.error.map_or(codes::NONE, codes::code))
        .with_generation_id(r.generation)
        .with_protocol_type(r.protocol_type.clone().filter(|_| version >= 7).map(s))
        .with_protocol_name(protocol_name)
        .with_leader(s(r.leader.clone()))
        .with_skip_assignment(version >= 9 && r.skip_assignment)
        .with_member_id(s(r.member_id.clone()))
        .with_members(members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode_response;
    use kafka_protocol::messages::ApiKey;

    #[test]
    fn encodes_at_every_served_version() {
        let full = JoinResult {
            error: None,
            generation: 3,
            protocol: Some("range".into()),
            protocol_type: Some("consumer".into()),
            leader: "m1".into(),
            member_id: "m1".into(),
            members: vec![(
                "m1".into(),
                Some("i1".into()),
                bytes::Bytes::from_static(b"x"),
            )],
            skip_assignment: true,
        };
        for v in 0..=9 {
            for r in [&full, &error(ErrorCode::MemberIdRequired, "m")] {
                encode_response(0, ApiKey::JoinGroup, v, &response(v, r)).unwrap();
            }
        }
    }
}
