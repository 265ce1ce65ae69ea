//! `jupyterflow lint`: every check `run` makes on the pipeline itself, without a pod or cluster.

use crate::argo;
use crate::error::Error;
use crate::printer::Printer;
use crate::settings::{Input, Settings};

pub(super) fn lint(settings: &Settings, input: &Input, printer: &mut Printer) -> Result<(), Error> {
    let loaded = super::load(input, &settings.cwd)?;
    let dag = &loaded.dag;
    argo::check(dag, &loaded.working_dir.display().to_string())?;
    let stages = dag.levels().into_iter().max().map_or(0, |m| m + 1);
    let kind = if dag.options.schedule.is_some() {
        ", scheduled"
    } else {
        ""
    };
    printer.data(&format!(
        "{}: ok ({} jobs in {} tasks, {stages} stages{kind})\n",
        dag.source.label(),
        dag.job_count(),
        dag.tasks.len(),
    ));
    Ok(())
}
