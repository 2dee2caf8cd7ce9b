//! FindCoordinator (key 10), v0–4 (v4: batched keys): the broker leading the
//! `__consumer_offsets` partition of each group, creating the topic on first use; its
//! address is its endpoint of the listener the request came in on.
//! Transaction coordinators (key type 1) are refused: rill has no transactions.

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{
    BrokerId, FindCoordinatorRequest, FindCoordinatorResponse, RequestHeader,
};
use rill_types::{ErrorCode, PartitionIndex};

use super::s;
use crate::codes;
use crate::context::KafkaContext;
use crate::group::{self, CONSUMER_OFFSETS};

/// A coordinator's address, or why there is none.
type Found = Result<(i32, String, i32), (ErrorCode, &'static str)>;

/// Answers each key's coordinator.
pub async fn handle(
    ctx: &KafkaContext,
    header: &RequestHeader,
    req: FindCoordinatorRequest,
) -> Option<FindCoordinatorResponse> {
    let version = header.request_api_version;
    ctx.groups.start();
    let keys: Vec<String> = if version >= 4 {
        req.coordinator_keys
            .iter()
            .map(|k| k.as_str().to_owned())
            .collect()
    } else {
        vec![req.key.as_str().to_owned()]
    };
    let found: Vec<Found> = if req.key_type != 0 {
        keys.iter()
            .map(|_| {
                Err((
                    ErrorCode::InvalidRequest,
                    "rill has no transaction coordinator",
                ))
            })
            .collect()
    } else {
        group::ensure_offsets_topic(ctx).await;
        keys.iter().map(|k| lookup(ctx, k)).collect()
    };
    Some(response(version, &keys, &found))
}

fn lookup(ctx: &KafkaContext, key: &str) -> Found {
    if key.is_empty() {
        return Err((ErrorCode::InvalidGroupId, "the group id is empty"));
    }
    let image = ctx.image();
    let unavailable = (
        ErrorCode::CoordinatorNotAvailable,
        "the group's coordinator is not available",
    );
    let topic = image.topic_by_name(CONSUMER_OFFSETS).ok_or(unavailable)?;
    let p = group::partition_for(key, topic.partitions.len().max(1) as i32);
    let leader = topic
        .partitions
        .get(&PartitionIndex::new(p))
        .and_then(|x| x.leader)
        .ok_or(unavailable)?;
    let b = image
        .broker(leader)
        .filter(|b| !b.fenced)
        .ok_or(unavailable)?;
    let e = b
        .listeners
        .iter()
        .find(|l| l.name == ctx.listener)
        .ok_or(unavailable)?;
    Ok((
        leader.get(),
        e.host.clone(),
        i32::try_from(e.port).unwrap_or(0),
    ))
}

/// The answer at `version` (fields the version lacks stay at their defaults).
pub fn response(version: i16, keys: &[String], found: &[Found]) -> FindCoordinatorResponse {
    let resp = FindCoordinatorResponse::default();
    if version >= 4 {
        let coordinators = keys
            .iter()
            .zip(found)
            .map(|(k, f)| {
                let c = Coordinator::default().with_key(s(k.clone()));
                match f {
                    Ok((id, host, port)) => c
                        .with_node_id(BrokerId(*id))
                        .with_host(s(host.clone()))
                        .with_port(*port),
                    Err((code, msg)) => c
                        .with_node_id(BrokerId(-1))
                        .with_port(-1)
                        .with_error_code(codes::code(*code))
                        .with_error_message(Some(s(*msg))),
                }
            })
            .collect();
        return resp.with_coordinators(coordinators);
    }
    match &found[0] {
        Ok((id, host, port)) => resp
            .with_node_id(BrokerId(*id))
            .with_host(s(host.clone()))
            .with_port(*port),
        Err((code, msg)) => resp
            .with_node_id(BrokerId(-1))
            .with_port(-1)
            .with_error_code(codes::code(*code))
            .with_error_message((version >= 1).then(|| s(*msg))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode_response;
    use kafka_protocol::messages::ApiKey;

    #[test]
    fn encodes_at_every_served_version() {
        let keys = ["g1".to_owned(), "g2".to_owned()];
        let found = [
            Ok((1, "localhost".to_owned(), 9092)),
            Err((ErrorCode::CoordinatorNotAvailable, "x")),
        ];
        for v in 0..=4 {
            for f in [&found[..], &found[1..]] {
                let r = response(v, &keys[..f.len().max(1)], f);
                encode_response(0, ApiKey::FindCoordinator, v, &r).unwrap();
            }
        }
    }
}
