//! The command line: one enum variant per subcommand.
//!
//! A subcommand that is not built yet still parses (with any arguments), says plainly
//! that it is not built, and exits non-zero: it never pretends to work. The README's
//! status table says which are built.

use anyhow::bail;
use clap::{Args, Parser, Subcommand};

use crate::logging::LogFormat;

/// rill: a Kafka-compatible, KRaft-style streaming platform.
#[derive(Debug, Parser)]
#[command(name = "rill", version, about, propagate_version = true)]
pub struct Cli {
    /// How log lines are written to stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human, env = "RILL_LOG_FORMAT")]
    pub log_format: LogFormat,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand of `rill`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a controller quorum member.
    Controller(crate::controller_cmd::ControllerArgs),
    /// Run a broker.
    Broker(crate::broker_cmd::BrokerArgs),
    /// Run several roles in one process (combined mode), e.g. --roles controller,broker.
    Server(crate::server_cmd::ServerArgs),
    /// Start a local multi-process cluster for development.
    Dev(crate::dev_cmd::DevArgs),
    /// Create, list, describe, delete and configure topics.
    Topic(crate::admin_cmd::TopicArgs),
    /// Describe the cluster: brokers and the controller quorum.
    Cluster(crate::admin_cmd::ClusterArgs),
    /// Partition operations (e.g. leader election).
    Partition(crate::config_cmd::PartitionArgs),
    /// Produce records from stdin or a file.
    Produce(crate::data_cmd::ProduceArgs),
    /// Consume records.
    Consume(crate::data_cmd::ConsumeArgs),
    /// Consumer group operations.
    Group(NotBuilt),
    /// Get and set configuration.
    Config(crate::config_cmd::ConfigArgs),
    /// Ask a server process whether it is ready (/readyz) or alive (/healthz).
    Health(crate::health_cmd::HealthArgs),
}

/// The arguments of a subcommand that is not built yet: anything, so that the user
/// gets the "not built" message rather than a confusing usage error.
#[derive(Debug, Args)]
pub struct NotBuilt {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    args: Vec<String>,
}

impl Command {
    /// Runs the subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        let name = match self {
            Command::Controller(args) => return args.run(),
            Command::Topic(args) => return args.run(),
            Command::Cluster(args) => return args.run(),
            Command::Broker(args) => return args.run(),
            Command::Dev(args) => return args.run(),
            Command::Produce(args) => return args.run(),
            Command::Consume(args) => return args.run(),
            Command::Partition(args) => return args.run(),
            Command::Config(args) => return args.run(),
            Command::Server(args) => return args.run(),
            Command::Health(args) => return args.run(),
            Command::Group(_) => "group",
        };
        bail!("`rill {name}` is not built yet; the README's status table lists what works today")
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::Cli;

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn unbuilt_subcommands_fail_and_say_so() {
        let cli = Cli::try_parse_from(["rill", "group", "list"]).unwrap();
        let err = cli.command.run().unwrap_err().to_string();
        assert!(err.contains("`rill group` is not built yet"), "{err}");
    }
}
