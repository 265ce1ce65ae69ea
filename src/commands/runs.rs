//! `list`, `get`, `logs` and `delete` for local runs: the run records under the runs folder,
//! shown in the same formats as Argo runs (`-o wide|name|json|yaml`, `@latest`).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{cluster_delete, cluster_logs, cluster_runs};
use crate::cli::{DeleteArgs, GetArgs, HistoryArgs, ListArgs, LogsArgs, ResubmitArgs, RunRefArgs};
use crate::error::Error;
use crate::events::{JobPhase, RunStatus};
use crate::local::record::{self, RunRecord};
use crate::local::tail;
use crate::output::{self, OutputFormat};
use crate::printer::run_tables::{self, JobRow, RunRow};
use crate::printer::{Printer, prefix_lines, table};
use crate::settings::config_file::UserConfig;
use crate::time;

/// The config, when this command is about cluster runs (see `cluster::wants_cluster`).
fn cluster_config(history: &HistoryArgs) -> Result<Option<UserConfig>, Error> {
    let (_, config) = super::config::load_user_config()?;
    Ok(super::cluster::wants_cluster(history, &config).then_some(config))
}

fn runs_dir() -> Result<PathBuf, Error> {
    let cwd = std::env::current_dir().map_err(|source| Error::ReadInput {
        path: PathBuf::from("."),
        source,
    })?;
    let (_, config) = super::config::load_user_config()?;
    Ok(super::local_run::runs_dir(&config, &cwd))
}

/// The run named `name`; `@latest` is the newest.
fn find(runs_dir: &Path, name: &str) -> Result<RunRecord, Error> {
    if name == "@latest" {
        return record::list(runs_dir)?.into_iter().next().ok_or_else(|| {
            Error::usage(
                format!("there are no runs in {}", runs_dir.display()),
                "start one with jupyterflow run -c \"…\"",
            )
        });
    }
    let plain = !name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.');
    let dir = runs_dir.join(name);
    if plain && dir.join(record::RECORD_FILE).exists() {
        return Ok(record::load(&dir)?);
    }
    let known: Vec<String> = record::list(runs_dir)?
        .into_iter()
        .take(5)
        .map(|r| r.id)
        .collect();
    Err(Error::usage(
        format!("no run named `{name}` in {}", runs_dir.display()),
        if known.is_empty() {
            "there are no runs here yet; jupyterflow list shows them".to_owned()
        } else {
            format!("recent runs: {} (or @latest)", known.join(", "))
        },
    ))
}

fn since(rfc: &str) -> Option<Duration> {
    SystemTime::now().duration_since(time::parse(rfc)?).ok()
}

fn between(start: Option<&str>, end: Option<&str>) -> Option<Duration> {
    let start = time::parse(start?)?;
    let end = end.map_or(Some(SystemTime::now()), time::parse)?;
    end.duration_since(start).ok()
}

pub fn list(args: &ListArgs, printer: &mut Printer) -> Result<(), Error> {
    if let Some(config) = cluster_config(&args.history)? {
        return cluster_runs::list(args, &config, printer);
    }
    let format = match args.output.as_deref() {
        None => OutputFormat::Table,
        Some(text) => OutputFormat::parse(text)?,
    };
    let dir = runs_dir()?;
    let runs: Vec<RunRecord> = record::list(&dir)?
        .into_iter()
        .filter(|r| {
            let running = r.status == RunStatus::Running;
            !(args.running && !running || args.completed && running)
        })
        .collect();
    if let Some(text) = output::structured(&runs, &format)? {
        printer.data(&text);
        return Ok(());
    }
    if format == OutputFormat::Name {
        printer.data(&runs.iter().fold(String::new(), |mut out, r| {
            out.push_str(&r.id);
            out.push('\n');
            out
        }));
        return Ok(());
    }
    if runs.is_empty() {
        printer.status(&format!("no runs in {}", dir.display()));
        return Ok(());
    }
    let rows: Vec<RunRow> = runs
        .iter()
        .map(|r| RunRow {
            name: r.id.clone(),
            status: r.status.as_str().to_owned(),
            done: r.jobs.iter().filter(|j| j.phase.is_terminal()).count(),
            total: r.jobs.len(),
            age: since(&r.started),
            duration: between(Some(&r.started), r.finished.as_deref()),
            message: message(r),
            source: Some(r.source.text()),
        })
        .collect();
    printer.data(&run_tables::run_list(&rows, format == OutputFormat::Wide));
    Ok(())
}

/// What went wrong, for the MESSAGE column and `get`: the first job that failed or was
/// cancelled, or why an interrupted run stopped. Nothing to say about other runs.
fn message(run: &RunRecord) -> Option<String> {
    if run.status == RunStatus::Interrupted {
        return Some("the process running it is gone".to_owned());
    }
    run_tables::failure_summary(
        run.jobs
            .iter()
            .filter(|j| matches!(j.phase, JobPhase::Failed | JobPhase::Cancelled))
            .map(|j| {
                let why = j.reason.clone().or_else(|| j.exit.map(|e| e.to_string()));
                (
                    j.name.clone(),
                    why.unwrap_or_else(|| j.phase.as_str().to_lowercase()),
                )
            }),
    )
}

pub fn get(args: &GetArgs, printer: &mut Printer) -> Result<(), Error> {
    if let Some(config) = cluster_config(&args.history)? {
        return cluster_runs::get(args, &config, printer);
    }
    let format = match args.output.as_deref() {
        None => OutputFormat::Table,
        Some(text) => OutputFormat::parse(text)?,
    };
    let run = find(&runs_dir()?, &args.run)?;
    if let Some(text) = output::structured(&run, &format)? {
        printer.data(&text);
        return Ok(());
    }
    if format == OutputFormat::Name {
        printer.data(&format!("{}\n", run.id));
        return Ok(());
    }
    let mut fields = vec![
        ("Name", run.id.clone()),
        ("Status", run.status.as_str().to_owned()),
        ("Source", run.source.text()),
        ("Workdir", run.workdir.display().to_string()),
        ("Started", run.started.clone()),
        (
            "Duration",
            between(Some(&run.started), run.finished.as_deref())
                .map_or_else(|| "-".into(), table::duration),
        ),
    ];
    if let Some(message) = message(&run) {
        fields.push(("Message", message));
    }
    let jobs: Vec<JobRow> = run
        .jobs
        .iter()
        .map(|j| JobRow {
            name: j.name.clone(),
            phase: j.phase,
            started: j.started.as_deref().and_then(time::parse),
            duration: between(j.started.as_deref(), j.finished.as_deref()),
            exit: j.exit,
            reason: j.reason.clone(),
        })
        .collect();
    printer.data(&run_tables::run_details(&fields, &jobs));
    Ok(())
}

/// Prints the logs of `run` (every job, or one job or task), each line prefixed with its job.
/// With `-f`, keeps printing new lines until the run is no longer running.
/// Returns the exit code (0; 1 when following a run that failed).
pub fn logs(args: &LogsArgs, printer: &mut Printer) -> Result<u8, Error> {
    if let Some(config) = cluster_config(&args.history)? {
        return cluster_logs::logs(args, &config, printer);
    }
    let dir = runs_dir()?;
    let run = find(&dir, &args.run)?;
    let jobs: Vec<(String, PathBuf)> = run
        .jobs
        .iter()
        .filter(|j| {
            args.job
                .as_ref()
                .is_none_or(|n| &j.name == n || &j.task == n)
        })
        .map(|j| (j.name.clone(), j.log.clone()))
        .collect();
    if jobs.is_empty() {
        let names: Vec<&str> = run.jobs.iter().map(|j| j.name.as_str()).collect();
        return Err(Error::usage(
            format!(
                "run {} has no job named `{}`",
                run.id,
                args.job.as_deref().unwrap_or("")
            ),
            format!("its jobs are: {}", names.join(", ")),
        ));
    }
    let status = tail::tail(&dir, run, &jobs, args.follow, |job, text| {
        printer.data(&prefix_lines(job, text));
    })?;
    Ok(match (args.follow, status) {
        (true, RunStatus::Failed | RunStatus::Cancelled | RunStatus::Interrupted) => {
            crate::error::EXIT_FAILED
        }
        _ => 0,
    })
}

/// `watch`: cluster runs only (a local run shows its progress where it was started).
pub fn watch(args: &RunRefArgs, printer: &mut Printer) -> Result<u8, Error> {
    match cluster_config(&args.history)? {
        Some(config) => cluster_runs::watch(args, &config, printer),
        None => Err(cluster_runs::cluster_only("watch")),
    }
}

/// `stop` / `terminate`: cluster runs only (Ctrl-C stops a local run).
pub fn shutdown(args: &RunRefArgs, strategy: &str, printer: &mut Printer) -> Result<(), Error> {
    match cluster_config(&args.history)? {
        Some(config) => cluster_runs::shutdown(args, strategy, &config, printer),
        None => Err(cluster_runs::cluster_only(&strategy.to_ascii_lowercase())),
    }
}

pub fn resubmit(args: &ResubmitArgs, printer: &mut Printer) -> Result<u8, Error> {
    match cluster_config(&args.history)? {
        Some(config) => cluster_runs::resubmit(args, &config, printer),
        None => Err(cluster_runs::cluster_only("resubmit")),
    }
}

pub fn delete(args: &DeleteArgs, printer: &mut Printer) -> Result<(), Error> {
    if let Some(config) = cluster_config(&args.history)? {
        return cluster_delete::delete(args, &config, printer);
    }
    // Refuse before deleting anything: `--cron` next to run names must not half-happen.
    if let Some(cron) = args.cron.first() {
        return Err(Error::usage(
            format!(
                "--cron {cron}: scheduled pipelines (CronWorkflows) live on the cluster, and no cluster is in use here"
            ),
            "run it inside the notebook pod, or pass -n/--context; local runs have no schedules",
        ));
    }
    let older_than = cluster_delete::older_than(args)?;
    let dir = runs_dir()?;
    // Resolve and check every name first: a typo or a live run in the third name must not
    // leave two runs deleted.
    let mut ids: Vec<String> = Vec::new();
    for name in &args.runs {
        let run = find(&dir, name)?;
        if run.status == RunStatus::Running {
            return Err(record::RecordError::StillRunning {
                id: run.id,
                pid: run.pid,
            }
            .into());
        }
        ids.push(run.id);
    }
    if args.completed || older_than.is_some() {
        let now = SystemTime::now();
        ids.extend(
            record::list(&dir)?
                .into_iter()
                .filter(|r| {
                    r.status != RunStatus::Running
                        && older_than.is_none_or(|age| {
                            ended(r)
                                .and_then(|at| now.duration_since(at).ok())
                                .is_some_and(|ago| ago >= age)
                        })
                })
                .map(|r| r.id),
        );
    }
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    if ids.is_empty() {
        printer.status("no runs matched; nothing deleted");
    }
    for id in ids {
        record::delete(&dir, &id)?;
        printer.data(&format!("deleted {id}\n"));
    }
    Ok(())
}

/// When a finished run ended: its finish time, or for a run whose process died (no finish
/// time) the last time anything in it happened.
fn ended(run: &RunRecord) -> Option<SystemTime> {
    if let Some(finished) = &run.finished {
        return time::parse(finished);
    }
    std::iter::once(Some(&run.started))
        .chain(
            run.jobs
                .iter()
                .flat_map(|j| [j.started.as_ref(), j.finished.as_ref()]),
        )
        .flatten()
        .filter_map(|t| time::parse(t))
        .max()
}
