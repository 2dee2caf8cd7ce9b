//! The controller validates topic configs (`rill_controller::config_keys`) and the
//! broker's log applies them (`rill_storage::LogConfig`): a value the controller accepts
//! must be one the log accepts, or a topic could be created that no broker can host.
//! For every key both declare, defaults agree and a set of probe values is judged alike.

use rill_controller::config_keys::{self, ResourceKind};
use rill_storage::LogConfig;

const PROBES: &[&str] = &[
    "",
    "x",
    "-2",
    "-1",
    "0",
    "1",
    "3",
    "4",
    "13",
    "14",
    "15",
    "16",
    "63",
    "64",
    "65",
    "4096",
    "1048576",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "0.0",
    "0.5",
    "1.0",
    "1.5",
    "NaN",
    "true",
    "false",
    "TRUE",
    "delete",
    "compact",
    "compact,delete",
    "delete,compact",
    "delete,",
    "gzip",
    "producer",
    "CreateTime",
    "LogAppendTime",
];

#[test]
fn controller_and_storage_agree_on_topic_configs() {
    let mut disagreements = Vec::new();
    let mut shared = 0;
    for key in LogConfig::KEYS {
        // The cleaner's buffer and rate are broker settings the broker hands to each log,
        // not topic configs.
        if key.name.starts_with("log.cleaner.") {
            continue;
        }
        let Some(declared) = config_keys::key(ResourceKind::Topic, key.name) else {
            disagreements.push(format!(
                "{}: the log knows it, the controller does not",
                key.name
            ));
            continue;
        };
        shared += 1;
        if declared.default != key.default {
            disagreements.push(format!(
                "{}: default {:?} (controller) vs {:?} (storage)",
                key.name, declared.default, key.default
            ));
        }
        for probe in PROBES {
            let controller = config_keys::validate(ResourceKind::Topic, key.name, probe).is_ok();
            let storage = LogConfig::default().set(key.name, probe).is_ok();
            if controller && !storage {
                disagreements.push(format!(
                    "{} = {probe:?}: the controller accepts it, the log refuses it",
                    key.name
                ));
            }
        }
    }
    assert!(
        shared >= 10,
        "only {shared} keys shared: the comparison is not looking at anything"
    );
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
