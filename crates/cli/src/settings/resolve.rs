//! Merging the sources of a command's settings into the [`Effective`] values, in order
//! of precedence: flags (and `--set`) > `RILL_*` environment variables > the config
//! file > the declared default. Every value given, from any source and even when a
//! higher one overrides it, is checked against its declaration, and every problem is
//! reported at once, each naming the key, where the value came from and the rule broken,
//! before the process binds a port or touches its data directory.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use anyhow::bail;
use rill_types::config::did_you_mean;

use rill_controller::config_keys::{self, ResourceKind};

use super::keys::Process;
use super::setting::{DefaultValue, Setting};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A flag, e.g. `--broker-id`.
    Flag(&'static str),
    /// `--set KEY=VALUE`.
    Set,
    /// A `RILL_*` environment variable.
    Env(&'static str),
    /// A line of the config file.
    File {
        /// The file as named on the command line.
        path: PathBuf,
        /// Its 1-based line.
        line: usize,
    },
    /// The declared default.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "flag --{flag}"),
            Origin::Set => f.write_str("--set"),
            Origin::Env(var) => write!(f, "environment {var}"),
            Origin::File { path, line } => write!(f, "{}:{line}", path.display()),
            Origin::Default => f.write_str("default"),
        }
    }
}

impl Origin {
    /// Sources from strongest to weakest: flags and `--set`, environment, file, default.
    fn rank(&self) -> u8 {
        match self {
            Origin::Flag(_) | Origin::Set => 0,
            Origin::Env(_) => 1,
            Origin::File { .. } => 2,
            Origin::Default => 3,
        }
    }
}

/// A value given for a key, not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given {
    /// The key as given (may be unknown).
    pub key: String,
    /// The value, untrimmed.
    pub value: String,
    /// Where it came from.
    pub origin: Origin,
}

/// The settings a command runs with: every declared key that has a value, with where
/// it came from.
#[derive(Debug, Clone)]
pub struct Effective {
    keys: Vec<Setting>,
    values: BTreeMap<&'static str, (String, Origin)>,
}

/// Checks and merges `given` (flags, environment, `--set` and file values in any order)
/// over the defaults of `keys`.
pub fn resolve(keys: Vec<Setting>, given: Vec<Given>) -> anyhow::Result<Effective> {
    let mut problems = Vec::new();
    let mut values: BTreeMap<&'static str, (String, Origin)> = BTreeMap::new();
    for g in given {
        let Some(setting) = keys.iter().find(|s| s.name == g.key) else {
            let hint = did_you_mean(&g.key, keys.iter().map(|s| s.name))
                .map_or_else(|| elsewhere(&g.key), |k| format!(" (did you mean `{k}`?)"));
            problems.push(format!("{}: unknown key `{}`{hint}", g.origin, g.key));
            continue;
        };
        if let Err(rule) = setting.check(&g.value) {
            problems.push(format!(
                "{}: {}={:?}: {rule}",
                g.origin, setting.name, g.value
            ));
            continue;
        }
        let replace = match values.get(setting.name) {
            None => true,
            Some((_, held)) if held.rank() == g.origin.rank() => {
                problems.push(format!(
                    "{} is given twice, by {held} and by {}",
                    setting.name, g.origin
                ));
                false
            }
            Some((_, held)) => g.origin.rank() < held.rank(),
        };
        if replace {
            values.insert(setting.name, (g.value.trim().to_owned(), g.origin));
        }
    }
    for s in &keys {
        match s.default {
            DefaultValue::Value(v) => {
                values
                    .entry(s.name)
                    .or_insert_with(|| (v.to_owned(), Origin::Default));
            }
            DefaultValue::Required if !values.contains_key(s.name) => {
                let how = match (s.flag, s.env) {
                    (Some(flag), Some(env)) => format!("--{flag}, {env} or "),
                    _ => String::new(),
                };
                problems.push(format!(
                    "{} is required: set {how}{} in the config file",
                    s.name, s.name
                ));
            }
            _ => {}
        }
    }
    if !problems.is_empty() {
        bail!("invalid configuration:\n  {}", problems.join("\n  "));
    }
    Ok(Effective { keys, values })
}

/// Where an unknown key does belong, as a hint: another command's key, or a topic or
/// dynamic broker key (Kafka's server.properties holds `log.retention.ms` and the like,
/// which rill keeps in the metadata log instead).
fn elsewhere(key: &str) -> String {
    let commands: Vec<String> = [Process::Controller, Process::Broker, Process::Server]
        .into_iter()
        .filter(|p| p.all_keys().iter().any(|s| s.name == key))
        .map(|p| format!("`rill {}`", p.command()))
        .collect();
    if !commands.is_empty() {
        return format!(" (it is a key of {})", commands.join(" and "));
    }
    if config_keys::key(ResourceKind::Broker, key).is_some() {
        return " (a cluster-wide broker config: set it with `rill config set --broker \"\" KEY=VALUE`)".to_owned();
    }
    if config_keys::key(ResourceKind::Topic, key).is_some() {
        return " (a topic config: set it per topic with `rill topic create --config` or `rill config set --topic`)".to_owned();
    }
    String::new()
}

impl Effective {
    /// The value of `key`, if it has one (set, or a declared default).
    ///
    /// # Panics
    /// If `key` is not declared for this command (a bug).
    pub fn get(&self, key: &str) -> Option<&str> {
        assert!(
            self.keys.iter().any(|s| s.name == key),
            "undeclared setting {key}"
        );
        self.values.get(key).map(|(v, _)| v.as_str())
    }

    /// The value of a required key, or of one with a default.
    ///
    /// # Panics
    /// If it has none (the declaration promised one; a bug).
    pub fn value(&self, key: &str) -> &str {
        self.get(key)
            .unwrap_or_else(|| panic!("{key} has neither a value nor a default"))
    }

    /// The value of a key whose check guarantees it parses as `T`.
    ///
    /// # Panics
    /// If it does not (the declaration's check and `T` disagree; a bug).
    pub fn parsed<T: std::str::FromStr>(&self, key: &str) -> T {
        self.value(key)
            .parse()
            .unwrap_or_else(|_| panic!("{key}: the checked value does not parse"))
    }

    /// Values set away from their default, other than by process keys: the tunables
    /// (`--set` and file keys without a flag), in declaration order.
    pub fn tunables(&self) -> Vec<(&'static str, &str)> {
        self.keys
            .iter()
            .filter(|s| s.flag.is_none())
            .filter_map(|s| match self.values.get(s.name) {
                Some((v, origin)) if *origin != Origin::Default => Some((s.name, v.as_str())),
                _ => None,
            })
            .collect()
    }

    /// The effective settings as `--check-config` prints them: one `key=value` line per
    /// key in declaration order, with its origin as a comment (a derived or unset value
    /// says so).
    pub fn render(&self) -> String {
        let width = self.keys.iter().map(|s| s.name.len()).max().unwrap_or(0);
        let mut out = String::new();
        for s in &self.keys {
            let line = match (self.values.get(s.name), s.default) {
                (Some((v, origin)), _) => format!("{}={v}", s.name).pad(width, origin),
                (None, DefaultValue::Derived(how)) => {
                    format!("#{}=", s.name).pad(width, &format!("derived: {how}"))
                }
                (None, _) => format!("#{}=", s.name).pad(width, &"not set"),
            };
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}

/// A `key=value` line padded to a column, then `# origin`.
trait Pad {
    fn pad(self, width: usize, note: &dyn fmt::Display) -> String;
}

impl Pad for String {
    fn pad(self, width: usize, note: &dyn fmt::Display) -> String {
        let column = width + 24;
        format!("{self:<column$} # {note}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(key: &str, value: &str, origin: Origin) -> Given {
        Given {
            key: key.to_owned(),
            value: value.to_owned(),
            origin,
        }
    }

    fn file(line: usize) -> Origin {
        Origin::File {
            path: "b.properties".into(),
            line,
        }
    }

    fn required() -> Vec<Given> {
        vec![
            given("broker.id", "1", file(1)),
            given("data.dir", "/d", file(2)),
            given("controller.quorum.bootstrap.servers", "c:1", file(3)),
        ]
    }

    #[test]
    fn flags_beat_environment_beat_file_beat_default() {
        let mut g = required();
        g.push(given("broker.id", "2", Origin::Env("RILL_BROKER_ID")));
        g.push(given("broker.id", "3", Origin::Flag("broker-id")));
        g.push(given("data.dir", "/e", Origin::Env("RILL_DATA_DIR")));
        g.push(given("replica.lag.time.max.ms", "5000", file(4)));
        let e = resolve(Process::Broker.all_keys(), g).unwrap();
        assert_eq!(e.value("broker.id"), "3");
        assert_eq!(e.value("data.dir"), "/e");
        assert_eq!(e.value("listen"), "0.0.0.0:9094");
        assert_eq!(e.get("broker.rack"), None);
        assert_eq!(e.tunables(), [("replica.lag.time.max.ms", "5000")]);
        let text = e.render();
        assert!(text.contains("flag --broker-id"), "{text}");
        assert!(text.contains("b.properties:4"), "{text}");
        assert!(text.contains("#broker.rack="), "{text}");
    }

    #[test]
    fn every_problem_is_reported_with_key_origin_and_rule() {
        let mut g = required();
        g.push(given("brokr.rack", "r", file(7)));
        g.push(given("replica.lag.time.max.ms", "0", Origin::Set));
        g.push(given("listen", "nowhere", Origin::Env("RILL_LISTEN")));
        let e = resolve(Process::Broker.all_keys(), g)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("b.properties:7: unknown key `brokr.rack` (did you mean `broker.rack`?)"),
            "{e}"
        );
        assert!(
            e.contains("--set: replica.lag.time.max.ms=\"0\": must be at least 1"),
            "{e}"
        );
        assert!(
            e.contains("environment RILL_LISTEN: listen=\"nowhere\""),
            "{e}"
        );
    }

    #[test]
    fn a_key_that_belongs_elsewhere_says_where() {
        let mut g = required();
        g.push(given("node.id", "1", file(8)));
        g.push(given("log.retention.ms", "1000", file(9)));
        let e = resolve(Process::Broker.all_keys(), g)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "unknown key `node.id` (it is a key of `rill controller` and `rill server`)"
            ),
            "{e}"
        );
        assert!(
            e.contains("`log.retention.ms` (a cluster-wide broker config"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_required_key_says_how_to_set_it() {
        let e = resolve(Process::Controller.all_keys(), vec![])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "node.id is required: set --node-id, RILL_NODE_ID or node.id in the config file"
            ),
            "{e}"
        );
    }

    #[test]
    fn the_same_key_twice_at_one_level_is_refused() {
        let mut g = required();
        g.push(given("replica.lag.time.max.ms", "5000", Origin::Set));
        g.push(given("replica.lag.time.max.ms", "6000", Origin::Set));
        let e = resolve(Process::Broker.all_keys(), g)
            .unwrap_err()
            .to_string();
        assert!(e.contains("replica.lag.time.max.ms is given twice"), "{e}");
    }
}
