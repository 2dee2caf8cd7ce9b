//! IncrementalAlterConfigs (key 44), v0–1: per key SET (0) or DELETE (1, back to the
//! default), forwarded to the controller's AlterConfigs, which applies one resource's
//! changes all together or not at all. APPEND (2) and SUBTRACT (3) are served for list
//! keys only (as Kafka does): the handler reads the value in force, edits the
//! comma-separated list and sends the result as a SET. On any other key they are
//! INVALID_REQUEST. Unknown keys and bad values are INVALID_CONFIG with the
//! controller's message; `validate_only` changes nothing.

use kafka_protocol::messages::incremental_alter_configs_request::AlterConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, RequestHeader,
};
use rill_proto::controller::ConfigEntry;
use rill_types::ErrorCode;

use super::configs::{self, Changes, Refusal};
use super::s;
use crate::codes;
use crate::context::KafkaContext;

const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

/// The list-typed keys (`ConfigType::List` in the controller's declared keys); APPEND
/// and SUBTRACT apply to these only.
const LIST_KEYS: &[&str] = &["cleanup.policy"];

/// Applies the changes.
pub async fn handle(
    ctx: &KafkaContext,
    _header: &RequestHeader,
    req: IncrementalAlterConfigsRequest,
) -> Option<IncrementalAlterConfigsResponse> {
    let refs: Vec<_> = req
        .resources
        .iter()
        .map(|r| {
            let res = configs::resource(r.resource_type, r.resource_name.as_str())?;
            check_operations(r)?;
            Ok(res)
        })
        .collect();
    // The values in force, needed only by APPEND and SUBTRACT.
    let needs_current: Vec<_> = req
        .resources
        .iter()
        .zip(&refs)
        .filter(|(r, res)| {
            res.is_ok()
                && r.configs
                    .iter()
                    .any(|c| matches!(c.config_operation, APPEND | SUBTRACT))
        })
        .filter_map(|(_, res)| res.clone().ok())
        .collect();
    let mut current = if needs_current.is_empty() {
        vec![]
    } else {
        configs::describe(ctx, needs_current).await
    }
    .into_iter();
    let plans: Vec<Result<_, Refusal>> = req
        .resources
        .iter()
        .zip(refs)
        .map(|(r, res)| {
            let res = res?;
            let edits_lists = r
                .configs
                .iter()
                .any(|c| matches!(c.config_operation, APPEND | SUBTRACT));
            let now = if edits_lists {
                current.next().expect("one description per resource")?
            } else {
                vec![]
            };
            Ok((res, changes(r, &now)))
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
    Some(IncrementalAlterConfigsResponse::default().with_responses(responses))
}

/// Refuses unknown operations, and APPEND / SUBTRACT on keys that are not lists.
fn check_operations(r: &AlterConfigsResource) -> Result<(), Refusal> {
    for c in &r.configs {
        let key = c.name.as_str();
        match c.config_operation {
            SET | DELETE => {}
            APPEND | SUBTRACT if LIST_KEYS.contains(&key) => {}
            APPEND | SUBTRACT => {
                return Err((
                    ErrorCode::InvalidRequest,
                    format!("{key} is not a list: APPEND and SUBTRACT apply to list configs only"),
                ));
            }
            op => {
                return Err((
                    ErrorCode::InvalidRequest,
                    format!("unknown config operation {op} for {key}"),
                ));
            }
        }
    }
    Ok(())
}

/// The controller's changes for one resource; `now` holds the values in force (needed
/// for APPEND and SUBTRACT only). Operations are checked already.
fn changes(r: &AlterConfigsResource, now: &[ConfigEntry]) -> Changes {
    r.configs
        .iter()
        .map(|c| {
            let key = c.name.to_string();
            let value = c.value.as_ref().map(|v| v.to_string());
            let edited = |append: bool| {
                let mut items: Vec<String> = now
                    .iter()
                    .find(|e| e.key == key)
                    .map(|e| list(&e.value))
                    .unwrap_or_default();
                for item in list(value.as_deref().unwrap_or("")) {
                    if append && !items.contains(&item) {
                        items.push(item);
                    } else if !append {
                        items.retain(|x| *x != item);
                    }
                }
                Some(items.join(","))
            };
            let new = match c.config_operation {
                SET => value.clone(),
                APPEND => edited(true),
                SUBTRACT => edited(false),
                _ => None,
            };
            (key, new)
        })
        .collect()
}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig;

    use super::*;

    fn op(key: &str, op: i8, value: Option<&str>) -> AlterableConfig {
        AlterableConfig::default()
            .with_name(s(key))
            .with_config_operation(op)
            .with_value(value.map(s))
    }

    #[test]
    fn operations_become_sets_and_removals() {
        let r = AlterConfigsResource::default().with_configs(vec![
            op("retention.ms", SET, Some("5")),
            op("segment.ms", DELETE, None),
            op("cleanup.policy", APPEND, Some("compact")),
        ]);
        let now = vec![ConfigEntry {
            key: "cleanup.policy".into(),
            value: "delete".into(),
            is_default: true,
            doc: String::new(),
        }];
        assert_eq!(
            changes(&r, &now),
            vec![
                ("retention.ms".into(), Some("5".into())),
                ("segment.ms".into(), None),
                ("cleanup.policy".into(), Some("delete,compact".into())),
            ]
        );
        let sub = AlterConfigsResource::default().with_configs(vec![op(
            "cleanup.policy",
            SUBTRACT,
            Some("delete"),
        )]);
        let now = vec![ConfigEntry {
            value: "delete,compact".into(),
            ..now[0].clone()
        }];
        assert_eq!(
            changes(&sub, &now),
            vec![("cleanup.policy".into(), Some("compact".into()))]
        );
    }

    #[test]
    fn append_on_a_non_list_key_and_unknown_operations_are_refused() {
        let r = AlterConfigsResource::default().with_configs(vec![op(
            "retention.ms",
            APPEND,
            Some("1"),
        )]);
        assert_eq!(
            check_operations(&r).unwrap_err().0,
            ErrorCode::InvalidRequest
        );
        let r = AlterConfigsResource::default().with_configs(vec![op("retention.ms", 9, None)]);
        assert_eq!(
            check_operations(&r).unwrap_err().0,
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn an_answer_encodes_at_every_served_version() {
        configs::assert_encodes(0..=1, |_| {
            IncrementalAlterConfigsResponse::default().with_responses(vec![
                AlterConfigsResourceResponse::default()
                    .with_resource_type(2)
                    .with_resource_name(s("t")),
                AlterConfigsResourceResponse::default()
                    .with_error_code(42)
                    .with_error_message(Some(s("retention.ms is not a list")))
                    .with_resource_type(2)
                    .with_resource_name(s("t")),
            ])
        });
    }
}
