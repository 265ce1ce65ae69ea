//! `run` on this machine: the plan (`--dry-run`), or the jobs as processes with a live view, a
//! run record and logs.

use tokio::sync::mpsc;

use super::LoadedPipeline;
use crate::error::{self, Error};
use crate::events::RunStatus;
use crate::local::{self, ExecOptions, Plan, cancel_on_signals, run_local};
use crate::printer::run_view::{RunView, ViewMode};
use crate::printer::{Printer, events, format, plan};
use crate::settings::{LocalRun, RunSettings, Settings};

/// `--dry-run --local`: what would run, in what order, without running it.
pub(super) fn plan(
    local: &LocalRun,
    loaded: &LoadedPipeline,
    output: &format::OutputFormat,
    printer: &mut Printer,
) -> Result<u8, Error> {
    if let Some(reason) = &local.reason {
        printer.note(&format!(
            "local plan ({reason}); `--dry-run --pod-file POD` prints the Argo Workflow a notebook pod would submit"
        ));
    }
    schedule_note(loaded, printer);
    placement_note(loaded, printer);
    let parallelism = local::parallelism(local.parallelism, loaded.dag.options.parallelism);
    let plan = Plan::from_dag(&loaded.dag);
    // The plan shows only the jobs that run; a note already said which were chosen.
    printer.data(&plan::plan(
        &loaded.dag,
        &plan,
        &loaded.working_dir,
        parallelism,
        output,
    )?);
    Ok(0)
}

/// A schedule needs the cluster (a CronWorkflow); here the pipeline runs once, now.
fn schedule_note(loaded: &LoadedPipeline, printer: &mut Printer) {
    if let Some(schedule) = &loaded.dag.options.schedule {
        printer.note(&format!(
            "schedule `{schedule}` is for the Argo backend (a CronWorkflow); running the pipeline once, now"
        ));
    }
}

/// `node_selector` and `tolerations` choose the cluster nodes job pods run on; here they mean
/// nothing. Said once per run, naming the jobs.
fn placement_note(loaded: &LoadedPipeline, printer: &mut Printer) {
    let jobs: Vec<String> = loaded
        .dag
        .tasks
        .iter()
        .filter(|t| !t.node_selector.is_empty() || !t.tolerations.is_empty())
        .map(|t| format!("`{}`", t.name))
        .collect();
    if !jobs.is_empty() {
        printer.note(&format!(
            "`node_selector` and `tolerations` (job{} {}) choose the cluster nodes job pods run on; running here, they are ignored",
            if jobs.len() == 1 { "" } else { "s" },
            jobs.join(", ")
        ));
    }
}

/// Runs the pipeline here. Returns the exit code: 0 succeeded, 1 failed, 128 + the signal
/// when cancelled.
pub(super) fn run(
    settings: &Settings,
    run: &RunSettings,
    local: &LocalRun,
    loaded: &LoadedPipeline,
    printer: &mut Printer,
) -> Result<u8, Error> {
    let mut plan = Plan::from_dag(&loaded.dag);
    if let Some(pick) = &run.pick {
        plan.left_out_because(&pick.describe());
    }
    let how = How {
        quiet: run.quiet,
        stream_output: run.stream_output,
        events: run.events,
        output: &run.output,
        parallelism: loaded.dag.options.parallelism,
        workdir: &loaded.working_dir,
        retry_of: None,
    };
    run_plan(
        settings,
        &how,
        local,
        &plan,
        &mut |printer| {
            if let Some(reason) = &local.reason {
                printer.status(&format!("backend: local ({reason})"));
            }
            schedule_note(loaded, printer);
            placement_note(loaded, printer);
        },
        printer,
    )
}

/// How a local run is shown and paced.
pub(in crate::commands) struct How<'a> {
    pub quiet: bool,
    pub stream_output: bool,
    /// `--events`: JSON lines on stdout instead of the view, and no run name after them.
    pub events: bool,
    pub output: &'a format::OutputFormat,
    /// The workflow's `parallelism` cap.
    pub parallelism: Option<u32>,
    /// Where the jobs run.
    pub workdir: &'a std::path::Path,
    /// The run this one retries.
    pub retry_of: Option<&'a str>,
}

/// Runs `plan` in `how.workdir` as a new local run (a retry of `how.retry_of`, when given): the run
/// folder first (one that cannot be made is bad input, and nothing was said yet), then `say`'s
/// notes, then the jobs with the live view.
pub(in crate::commands) fn run_plan(
    settings: &Settings,
    how: &How<'_>,
    local: &LocalRun,
    plan: &Plan,
    say: &mut dyn FnMut(&mut Printer),
    printer: &mut Printer,
) -> Result<u8, Error> {
    let new_run = local::create_run(plan, how.workdir, &local.runs_dir, how.retry_of)?;
    say(printer);
    let mode = ViewMode::choose(how.quiet);
    let options = ExecOptions {
        parallelism: local::parallelism(local.parallelism, how.parallelism),
        policy: local.policy,
        stream_output: how.stream_output,
        kill_grace: local.kill_grace,
        ..ExecOptions::new(how.workdir.to_path_buf())
    };
    let mut view = if how.events {
        RunView::events(events::Context::local(&settings.cwd))
    } else {
        RunView::new(mode, settings.cwd.clone())
    };
    let (result, signal) = super::super::block_on(async {
        let (cancel, which) = cancel_on_signals().map_err(Error::Signals)?;
        let (events, shown) = mpsc::unbounded_channel();
        let (result, ()) = tokio::join!(
            run_local(new_run, plan, &options, events, cancel),
            view.show_all(printer, shown),
        );
        let signal = *which.borrow();
        Ok((result, signal))
    })?;
    let finished = result?;
    // With --events the stream already named the run (`run_started`).
    match format::structured(&finished.record, how.output)? {
        _ if how.events => {}
        Some(text) => printer.data(&text),
        None => printer.data(&format!("{}\n", finished.id)),
    }
    if let Some(e) = &finished.record_error {
        // The jobs ran, but what `get` and `logs` read later is not whole: the run failed.
        printer.status_always(&format!(
            "error: the run's record could not be kept up to date, so `get` and `logs` may show an earlier state: {e}"
        ));
        return Ok(error::EXIT_FAILED);
    }
    Ok(match finished.outcome.status {
        RunStatus::Cancelled => error::exit_for_signal(signal),
        status => error::exit_for_run(status),
    })
}
