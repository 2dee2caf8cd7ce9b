//! ListGroups (key 16), v0–4 (v4: state filter): the groups this broker coordinates.

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse, RequestHeader};

use super::s;
use crate::context::KafkaContext;

/// Lists the groups (sorted by id).
pub async fn handle(
    ctx: &KafkaContext,
    header: &RequestHeader,
    req: ListGroupsRequest,
) -> Option<ListGroupsResponse> {
    let version = header.request_api_version;
    ctx.groups.start();
    let states: Vec<String> = req
        .states_filter
        .iter()
        .map(|x| x.as_str().to_ascii_lowercase())
        .collect();
    let mut groups: Vec<(String, String, String)> = ctx
        .groups
        .list()
        .into_iter()
        .filter(|(_, _, state)| states.is_empty() || states.contains(&state.to_ascii_lowercase()))
        .collect();
    groups.sort();
    Some(response(version, &groups))
}

/// The answer at `version`: (group, protocol type, state) each.
pub fn response(version: i16, groups: &[(String, String, String)]) -> ListGroupsResponse {
    ListGroupsResponse::default().with_groups(
        groups
            .iter()
            .map(|(id, ptype, state)| {
                ListedGroup::default()
                    .with_group_id(GroupId(s(id.clone())))
                    .with_protocol_type(s(ptype.clone()))
                    .with_group_state(if version >= 4 {
                        s(state.clone())
                    } else {
                        s("")
                    })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode_response;
    use kafka_protocol::messages::ApiKey;

    #[test]
    fn encodes_at_every_served_version() {
        let g = vec![("g".to_owned(), "consumer".to_owned(), "Stable".to_owned())];
        for v in 0..=4 {
            encode_response(0, ApiKey::ListGroups, v, &response(v, &g)).unwrap();
        }
    }
}
