//! Runs a `Plan` as processes: the scheduler decides what starts, each job runs as a tokio task
//! (attempts, backoff, timeout, cancellation), and everything observable is sent as
//! `RunEvent`s. The executor never prints and never touches the run record (see `run`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::process;
use super::scheduler::{FailurePolicy, Scheduler, SkipCause};
use super::signals::Cancel;
use super::{Plan, PlannedJob};
use crate::events::{Exit, FAILURE_TAIL_LINES, JobPhase, RunEvent, RunStatus};

/// How long to keep reading a finished attempt's pipes when something outside its process
/// group still holds them open.
const DRAIN: Duration = Duration::from_secs(2);

/// Exponential backoff between attempts: `base`, `2·base`, `4·base`… capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The wait after failed attempt number `attempt` (1-based).
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.base.saturating_mul(factor).min(self.max)
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

/// How long a cancelled or timed-out job gets between SIGTERM and SIGKILL, unless the config's
/// `kill_grace_period` says otherwise.
pub(crate) const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(10);

/// How to run: resolved by the caller from flags and the workflow's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExecOptions {
    /// Where every job runs.
    pub workdir: PathBuf,
    /// Most jobs running at once (already capped by the workflow's `parallelism`).
    pub parallelism: usize,
    pub policy: FailurePolicy,
    /// Send every output line as a `JobOutput` event.
    pub stream_output: bool,
    /// Between SIGTERM and SIGKILL when a job times out or the run is cancelled.
    pub kill_grace: Duration,
    pub backoff: Backoff,
    /// Least time between two `JobProgress` events of one job.
    pub progress_interval: Duration,
}

impl ExecOptions {
    /// Defaults: one job per CPU, fail-fast, 10 s kill grace, 1 s backoff base, 100 ms progress.
    pub(crate) fn new(workdir: PathBuf) -> Self {
        ExecOptions {
            workdir,
            parallelism: std::thread::available_parallelism().map_or(1, usize::from),
            policy: FailurePolicy::FailFast,
            stream_output: false,
            kill_grace: DEFAULT_KILL_GRACE,
            backoff: Backoff::default(),
            progress_interval: Duration::from_millis(100),
        }
    }
}

/// How one job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobResult {
    pub name: String,
    pub phase: JobPhase,
    /// Attempts started; 0 for a Skipped job.
    pub attempts: u32,
    /// How the last attempt's process ended (`None` if it never ran or could not start).
    pub exit: Option<Exit>,
    pub reason: Option<String>,
    pub started: Option<SystemTime>,
    pub finished: Option<SystemTime>,
    pub log: PathBuf,
}

/// How the whole run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunOutcome {
    /// Succeeded, Failed or Cancelled.
    pub status: RunStatus,
    /// In plan order.
    pub jobs: Vec<JobResult>,
    pub duration: Duration,
}

/// Why a run could not start at all. Job failures are not errors: they are in the outcome.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExecError {
    #[error("cannot create the log folder {}: {source}", path.display())]
    LogDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What every job task shares.
struct Context {
    options: ExecOptions,
    events: mpsc::UnboundedSender<RunEvent>,
}

/// Runs `plan` to the end (or until `cancel` turns true), writing `<log_dir>/<job>.log` for
/// each job. Emits `RunStarted` first and `RunFinished` last (with `run_id: None`; `run_local`
/// fills it in).
pub(crate) async fn execute(
    plan: &Plan,
    options: &ExecOptions,
    log_dir: &Path,
    events: mpsc::UnboundedSender<RunEvent>,
    mut cancel: watch::Receiver<Cancel>,
) -> Result<RunOutcome, ExecError> {
    tokio::fs::create_dir_all(log_dir)
        .await
        .map_err(|source| ExecError::LogDir {
            path: log_dir.to_owned(),
            source,
        })?;
    process::become_subreaper();
    let start = Instant::now();
    let _ = events.send(RunEvent::RunStarted {
        run_id: None,
        jobs: plan.job_names(),
    });
    let context = Arc::new(Context {
        options: options.clone(),
        events: events.clone(),
    });
    let mut scheduler = Scheduler::new(plan.dependencies(), options.policy, options.parallelism);
    let mut results: Vec<JobResult> = plan
        .jobs
        .iter()
        .map(|job| JobResult {
            name: job.name.clone(),
            phase: JobPhase::Pending,
            attempts: 0,
            exit: None,
            reason: None,
            started: None,
            finished: None,
            log: log_dir.join(format!("{}.log", job.name)),
        })
        .collect();
    settle_left_out(plan, &mut scheduler, &mut results, &events);
    let mut running: JoinSet<JobResult> = JoinSet::new();
    let mut task_of: HashMap<tokio::task::Id, usize> = HashMap::new();
    let mut stop = Stop::default();
    loop {
        stop.notice(
            *cancel.borrow(),
            &mut scheduler,
            &mut results,
            &events,
            &running,
            options,
        );
        for index in scheduler.start_ready() {
            let job = plan.jobs[index].clone();
            let log = results[index].log.clone();
            let handle = running.spawn(run_job(job, log, context.clone(), cancel.clone()));
            task_of.insert(handle.id(), index);
        }
        if scheduler.is_done() || running.is_empty() {
            break;
        }
        tokio::select! {
            Some(joined) = running.join_next_with_id() => {
                let (id, result) = match joined {
                    Ok((id, result)) => (id, Some(result)),
                    Err(e) => (e.id(), None),
                };
                let Some(index) = task_of.remove(&id) else { continue };
                let result = result.unwrap_or_else(|| panicked(&results[index]));
                let _ = events.send(finished_event(&result));
                if result.phase == JobPhase::Failed
                    && let Some(lines) = log_tail(&result.log, FAILURE_TAIL_LINES)
                {
                    let _ = events.send(RunEvent::JobLogTail {
                        job: result.name.clone(),
                        lines,
                    });
                }
                let skipped = scheduler.finish(index, result.phase);
                results[index] = result;
                report_skipped(&skipped, &mut results, &events);
            }
            // The next step of a cancellation: the stop, then a second Ctrl-C.
            () = process::cancelled(&mut cancel, stop.next()), if !stop.killing => {}
            else => break,
        }
    }
    let status = if stop.cancelled {
        RunStatus::Cancelled
    } else if results
        .iter()
        .zip(&plan.jobs)
        .filter(|(_, job)| job.left_out.is_none())
        .all(|(r, _)| r.phase == JobPhase::Succeeded)
    {
        RunStatus::Succeeded
    } else {
        RunStatus::Failed
    };
    let duration = start.elapsed();
    let _ = events.send(RunEvent::RunFinished { status, duration });
    Ok(RunOutcome {
        status,
        jobs: results,
        duration,
    })
}

/// Jobs this run leaves out (`--from`, `--only`, `retry`) are done before anything starts:
/// recorded as the plan says, and what waits for them may start.
fn settle_left_out(
    plan: &Plan,
    scheduler: &mut Scheduler,
    results: &mut [JobResult],
    events: &mpsc::UnboundedSender<RunEvent>,
) {
    for (index, job) in plan.jobs.iter().enumerate() {
        let Some(left_out) = &job.left_out else {
            continue;
        };
        scheduler.settle(index);
        let result = &mut results[index];
        result.phase = left_out.phase;
        result.reason = Some(left_out.reason.clone());
        if let Some(log) = &left_out.log {
            result.log.clone_from(log);
        }
        let _ = events.send(RunEvent::JobFinished {
            job: result.name.clone(),
            phase: result.phase,
            attempts: 0,
            exit: None,
            reason: result.reason.clone(),
            duration: Duration::ZERO,
            log: left_out.log.clone(),
        });
    }
}

/// The last `lines` lines of a log file (invalid UTF-8 replaced), reading only its end: a
/// failed job's log may be gigabytes. `None` when it cannot be read or is empty.
fn log_tail(path: &Path, lines: usize) -> Option<Vec<String>> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    const WINDOW: u64 = 64 * 1024;
    let mut file = std::fs::File::open(path).ok()?;
    let metadata = file.metadata().ok()?;
    // Only a regular file has an end to read back from (a device may never end).
    if !metadata.is_file() {
        return None;
    }
    file.seek(SeekFrom::Start(metadata.len().saturating_sub(WINDOW)))
        .ok()?;
    let mut bytes = Vec::new();
    file.take(WINDOW).read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let mut tail: Vec<String> = text.lines().rev().take(lines).map(str::to_owned).collect();
    tail.reverse();
    (!tail.is_empty()).then_some(tail)
}

/// How far the run's cancellation has got, so each step is acted on (and told) once.
#[derive(Default)]
struct Stop {
    cancelled: bool,
    killing: bool,
}

impl Stop {
    /// The cancel level to wait for next.
    fn next(&self) -> Cancel {
        if self.cancelled {
            Cancel::Now
        } else {
            Cancel::Gracefully
        }
    }

    /// Acts on `level`: on the first stop nothing new starts (and pending jobs are skipped);
    /// the view is told how running jobs are stopped, and when they are killed at once.
    fn notice(
        &mut self,
        level: Cancel,
        scheduler: &mut Scheduler,
        results: &mut [JobResult],
        events: &mpsc::UnboundedSender<RunEvent>,
        running: &JoinSet<JobResult>,
        options: &ExecOptions,
    ) {
        if !self.cancelled && level >= Cancel::Gracefully {
            self.cancelled = true;
            let skipped = scheduler.cancel();
            report_skipped(&skipped, results, events);
            if !running.is_empty() {
                let _ = events.send(RunEvent::Stopping {
                    jobs: running.len(),
                    grace: Some(options.kill_grace),
                });
            }
        }
        if self.cancelled && !self.killing && level == Cancel::Now {
            self.killing = true;
            if !running.is_empty() {
                let _ = events.send(RunEvent::Stopping {
                    jobs: running.len(),
                    grace: None,
                });
            }
        }
    }
}

/// A job task that panicked (a bug): reported as Failed so the run still ends cleanly.
fn panicked(pending: &JobResult) -> JobResult {
    JobResult {
        phase: JobPhase::Failed,
        reason: Some("internal error: the job's task panicked".to_owned()),
        finished: Some(SystemTime::now()),
        ..pending.clone()
    }
}

fn finished_event(result: &JobResult) -> RunEvent {
    let duration = match (result.started, result.finished) {
        (Some(s), Some(f)) => f.duration_since(s).unwrap_or_default(),
        _ => Duration::ZERO,
    };
    RunEvent::JobFinished {
        job: result.name.clone(),
        phase: result.phase,
        attempts: result.attempts,
        exit: result.exit,
        reason: result.reason.clone(),
        duration,
        log: (result.attempts > 0).then(|| result.log.clone()),
    }
}

fn report_skipped(
    skipped: &[(usize, SkipCause)],
    results: &mut [JobResult],
    events: &mpsc::UnboundedSender<RunEvent>,
) {
    for &(index, cause) in skipped {
        let reason = match cause {
            SkipCause::Dependency(d) => {
                let verb = match results[d].phase {
                    JobPhase::Skipped => "was skipped",
                    JobPhase::Cancelled => "was cancelled",
                    _ => "failed",
                };
                format!("dependency `{}` {verb}", results[d].name)
            }
            SkipCause::FailFast(f) => format!(
                "not started: stopping after `{}` failed (--keep-going runs it)",
                results[f].name
            ),
            SkipCause::Cancelled => "not started: the run was cancelled".to_owned(),
        };
        let result = &mut results[index];
        result.phase = JobPhase::Skipped;
        result.reason = Some(reason);
        result.finished = Some(SystemTime::now());
        let _ = events.send(RunEvent::JobFinished {
            job: result.name.clone(),
            phase: JobPhase::Skipped,
            attempts: 0,
            exit: None,
            reason: result.reason.clone(),
            duration: Duration::ZERO,
            log: None,
        });
    }
}

/// How one attempt ended.
enum Attempt {
    Succeeded,
    Failed { exit: Option<Exit>, reason: String },
    Cancelled { exit: Option<Exit> },
}

/// All attempts of one job, with backoff between them.
async fn run_job(
    job: PlannedJob,
    log: PathBuf,
    context: Arc<Context>,
    mut cancel: watch::Receiver<Cancel>,
) -> JobResult {
    let max_attempts = job.retries.saturating_add(1);
    let mut result = JobResult {
        name: job.name.clone(),
        phase: JobPhase::Running,
        attempts: 0,
        exit: None,
        reason: None,
        started: Some(SystemTime::now()),
        finished: None,
        log,
    };
    loop {
        result.attempts += 1;
        let _ = context.events.send(RunEvent::JobStarted {
            job: job.name.clone(),
            attempt: result.attempts,
            max_attempts,
            log: Some(result.log.clone()),
        });
        let attempt = attempt::run(&job, result.attempts, &result.log, &context, &mut cancel).await;
        match attempt {
            Attempt::Succeeded => {
                result.phase = JobPhase::Succeeded;
                result.exit = Some(Exit::Code(0));
                break;
            }
            Attempt::Cancelled { exit } => {
                result.phase = JobPhase::Cancelled;
                result.exit = exit;
                result.reason = Some("cancelled".to_owned());
                break;
            }
            Attempt::Failed { exit, reason } => {
                result.exit = exit;
                result.reason = Some(reason.clone());
                if result.attempts >= max_attempts {
                    result.phase = JobPhase::Failed;
                    break;
                }
                let delay = context.options.backoff.delay(result.attempts);
                let _ = context.events.send(RunEvent::JobRetrying {
                    job: job.name.clone(),
                    attempt: result.attempts,
                    exit,
                    reason,
                    delay,
                });
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = process::cancelled(&mut cancel, Cancel::Gracefully) => {
                        result.phase = JobPhase::Cancelled;
                        result.reason = Some("cancelled while waiting to retry".to_owned());
                        break;
                    }
                }
            }
        }
    }
    result.finished = Some(SystemTime::now());
    result
}

mod attempt;

#[cfg(test)]
mod tests;
