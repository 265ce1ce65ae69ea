//! `jupyterflow logs RUN [JOB] [-f]`: job output, every line prefixed with its job; with `-f`,
//! new output until the run ends (exit 1 when it failed). With `--events`, each line is a
//! `job_output` JSON line instead. A cluster run whose pods or Workflow are gone is read from
//! its run folder on the shared volume.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::argo_session::{resolve_or_volume, with_cluster};
use super::history::{find_local, readable};
use super::volume::{self, Gone};
use crate::argo::ArgoKind;
use crate::argo::view::WorkflowView;
use crate::cluster::ClusterError;
use crate::cluster::logs::{self, LogPiece, Selection};
use crate::error::{self, Error};
use crate::events::{RunEvent, RunStatus, Stream};
use crate::local::record::RunRecord;
use crate::local::tail::{self, TailPiece};
use crate::printer::{Printer, events, prefix_bytes, prefix_lines};
use crate::settings::{LogsSettings, Runs, Session};

/// Returns the exit code: 0; 1 when following a run that failed or when output was lost.
pub(super) fn logs(logs: &LogsSettings, cwd: &Path, printer: &mut Printer) -> Result<u8, Error> {
    match &logs.runs {
        Runs::Local { runs_dir } => {
            let (name, dir, run) = readable(find_local(runs_dir, &logs.run)?)?;
            let events = events::Writer::new(events::Context::local(cwd));
            run_folder(logs, &name, &dir, run, logs.follow, events, printer)
        }
        Runs::Argo(session) => cluster(logs, session, cwd, printer),
    }
}

/// The logs kept in a run folder: a local run's, or a cluster run's on the shared volume.
fn run_folder(
    logs: &LogsSettings,
    name: &str,
    dir: &Path,
    run: RunRecord,
    follow: bool,
    mut events: events::Writer,
    printer: &mut Printer,
) -> Result<u8, Error> {
    let jobs: Vec<(String, PathBuf)> = run
        .jobs
        .iter()
        .filter(|j| {
            logs.job
                .as_ref()
                .is_none_or(|n| &j.name == n || &j.task == n)
        })
        .map(|j| (j.name.clone(), j.log.clone()))
        .collect();
    if jobs.is_empty() {
        let names: Vec<&str> = run.jobs.iter().map(|j| j.name.as_str()).collect();
        return Err(Error::usage(
            format!(
                "run {name} has no job named `{}`",
                logs.job.as_deref().unwrap_or("")
            ),
            format!("its jobs are: {}", names.join(", ")),
        ));
    }
    let mut missing = 0;
    let status = tail::tail(dir, run, &jobs, follow, |piece| match piece {
        TailPiece::Output { job, bytes } if logs.events => {
            output_events(printer, &mut events, &job, &String::from_utf8_lossy(&bytes));
        }
        TailPiece::Output { job, bytes } => printer.data_bytes(&prefix_bytes(&job, &bytes)),
        TailPiece::Missing { job, path } => {
            missing += 1;
            printer.note(&format!(
                "{job}: its log {} is missing (deleted, or the run folder was moved without it)",
                path.display()
            ));
        }
    })?;
    Ok(match (follow, status) {
        _ if missing > 0 => error::EXIT_FAILED,
        (true, RunStatus::Failed | RunStatus::Cancelled | RunStatus::Interrupted) => {
            error::EXIT_FAILED
        }
        _ => 0,
    })
}

/// Where a cluster run's run folder on the shared volume is read from, once its pods or its
/// Workflow are gone.
struct Volume<'a> {
    session: &'a Session,
    logs: &'a LogsSettings,
    /// The run's name.
    name: &'a str,
    events: events::Writer,
}

impl Volume<'_> {
    /// The run's logs from its run folder, saying so first, in place of `error` (what the
    /// cluster said), which stands when there is no run folder. Nothing there is still being
    /// written (the run is over), so nothing is followed.
    fn instead_of(
        self,
        error: ClusterError,
        gone: Gone,
        printer: &mut Printer,
    ) -> Result<u8, Error> {
        let (logs, name) = (self.logs, self.name);
        let Some((dir, run)) = volume::find(&self.session.run_folders, name, gone)? else {
            return Err(error.into());
        };
        printer.status(gone.source_line());
        let status = run.status;
        let code = run_folder(logs, name, &dir, run, false, self.events, printer)?;
        // With -f the exit says how the run ended, as when following its pods.
        Ok(if logs.follow && code == 0 {
            error::exit_for_run(status)
        } else {
            code
        })
    }
}

fn cluster(
    logs: &LogsSettings,
    session: &Session,
    cwd: &Path,
    printer: &mut Printer,
) -> Result<u8, Error> {
    with_cluster(session, printer, async |cluster, printer| {
        let name = resolve_or_volume(cluster, session, &logs.run, printer).await?;
        let volume = Volume {
            session,
            logs,
            name: &name,
            events: events::Writer::new(events::Context::argo(cwd, cluster.namespace(), None)),
        };
        let object = match cluster.get(ArgoKind::Workflow, &name).await {
            Ok(object) => object,
            Err(e @ ClusterError::NotFound { .. }) => {
                return volume.instead_of(e, Gone::Workflow, printer);
            }
            Err(e) => return Err(e.into()),
        };
        let view = WorkflowView::from_json(&object);
        if let Some(job) = &logs.job {
            let started = view.jobs.iter().any(|j| &j.name == job || &j.task == job);
            // With -f a job that has not started yet is worth waiting for.
            let planned = view.tasks.iter().any(|t| &t.name == job);
            if !(started || logs.follow && planned) {
                let mut names: Vec<&str> = view.jobs.iter().map(|j| j.name.as_str()).collect();
                names.extend(view.unstarted_tasks().map(|t| t.name.as_str()));
                return Err(Error::usage(
                    format!("run {name} has no job named `{job}`"),
                    format!("its jobs are: {}", names.join(", ")),
                ));
            }
        }
        let selection = Selection(logs.job.as_deref());
        let verbose = session.verbose;
        let mut events = events::Writer::new(events::Context::argo(cwd, cluster.namespace(), None));
        let show = |piece: LogPiece| match piece {
            LogPiece::Output { job, text } if logs.events => {
                output_events(printer, &mut events, &job, &text);
            }
            LogPiece::Output { job, text } => printer.data(&prefix_lines(&job, &text)),
            LogPiece::Lost(note) => printer.note(&note),
            LogPiece::NoPodsYet(status) => printer.status(&status),
            LogPiece::Notes(notes) if verbose => notes.iter().for_each(|n| printer.note(n)),
            LogPiece::Notes(_) => {}
        };
        if logs.follow {
            let followed = match logs::follow(cluster, &name, object, selection, show).await {
                Ok(followed) => followed,
                // The run is over and Argo removed its pods: nothing left to follow.
                Err(e @ ClusterError::PodsGone { .. }) => {
                    return volume.instead_of(e, Gone::Pods, printer);
                }
                Err(e) => return Err(e.into()),
            };
            return Ok(if followed.broken == 0 {
                error::exit_for_run(followed.status)
            } else {
                error::EXIT_FAILED
            });
        }
        let unreadable = match logs::read(cluster, &name, &view, selection, show).await {
            Ok(unreadable) => unreadable,
            Err(e @ ClusterError::PodsGone { .. }) => {
                return volume.instead_of(e, Gone::Pods, printer);
            }
            Err(e) => return Err(e.into()),
        };
        Ok(if unreadable == 0 {
            0
        } else {
            error::EXIT_FAILED
        })
    })
}

/// `--events`: each line of `text` as a `job_output` JSON line. A log keeps both pipes in one.
fn output_events(printer: &mut Printer, events: &mut events::Writer, job: &str, text: &str) {
    for line in text.lines() {
        let event = RunEvent::JobOutput {
            job: job.to_owned(),
            stream: Stream::Merged,
            line: line.to_owned(),
        };
        printer.data(&events.line(&event, SystemTime::now()));
    }
}
