//! `jupyterflow graph`: draw the validated pipeline.

use crate::error::Error;
use crate::printer::Printer;
use crate::printer::graph::{GraphFormat, draw};
use crate::settings::{Input, Settings};

pub(super) fn graph(
    settings: &Settings,
    input: &Input,
    format: GraphFormat,
    printer: &mut Printer,
) -> Result<(), Error> {
    let loaded = super::load(input, &settings.cwd)?;
    printer.data(&draw(&loaded.dag, format));
    Ok(())
}
