//! What happens during a run, as data. Engines (the local executor, later the Argo watch) never
//! print: they send `RunEvent`s, and one printer turns them into the terminal view, so both
//! backends look the same and the engines stay testable.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where a job is in its life. `Succeeded`, `Failed`, `Skipped` and `Cancelled` are terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) enum JobPhase {
    /// Waiting for its dependencies or for a free parallelism slot.
    Pending,
    /// An attempt is running, or it waits for the backoff before the next attempt.
    Running,
    Succeeded,
    /// Its last attempt failed (non-zero exit, signal, timeout, or could not be started).
    Failed,
    /// Never started: a dependency failed or was skipped, fail-fast stopped new starts, or
    /// the run was cancelled before its turn.
    Skipped,
    /// It was running when the run was cancelled, and was stopped.
    Cancelled,
    /// Its run's process died (killed, crashed) before it ended: it was stopped with it.
    Interrupted,
}

impl JobPhase {
    pub(crate) fn is_terminal(self) -> bool {
        !matches!(self, JobPhase::Pending | JobPhase::Running)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            JobPhase::Pending => "Pending",
            JobPhase::Running => "Running",
            JobPhase::Succeeded => "Succeeded",
            JobPhase::Failed => "Failed",
            JobPhase::Skipped => "Skipped",
            JobPhase::Cancelled => "Cancelled",
            JobPhase::Interrupted => "Interrupted",
        }
    }
}

impl fmt::Display for JobPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of a whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) enum RunStatus {
    Running,
    Succeeded,
    /// At least one job failed.
    Failed,
    /// Stopped by Ctrl-C / SIGTERM.
    Cancelled,
    /// The record says Running but the process that wrote it is gone (killed, crashed,
    /// machine restarted). Only ever reported by readers; never written.
    Interrupted,
}

impl RunStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "Running",
            RunStatus::Succeeded => "Succeeded",
            RunStatus::Failed => "Failed",
            RunStatus::Cancelled => "Cancelled",
            RunStatus::Interrupted => "Interrupted",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    pub(crate) fn success(self) -> bool {
        self == Exit::Code(0)
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Exit::Code(code) => write!(f, "exit code {code}"),
            Exit::Signal(signal) => match nix::sys::signal::Signal::try_from(signal) {
                Ok(name) => write!(f, "killed by signal {signal} ({name})"),
                Err(_) => write!(f, "killed by signal {signal}"),
            },
        }
    }
}

/// Which pipe a line of output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
    /// Both pipes in one, as the source keeps them: a pod's log, a job's log file.
    Merged,
}

/// How many of a failed job's last lines of output the summary shows.
pub(crate) const FAILURE_TAIL_LINES: usize = 20;

/// One thing that happened. Job events name the job by its unique job name (`Dag::jobs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunEvent {
    /// The run began; `jobs` are every job name in written order, all Pending.
    RunStarted {
        run_id: Option<String>,
        jobs: Vec<String>,
    },
    /// An attempt of `job` started (phase Running). `attempt` counts from 1; `max_attempts`
    /// is 1 + retries. `log` is the file its output goes to, when the backend keeps one.
    JobStarted {
        job: String,
        attempt: u32,
        max_attempts: u32,
        log: Option<PathBuf>,
    },
    /// A complete line of output (newline removed, invalid UTF-8 replaced). Sent only when
    /// following output (`--follow`); every line, in order per job.
    JobOutput {
        job: String,
        stream: Stream,
        line: String,
    },
    /// The latest line `job` printed, for a one-line live view. Throttled (at most one per
    /// job per `progress_interval`), so it may skip lines; never use it as the log.
    JobProgress { job: String, line: String },
    /// An attempt failed and another one follows after `delay`. The job stays Running.
    JobRetrying {
        job: String,
        attempt: u32,
        exit: Option<Exit>,
        reason: String,
        delay: Duration,
    },
    /// `job` reached a terminal phase. `attempts` is 0 for a job that never started (Skipped).
    /// `exit` is how the last attempt's process ended, `reason` a short explanation for
    /// anything but success ("exit code 2", "timed out after 90s", "dependency `prep`
    /// failed"), `duration` the time from the first start to the end.
    JobFinished {
        job: String,
        phase: JobPhase,
        attempts: u32,
        exit: Option<Exit>,
        reason: Option<String>,
        duration: Duration,
        log: Option<PathBuf>,
    },
    /// The run is being stopped (Ctrl-C, SIGTERM): `jobs` running jobs got SIGTERM and get
    /// SIGKILL after `grace`; `grace: None` when they are killed at once (a second Ctrl-C).
    Stopping {
        jobs: usize,
        grace: Option<Duration>,
    },
    /// The last lines of output of a job that failed, sent after its `JobFinished`, so the
    /// summary can show why without the user opening the log (both backends: the log file
    /// locally, the pod's log on the cluster). At most `FAILURE_TAIL_LINES`.
    JobLogTail { job: String, lines: Vec<String> },
    /// Every job is terminal. Always the last event of a run.
    RunFinished {
        status: RunStatus,
        duration: Duration,
    },
}

impl RunEvent {
    /// The job this event is about, if any.
    #[cfg(test)]
    pub(crate) fn job(&self) -> Option<&str> {
        match self {
            RunEvent::JobStarted { job, .. }
            | RunEvent::JobOutput { job, .. }
            | RunEvent::JobProgress { job, .. }
            | RunEvent::JobRetrying { job, .. }
            | RunEvent::JobFinished { job, .. }
            | RunEvent::JobLogTail { job, .. } => Some(job),
            RunEvent::RunStarted { .. }
            | RunEvent::RunFinished { .. }
            | RunEvent::Stopping { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_read_well() {
        assert_eq!(Exit::Code(2).to_string(), "exit code 2");
        assert_eq!(Exit::Signal(9).to_string(), "killed by signal 9 (SIGKILL)");
        assert!(Exit::Code(0).success());
        assert!(!Exit::Signal(15).success());
    }

    #[test]
    fn terminal_phases() {
        let terminal: Vec<JobPhase> = [
            JobPhase::Pending,
            JobPhase::Running,
            JobPhase::Succeeded,
            JobPhase::Failed,
            JobPhase::Skipped,
            JobPhase::Cancelled,
        ]
        .into_iter()
        .filter(|p| p.is_terminal())
        .collect();
        assert_eq!(terminal.len(), 4);
        assert!(!terminal.contains(&JobPhase::Running));
    }
}
