//! `jupyterflow run` on the local backend: the plan (`--dry-run`), or the jobs as processes on
//! this machine with a live view, a run record and logs.

use std::path::{Path, PathBuf};

use serde_json::json;
use tokio::sync::mpsc;

use super::LoadedPipeline;
use crate::cli::RunArgs;
use crate::error::Error;
use crate::events::RunStatus;
use crate::local::{ExecOptions, FailurePolicy, Plan, cancel_on_signals, run_local};
use crate::output::{self, OutputFormat};
use crate::pipeline::command::quote;
use crate::printer::Printer;
use crate::printer::run_view::{RunView, ViewMode};
use crate::printer::table;
use crate::settings::config_file::UserConfig;

/// Where local runs are kept: `log_dir` from the config (relative to the current directory),
/// else `.jupyterflow/runs` in the current directory.
pub fn runs_dir(config: &UserConfig, cwd: &Path) -> PathBuf {
    let dir = config
        .log_dir
        .as_deref()
        .unwrap_or(super::config::DEFAULT_LOG_DIR);
    cwd.join(dir)
}

/// `--dry-run --local`: what would run, in what order, without running it.
pub fn print_plan(
    loaded: &LoadedPipeline,
    parallelism: usize,
    format: &OutputFormat,
    printer: &mut Printer,
) -> Result<(), Error> {
    let plan = Plan::from_dag(&loaded.dag);
    let names: Vec<&str> = plan.jobs.iter().map(|j| j.name.as_str()).collect();
    match format {
        OutputFormat::Json | OutputFormat::Yaml | OutputFormat::JsonPath(_) => {
            let value = json!({
                "name": plan.name,
                "workingDir": loaded.working_dir,
                "parallelism": parallelism,
                "jobs": plan.jobs.iter().map(|j| json!({
                    "name": j.name,
                    "argv": j.argv,
                    "env": j.env.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
                    "depends": j.depends.iter().map(|&d| names[d]).collect::<Vec<_>>(),
                    "retries": j.retries,
                    "timeoutSeconds": j.timeout.map(|t| t.as_secs()),
                })).collect::<Vec<_>>(),
            });
            printer.data(&output::structured(&value, format)?.unwrap_or_default());
        }
        _ => {
            let levels = job_levels(loaded, &plan);
            let rows: Vec<Vec<String>> = plan
                .jobs
                .iter()
                .enumerate()
                .map(|(i, j)| {
                    let deps: Vec<&str> = j.depends.iter().map(|&d| names[d]).collect();
                    vec![
                        (levels[i] + 1).to_string(),
                        j.name.clone(),
                        j.argv
                            .iter()
                            .map(|a| quote(a))
                            .collect::<Vec<_>>()
                            .join(" "),
                        if deps.len() > 3 {
                            format!("{}, … ({} jobs)", deps[..2].join(", "), deps.len())
                        } else {
                            deps.join(", ")
                        },
                    ]
                })
                .collect();
            printer.data(&table::render(&["STAGE", "JOB", "COMMAND", "AFTER"], &rows));
            printer.data(&format!(
                "{} jobs, at most {parallelism} at once, in {}\n",
                plan.jobs.len(),
                loaded.working_dir.display()
            ));
        }
    }
    Ok(())
}

/// Each job's stage: its task's depth in the DAG.
fn job_levels(loaded: &LoadedPipeline, plan: &Plan) -> Vec<usize> {
    let levels = loaded.dag.levels();
    let by_name: std::collections::HashMap<&str, usize> = loaded
        .dag
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), levels[i]))
        .collect();
    plan.jobs
        .iter()
        .map(|j| by_name.get(j.task.as_str()).copied().unwrap_or(0))
        .collect()
}

/// Most jobs at once: `-p`, else the CPUs, capped by the workflow's `parallelism`.
pub fn parallelism(args: &RunArgs, loaded: &LoadedPipeline) -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let requested = args.parallelism.map_or(cpus, |p| p as usize);
    match loaded.dag.options.parallelism {
        Some(cap) => requested.min(cap as usize),
        None => requested,
    }
}

/// Runs the pipeline here. Returns the exit code: 0 succeeded, 1 failed, 130/143 cancelled.
pub fn run(
    args: &RunArgs,
    loaded: &LoadedPipeline,
    config: &UserConfig,
    format: &OutputFormat,
    printer: &mut Printer,
) -> Result<u8, Error> {
    let cwd = std::env::current_dir().map_err(|source| Error::ReadInput {
        path: PathBuf::from("."),
        source,
    })?;
    if let Some(schedule) = &loaded.dag.options.schedule {
        printer.note(&format!(
            "schedule `{schedule}` is for the Argo backend (a CronWorkflow); running the pipeline once, now"
        ));
    }
    let plan = Plan::from_dag(&loaded.dag);
    let mut options = ExecOptions::new(loaded.working_dir.clone());
    options.parallelism = parallelism(args, loaded);
    options.policy = if args.keep_going {
        FailurePolicy::KeepGoing
    } else {
        FailurePolicy::FailFast
    };
    options.follow = args.follow;
    if let Some(grace) = &config.kill_grace_period {
        // Checked when the config was read.
        options.kill_grace = crate::time::parse_duration(grace).unwrap_or(options.kill_grace);
    }
    let runs_dir = runs_dir(config, &cwd);
    let mode = ViewMode::choose(args.quiet);
    // Only the live view and --follow need the lines as they come.
    options.capture_output = args.follow || mode == ViewMode::Live;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Runtime(e.to_string()))?;
    let mut view = RunView::new(mode, cwd);
    let (result, signal) = runtime.block_on(async {
        let (cancel, which) = cancel_on_signals()
            .map_err(|e| Error::Runtime(format!("cannot watch signals: {e}")))?;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let run = run_local(&plan, &options, &runs_dir, tx, cancel);
        let show = async {
            while let Some(event) = rx.recv().await {
                view.handle(printer, &event);
            }
        };
        let (result, ()) = tokio::join!(run, show);
        let signal = *which.borrow();
        Ok::<_, Error>((result, signal))
    })?;
    let run = result?;
    if let Some(e) = &run.record_error {
        printer.note(&format!("the run record could not be kept up to date: {e}"));
    }
    match output::structured(&run.record, format)? {
        Some(text) => printer.data(&text),
        None => printer.data(&format!("{}\n", run.id)),
    }
    Ok(match run.outcome.status {
        RunStatus::Succeeded => 0,
        // 128 + the signal, as shells report it; Ctrl-C when we cannot tell.
        RunStatus::Cancelled => signal
            .and_then(|s| u8::try_from(128 + s).ok())
            .unwrap_or(130),
        _ => crate::error::EXIT_FAILED,
    })
}
