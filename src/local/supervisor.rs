//! `jupyterflow exec-job`: what every cluster job's container runs when jobs keep their logs on
//! the shared volume. It starts the job's own command as its child, exactly as the container
//! ran it before (same argv, working directory and environment, stdin from /dev/null), in a
//! process group of its own, with the local engine's process code: parent-death signal,
//! subreaper, and after the child's exit the rest of its group ended so nothing holds the pipes.
//! Each pipe's bytes go on to the supervisor's own stdout or stderr unchanged (`kubectl logs`
//! and the Argo UI see what they always saw) and into the job's log in the run folder, with a
//! small per-job record at the start and the end (`run_folder`). SIGTERM and SIGINT are passed
//! on to the child's group; the exit status is the child's (128 + N for signal N).
//!
//! Nothing here may break a job that would have run without it: when the volume cannot be
//! written, the job still runs and its output still reaches the pod log, and a note says why
//! the volume has no copy.

use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::sync::mpsc;

use super::log_pump::{Direct, LogPump, Tee};
use super::process;
use super::record::DEFAULT_RUNS_DIR;
use super::run_folder;
use crate::argo::pods::job_of_node;
use crate::argo::supervisor::VARS;
use crate::events::Exit;
use crate::time;

/// How long to keep reading the pipes after the child's group is gone, in case a process that
/// left the group (`setsid`) still holds them. Then the supervisor ends regardless.
const DRAIN: Duration = Duration::from_secs(2);
/// The job's pipes are made this big (the unprivileged maximum by default).
const PIPE_SIZE: i32 = 1024 * 1024;

/// One job, as the container's command line and its downward-API variables describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobSpec {
    /// `{{workflow.name}}`: the run folder's name.
    pub workflow: String,
    /// What the container ran before: `/bin/sh -c SCRIPT`.
    pub argv: Vec<String>,
    /// The job's working directory (the supervisor's own): the run folder is under it.
    pub workdir: PathBuf,
    /// Argo's node name for this pod (`wf-abc12.train(0:lr:0.1)(1)`).
    pub node_name: Option<String>,
    pub pod: Option<String>,
    /// The Kubernetes node it runs on.
    pub host: Option<String>,
}

/// How the job ended, and what the supervisor has to say about its own work.
#[derive(Debug)]
pub(crate) struct Supervised {
    pub exit: Exit,
    /// Why the volume's copy is missing or incomplete, if it is.
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum SuperviseError {
    #[error("cannot start `{program}`: {source}")]
    Start {
        program: String,
        #[source]
        source: io::Error,
    },
    #[error("lost track of the job's process: {0}")]
    Wait(#[source] io::Error),
    #[error("cannot watch signals: {0}")]
    Signals(#[source] io::Error),
}

/// The job's name, task and attempt, from the node name Argo gives the pod; a supervisor
/// started without it (by hand, or by an Argo that does not annotate pods) names the job
/// after its pod.
fn identity(spec: &JobSpec, notes: &mut Vec<String>) -> (String, String, u32) {
    if let Some(found) = spec
        .node_name
        .as_deref()
        .and_then(|node| job_of_node(&spec.workflow, node))
    {
        return (found.job, found.task, found.attempt);
    }
    let name = spec.pod.clone().unwrap_or_else(|| "job".to_owned());
    notes.push(format!(
        "this pod's node name ({}) does not name a job of {}; its log is kept as {name}",
        spec.node_name.as_deref().unwrap_or("not set"),
        spec.workflow
    ));
    (name.clone(), name, 1)
}

/// The run folder of `spec`: `<workdir>/.jupyterflow/runs/<workflow>`.
pub(crate) fn run_dir(spec: &JobSpec) -> PathBuf {
    spec.workdir.join(DEFAULT_RUNS_DIR).join(&spec.workflow)
}

/// Runs the job to its end (see the module doc). `tees` are this process's stdout and stderr.
/// An error only when the child could not be started or waited for.
pub(crate) async fn supervise(
    spec: &JobSpec,
    tees: [Tee; 2],
) -> Result<Supervised, SuperviseError> {
    let mut notes = Vec::new();
    // Before the child exists, so that no signal meant for it is lost (or kills us instead).
    let mut forward = forward_signals().map_err(SuperviseError::Signals)?;
    let (job, task, attempt) = identity(spec, &mut notes);
    let dir = run_dir(spec);
    let mut record = run_folder::starting(
        &job,
        &task,
        attempt,
        spec.node_name.clone(),
        spec.pod.clone(),
        spec.host.clone(),
    );
    let log = dir.join(&record.log);
    let file = match open_log(&log, attempt, spec.pod.as_deref()) {
        Ok(file) => Some(Box::new(Direct(file)) as Tee),
        Err(e) => {
            notes.push(format!(
                "cannot write the log {}: {e}; this job's output is in its pod log only",
                log.display()
            ));
            None
        }
    };
    process::become_subreaper();
    let mut spawned = process::spawn(&spec.argv, &[], &VARS, &spec.workdir).map_err(|source| {
        SuperviseError::Start {
            program: spec.argv.first().cloned().unwrap_or_default(),
            source,
        }
    })?;
    for pipe in [
        spawned.stdout.as_ref().map(AsFd::as_fd),
        spawned.stderr.as_ref().map(AsFd::as_fd),
    ]
    .into_iter()
    .flatten()
    {
        // Bigger pipes: a chatty job is read in fewer, larger pieces (fewer wake-ups of both
        // processes). Best effort: the kernel caps it (fs.pipe-max-size), and 64 KiB works.
        let _ = nix::fcntl::fcntl(pipe, nix::fcntl::FcntlArg::F_SETPIPE_SZ(PIPE_SIZE));
    }
    let recorded = match run_folder::write_job_file(&dir, &record) {
        Ok(()) => true,
        Err(e) => {
            notes.push(format!(
                "{e}; `jupyterflow get` cannot show this job once its Workflow is gone"
            ));
            false
        }
    };
    let pump = LogPump::start_teed(file, spawned.stdout.take(), spawned.stderr.take(), tees);
    let exit = process::wait_forwarding(&mut spawned, &mut forward)
        .await
        .map_err(SuperviseError::Wait)?;
    if let Err(e) = pump.finish(DRAIN).await {
        notes.push(format!(
            "the log {} is incomplete: {e}; the pod log has the whole output",
            log.display()
        ));
    }
    record.finished = Some(time::format(std::time::SystemTime::now()));
    record.exit = Some(exit);
    // A failure at the start was said already.
    if let Err(e) = run_folder::write_job_file(&dir, &record)
        && recorded
    {
        notes.push(format!("cannot record how the job ended: {e}"));
    }
    Ok(Supervised { exit, notes })
}

/// SIGTERM and SIGINT, as they arrive, for the child's group.
fn forward_signals() -> io::Result<mpsc::UnboundedReceiver<Signal>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let signal = tokio::select! {
                Some(()) = terminate.recv() => Signal::SIGTERM,
                Some(()) = interrupt.recv() => Signal::SIGINT,
                else => return,
            };
            if tx.send(signal).is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

/// The job's log: a retry appends to it under a marker line naming its pod, as a local run's
/// log keeps every attempt.
fn open_log(path: &Path, attempt: u32, pod: Option<&str>) -> io::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let pod = pod.map(|p| format!(" (pod {p})")).unwrap_or_default();
    super::log_pump::open_attempt_log(path, attempt, &pod)
}

/// The exit status a supervisor ends with: the child's code, or 128 + N for signal N, as a
/// shell reports it (so Argo records the same exit code as without a supervisor).
pub(crate) fn exit_status(exit: Exit) -> u8 {
    match exit {
        Exit::Code(code) => u8::try_from(code.rem_euclid(256)).unwrap_or(1),
        Exit::Signal(signal) => u8::try_from(128 + signal).unwrap_or(255),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_are_a_shells() {
        assert_eq!(exit_status(Exit::Code(0)), 0);
        assert_eq!(exit_status(Exit::Code(3)), 3);
        assert_eq!(exit_status(Exit::Signal(9)), 137);
        assert_eq!(exit_status(Exit::Signal(15)), 143);
    }

    #[test]
    fn a_pod_without_a_node_name_keeps_its_log_under_its_own_name() {
        let mut spec = JobSpec {
            workflow: "wf-abc12".into(),
            argv: vec!["true".into()],
            workdir: "/w".into(),
            node_name: Some("wf-abc12.part-1-1.train(0:lr:0.1)(1)".into()),
            pod: Some("wf-abc12-job-42".into()),
            host: None,
        };
        let mut notes = Vec::new();
        assert_eq!(
            identity(&spec, &mut notes),
            ("train(0:lr:0.1)".into(), "train".into(), 2)
        );
        assert!(notes.is_empty());
        assert_eq!(run_dir(&spec), Path::new("/w/.jupyterflow/runs/wf-abc12"));
        spec.node_name = None;
        assert_eq!(
            identity(&spec, &mut notes),
            ("wf-abc12-job-42".into(), "wf-abc12-job-42".into(), 1)
        );
        assert_eq!(notes.len(), 1);
    }
}
