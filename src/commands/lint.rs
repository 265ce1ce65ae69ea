//! `jupyterflow lint`: every check `run` makes on the pipeline itself, without a pod or cluster.

use crate::argo::{self, RenderOptions};
use crate::cli::InputArgs;
use crate::environment::Environment;
use crate::error::Error;
use crate::printer::Printer;

pub fn lint(args: &InputArgs, printer: &mut Printer) -> Result<(), Error> {
    let loaded = super::load(args)?;
    let dag = &loaded.dag;
    // Argo-side limits (template syntax in commands, task and size caps) do not depend on the
    // notebook pod, so a stand-in environment checks them as well as the real one would.
    let stand_in = Environment {
        image: "image".into(),
        working_dir: loaded.working_dir.display().to_string(),
        ..Environment::default()
    };
    argo::render(dag, &stand_in, &RenderOptions::default())?.check_limits()?;
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
