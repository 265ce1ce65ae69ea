//! `jupyterflow retry RUN [--from JOB | --only JOB,…]`: run again what did not succeed in a
//! run — failed, errored, skipped, cancelled or interrupted jobs, sweep point by sweep point —
//! and everything downstream, on the run's own backend. Jobs that succeeded are not run again:
//! their files are on the (shared) volume. The retry is a new run that names the old one: a new
//! local run folder, or a new Workflow labelled `jupyterflow.io/retry-of`.

use std::collections::BTreeSet;
use std::path::Path;

use super::argo_session::{Shown, after_submit, follow, resolve, with_cluster};
use super::control::{Again, submit_again};
use super::history::{find_local, readable};
use super::run::local::{How, run_plan};
use crate::argo::ArgoKind;
use crate::argo::retry::{RecordedJob, WorkflowJobs};
use crate::argo::view::WorkflowView;
use crate::error::Error;
use crate::events::JobPhase;
use crate::local::plan::LeftOut;
use crate::local::record::FORMAT_VERSION;
use crate::pipeline::selection::{JobGraph, Pick};
use crate::printer::{Printer, format};
use crate::settings::{RetrySettings, Runs, Session, Settings};

pub(super) fn retry(
    settings: &Settings,
    retry: &RetrySettings,
    printer: &mut Printer,
) -> Result<u8, Error> {
    printer.quiet = retry.quiet;
    match &retry.runs {
        Runs::Local { runs_dir } => retry_local(settings, retry, runs_dir, printer),
        Runs::Argo(session) => retry_argo(settings, retry, session, printer),
    }
}

/// A local run: a new run folder, the jobs that succeeded recorded as such (with their logs).
fn retry_local(
    settings: &Settings,
    retry: &RetrySettings,
    runs_dir: &Path,
    printer: &mut Printer,
) -> Result<u8, Error> {
    let (name, _, record) = readable(find_local(runs_dir, &retry.run)?)?;
    if record.version < FORMAT_VERSION {
        return Err(Error::usage(
            format!(
                "run {name} was recorded by an older jupyterflow, which did not keep the jobs' dependencies that retry needs"
            ),
            "run the pipeline again with `jupyterflow run`",
        ));
    }
    if record.status == crate::events::RunStatus::Running {
        return Err(Error::usage(
            format!("run {name} is still running"),
            "wait for it to end, or stop it (Ctrl-C in its terminal), then retry",
        ));
    }
    let mut plan = record.plan();
    let graph = JobGraph {
        jobs: plan.job_names(),
        tasks: plan.jobs.iter().map(|j| j.task.clone()).collect(),
        depends: plan.dependencies(),
    };
    let succeeded = |i: usize| record.jobs[i].phase == JobPhase::Succeeded;
    let chosen = choose(&graph, retry, &succeeded)?;
    if chosen.is_empty() {
        printer.status(&format!(
            "nothing to retry: every job of {name} succeeded (`jupyterflow run` runs the pipeline again)"
        ));
        return Ok(0);
    }
    let why = retry
        .pick
        .as_ref()
        .map_or_else(|| "a later retry".to_owned(), Pick::describe);
    for (i, job) in plan.jobs.iter_mut().enumerate() {
        if chosen.contains(&i) {
            continue;
        }
        let old = &record.jobs[i];
        job.left_out = Some(if old.phase == JobPhase::Succeeded {
            LeftOut {
                phase: JobPhase::Succeeded,
                reason: format!("succeeded in run {name}; not run again"),
                log: (old.attempts > 0).then(|| old.log.clone()),
            }
        } else {
            LeftOut {
                phase: JobPhase::Skipped,
                reason: format!("not chosen to run ({why})"),
                log: None,
            }
        });
    }
    let note = note(&name, &graph, &chosen);
    let how = How {
        quiet: retry.quiet,
        stream_output: retry.stream_output,
        events: false,
        output: &retry.output,
        parallelism: None,
        workdir: &record.workdir,
        retry_of: Some(&name),
    };
    run_plan(
        settings,
        &how,
        &retry.local,
        &plan,
        &mut |printer| printer.note(&note),
        printer,
    )
}

/// A cluster run: a new Workflow with only the jobs that run again.
fn retry_argo(
    settings: &Settings,
    retry: &RetrySettings,
    session: &Session,
    printer: &mut Printer,
) -> Result<u8, Error> {
    with_cluster(session, printer, async |cluster, printer| {
        let name = resolve(cluster, &retry.run).await?;
        let old = cluster.get(ArgoKind::Workflow, &name).await?;
        let view = WorkflowView::from_json(&old);
        if !view.is_finished() {
            return Err(Error::usage(
                format!("workflow {name} has not finished"),
                format!(
                    "wait for it (jupyterflow watch {name}), or stop it (jupyterflow stop {name}), then retry"
                ),
            ));
        }
        let jobs = WorkflowJobs::read(&old, &view);
        let chosen = choose(&jobs.graph, retry, &|i| jobs.succeeded[i])?;
        if chosen.is_empty() {
            printer.status(&format!(
                "nothing to retry: every job of {name} succeeded (`jupyterflow resubmit {name}` runs it all again)"
            ));
            return Ok(0);
        }
        printer.note(&note(&name, &jobs.graph, &chosen));
        let new = jobs.retry_workflow(&old, &chosen);
        let retried = |recorded: &[RecordedJob]| jobs.retry_jobs(&chosen, recorded);
        let again = Again {
            old: &name,
            exe: retry.exe.as_deref(),
            retried: Some(&retried),
        };
        let created = submit_again(cluster, session, &again, &new, printer).await?;
        match format::structured(&created.object, &retry.output)? {
            Some(text) => printer.data(&text),
            None => printer.data(&format!(
                "{}\n",
                ArgoKind::Workflow.resource_name(&created.name)
            )),
        }
        if !retry.watch {
            return Ok(0);
        }
        let shown = Shown {
            quiet: retry.quiet,
            verbose: session.verbose,
            output: retry.stream_output,
            ..Shown::default()
        };
        let followed = follow(
            cluster,
            &created.name,
            created.object,
            shown,
            &settings.cwd,
            printer,
        )
        .await;
        after_submit(&created.name, followed)
    })
}

/// The jobs to run again: `--from`/`--only` when given, else what did not succeed and what
/// depends on it.
fn choose(
    graph: &JobGraph,
    retry: &RetrySettings,
    succeeded: &dyn Fn(usize) -> bool,
) -> Result<BTreeSet<usize>, Error> {
    Ok(match &retry.pick {
        Some(pick) => graph.pick(pick)?,
        None => graph.retry(succeeded),
    })
}

fn note(name: &str, graph: &JobGraph, chosen: &BTreeSet<usize>) -> String {
    let names: Vec<String> = chosen.iter().map(|&i| graph.jobs[i].clone()).collect();
    super::chosen_note(&format!("retry of {name}"), &names, graph.jobs.len())
}
