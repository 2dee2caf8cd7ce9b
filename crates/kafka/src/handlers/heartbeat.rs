//! Heartbeat (key 12), v0–4: keeps a member's session; REBALANCE_IN_PROGRESS tells it
//! to rejoin.

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse, RequestHeader};
use rill_types::ErrorCode;

use crate::codes;
use crate::context::KafkaContext;

/// Records the heartbeat.
pub async fn handle(
    ctx: &KafkaContext,
    _header: &RequestHeader,
    req: HeartbeatRequest,
) -> Option<HeartbeatResponse> {
    ctx.groups.start();
    let result = crate::group::group_id(&req.group_id).and_then(|group| {
        let member = req.member_id.as_str();
        let instance = req.group_instance_id.as_ref().map(|i| i.as_str());
        ctx.groups
            .with_group(&group, false, |g, now| {
                g.heartbeat(member, instance, req.generation_id, now)
            })?
            .unwrap_or(Err(ErrorCode::UnknownMemberId))
    });
    Some(response(result))
}

/// The answer (the same fields at every version).
pub fn response(r: Result<(), ErrorCode>) -> HeartbeatResponse {
    HeartbeatResponse::default().with_error_code(r.err().map_or(codes::NONE, codes::code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode_response;
    use kafka_protocol::messages::ApiKey;

    #[test]
    fn encodes_at_every_served_version() {
        for v in 0..=4 {
            let r = response(Err(ErrorCode::RebalanceInProgress));
            encode_response(0, ApiKey::Heartbeat, v, &r).unwrap();
        }
    }
}
