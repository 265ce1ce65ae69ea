//! `run_local`: one local run end to end — a run folder, the executor, and the run record kept
//! in step with the events. The record is saved (atomically) at most every `SAVE_INTERVAL`
//! while jobs change state, and always at the end: a run of thousands of one-millisecond jobs
//! must not spend its time rewriting and fsyncing `run.json`, and a reader is never more than
//! `SAVE_INTERVAL` behind.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, watch};

use super::Plan;
use super::executor::{ExecError, ExecOptions, RunOutcome, execute};
use super::record::{self, RecordError, RunRecord};
use super::signals::Cancel;
use crate::events::RunEvent;
use crate::time;

/// Why a local run could not be carried out. Failed jobs are not errors (see `RunOutcome`).
#[derive(Debug, thiserror::Error)]
pub(crate) enum LocalError {
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
pub(crate) struct LocalRun {
    pub id: String,
    /// The record as last written.
    pub record: RunRecord,
    pub outcome: RunOutcome,
    /// The first failure to update `run.json` during the run, if any. The run itself went on:
    /// losing the record is no reason to kill a user's jobs.
    pub record_error: Option<RecordError>,
}

/// A run folder made for a plan, with its first record saved: nothing has started yet.
pub(crate) struct NewRun {
    pub(crate) id: String,
    dir: PathBuf,
    record: RunRecord,
}

/// Makes a new run folder under `runs_dir` (created if missing) and saves its first record.
/// Done before anything is said or started, so a runs folder that cannot be written (a file
/// in the way, no permission) is bad input, not a failed run.
pub(crate) fn create_run(
    plan: &Plan,
    workdir: &Path,
    runs_dir: &Path,
    retry_of: Option<&str>,
) -> Result<NewRun, LocalError> {
    std::fs::create_dir_all(runs_dir).map_err(|source| LocalError::RunDir {
        path: runs_dir.to_owned(),
        source,
    })?;
    // Ids are unique by time and a random suffix; `create_dir` (not `create_dir_all`) makes
    // sure a collision never reuses another run's folder.
    let mut attempts = 0;
    let (id, dir) = loop {
        let id = record::new_run_id(&plan.name, SystemTime::now(), &time::local_zone());
        let dir = runs_dir.join(&id);
        match std::fs::create_dir(&dir) {
            Ok(()) => break (id, dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempts < 16 => {
                attempts += 1;
            }
            Err(source) => return Err(LocalError::RunDir { path: dir, source }),
        }
    };
    let record = RunRecord::new(
        id.clone(),
        plan,
        workdir.to_owned(),
        &dir.join("logs"),
        retry_of,
    );
    if let Err(e) = record.save(&dir) {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e.into());
    }
    Ok(NewRun { id, dir, record })
}

/// Runs `plan` in the run folder `run` made for it, forwarding every event to `events`
/// (`RunStarted` carries the run id). Returns once every job is terminal.
pub(crate) async fn run_local(
    run: NewRun,
    plan: &Plan,
    options: &ExecOptions,
    events: mpsc::UnboundedSender<RunEvent>,
    cancel: watch::Receiver<Cancel>,
) -> Result<LocalRun, LocalError> {
    let NewRun { id, dir, record } = run;
    let log_dir = dir.join("logs");
    let (tx, rx) = mpsc::unbounded_channel();
    let keeper = RecordKeeper {
        index: record
            .jobs
            .iter()
            .enumerate()
            .map(|(i, j)| (j.name.clone(), i))
            .collect(),
        record,
        dir: dir.clone(),
        id: id.clone(),
        error: None,
        dirty: false,
        last_save: tokio::time::Instant::now(),
    };
    let (outcome, keeper) = tokio::join!(
        execute(plan, options, &log_dir, tx, cancel),
        keeper.follow(rx, events),
    );
    let outcome = outcome?;
    Ok(LocalRun {
        id,
        record: keeper.record,
        outcome,
        record_error: keeper.error,
    })
}

/// Longest time a state change may wait before `run.json` is rewritten.
const SAVE_INTERVAL: Duration = Duration::from_millis(250);

/// Applies events to the record and saves it when a state changed.
struct RecordKeeper {
    record: RunRecord,
    /// Job name → index in `record.jobs` (runs can have thousands of jobs).
    index: HashMap<String, usize>,
    dir: PathBuf,
    id: String,
    error: Option<RecordError>,
    /// A change not yet saved.
    dirty: bool,
    last_save: tokio::time::Instant,
}

impl RecordKeeper {
    async fn follow(
        mut self,
        mut rx: mpsc::UnboundedReceiver<RunEvent>,
        events: mpsc::UnboundedSender<RunEvent>,
    ) -> Self {
        loop {
            let next = if self.dirty {
                let deadline = self.last_save + SAVE_INTERVAL;
                tokio::select! {
                    next = rx.recv() => next,
                    () = tokio::time::sleep_until(deadline) => {
                        self.save().await;
                        continue;
                    }
                }
            } else {
                rx.recv().await
            };
            let Some(mut event) = next else { break };
            if let RunEvent::RunStarted { run_id, .. } = &mut event {
                *run_id = Some(self.id.clone());
            }
            self.dirty |= self.apply(&event);
            let finished = matches!(event, RunEvent::RunFinished { .. });
            if self.dirty && (finished || self.last_save.elapsed() >= SAVE_INTERVAL) {
                self.save().await;
            }
            // The receiver may be gone (a printer that quit); the run goes on regardless.
            let _ = events.send(event);
        }
        if self.dirty {
            self.save().await;
        }
        self
    }

    fn job_mut(&mut self, name: &str) -> Option<&mut crate::local::record::JobRecord> {
        let i = *self.index.get(name)?;
        self.record.jobs.get_mut(i)
    }

    /// Updates the record; true when it changed in a way worth saving.
    fn apply(&mut self, event: &RunEvent) -> bool {
        let now = time::format(SystemTime::now());
        match event {
            RunEvent::JobStarted { job, attempt, .. } => {
                let Some(record) = self.job_mut(job) else {
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
                let Some(record) = self.job_mut(job) else {
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
                log,
                ..
            } => {
                let Some(record) = self.job_mut(job) else {
                    return false;
                };
                // A job a retry kept points at the earlier run's log.
                if *attempts == 0
                    && let Some(log) = log
                {
                    record.log.clone_from(log);
                }
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
            | RunEvent::JobProgress { .. }
            | RunEvent::JobLogTail { .. }
            | RunEvent::Stopping { .. } => false,
        }
    }

    async fn save(&mut self) {
        self.dirty = false;
        self.last_save = tokio::time::Instant::now();
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
