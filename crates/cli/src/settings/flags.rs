//! The command-line side of the declarations: [`SettingFlags`] adds one clap flag per
//! process key (long name, `RILL_*` environment variable and help text all taken from
//! its [`Setting`]) and the flags every server command shares (`--config`,
//! `--check-config`, `--set`), and reads back what was given and from where.

use std::marker::PhantomData;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

use super::file::ConfigFile;
use super::keys::Process;
use super::resolve::{Effective, Given, Origin, resolve};

/// Which command a [`SettingFlags`] belongs to.
pub trait Which: Send + Sync + 'static {
    /// The command.
    const PROCESS: Process;
}

/// The settings flags of one command.
#[derive(Debug, Clone)]
pub struct SettingFlags<W: Which> {
    /// Process-key values given as flags or environment variables.
    given: Vec<Given>,
    /// `--config FILE` (or `RILL_CONFIG`).
    pub config: Option<PathBuf>,
    /// `--check-config`.
    pub check_config: bool,
    /// `--set KEY=VALUE`, in order.
    sets: Vec<String>,
    which: PhantomData<W>,
}

impl<W: Which> SettingFlags<W> {
    /// Reads the config file and merges every source; errors list every problem.
    pub fn resolve(&self) -> anyhow::Result<Effective> {
        let mut given = self.given.clone();
        for s in &self.sets {
            let Some((k, v)) = s.split_once('=') else {
                anyhow::bail!("--set {s:?} is not of the form KEY=VALUE");
            };
            given.push(Given {
                key: k.trim().to_owned(),
                value: v.to_owned(),
                origin: Origin::Set,
            });
        }
        if let Some(path) = &self.config {
            let file = ConfigFile::read(path)?;
            given.extend(file.entries.into_iter().map(|e| Given {
                key: e.key,
                value: e.value,
                origin: Origin::File {
                    path: file.path.clone(),
                    line: e.line,
                },
            }));
        }
        resolve(W::PROCESS.all_keys(), given)
    }

    /// `--check-config`: prints the effective settings (or the problems) and tells the
    /// caller to stop. `Ok(false)` when the process should start.
    pub fn check_only(&self, effective: &Effective) -> bool {
        if self.check_config {
            print!(
                "# rill {}: configuration is valid\n{}",
                W::PROCESS.command(),
                effective.render()
            );
        }
        self.check_config
    }
}

impl<W: Which> FromArgMatches for SettingFlags<W> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = Self {
            given: Vec::new(),
            config: None,
            check_config: false,
            sets: Vec::new(),
            which: PhantomData,
        };
        flags.update_from_arg_matches(matches)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for s in W::PROCESS.process_keys() {
            let (Some(flag), Some(env)) = (s.flag, s.env) else {
                continue;
            };
            if let Some(value) = matches.get_one::<String>(s.name) {
                let origin = match matches.value_source(s.name) {
                    Some(ValueSource::EnvVariable) => Origin::Env(env),
                    _ => Origin::Flag(flag),
                };
                self.given.retain(|g| g.key != s.name);
                self.given.push(Given {
                    key: s.name.to_owned(),
                    value: value.clone(),
                    origin,
                });
            }
        }
        if let Some(c) = matches.get_one::<PathBuf>("config") {
            self.config = Some(c.clone());
        }
        self.check_config |= matches.get_flag("check-config");
        if let Some(sets) = matches.get_many::<String>("set") {
            self.sets.extend(sets.cloned());
        }
        Ok(())
    }
}

impl<W: Which> Args for SettingFlags<W> {
    fn augment_args(cmd: Command) -> Command {
        let cmd = W::PROCESS.process_keys().iter().fold(cmd, |cmd, s| {
            let (Some(flag), Some(env)) = (s.flag, s.env) else {
                return cmd;
            };
            cmd.arg(
                Arg::new(s.name)
                    .long(flag)
                    .env(env)
                    .value_name(s.value_name())
                    .help(format!("{} ({})", s.doc, s.name))
                    .action(ArgAction::Set),
            )
        });
        let tunables = if W::PROCESS == Process::Controller {
            ""
        } else {
            " or a broker tunable, e.g. replica.lag.time.max.ms=10000"
        };
        cmd.arg(
            Arg::new("config")
                .long("config")
                .env("RILL_CONFIG")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("A config file of key=value lines (server.properties style); flags and RILL_* variables win over it"),
        )
        .arg(
            Arg::new("check-config")
                .long("check-config")
                .action(ArgAction::SetTrue)
                .help("Check the configuration, print the effective settings and where each came from, and exit (0 valid, 1 not) without starting"),
        )
        .arg(
            Arg::new("set")
                .long("set")
                .value_name("KEY=VALUE")
                .action(ArgAction::Append)
                .help(format!("Set any key of this command (repeatable){tunables}")),
        )
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

/// `rill controller`.
#[derive(Debug, Clone)]
pub struct ControllerKeys;
impl Which for ControllerKeys {
    const PROCESS: Process = Process::Controller;
}

/// `rill broker`.
#[derive(Debug, Clone)]
pub struct BrokerKeys;
impl Which for BrokerKeys {
    const PROCESS: Process = Process::Broker;
}

/// `rill server`.
#[derive(Debug, Clone)]
pub struct ServerKeys;
impl Which for ServerKeys {
    const PROCESS: Process = Process::Server;
}
