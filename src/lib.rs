//! jupyterflow: run a notebook's code as an Argo Workflows pipeline on Kubernetes, or locally.
//! The data flows input → pipeline (validated DAG) → environment → backend → printer:
//! `main` calls [`run`], which parses the command line, resolves one `Settings`, dispatches the
//! verb and prints any error once. The pure stages (`pipeline`, `environment`, `argo`) are
//! public for the benchmarks; everything else is private to the crate.

pub mod argo;
mod cli;
mod cluster;
mod commands;
pub mod environment;
mod error;
mod events;
mod local;
pub mod pipeline;
mod printer;
mod settings;
mod time;

use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::Cli;
use crate::printer::Printer;
use crate::settings::Settings;

/// The command line, with `help --help` (which clap refuses) read as `help`.
fn arguments() -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.len() == 3 && args[1] == "help" && (args[2] == "--help" || args[2] == "-h") {
        args.pop();
    }
    args
}

/// Parses the command line, runs the command, prints any error once, and returns the exit code.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse_from(arguments()) {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout and usage errors to stderr, with exit 0 or 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(error::EXIT_USAGE));
        }
    };
    let mut printer = Printer::default();
    let result = Settings::resolve(cli.command)
        .and_then(|settings| commands::dispatch(&settings, &mut printer));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            printer.error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}
