//! DeleteGroups (key 42), v0–2: deletes Empty groups (NON_EMPTY_GROUP while members
//! remain) with tombstones for their metadata and offsets.

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse, RequestHeader};

use crate::codes;
use crate::context::KafkaContext;

/// Deletes the groups.
pub async fn handle(
    ctx: &KafkaContext,
    _header: &RequestHeader,
    req: DeleteGroupsRequest,
) -> Option<DeleteGroupsResponse> {
    ctx.groups.start();
    let mut results = Vec::new();
    for id in &req.groups_names {
        let r = match crate::group::group_id(id) {
            Err(e) => Err(e),
            Ok(g) => ctx.groups.delete_group(&g).await,
        };
        results.push(
            DeletableGroupResult::default()
                .with_group_id(id.clone())
                .with_error_code(r.err().map_or(codes::NONE, codes::code)),
        );
    }
    Some(DeleteGroupsResponse::default().with_results(results))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode_response;
    use kafka_protocol::messages::{ApiKey, GroupId};
    use rill_types::ErrorCode;

    #[test]
    fn encodes_at_every_served_version() {
        let r = DeleteGroupsResponse::default().with_results(vec![
            DeletableGroupResult::default()
                .with_group_id(GroupId(super::super::s("g")))
                .with_error_code(codes::code(ErrorCode::NonEmptyGroup)),
        ]);
        for v in 0..=2 {
            encode_response(0, ApiKey::DeleteGroups, v, &r).unwrap();
        }
    }
}
