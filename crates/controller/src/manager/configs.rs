//! Configs (KRaft's ConfigurationControlManager): incremental changes validated against
//! the declared keys, and descriptions with defaults filled in. A resource's changes
//! apply all together or not at all.

use std::collections::BTreeSet;

use rill_metadata::records::{ConfigRecord, ConfigResourceType};
use rill_metadata::{ConfigResource, MetadataImage, Record};

use super::{Write, dry_run, rec};
use crate::config_keys::{self, DescribedConfig, ResourceKind};
use crate::refusal::{ErrorCode, Refusal};

/// Changes to one resource: (key, new value or `None` to remove).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterResource {
    /// The resource.
    pub resource: ConfigResource,
    /// The changes.
    pub changes: Vec<(String, Option<String>)>,
}

fn kind(resource: &ConfigResource) -> ResourceKind {
    match resource {
        ConfigResource::Topic(_) => ResourceKind::Topic,
        ConfigResource::Broker(_) => ResourceKind::Broker,
    }
}

fn check_exists(image: &MetadataImage, resource: &ConfigResource) -> Result<(), Refusal> {
    match resource {
        ConfigResource::Topic(name) if image.topic_by_name(name).is_none() => Err(Refusal::new(
            ErrorCode::UnknownTopicOrPartition,
            format!("topic {name:?} does not exist"),
        )),
        ConfigResource::Broker(name) if !name.is_empty() && name.parse::<i32>().is_err() => {
            Err(Refusal::new(
                ErrorCode::InvalidRequest,
                format!(
                    "broker config resource {name:?} is neither a broker id nor \"\" (the cluster default)"
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// Validates and applies config changes, resource by resource.
pub fn alter_configs(
    image: &MetadataImage,
    resources: &[AlterResource],
    validate_only: bool,
) -> Write<Vec<Result<(), Refusal>>> {
    let mut records = Vec::new();
    let mut results = Vec::new();
    let mut seen = BTreeSet::new();
    for r in resources {
        let result = (|| {
            if !seen.insert(r.resource.clone()) {
                return Err(Refusal::new(
                    ErrorCode::InvalidRequest,
                    format!("{:?} appears more than once in the request", r.resource),
                ));
            }
            check_exists(image, &r.resource)?;
            let mut keys = BTreeSet::new();
            let mut mine = Vec::new();
            for (key, value) in &r.changes {
                if !keys.insert(key) {
                    return Err(Refusal::new(
                        ErrorCode::InvalidRequest,
                        format!("key {key:?} appears more than once"),
                    ));
                }
                match value {
                    Some(v) => config_keys::validate(kind(&r.resource), key, v),
                    None => config_keys::key(kind(&r.resource), key)
                        .map(|_| ())
                        .ok_or_else(|| config_keys::ConfigError::UnknownKey(key.clone())),
                }
                .map_err(|e| Refusal::new(ErrorCode::InvalidConfig, e.to_string()))?;
                let (resource_type, resource_name) = match &r.resource {
                    ConfigResource::Topic(n) => (ConfigResourceType::Topic, n.clone()),
                    ConfigResource::Broker(n) => (ConfigResourceType::Broker, n.clone()),
                };
                mine.push(rec(Record::Config(ConfigRecord {
                    resource_type: resource_type.into(),
                    resource_name,
                    key: key.clone(),
                    value: value.clone(),
                })));
            }
            Ok(mine)
        })();
        match result {
            Ok(mine) => {
                records.extend(mine);
                results.push(Ok(()));
            }
            Err(e) => results.push(Err(e)),
        }
    }
    match dry_run(image, &records) {
        Ok(_) if validate_only => Write::new(vec![], results),
        Ok(_) => Write::new(records, results),
        Err(e) => Write::new(
            vec![],
            results.into_iter().map(|r| r.and(Err(e.clone()))).collect(),
        ),
    }
}

/// Every declared key of a resource with its value in force.
pub fn describe_configs(
    image: &MetadataImage,
    resource: &ConfigResource,
) -> Result<Vec<DescribedConfig>, Refusal> {
    check_exists(image, resource)?;
    Ok(config_keys::describe(
        kind(resource),
        image.configs(resource),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::testing::{apply, brokers, counter};
    use crate::manager::topics::{NewTopic, create_topics};

    #[test]
    fn a_resource_applies_all_or_nothing() {
        let image = brokers(&[(1, None)]);
        let nt = NewTopic {
            name: "t".into(),
            partitions: 1,
            replication_factor: 1,
            configs: Default::default(),
        };
        let image = apply(
            &image,
            &create_topics(&image, &[nt], false, &mut counter()).records,
        );
        let topic = ConfigResource::Topic("t".into());
        let w = alter_configs(
            &image,
            &[
                AlterResource {
                    resource: topic.clone(),
                    changes: vec![
                        ("retention.ms".into(), Some("1000".into())),
                        ("nope".into(), Some("1".into())),
                    ],
                },
                AlterResource {
                    resource: ConfigResource::Topic("missing".into()),
                    changes: vec![("retention.ms".into(), Some("1000".into()))],
                },
                AlterResource {
                    resource: ConfigResource::Broker(String::new()),
                    changes: vec![("min.insync.replicas".into(), Some("2".into()))],
                },
            ],
            false,
        );
        let codes: Vec<_> = w
            .response
            .iter()
            .map(|r| r.as_ref().err().map(|e| e.code))
            .collect();
        assert_eq!(
            codes,
            vec![
                Some(ErrorCode::InvalidConfig),
                Some(ErrorCode::UnknownTopicOrPartition),
                None
            ]
        );
        let after = apply(&image, &w.records);
        assert!(
            after.configs(&topic).is_none(),
            "the bad key took the good one with it"
        );
        let described = describe_configs(&after, &ConfigResource::Broker(String::new())).unwrap();
        let mir = described
            .iter()
            .find(|d| d.key == "min.insync.replicas")
            .unwrap();
        assert_eq!((mir.value.as_str(), mir.is_default), ("2", false));
    }
}
