//! `run_local`: one local run end to end — a run folder, the executor, and the run record kept
//! in step with the events (saved on every job state change, before the event is passed on,
//! so whoever sees an event can already read it in `run.json`).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use tokio::sync::{mpsc, watch};

use super::executor::{ExecError, ExecOptions, RunOutcome, execute};
use super::record::{self, RecordError, RunRecord};
use super::{Plan, rfc3339};
use crate::events::RunEvent;

/// Why a local run could not be carried out. Failed jobs are not errors (see `RunOutcome`).
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("cannot create the run folder {}: {source}", path.display())]
    RunDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Exec(#[from] ExecError),
}

/// A finished local run.
#[derive(Debug)]
pub struct LocalRun {
    pub id: String,
    /// `<runs_dir>/<id>`: holds `run.json` and `logs/`.
    pub dir: PathBuf,
    /// The record as last written.
    pub record: RunRecord,
    pub outcome: RunOutcome,
    /// The first failure to update `run.json` during the run, if any. The run itself went on:
    /// losing the record is no reason to kill a user's jobs.
    pub record_error: Option<RecordError>,
}

/// Runs `plan` under a new run folder in `runs_dir`, forwarding every event to `events`
/// (`RunStarted` carries the run id). Returns once every job is terminal.
pub async fn run_local(
    plan: &Plan,
    options: &ExecOptions,
    runs_dir: &Path,
    events: mpsc::UnboundedSender<RunEvent>,
    cancel: watch::Receiver<bool>,
) -> Result<LocalRun, LocalError> {
    let id = record::new_run_id(&plan.name, SystemTime::now());
    let dir = runs_dir.join(&id);
    std::fs::create_dir_all(&dir).map_err(|source| LocalError::RunDir {
        path: dir.clone(),
        source,
    })?;
    let log_dir = dir.join("logs");
    let record = RunRecord::new(id.clone(), plan, options.workdir.clone(), &log_dir);
    record.save(&dir)?;
    let (tx, rx) = mpsc::unbounded_channel();
    let keeper = RecordKeeper {
        record,
        dir: dir.clone(),
        id: id.clone(),
        error: None,
    };
    let (outcome, keeper) = tokio::join!(
        execute(plan, options, &log_dir, tx, cancel),
        keeper.follow(rx, events),
    );
    let outcome = outcome?;
    Ok(LocalRun {
        id,
        dir,
        record: keeper.record,
        outcome,
        record_error: keeper.error,
    })
}

/// Applies events to the record and saves it when a state changed.
struct RecordKeeper {
    record: RunRecord,
    dir: PathBuf,
    id: String,
    error: Option<RecordError>,
}

impl RecordKeeper {
    async fn follow(
        mut self,
        mut rx: mpsc::UnboundedReceiver<RunEvent>,
        events: mpsc::UnboundedSender<RunEvent>,
    ) -> Self {
        while let Some(mut event) = rx.recv().await {
            if let RunEvent::RunStarted { run_id, .. } = &mut event {
                *run_id = Some(self.id.clone());
            }
            if self.apply(&event) {
                self.save().await;
            }
            // The receiver may be gone (a printer that quit); the run goes on regardless.
            let _ = events.send(event);
        }
        self
    }

    /// Updates the record; true when it changed in a way worth saving.
    fn apply(&mut self, event: &RunEvent) -> bool {
        let now = rfc3339::format(SystemTime::now());
        match event {
            RunEvent::JobStarted { job, attempt, .. } => {
                let Some(record) = self.record.job_mut(job) else {
                    return false;
                };
                record.phase = crate::events::JobPhase::Running;
                record.attempts = *attempt;
                record.started.get_or_insert(now);
                true
            }
            RunEvent::JobRetrying {
                job, exit, reason, ..
            } => {
                let Some(record) = self.record.job_mut(job) else {
                    return false;
                };
                record.exit = *exit;
                record.reason = Some(reason.clone());
                true
            }
            RunEvent::JobFinished {
                job,
                phase,
                attempts,
                exit,
                reason,
                ..
            } => {
                let Some(record) = self.record.job_mut(job) else {
                    return false;
                };
                record.phase = *phase;
                record.attempts = *attempts;
                record.exit = *exit;
                record.reason.clone_from(reason);
                record.finished = Some(now);
                true
            }
            RunEvent::RunFinished { status, .. } => {
                self.record.status = *status;
                self.record.finished = Some(now);
                true
            }
            RunEvent::RunStarted { .. }
            | RunEvent::JobOutput { .. }
            | RunEvent::JobProgress { .. } => false,
        }
    }

    async fn save(&mut self) {
        let record = self.record.clone();
        let dir = self.dir.clone();
        // fsync can take milliseconds; keep it off the async workers.
        let result = tokio::task::spawn_blocking(move || record.save(&dir)).await;
        let result = result.unwrap_or_else(|e| {
            Err(RecordError::Write {
                path: self.dir.join(record::RECORD_FILE),
                source: std::io::Error::other(e),
            })
        });
        if let Err(e) = result {
            self.error.get_or_insert(e);
        }
    }
}

/// A cancel handle that turns true on the first SIGINT (Ctrl-C) or SIGTERM. Job processes
/// run in their own process groups, so a terminal's Ctrl-C reaches only this process, and
/// the executor stops the jobs itself (SIGTERM, then SIGKILL after the grace period).
pub fn cancel_on_signals() -> std::io::Result<watch::Receiver<bool>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        let _ = tx.send(true);
        // Keep the sender alive so receivers do not see "closed" instead of "cancelled".
        tx.closed().await;
    });
    Ok(rx)
}
