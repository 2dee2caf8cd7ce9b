//! The command line: one enum variant per subcommand, and the flags every command has
//! (`--log-format`, `--output`).

use clap::{Parser, Subcommand};

use crate::logging::LogFormat;
use crate::output::Output;

/// What the top-level `--help` ends with: the exit codes (docs/cli.md has the rest).
const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  the cluster refused, or the operation failed (e.g. topic exists, group not empty)
  2  usage error
  3  the cluster could not be reached (the message names every address tried)

Admin commands find the controllers with --admin (RILL_ADMIN; --controllers and
RILL_CONTROLLERS still work); produce, consume and group find brokers with --bootstrap
(RILL_BOOTSTRAP). --output json (RILL_OUTPUT=json) prints one JSON document; the
shapes are in docs/cli.md.";

/// rill: a Kafka-compatible, KRaft-style streaming platform.
#[derive(Debug, Parser)]
#[command(name = "rill", version, about, propagate_version = true, after_help = AFTER_HELP)]
pub struct Cli {
    /// How log lines are written to stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human, env = "RILL_LOG_FORMAT")]
    pub log_format: LogFormat,

    /// How admin commands print results: aligned tables, or one JSON document.
    #[arg(long, global = true, value_enum, default_value_t = Output::Human, env = "RILL_OUTPUT")]
    pub output: Output,

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
    /// Consumer groups: list, describe, reset offsets, delete.
    Group(crate::group_cmd::GroupArgs),
    /// Get and set configuration.
    Config(crate::config_cmd::ConfigArgs),
    /// Ask a server process whether it is ready (/readyz) or alive (/healthz).
    Health(crate::health_cmd::HealthArgs),
}

impl Command {
    /// Runs the subcommand; admin commands print in `output`.
    pub fn run(self, output: Output) -> anyhow::Result<()> {
        match self {
            Command::Controller(args) => args.run(),
            Command::Topic(args) => args.run(output),
            Command::Cluster(args) => args.run(output),
            Command::Broker(args) => args.run(),
            Command::Dev(args) => args.run(),
            Command::Produce(args) => args.run(),
            Command::Consume(args) => args.run(),
            Command::Partition(args) => args.run(output),
            Command::Config(args) => args.run(output),
            Command::Server(args) => args.run(),
            Command::Health(args) => args.run(),
            Command::Group(args) => args.run(output),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::Cli;
    use crate::output::Output;

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn output_is_global_and_the_exit_codes_are_in_the_help() {
        let cli = Cli::try_parse_from(["rill", "group", "list", "--output", "json"]).unwrap();
        assert_eq!(cli.output, Output::Json);
        let help = Cli::command().render_long_help().to_string();
        assert!(
            help.contains("3  the cluster could not be reached"),
            "{help}"
        );
    }

    #[test]
    fn usage_errors_exit_2() {
        let err = Cli::try_parse_from(["rill", "group", "reset-offsets", "g", "--all-topics"])
            .unwrap_err();
        assert_eq!(err.exit_code(), 2, "no --to-* given: {err}");
        let err = Cli::try_parse_from([
            "rill",
            "group",
            "reset-offsets",
            "g",
            "--all-topics",
            "--to-earliest",
            "--to-latest",
        ])
        .unwrap_err();
        assert_eq!(err.exit_code(), 2, "two --to-* given: {err}");
    }
}
