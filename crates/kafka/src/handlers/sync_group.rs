//! SyncGroup (key 14), v0–5: the leader hands in the assignments; every member gets
//! its own. A follower arriving first waits for the leader's; the leader's answer
//! waits for the group's metadata to be written (acks=all).

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{RequestHeader, SyncGroupRequest, SyncGroupResponse};
use rill_types::ErrorCode;

use super::s;
use crate::codes;
use crate::context::KafkaContext;
use crate::group::state::Pending;

/// Longest a follower waits for the leader's assignments (the leader's session
/// expiring ends the wait earlier, with REBALANCE_IN_PROGRESS).
const MAX_SYNC_WAIT: Duration = Duration::from_secs(120);

/// Answers the member's assignment.
pub async fn handle(
    ctx: &KafkaContext,
    header: &RequestHeader,
    req: SyncGroupRequest,
) -> Option<SyncGroupResponse> {
    let version = header.request_api_version;
    ctx.groups.start();
    let group = match crate::group::group_id(&req.group_id) {
        Ok(g) => g,
        Err(e) => return Some(response(version, Err(e), None)),
    };
    let member = req.member_id.as_str().to_owned();
    let instance = req
        .group_instance_id
        .as_ref()
        .map(|i| i.as_str().to_owned());
    let assignments: Vec<(String, Bytes)> = req
        .assignments
        .iter()
        .map(|a| (a.member_id.as_str().to_owned(), a.assignment.clone()))
        .collect();
    let asked_protocol = (
        req.protocol_type.as_ref().map(|p| p.as_str().to_owned()),
        req.protocol_name.as_ref().map(|p| p.as_str().to_owned()),
    );
    let outcome = ctx.groups.with_group(&group, false, |g, now| {
        let protocol = (g.protocol_type.clone(), g.protocol.clone());
        let mismatch = (asked_protocol.0.is_some() && asked_protocol.0 != protocol.0)
            || (asked_protocol.1.is_some() && asked_protocol.1 != protocol.1);
        if mismatch && g.members.contains_key(&member) {
            return (
                Pending::Now(Err(ErrorCode::InconsistentGroupProtocol)),
                protocol,
            );
        }
        (
            g.sync(
                &member,
                instance.as_deref(),
                req.generation_id,
                assignments,
                now,
            ),
            protocol,
        )
    });
    let (outcome, protocol) = match outcome {
        Err(e) => return Some(response(version, Err(e), None)),
        Ok(None) => return Some(response(version, Err(ErrorCode::UnknownMemberId), None)),
        Ok(Some(x)) => x,
    };
    let mut result = match outcome {
        Pending::Now(r) => r,
        Pending::Wait(id) => {
            let deadline = tokio::time::Instant::now() + MAX_SYNC_WAIT;
            ctx.groups
                .wait(&group, deadline, |g| g.take_sync(&id))
                .await
                .unwrap_or_else(Err)
        }
    };
    if result.is_ok()
        && let Err(e) = ctx.groups.flush(&group).await
    {
        result = Err(e);
    }
    Some(response(version, result, Some(protocol)))
}

/// The answer at `version`.
pub fn response(
    version: i16,
    r: Result<Bytes, ErrorCode>,
    protocol: Option<(Option<String>, Option<String>)>,
) -> SyncGroupResponse {
    let (ptype, pname) = protocol.unwrap_or_default();
    let resp = SyncGroupResponse::default()
        .with_protocol_type(ptype.filter(|_| version >= 5).map(s))
        .with_protocol_name(pname.filter(|_| version >= 5).map(s));
    match r {
        Ok(a) => resp.with_assignment(a),
        Err(e) => resp.with_error_code(codes::code(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode_response;
    use kafka_protocol::messages::ApiKey;

    #[test]
    fn encodes_at_every_served_version() {
        for v in 0..=5 {
            let p = Some((Some("consumer".into()), Some("range".into())));
            let ok = response(v, Ok(Bytes::from_static(b"a")), p);
            encode_response(0, ApiKey::SyncGroup, v, &ok).unwrap();
            let err = response(v, Err(ErrorCode::RebalanceInProgress), None);
            encode_response(0, ApiKey::SyncGroup, v, &err).unwrap();
        }
    }
}
