//! AlterConfigs (key 33), v0–2: Kafka's non-incremental form. The configs given
//! replace the resource's: keys set on the resource but not given go back to their
//! defaults. The controller only takes incremental changes, so the handler reads the
//! resource's current configs (DescribeConfigs RPC) and sends the given keys as sets
//! plus a removal for every other key set now. Reading and writing are two steps: a
//! concurrent change to the same resource between them can survive or be lost, as with
//! any read-modify-write admin tool (Kafka's own form is atomic; clients are steered
//! to IncrementalAlterConfigs for this reason).
//!
//! A given key with a null value counts as not given. Unknown keys and bad values are
//! INVALID_CONFIG with the controller's message; `validate_only` changes nothing.

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse, RequestHeader};

use super::configs::{self, Changes, Refusal};
use super::s;
use crate::codes;
use crate::context::KafkaContext;

/// Replaces the resources' configs.
pub async fn handle(
    ctx: &KafkaContext,
    _header: &RequestHeader,
    req: AlterConfigsRequest,
) -> Option<AlterConfigsResponse> {
    let refs: Vec<_> = req
        .resources
        .iter()
        .map(|r| configs::resource(r.resource_type, r.resource_name.as_str()))
        .collect();
    let known: Vec<_> = refs.iter().filter_map(|r| r.clone().ok()).collect();
    let mut current = if known.is_empty() {
        vec![]
    } else {
        configs::describe(ctx, known).await
    }
    .into_iter();
    // Per resource: the changes to send, or its refusal.
    let plans: Vec<Result<_, Refusal>> = req
        .resources
        .iter()
        .zip(refs)
        .map(|(r, res)| {
            let res = res?;
            let now = current.next().expect("one description per resource")?;
            let given: Vec<(String, String)> = r
                .configs
                .iter()
                .filter_map(|c| Some((c.name.to_string(), c.value.as_ref()?.to_string())))
                .collect();
            let set_now = now.into_iter().filter(|e| !e.is_default).map(|e| e.key);
            Ok((res, replacement(&given, set_now)))
        })
        .collect();
    let outcomes = configs::alter_planned(ctx, plans, req.validate_only).await;
    let responses = req
        .resources
        .iter()
        .zip(outcomes)
        .map(|(r, outcome)| {
            let resp = AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            match outcome {
                Ok(()) => resp,
                Err((code, message)) => resp
                    .with_error_code(codes::code(code))
                    .with_error_message(Some(s(message))),
            }
        })
        .collect();
    Some(AlterConfigsResponse::default().with_responses(responses))
}

/// The incremental changes that turn a resource whose set keys are `set_now` into one
/// with exactly `given` set: every given key set, every other set key removed.
fn replacement(given: &[(String, String)], set_now: impl Iterator<Item = String>) -> Changes {
    let mut changes: Changes = given
        .iter()
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    changes.extend(
        set_now
            .filter(|k| !given.iter().any(|(g, _)| g == k))
            .map(|k| (k, None)),
    );
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_not_given_are_removed() {
        let given = vec![("a".to_owned(), "1".to_owned())];
        let now = ["a".to_owned(), "b".to_owned()];
        assert_eq!(
            replacement(&given, now.into_iter()),
            vec![("a".into(), Some("1".into())), ("b".into(), None)]
        );
        assert_eq!(
            replacement(&[], ["b".to_owned()].into_iter()),
            vec![("b".into(), None)]
        );
    }

    #[test]
    fn an_answer_encodes_at_every_served_version() {
        configs::assert_encodes(0..=2, |_| {
            AlterConfigsResponse::default()
                .with_throttle_time_ms(0)
                .with_responses(vec![
                    AlterConfigsResourceResponse::default()
                        .with_resource_type(2)
                        .with_resource_name(s("t")),
                    AlterConfigsResourceResponse::default()
                        .with_error_code(40)
                        .with_error_message(Some(s("unknown config key \"x\"")))
                        .with_resource_type(4)
                        .with_resource_name(s("1")),
                ])
        });
    }
}
