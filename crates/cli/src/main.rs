//! The `rill` executable. Parsing lives in [`cli`]; each subcommand's work lives in the
//! library crates, so this file only sets up logging and dispatches.

mod admin_cmd;
mod broker_cmd;
mod cli;
mod config_cmd;
mod controller_cmd;
mod data_cmd;
mod datetime;
mod dev_cmd;
mod exit;
mod group_cmd;
mod group_service;
mod health_cmd;
mod http_listen;
mod kafka_listen;
mod logging;
mod output;
mod reset_plan;
mod server_cmd;
mod settings;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    logging::init(args.log_format);
    match args.command.run(args.output) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(err) => {
            // `{:#}` prints the whole context chain on one line: "what failed: why".
            eprintln!("error: {err:#}");
            ExitCode::from(exit::code(&err))
        }
    }
}
