//! [`Setting`]: one declared key of a server process — name, type with bounds, default,
//! doc, and for process keys its flag and environment variable.

use rill_types::config::{ConfigKey, ConfigType};

use crate::controller_cmd::parse_voters;
use crate::kafka_listen::parse_listeners;

/// What a setting's value is, with the check that goes with it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A number, boolean, string or enum, as topic keys are typed.
    Config(ConfigType),
    /// A filesystem path (not checked for existence: it is created at start).
    Path,
    /// `HOST:PORT` (the host may be empty for all interfaces).
    Address,
    /// `HOST:PORT`, or `none` to serve nothing.
    AddressOrNone,
    /// A comma list of `HOST:PORT`, at least one.
    AddressList,
    /// Kafka's `controller.quorum.voters`: `ID@HOST:PORT,...`.
    Voters,
    /// Kafka's `listeners`: `NAME://HOST:PORT,...` or `HOST:PORT` (`none`: no listener).
    Listeners,
}

/// The value a setting has when nothing sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// This value (valid for the kind; a test checks every one).
    Value(&'static str),
    /// None: the process refuses to start without it.
    Required,
    /// Computed from other settings, as described.
    Derived(&'static str),
    /// Unset is fine: the feature it turns on is off.
    Unset,
}

/// One declared key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Setting {
    /// The key as a config file spells it, e.g. `broker.id`.
    pub name: &'static str,
    /// The value's type and bounds.
    pub kind: Kind,
    /// The value when nothing sets it.
    pub default: DefaultValue,
    /// What it does, in a sentence or two.
    pub doc: &'static str,
    /// The long flag without `--` (process keys only; tunables are set with `--set`).
    pub flag: Option<&'static str>,
    /// The `RILL_*` environment variable (process keys only).
    pub env: Option<&'static str>,
}

impl Setting {
    /// A process key with its flag and environment variable.
    pub const fn process(
        name: &'static str,
        kind: Kind,
        default: DefaultValue,
        flag: &'static str,
        env: &'static str,
        doc: &'static str,
    ) -> Self {
        Self {
            name,
            kind,
            default,
            doc,
            flag: Some(flag),
            env: Some(env),
        }
    }

    /// A process key taking type, default and doc from a library crate's declaration.
    pub const fn declared(key: &'static ConfigKey, flag: &'static str, env: &'static str) -> Self {
        Self {
            name: key.name,
            kind: Kind::Config(key.kind),
            default: DefaultValue::Value(key.default),
            doc: key.doc,
            flag: Some(flag),
            env: Some(env),
        }
    }

    /// A library tunable: no flag of its own (`--set` or the config file set it).
    pub fn tunable(key: &'static ConfigKey) -> Self {
        Self {
            flag: None,
            env: None,
            ..Self::declared(key, "", "")
        }
    }

    /// Checks a value; Err is the rule broken.
    pub fn check(&self, value: &str) -> Result<(), String> {
        let value = value.trim();
        match self.kind {
            // An empty text setting is a mistake (a host or rack of ""): unset is spelt by
            // leaving the key out.
            Kind::Config(ConfigType::String) if value.is_empty() => {
                Err("must not be empty (leave the key out to unset it)".to_owned())
            }
            Kind::Config(t) => t.check(value),
            Kind::Path if value.is_empty() => Err("expected a path".to_owned()),
            Kind::Path => Ok(()),
            Kind::AddressOrNone if value == "none" => Ok(()),
            Kind::Address | Kind::AddressOrNone => check_address(value),
            Kind::AddressList => {
                let items: Vec<&str> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect();
                if items.is_empty() {
                    return Err("expected at least one HOST:PORT".to_owned());
                }
                items.into_iter().try_for_each(check_address)
            }
            Kind::Voters => parse_voters(value).map(drop).map_err(|e| format!("{e:#}")),
            Kind::Listeners if value == "none" => Ok(()),
            Kind::Listeners => parse_listeners(value)
                .map(drop)
                .map_err(|e| format!("{e:#}")),
        }
    }

    /// The placeholder `--help` shows for the value.
    pub fn value_name(&self) -> &'static str {
        match self.kind {
            Kind::Config(ConfigType::Int { .. } | ConfigType::Long { .. }) => "N",
            Kind::Config(_) => "VALUE",
            Kind::Path => "DIR",
            Kind::Address | Kind::AddressOrNone => "HOST:PORT",
            Kind::AddressList => "HOST:PORT,...",
            Kind::Voters => "ID@HOST:PORT,...",
            Kind::Listeners => "NAME://HOST:PORT,...",
        }
    }
}

/// `HOST:PORT` with a port that fits a `u16`.
fn check_address(value: &str) -> Result<(), String> {
    let (_, port) = value
        .rsplit_once(':')
        .ok_or_else(|| format!("{value:?} has no port (expected HOST:PORT)"))?;
    port.parse::<u16>()
        .map(drop)
        .map_err(|_| format!("port {port:?} of {value:?} is not a number in [0, 65535]"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(kind: Kind) -> Setting {
        Setting::process("k", kind, DefaultValue::Unset, "k", "RILL_K", "K.")
    }

    #[test]
    fn kinds_check_their_syntax() {
        assert!(of(Kind::Address).check("0.0.0.0:9092").is_ok());
        assert!(of(Kind::Address).check(":9092").is_ok());
        assert!(of(Kind::Address).check("host").is_err());
        assert!(of(Kind::Address).check("h:99999").is_err());
        assert!(of(Kind::AddressOrNone).check("none").is_ok());
        assert!(of(Kind::Address).check("none").is_err());
        assert!(of(Kind::AddressList).check("a:1, b:2").is_ok());
        assert!(of(Kind::AddressList).check(" , ").is_err());
        assert!(of(Kind::Voters).check("1@a:1,2@b:2").is_ok());
        assert!(of(Kind::Voters).check("1@a:1,1@b:2").is_err());
        assert!(
            of(Kind::Listeners)
                .check("INTERNAL://:9092,EXTERNAL://h:1")
                .is_ok()
        );
        assert!(of(Kind::Listeners).check("A-B://h:1").is_err());
        assert!(of(Kind::Path).check(" ").is_err());
        assert!(of(Kind::Config(ConfigType::String)).check("").is_err());
    }
}
