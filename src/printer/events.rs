//! The run's events as JSON lines (`--events`): one object per line, `"type"` first, in the
//! stable wire format docs/events.md documents. Pure: an event, what the stream shares and the
//! time in, one line out. `RunView` in events mode writes them; nothing else is on stdout then.
//!
//! The shape is written here field by field, not derived from `RunEvent`: the engines' types
//! may change, the wire may not (durations as seconds, exits as `exit_code`/`signal`, paths as
//! text, every field present with `null` when unknown).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::events::{Exit, RunEvent, Stream};
use crate::time;

/// The format's version, in the first line of every stream (`run_submitted` or `run_started`).
/// New event types and new fields are additions and keep it; it changes only when a field
/// is removed or changes meaning.
pub(crate) const VERSION: u32 = 1;

/// Every `type` a stream may carry, in the order docs/events.md lists them (the tests hold the
/// serializer and the document to it).
#[cfg(test)]
pub(crate) const TYPES: &[&str] = &[
    "run_submitted",
    "run_started",
    "job_started",
    "job_output",
    "job_progress",
    "job_retrying",
    "job_finished",
    "job_log_tail",
    "stopping",
    "run_finished",
    "detached",
];

/// Which engine runs the jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Backend {
    Local,
    Argo,
}

/// What every line of one stream shares.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub backend: Backend,
    /// Log files below this directory are written relative to it (the directory jupyterflow
    /// was started in), others as absolute paths.
    pub cwd: PathBuf,
    /// The cluster namespace of the run (`argo`).
    pub namespace: Option<String>,
    /// The run's page in the Argo UI, when `argo_ui_url` is configured.
    pub ui_url: Option<String>,
}

impl Context {
    pub(crate) fn local(cwd: &Path) -> Self {
        Context {
            backend: Backend::Local,
            cwd: cwd.to_path_buf(),
            namespace: None,
            ui_url: None,
        }
    }

    pub(crate) fn argo(cwd: &Path, namespace: &str, ui_url: Option<String>) -> Self {
        Context {
            backend: Backend::Argo,
            cwd: cwd.to_path_buf(),
            namespace: Some(namespace.to_owned()),
            ui_url,
        }
    }
}

/// One line on the wire. Field order is the order written.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Wire<'a> {
    RunSubmitted {
        time: String,
        version: u32,
        backend: Backend,
        run: &'a str,
        kind: &'a str,
        namespace: Option<&'a str>,
        ui_url: Option<&'a str>,
    },
    RunStarted {
        time: String,
        version: u32,
        backend: Backend,
        run: Option<&'a str>,
        jobs: &'a [String],
        namespace: Option<&'a str>,
        ui_url: Option<&'a str>,
    },
    JobStarted {
        time: String,
        job: &'a str,
        attempt: u32,
        max_attempts: u32,
        log: Option<String>,
    },
    JobOutput {
        time: String,
        job: &'a str,
        stream: &'static str,
        line: &'a str,
    },
    JobProgress {
        time: String,
        job: &'a str,
        line: &'a str,
    },
    JobRetrying {
        time: String,
        job: &'a str,
        attempt: u32,
        exit_code: Option<i32>,
        signal: Option<i32>,
        reason: &'a str,
        delay: f64,
    },
    JobFinished {
        time: String,
        job: &'a str,
        status: &'static str,
        attempts: u32,
        exit_code: Option<i32>,
        signal: Option<i32>,
        reason: Option<&'a str>,
        duration: f64,
        log: Option<String>,
    },
    JobLogTail {
        time: String,
        job: &'a str,
        lines: &'a [String],
    },
    Stopping {
        time: String,
        jobs: usize,
        grace: Option<f64>,
    },
    RunFinished {
        time: String,
        status: &'static str,
        duration: f64,
    },
    Detached {
        time: String,
        run: &'a str,
    },
}

/// `event` as one JSON line (with its newline), stamped `at`.
pub(crate) fn line(event: &RunEvent, context: &Context, at: SystemTime) -> String {
    let time = time::format(at);
    let log = |log: &Option<PathBuf>| log.as_deref().map(|p| shown(p, &context.cwd));
    let wire = match event {
        RunEvent::RunStarted { run_id, jobs } => Wire::RunStarted {
            time,
            version: VERSION,
            backend: context.backend,
            run: run_id.as_deref(),
            jobs,
            namespace: context.namespace.as_deref(),
            ui_url: context.ui_url.as_deref(),
        },
        RunEvent::JobStarted {
            job,
            attempt,
            max_attempts,
            log: path,
        } => Wire::JobStarted {
            time,
            job,
            attempt: *attempt,
            max_attempts: *max_attempts,
            log: log(path),
        },
        RunEvent::JobOutput { job, stream, line } => Wire::JobOutput {
            time,
            job,
            stream: match stream {
                Stream::Stdout => "stdout",
                Stream::Stderr => "stderr",
                Stream::Merged => "merged",
            },
            line,
        },
        RunEvent::JobProgress { job, line } => Wire::JobProgress { time, job, line },
        RunEvent::JobRetrying {
            job,
            attempt,
            exit,
            reason,
            delay,
        } => Wire::JobRetrying {
            time,
            job,
            attempt: *attempt,
            exit_code: exit_code(*exit),
            signal: signal(*exit),
            reason,
            delay: seconds(*delay),
        },
        RunEvent::JobFinished {
            job,
            phase,
            attempts,
            exit,
            reason,
            duration,
            log: path,
        } => Wire::JobFinished {
            time,
            job,
            status: phase.as_str(),
            attempts: *attempts,
            exit_code: exit_code(*exit),
            signal: signal(*exit),
            reason: reason.as_deref(),
            duration: seconds(*duration),
            log: log(path),
        },
        RunEvent::JobLogTail { job, lines } => Wire::JobLogTail { time, job, lines },
        RunEvent::Stopping { jobs, grace } => Wire::Stopping {
            time,
            jobs: *jobs,
            grace: grace.map(seconds),
        },
        RunEvent::RunFinished { status, duration } => Wire::RunFinished {
            time,
            status: status.as_str(),
            duration: seconds(*duration),
        },
    };
    to_line(&wire)
}

/// A cluster submission: the first and, without `--watch`, the only line. `kind` is
/// `Workflow` or `CronWorkflow`.
pub(crate) fn submitted(context: &Context, run: &str, kind: &str, at: SystemTime) -> String {
    to_line(&Wire::RunSubmitted {
        time: time::format(at),
        version: VERSION,
        backend: context.backend,
        run,
        kind,
        namespace: context.namespace.as_deref(),
        ui_url: context.ui_url.as_deref(),
    })
}

/// Following a cluster run ended before the run did (Ctrl-C): the run goes on.
pub(crate) fn detached(run: &str, at: SystemTime) -> String {
    to_line(&Wire::Detached {
        time: time::format(at),
        run,
    })
}

fn to_line(wire: &Wire<'_>) -> String {
    // Strings, integers and finite floats only: serializing cannot fail.
    let mut text = serde_json::to_string(wire).unwrap_or_default();
    text.push('\n');
    text
}

/// Seconds, to the millisecond.
fn seconds(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

fn exit_code(exit: Option<Exit>) -> Option<i32> {
    match exit {
        Some(Exit::Code(code)) => Some(code),
        _ => None,
    }
}

fn signal(exit: Option<Exit>) -> Option<i32> {
    match exit {
        Some(Exit::Signal(signal)) => Some(signal),
        _ => None,
    }
}

/// A log path as the view shows it: relative below `cwd`, else as it is.
fn shown(path: &Path, cwd: &Path) -> String {
    path.strip_prefix(cwd)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests;
