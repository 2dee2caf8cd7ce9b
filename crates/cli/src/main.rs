//! The `rill` executable. Parsing lives in [`cli`]; each subcommand's work lives in the
//! library crates, so this file only sets up logging and dispatches.

mod admin_cmd;
mod broker_cmd;
mod cli;
mod config_cmd;
mod controller_cmd;
mod data_cmd;
mod dev_cmd;
mod health_cmd;
mod http_listen;
mod kafka_listen;
mod logging;
mod server_cmd;
mod settings;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    logging::init(args.log_format);
    match args.command.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` prints the whole context chain on one line: "what failed: why".
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
