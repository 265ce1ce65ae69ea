//! `jupyterflow doctor`: the checks, the table, and exit 0 only when `run` would work.

use crate::cluster::Target;
use crate::cluster::doctor::{self, Context};
use crate::error::{self, Error};
use crate::printer::format::{self, OutputFormat};
use crate::printer::{Printer, checks};
use crate::settings::Settings;

pub(super) fn doctor(
    settings: &Settings,
    target: &Target,
    output: &OutputFormat,
    printer: &mut Printer,
) -> Result<u8, Error> {
    let context = Context {
        target,
        spec: &settings.config.spec,
        workdir: &settings.cwd,
    };
    let results = super::block_on(async { Ok(doctor::examine(&context).await) })?;
    match format::structured(&results, output)? {
        Some(text) => printer.data(&text),
        None => printer.data(&checks::table(&results)),
    }
    Ok(if doctor::ready(&results) {
        0
    } else {
        error::EXIT_FAILED
    })
}
