//! One attempt of one job: open its log, start the process, pump the output, wait under the
//! timeout and cancellation, and say how it ended.

use std::path::Path;
use std::time::Duration;

use std::io::Write as _;

use tokio::fs::File;
use tokio::sync::watch;

use super::{Attempt, Context, DRAIN};
use crate::local::PlannedJob;
use crate::local::executed_notebook;
use crate::local::log_pump::{LogPump, OutputSink};
use crate::local::process::{self, Ending};
use crate::local::signals::Cancel;
use crate::pipeline::notebook::first_error;
use crate::pipeline::notebook::prepare::RUN_DIR_ENV;

pub(super) async fn run(
    job: &PlannedJob,
    attempt: u32,
    log: &Path,
    context: &Context,
    cancel: &mut watch::Receiver<Cancel>,
) -> Attempt {
    let file = match open_log(log, attempt, job.retries.saturating_add(1)) {
        Ok(file) => file,
        Err(e) => {
            return Attempt::Failed {
                exit: None,
                reason: format!("cannot write the log {}: {e}", log.display()),
            };
        }
    };
    // The output comes through pipes and is pumped into the log, so a log that cannot be
    // written (a full disk) is seen, and fails the job instead of losing its output silently.
    let env = job_env(job, context);
    let mut spawned = match process::spawn(&job.argv, &env, &[], &context.options.workdir) {
        Ok(spawned) => spawned,
        Err(e) => {
            let program = job.argv.first().map_or("", String::as_str);
            let reason = format!("cannot start `{program}`: {e}");
            // The log is where people look first; say it there too. Best effort.
            let mut file = file;
            let _ = file.write_all(format!("jupyterflow: {reason}\n").as_bytes());
            return Attempt::Failed { exit: None, reason };
        }
    };
    let sink = OutputSink {
        job: job.name.clone(),
        stream_output: context.options.stream_output,
        progress_interval: context.options.progress_interval,
        events: context.events.clone(),
    };
    let pump = LogPump::start(
        File::from_std(file),
        spawned.stdout.take(),
        spawned.stderr.take(),
        sink,
    );
    let ending = process::wait(
        &mut spawned,
        job.timeout,
        cancel,
        context.options.kill_grace,
    )
    .await;
    let written = pump.finish(DRAIN).await;
    let concluded = match conclude(job, ending) {
        Attempt::Failed { exit, reason } => Attempt::Failed {
            exit,
            reason: notebook_failure(job, context).unwrap_or(reason),
        },
        other => other,
    };
    match (concluded, written) {
        // Whatever the process did, its output is lost: that is the job's failure.
        (Attempt::Succeeded | Attempt::Failed { .. }, Err(e)) => Attempt::Failed {
            exit: None,
            reason: format!(
                "its output was lost: cannot write its log {}: {e}",
                log.display()
            ),
        },
        (attempt, _) => attempt,
    }
}

/// The job's own variables; a notebook step also learns the run folder, where its driver
/// keeps the executed notebook.
fn job_env(job: &PlannedJob, context: &Context) -> Vec<(String, String)> {
    let mut env = job.env.clone();
    if job.notebook.is_some()
        && let Some(dir) = &context.options.run_dir
    {
        env.push((RUN_DIR_ENV.to_owned(), dir.display().to_string()));
    }
    env
}

/// Why a notebook step failed, from its executed copy: "cell 3 (In [2]) failed:
/// ZeroDivisionError: division by zero". `None` for other jobs, or when the copy has no error
/// (the kernel died, the driver could not start).
fn notebook_failure(job: &PlannedJob, context: &Context) -> Option<String> {
    job.notebook.as_ref()?;
    let executed = executed_notebook(context.options.run_dir.as_deref()?, &job.name);
    let text = std::fs::read_to_string(executed).ok()?;
    first_error(&text, 0).map(|error| error.headline())
}

fn conclude(job: &PlannedJob, ending: std::io::Result<Ending>) -> Attempt {
    match ending {
        Ok(Ending::Exited(exit)) if exit.success() => Attempt::Succeeded,
        Ok(Ending::Exited(exit)) => Attempt::Failed {
            exit: Some(exit),
            reason: exit.to_string(),
        },
        Ok(Ending::TimedOut(exit)) => Attempt::Failed {
            exit: Some(exit),
            reason: format!(
                "timed out after {}",
                seconds(job.timeout.unwrap_or_default())
            ),
        },
        Ok(Ending::Cancelled(exit)) => Attempt::Cancelled { exit: Some(exit) },
        Err(e) => Attempt::Failed {
            exit: None,
            reason: format!("lost track of the process: {e}"),
        },
    }
}

/// The job's log; later attempts append under a marker line, so the output of failed attempts
/// stays readable (Argo keeps each attempt's pod log too).
fn open_log(path: &Path, attempt: u32, max_attempts: u32) -> std::io::Result<std::fs::File> {
    crate::local::log_pump::open_attempt_log(path, attempt, &format!(" of {max_attempts}"))
}

/// `90s` for whole seconds (the usual case), else milliseconds.
fn seconds(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}
