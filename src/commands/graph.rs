//! `jupyterflow graph`: draw the validated pipeline.

use crate::cli::GraphArgs;
use crate::error::Error;
use crate::printer::Printer;

pub fn graph(args: &GraphArgs, printer: &mut Printer) -> Result<(), Error> {
    let loaded = super::load(&args.input)?;
    printer.data(&crate::graph::draw(&loaded.dag, args.format));
    Ok(())
}
