//! docs/configuration.md, generated from the declarations: every process key of the
//! three server commands, the broker tunables, the topic keys and the dynamic broker
//! keys. The test `configuration_md_is_current` fails when the committed file differs;
//! `RILL_UPDATE_DOCS=1 cargo test -p rill-cli configuration_md` rewrites it.

use std::fmt::Write as _;

use rill_controller::config_keys::{self, ResourceKind};
use rill_types::config::topic::TOPIC_KEYS;
use rill_types::config::{ConfigKey, ConfigType};

use super::keys::{Process, broker_tunables};
use super::setting::{DefaultValue, Kind, Setting};

const INTRO: &str = "\
<!-- Generated from the key declarations by `RILL_UPDATE_DOCS=1 cargo test -p rill-cli configuration_md`; do not edit by hand (the test fails when this file is stale). -->

# Configuration reference

Every key below is declared once in the code (name, type, default, bounds, doc) and this
page is generated from those declarations: process keys in `crates/cli/src/settings/keys.rs`,
broker tunables in `crates/broker/src/config.rs`, topic keys in
`crates/types/src/config/topic.rs`, dynamic broker keys in
`crates/controller/src/config_keys.rs`.

## How settings are given

`rill controller`, `rill broker` and `rill server` read, in order of precedence:

1. flags (`--node-id 1`) and `--set KEY=VALUE` (any key of the command, including the
   broker tunables, which have no flag of their own);
2. `RILL_*` environment variables (`RILL_NODE_ID=1`);
3. the config file named by `--config FILE` (or `RILL_CONFIG`), in Kafka's
   server.properties style: one `key=value` per line, `#` (or `!`) starts a comment line,
   blank lines are ignored; a key may appear once;
4. the default.

Every value given is checked before the process binds a port or touches its data
directory: an unknown key (with a \"did you mean\" hint for a near miss), a value that
does not parse or is out of bounds, or a missing required key stops it with a message
naming the key, where the value came from (flag, variable, or file and line) and the rule
broken. `--check-config` runs the same checks, prints the effective settings with where
each came from, and exits 0 (valid) or 1 (not) without starting anything. Example files
for a three-machine deployment are in `deploy/config/` ([deploy.md](deploy.md)).
";

/// The whole page.
pub fn configuration_md() -> String {
    let mut out = INTRO.to_owned();
    for p in [Process::Controller, Process::Broker, Process::Server] {
        let _ = write!(out, "\n## `rill {}`\n\n", p.command());
        process_table(&mut out, p.process_keys());
    }
    out.push_str(
        "\n## Broker tunables\n\nAccepted by `rill broker` and `rill server`, in the config file or as `--set KEY=VALUE`.\n\n",
    );
    tunable_table(&mut out, &broker_tunables());
    out.push_str(
        "\n## Topic keys\n\nSet per topic when it is created (`rill topic create --config KEY=VALUE`, Kafka's CreateTopics) or later (`rill config set`, Kafka's AlterConfigs); the controller refuses values that break these rules with INVALID_CONFIG.\n\n",
    );
    key_table(&mut out, TOPIC_KEYS);
    out.push_str(
        "\n## Dynamic broker keys\n\nCluster-wide settings kept in the metadata log, set with Kafka's AlterConfigs on the broker resource (`rill config set`); the `log.*` keys and a few others are the defaults of the topic keys of the same meaning.\n\n",
    );
    key_table(&mut out, config_keys::keys(ResourceKind::Broker));
    out
}

/// The type as the docs name it.
fn type_name(s: &Setting) -> &'static str {
    match s.kind {
        Kind::Config(t) => t.type_name(),
        Kind::Path => "path",
        Kind::Address => "address",
        Kind::AddressOrNone => "address or none",
        Kind::AddressList => "address list",
        Kind::Voters => "voter list",
        Kind::Listeners => "listener list",
    }
}

/// The allowed values as the docs give them.
fn bounds(s: &Setting) -> String {
    match s.kind {
        Kind::Config(ConfigType::String) => "non-empty text".to_owned(),
        Kind::Config(t) => t.bounds(),
        Kind::Path => "a directory path".to_owned(),
        Kind::Address => "HOST:PORT".to_owned(),
        Kind::AddressOrNone => "HOST:PORT, or none".to_owned(),
        Kind::AddressList => "HOST:PORT,HOST:PORT,...".to_owned(),
        Kind::Voters => "ID@HOST:PORT,...".to_owned(),
        Kind::Listeners => "NAME://HOST:PORT,... or HOST:PORT, or none".to_owned(),
    }
}

fn default_text(d: DefaultValue) -> String {
    match d {
        DefaultValue::Value(v) => code(v),
        DefaultValue::Required => "required".to_owned(),
        DefaultValue::Derived(how) => how.to_owned(),
        DefaultValue::Unset => "not set".to_owned(),
    }
}

fn code(text: &str) -> String {
    if text.is_empty() {
        "\"\"".to_owned()
    } else {
        format!("`{text}`")
    }
}

fn process_table(out: &mut String, keys: &[Setting]) {
    out.push_str("| key | flag | environment | type | default | allowed | description |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for s in keys {
        let _ = writeln!(
            out,
            "| `{}` | `--{}` | `{}` | {} | {} | {} | {} |",
            s.name,
            s.flag.unwrap_or_default(),
            s.env.unwrap_or_default(),
            type_name(s),
            default_text(s.default),
            cell(&bounds(s)),
            cell(s.doc),
        );
    }
}

fn tunable_table(out: &mut String, keys: &[Setting]) {
    out.push_str("| key | type | default | allowed | description |\n|---|---|---|---|---|\n");
    for s in keys {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            s.name,
            type_name(s),
            default_text(s.default),
            cell(&bounds(s)),
            cell(s.doc),
        );
    }
}

fn key_table(out: &mut String, keys: &[ConfigKey]) {
    out.push_str("| key | type | default | allowed | description |\n|---|---|---|---|---|\n");
    for k in keys {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            k.name,
            k.kind.type_name(),
            code(k.default),
            cell(&k.kind.bounds()),
            cell(k.doc),
        );
    }
}

/// Table cells may not hold a `|`.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_md_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configuration.md");
        let want = configuration_md();
        if std::env::var_os("RILL_UPDATE_DOCS").is_some() {
            std::fs::write(path, &want).expect("writing docs/configuration.md");
            return;
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/configuration.md is stale: regenerate it with \
             `RILL_UPDATE_DOCS=1 cargo test -p rill-cli configuration_md` and commit it"
        );
    }

    #[test]
    fn every_declared_key_is_on_the_page() {
        let page = configuration_md();
        let mut names: Vec<&str> = TOPIC_KEYS.iter().map(|k| k.name).collect();
        for p in [Process::Controller, Process::Broker, Process::Server] {
            names.extend(p.all_keys().iter().map(|s| s.name));
        }
        for name in names {
            assert!(page.contains(&format!("| `{name}` |")), "{name}");
        }
    }
}
