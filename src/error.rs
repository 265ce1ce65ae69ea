//! The top-level error: every failure a command can end with, its exit code and its `hint:`.
//! Printed once, by the printer, from `lib::run`.

use std::path::PathBuf;

use crate::argo::RenderError;
use crate::argo::deletion::Refusal;
use crate::cluster::error::Outcome;
use crate::environment::discover::DiscoverError;
use crate::environment::discover::wheels::WheelError;
use crate::environment::gpu::PinnedGpus;
use crate::environment::pod::PodError;
use crate::environment::workdir::Unshared;
use crate::events::RunStatus;
use crate::pipeline::error::PipelineErrors;
use crate::printer::format::OutputError;
use crate::settings::config_file::{ConfigError, LoadError};

// Exit codes, every one (documented in README): 0 success; 1 a run failed; 2 bad input or
// usage (nothing was started or submitted); 3 the cluster refused or could not be reached
// (nothing submitted or changed); 4 a submission may have happened but could not be confirmed
// or followed (check with `get`); 128 + N interrupted by signal N (129 SIGHUP, 130 SIGINT,
// 143 SIGTERM). The hidden `exec-job` exits as its job did, or 127 when it cannot run it.

/// A run failed (locally, or followed on the cluster).
pub(crate) const EXIT_FAILED: u8 = 1;
/// Bad input or usage: nothing was started, printed or submitted.
pub(crate) const EXIT_USAGE: u8 = 2;
/// The cluster could not be reached, refused the request, or lacks Argo: nothing was submitted
/// (or, for `get`/`delete`…, nothing changed).
pub(crate) const EXIT_CLUSTER: u8 = 3;
/// A submission may have happened but jupyterflow lost track of it: check before running again.
pub(crate) const EXIT_UNKNOWN: u8 = 4;
/// Ctrl-C: a local run was cancelled, or following a cluster run was detached (it goes on).
pub(crate) const EXIT_DETACHED: u8 = 128 + 2;
/// `exec-job` (a job's supervisor) could not start the job's command: what a shell answers for
/// a command it cannot run. Otherwise a supervisor exits as its job did.
pub(crate) const EXIT_CANNOT_RUN: u8 = 127;

/// A finished run's exit code: 0 if it succeeded, else 1.
pub(crate) fn exit_for_run(status: RunStatus) -> u8 {
    match status {
        RunStatus::Succeeded => 0,
        _ => EXIT_FAILED,
    }
}

/// A run cancelled by a signal exits as shells report it: 128 + the signal (Ctrl-C when we
/// cannot tell).
pub(crate) fn exit_for_signal(signal: Option<i32>) -> u8 {
    signal
        .and_then(|s| u8::try_from(128 + s).ok())
        .unwrap_or(EXIT_DETACHED)
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// One or more problems in the pipeline; each carries its own hint.
    #[error("{0}")]
    Pipeline(#[from] PipelineErrors),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Pod(#[from] PodError),
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    ConfigFile(#[from] LoadError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("cannot read {}: {source}", path.display())]
    ReadInput {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    #[error(transparent)]
    Local(#[from] crate::local::LocalError),
    #[error(transparent)]
    Record(#[from] crate::local::record::RecordError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("cannot watch signals: {0}")]
    Signals(#[source] std::io::Error),
    #[error(transparent)]
    Workdir(#[from] Unshared),
    #[error(transparent)]
    Wheels(WheelError),
    #[error(transparent)]
    Gpu(#[from] PinnedGpus),
    /// `--from`/`--only` named a job the pipeline does not have.
    #[error(transparent)]
    UnknownJob(#[from] crate::pipeline::selection::UnknownJob),
    #[error(transparent)]
    UnknownParam(#[from] crate::pipeline::params::UnknownParam),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Cluster(Box<crate::cluster::ClusterError>),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `exec-job` could not run the job at all.
    #[error(transparent)]
    Supervise(#[from] crate::local::supervisor::SuperviseError),
}

impl From<crate::cluster::ClusterError> for Error {
    fn from(e: crate::cluster::ClusterError) -> Self {
        Error::Cluster(Box::new(e))
    }
}

impl Error {
    pub(crate) fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            // A run folder that cannot be made is found before anything starts.
            Error::Local(crate::local::LocalError::RunDir { .. }) => EXIT_USAGE,
            Error::Write { .. } | Error::Local(_) | Error::Runtime(_) | Error::Signals(_) => {
                EXIT_FAILED
            }
            Error::Supervise(_) => EXIT_CANNOT_RUN,
            Error::Cluster(e) => match e.outcome() {
                Outcome::Unchanged => EXIT_CLUSTER,
                Outcome::Unknown => EXIT_UNKNOWN,
                Outcome::NotAsked => EXIT_USAGE,
            },
            _ => EXIT_USAGE,
        }
    }

    /// How to fix it, when there is one thing to say. (Pipeline errors print their own.)
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            Error::Render(e) => Some(e.hint()),
            Error::Output(e) => Some(e.hint()),
            Error::Usage { hint, .. } => hint.clone(),
            Error::Cluster(e) => Some(e.hint()),
            Error::ReadInput { source, .. } if source.kind() == std::io::ErrorKind::FileTooLarge => {
                Some("check that the path names the workflow file: 16 MiB holds the 100,000 jobs a pipeline may have, and repeated jobs fit in a sweep (`matrix`)".into())
            }
            Error::ReadInput { .. } => Some("check the path and that the file is readable".into()),
            Error::Local(crate::local::LocalError::RunDir { path, .. }) => Some(format!(
                "runs are kept under {}: each part of that path must be a folder you can write to (`log_dir` in the config moves it)",
                path.parent().unwrap_or(path).display()
            )),
            Error::Record(crate::local::record::RecordError::Read { .. }) => Some(
                "local runs are kept in .jupyterflow/runs of the working directory (or the config's `log_dir`); each part of that path must be a folder".to_owned(),
            ),
            Error::Workdir(e) => Some(e.hint()),
            Error::Wheels(e) => Some(e.hint()),
            Error::Gpu(e) => Some(e.hint()),
            Error::UnknownJob(e) => Some(e.hint()),
            Error::UnknownParam(e) => Some(e.hint()),
            Error::Refused(e) => Some(e.hint.clone()),
            // These messages already say how to fix them.
            Error::Supervise(_)
            | Error::Write { .. }
            | Error::Local(_)
            | Error::Record(_)
            | Error::Runtime(_)
            | Error::Signals(_)
            | Error::Pipeline(_)
            | Error::Pod(_)
            | Error::Discover(_)
            | Error::Config(_)
            | Error::ConfigFile(_) => None,
        }
    }
}
