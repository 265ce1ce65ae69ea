//! jupyterflow: run a notebook's code as an Argo Workflows pipeline on Kubernetes, or locally.
//! The data flows input → pipeline (validated DAG) → environment → backend → printer.

pub mod argo;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod environment;
pub mod error;
pub mod events;
pub mod graph;
pub mod local;
pub mod output;
pub mod pipeline;
pub mod printer;
pub mod settings;
pub mod time;

use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command};
use crate::printer::Printer;

/// Parses the command line, runs the command, prints any error once, and returns the exit code.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout and usage errors to stderr, with exit 0 or 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(error::EXIT_USAGE));
        }
    };
    let mut printer = Printer::default();
    let result = match &cli.command {
        Command::Run(args) => commands::run::run(args, &mut printer),
        Command::Lint(args) => commands::lint::lint(args, &mut printer).map(|()| 0),
        Command::Graph(args) => commands::graph::graph(args, &mut printer).map(|()| 0),
        Command::Config(args) => commands::config::config(args, &mut printer).map(|()| 0),
        Command::List(args) => commands::runs::list(args, &mut printer).map(|()| 0),
        Command::Get(args) => commands::runs::get(args, &mut printer).map(|()| 0),
        Command::Logs(args) => commands::runs::logs(args, &mut printer),
        Command::Delete(args) => commands::runs::delete(args, &mut printer).map(|()| 0),
        Command::Watch(args) => commands::runs::watch(args, &mut printer),
        Command::Stop(args) => commands::runs::shutdown(args, "Stop", &mut printer).map(|()| 0),
        Command::Terminate(args) => {
            commands::runs::shutdown(args, "Terminate", &mut printer).map(|()| 0)
        }
        Command::Resubmit(args) => commands::runs::resubmit(args, &mut printer),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            printer.error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}
