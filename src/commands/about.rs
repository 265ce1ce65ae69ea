//! `completions`, `man` and `version`: what jupyterflow says about itself, generated from the
//! same clap definition as `--help`, so they never drift from it.

use clap::CommandFactory as _;

use crate::cli::Cli;
use crate::error::Error;
use crate::printer::Printer;

/// A completion script for `shell`.
pub(super) fn completions(shell: clap_complete::Shell, printer: &mut Printer) {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "jupyterflow", &mut script);
    printer.data_bytes(&script);
}

/// The man page, in roff.
pub(super) fn man(printer: &mut Printer) -> Result<(), Error> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|source| Error::Write {
            path: "the man page".into(),
            source,
        })?;
    printer.data_bytes(&page);
    Ok(())
}

pub(super) fn version(printer: &mut Printer) {
    printer.data(&format!("jupyterflow {}\n", env!("CARGO_PKG_VERSION")));
}
