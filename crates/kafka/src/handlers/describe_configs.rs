//! DescribeConfigs (key 32), v1–4: every declared key of a topic (type 2) or a broker
//! (type 4: a broker id, or "" for the cluster-wide default) with the value in force and
//! where it comes from, as the controller's DescribeConfigs RPC reports them.
//!
//! Sources follow Kafka's precedence. A topic key is DYNAMIC_TOPIC_CONFIG (1) when set
//! on the topic, else DEFAULT_CONFIG (5). A broker key of broker `N` is
//! DYNAMIC_BROKER_CONFIG (2) when set for `N`, else DYNAMIC_DEFAULT_BROKER_CONFIG (3)
//! when set cluster-wide (its value is then the cluster's), else DEFAULT_CONFIG; for
//! "" only 3 and 5 occur. With `include_synonyms` each entry lists every level that has
//! a value, highest precedence first, as Kafka does; the DEFAULT_CONFIG level is listed
//! only when the key is not set anywhere, because the controller's answer carries the
//! declared default only as the value of an unset key.
//!
//! Every key is alterable at run time, so none is `read_only`; none is sensitive.
//! `config_type` (v3+) is UNKNOWN (0): the controller's answer does not carry key
//! types. A `configuration_keys` filter keeps only the keys named (unknown names are
//! skipped, as Kafka does).

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse, RequestHeader};
use rill_proto::controller::{ConfigEntry, ConfigResourceRef};

use super::configs::{self, BROKER, Refusal};
use super::s;
use crate::codes;
use crate::context::KafkaContext;

/// Kafka's config sources (`DescribeConfigsResponse.ConfigSource`).
mod source {
    pub const DYNAMIC_TOPIC_CONFIG: i8 = 1;
    pub const DYNAMIC_BROKER_CONFIG: i8 = 2;
    pub const DYNAMIC_DEFAULT_BROKER_CONFIG: i8 = 3;
    pub const DEFAULT_CONFIG: i8 = 5;
}

/// One level a value can come from: (value, source), highest precedence first.
type Levels = Vec<(String, i8)>;

/// Describes the resources.
pub async fn handle(
    ctx: &KafkaContext,
    header: &RequestHeader,
    req: DescribeConfigsRequest,
) -> Option<DescribeConfigsResponse> {
    let version = header.request_api_version;
    // What to ask the controller: each resource, and for a broker id the cluster-wide
    // default too (its values show through where the broker sets none).
    let mut asked: Vec<ConfigResourceRef> = Vec::new();
    let mut plans: Vec<Result<(usize, Option<usize>), Refusal>> = Vec::new();
    for r in &req.resources {
        let name = r.resource_name.as_str();
        plans.push(configs::resource(r.resource_type, name).map(|res| {
            let own = asked.len();
            asked.push(res);
            let cluster = (r.resource_type == BROKER && !name.is_empty()).then(|| {
                asked.push(configs::resource(BROKER, "").expect("broker is a served type"));
                asked.len() - 1
            });
            (own, cluster)
        }));
    }
    let described = if asked.is_empty() {
        vec![]
    } else {
        configs::describe(ctx, asked).await
    };
    let results = req
        .resources
        .iter()
        .zip(plans)
        .map(|(r, plan)| {
            let result = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            let entries = plan.and_then(|(own, cluster)| {
                let own = described[own].clone()?;
                let cluster = match cluster {
                    Some(i) => Some(described[i].clone()?),
                    None => None,
                };
                Ok(entries(r.resource_type, own, cluster.as_deref()))
            });
            match entries {
                Err((code, message)) => result
                    .with_error_code(codes::code(code))
                    .with_error_message(Some(s(message))),
                Ok(entries) => result.with_configs(
                    entries
                        .into_iter()
                        .filter(|(e, _)| {
                            r.configuration_keys
                                .as_ref()
                                .is_none_or(|keys| keys.iter().any(|k| k.as_str() == e.key))
                        })
                        .map(|(e, levels)| {
                            config(
                                e,
                                levels,
                                req.include_synonyms,
                                req.include_documentation,
                                version,
                            )
                        })
                        .collect(),
                ),
            }
        })
        .collect();
    Some(DescribeConfigsResponse::default().with_results(results))
}

/// Each key with its levels, highest precedence first (never empty).
fn entries(
    resource_type: i8,
    own: Vec<ConfigEntry>,
    cluster: Option<&[ConfigEntry]>,
) -> Vec<(ConfigEntry, Levels)> {
    own.into_iter()
        .map(|e| {
            let mut levels = Levels::new();
            if !e.is_default {
                let src = match (resource_type, cluster.is_some()) {
                    (BROKER, true) => source::DYNAMIC_BROKER_CONFIG,
                    (BROKER, false) => source::DYNAMIC_DEFAULT_BROKER_CONFIG,
                    _ => source::DYNAMIC_TOPIC_CONFIG,
                };
                levels.push((e.value.clone(), src));
            }
            let cluster_set = cluster
                .and_then(|c| c.iter().find(|c| c.key == e.key))
                .filter(|c| !c.is_default);
            if let Some(c) = cluster_set {
                levels.push((c.value.clone(), source::DYNAMIC_DEFAULT_BROKER_CONFIG));
            }
            // Unset everywhere: the value reported is the declared default.
            if levels.is_empty() {
                levels.push((e.value.clone(), source::DEFAULT_CONFIG));
            }
            (e, levels)
        })
        .collect()
}

fn config(
    e: ConfigEntry,
    levels: Levels,
    include_synonyms: bool,
    include_documentation: bool,
    version: i16,
) -> DescribeConfigsResourceResult {
    let (value, src) = levels[0].clone();
    let synonyms = if include_synonyms {
        levels
            .into_iter()
            .map(|(v, src)| {
                DescribeConfigsSynonym::default()
                    .with_name(s(e.key.clone()))
                    .with_value(Some(s(v)))
                    .with_source(src)
            })
            .collect()
    } else {
        vec![]
    };
    DescribeConfigsResourceResult::default()
        .with_name(s(e.key))
        .with_value(Some(s(value)))
        .with_read_only(false)
        .with_config_source(src)
        .with_is_sensitive(false)
        .with_synonyms(synonyms)
        // config_type (v3+) stays UNKNOWN: see the module docs.
        .with_documentation(
            Some(e.doc)
                .filter(|_| include_documentation && version >= 3)
                .map(s),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, value: &str, is_default: bool) -> ConfigEntry {
        ConfigEntry {
            key: key.into(),
            value: value.into(),
            is_default,
            doc: "what it does".into(),
        }
    }

    #[test]
    fn a_broker_value_shows_through_from_the_cluster_default() {
        let own = vec![
            entry("a", "1", false),
            entry("b", "2", true),
            entry("c", "3", true),
        ];
        let cluster = vec![
            entry("a", "9", false),
            entry("b", "8", false),
            entry("c", "3", true),
        ];
        let got: Vec<Levels> = entries(BROKER, own, Some(&cluster))
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        assert_eq!(
            got,
            vec![
                vec![("1".into(), 2), ("9".into(), 3)],
                vec![("8".into(), 3)],
                vec![("3".into(), 5)],
            ]
        );
        let cluster_only = entries(BROKER, vec![entry("a", "9", false)], None);
        assert_eq!(cluster_only[0].1, vec![("9".into(), 3)]);
        let topic = entries(configs::TOPIC, vec![entry("r", "5", false)], None);
        assert_eq!(topic[0].1, vec![("5".into(), 1)]);
    }

    #[test]
    fn a_full_answer_encodes_at_every_served_version() {
        configs::assert_encodes(1..=4, |v| {
            let c = config(
                entry("retention.ms", "1000", false),
                vec![("1000".into(), 1), ("604800000".into(), 5)],
                true,
                true,
                v,
            );
            DescribeConfigsResponse::default().with_results(vec![
                DescribeConfigsResult::default()
                    .with_resource_type(2)
                    .with_resource_name(s("t"))
                    .with_configs(vec![c]),
                DescribeConfigsResult::default()
                    .with_error_code(3)
                    .with_error_message(Some(s("no such topic"))),
            ])
        });
    }
}
