//! The run's events as JSON lines (`--events`): one object per line, `"type"` first, in the
//! stable wire format docs/events.md documents. A `Writer` turns each event into its line and
//! keeps what the closing summary needs. `RunView` in events mode writes them; nothing else is
//! on stdout then.
//!
//! The shape is written here field by field, not derived from `RunEvent`: the engines' types
//! may change, the wire may not (durations as seconds, exits as `exit_code`/`signal`, paths as
//! text, every field present with `null` when unknown).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::events::{Exit, JobPhase, RunEvent, Stream};
use crate::time;

/// The format's version, on every line. New event types and new fields are additions and keep
/// it; it changes only when a field is removed or changes meaning.
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

/// One line on the wire: `type`, `version` and `time` first, then the type's own fields.
#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    version: u32,
    time: String,
    #[serde(flatten)]
    body: &'a Wire<'a>,
}

/// Each type's own fields, in the order written.
#[derive(Serialize)]
#[serde(untagged)]
enum Wire<'a> {
    RunSubmitted {
        backend: Backend,
        run: &'a str,
        kind: &'a str,
        namespace: Option<&'a str>,
        ui_url: Option<&'a str>,
    },
    RunStarted {
        backend: Backend,
        run: Option<&'a str>,
        jobs: &'a [String],
        namespace: Option<&'a str>,
        ui_url: Option<&'a str>,
    },
    JobStarted {
        job: &'a str,
        attempt: u32,
        max_attempts: u32,
        log: Option<String>,
    },
    JobOutput {
        job: &'a str,
        stream: &'static str,
        line: &'a str,
    },
    JobProgress {
        job: &'a str,
        line: &'a str,
    },
    JobRetrying {
        job: &'a str,
        attempt: u32,
        exit_code: Option<i32>,
        signal: Option<i32>,
        reason: &'a str,
        delay: f64,
    },
    JobFinished {
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
        job: &'a str,
        lines: &'a [String],
    },
    Stopping {
        jobs: usize,
        grace: Option<f64>,
    },
    RunFinished {
        run: Option<&'a str>,
        status: &'static str,
        duration: f64,
        counts: Counts,
        failed: &'a [String],
    },
    Detached {
        run: &'a str,
    },
}

impl Wire<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Wire::RunSubmitted { .. } => "run_submitted",
            Wire::RunStarted { .. } => "run_started",
            Wire::JobStarted { .. } => "job_started",
            Wire::JobOutput { .. } => "job_output",
            Wire::JobProgress { .. } => "job_progress",
            Wire::JobRetrying { .. } => "job_retrying",
            Wire::JobFinished { .. } => "job_finished",
            Wire::JobLogTail { .. } => "job_log_tail",
            Wire::Stopping { .. } => "stopping",
            Wire::RunFinished { .. } => "run_finished",
            Wire::Detached { .. } => "detached",
        }
    }
}

/// How many jobs ended in each status, for the summary in `run_finished`. Every status is
/// written, zeros too, so a reader needs no defaults.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Counts {
    succeeded: usize,
    failed: usize,
    skipped: usize,
    cancelled: usize,
    interrupted: usize,
}

impl Counts {
    fn add(&mut self, phase: JobPhase) {
        match phase {
            JobPhase::Succeeded => self.succeeded += 1,
            JobPhase::Failed => self.failed += 1,
            JobPhase::Skipped => self.skipped += 1,
            JobPhase::Cancelled => self.cancelled += 1,
            JobPhase::Interrupted => self.interrupted += 1,
            // Not terminal: a `JobFinished` never carries them.
            JobPhase::Pending | JobPhase::Running => {}
        }
    }
}

/// One stream of lines: what they share, and what the closing summary needs (the run's
/// name from `run_started`, each job's end).
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    context: Context,
    run: Option<String>,
    counts: Counts,
    /// Jobs that ended Failed, in the order they did.
    failed: Vec<String>,
}

impl Writer {
    pub(crate) fn new(context: Context) -> Self {
        Writer {
            context,
            run: None,
            counts: Counts::default(),
            failed: Vec::new(),
        }
    }

    pub(crate) fn cwd(&self) -> &Path {
        &self.context.cwd
    }

    /// `event` as one JSON line (with its newline), stamped `at`.
    pub(crate) fn line(&mut self, event: &RunEvent, at: SystemTime) -> String {
        match event {
            RunEvent::RunStarted { run_id, .. } => self.run.clone_from(run_id),
            RunEvent::JobFinished { job, phase, .. } => {
                self.counts.add(*phase);
                if *phase == JobPhase::Failed {
                    self.failed.push(job.clone());
                }
            }
            _ => {}
        }
        to_line(at, &self.wire(event))
    }

    fn wire<'a>(&'a self, event: &'a RunEvent) -> Wire<'a> {
        let context = &self.context;
        let log = |log: &Option<PathBuf>| log.as_deref().map(|p| shown(p, &context.cwd));
        match event {
            RunEvent::RunStarted { run_id, jobs } => Wire::RunStarted {
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
                job,
                attempt: *attempt,
                max_attempts: *max_attempts,
                log: log(path),
            },
            RunEvent::JobOutput { job, stream, line } => Wire::JobOutput {
                job,
                stream: match stream {
                    Stream::Stdout => "stdout",
                    Stream::Stderr => "stderr",
                    Stream::Merged => "merged",
                },
                line,
            },
            RunEvent::JobProgress { job, line } => Wire::JobProgress { job, line },
            RunEvent::JobRetrying {
                job,
                attempt,
                exit,
                reason,
                delay,
            } => Wire::JobRetrying {
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
                job,
                status: phase.as_str(),
                attempts: *attempts,
                exit_code: exit_code(*exit),
                signal: signal(*exit),
                reason: reason.as_deref(),
                duration: seconds(*duration),
                log: log(path),
            },
            RunEvent::JobLogTail { job, lines } => Wire::JobLogTail { job, lines },
            RunEvent::Stopping { jobs, grace } => Wire::Stopping {
                jobs: *jobs,
                grace: grace.map(seconds),
            },
            RunEvent::RunFinished { status, duration } => Wire::RunFinished {
                run: self.run.as_deref(),
                status: status.as_str(),
                duration: seconds(*duration),
                counts: self.counts,
                failed: &self.failed,
            },
        }
    }

    /// A cluster submission: the first and, without `--watch`, the only line. `kind` is
    /// `Workflow` or `CronWorkflow`.
    pub(crate) fn submitted(&self, run: &str, kind: &str, at: SystemTime) -> String {
        let context = &self.context;
        to_line(
            at,
            &Wire::RunSubmitted {
                backend: context.backend,
                run,
                kind,
                namespace: context.namespace.as_deref(),
                ui_url: context.ui_url.as_deref(),
            },
        )
    }
}

/// Following a cluster run ended before the run did (Ctrl-C): the run goes on.
pub(crate) fn detached(run: &str, at: SystemTime) -> String {
    to_line(at, &Wire::Detached { run })
}

fn to_line(at: SystemTime, body: &Wire<'_>) -> String {
    let envelope = Envelope {
        kind: body.kind(),
        version: VERSION,
        time: time::format(at),
        body,
    };
    // Strings, integers and finite floats only: serializing cannot fail.
    let mut text = serde_json::to_string(&envelope).unwrap_or_default();
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
