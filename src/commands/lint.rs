//! `jupyterflow lint`: every check `run` makes on the pipeline itself, without a pod or cluster.
//! A pipeline too big for one Argo workflow (over 1 MiB or 200 templates) still runs locally,
//! where `run` does not refuse it: lint says "ok" and warns about Argo, exit 0. Everything
//! else Argo would refuse is an error, as in `run`.

use crate::argo;
use crate::environment::discover::notebooks;
use crate::error::Error;
use crate::pipeline::ParamMap;
use crate::pipeline::notebook;
use crate::pipeline::selection::Pick;
use crate::printer::Printer;
use crate::settings::{Input, Settings};

pub(super) fn lint(
    settings: &Settings,
    input: &Input,
    pick: Option<&Pick>,
    printer: &mut Printer,
) -> Result<(), Error> {
    let mut loaded = super::load(input, &settings.cwd)?;
    let chosen = super::choose(&mut loaded, pick)?;
    let dag = &loaded.dag;
    let too_big_for_argo = match argo::check(dag, &loaded.working_dir.display().to_string()) {
        Ok(()) => None,
        Err(e) if e.is_argo_capacity() => Some(e),
        Err(e) => return Err(e.into()),
    };
    let workdir = loaded.working_dir.clone();
    let findings = notebook::lint::lint(dag, &mut |path| notebooks::read_notebook(&workdir, path));
    let mut errors = Vec::new();
    for finding in findings {
        if finding.error {
            errors.push(finding);
        } else {
            printer.warning(
                &format!("job `{}`: {}", finding.job, finding.message),
                finding.hint.as_deref(),
            );
        }
    }
    if !errors.is_empty() {
        let message = errors
            .iter()
            .map(|f| format!("job `{}`: {}", f.job, f.message))
            .collect::<Vec<_>>()
            .join("\n");
        return Err(Error::Usage {
            message,
            hint: errors[0].hint.clone(),
        });
    }
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
    if !dag.options.params.is_empty() {
        let params = ParamMap::of(&dag.options.params);
        printer.data(&format!("params: {params}\n"));
    }
    if let Some(engine) = crate::printer::plan::notebook_engine(dag) {
        printer.data(&engine);
    }
    if let Some(chosen) = chosen {
        printer.data(&format!("{chosen}\n"));
    }
    if let Some(e) = too_big_for_argo {
        printer.warning(
            &format!("fine for local runs, but too big for Argo: {e}"),
            Some(&e.hint()),
        );
    }
    Ok(())
}
