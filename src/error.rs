//! The top-level error: every failure a command can end with, its exit code and its `hint:`.
//! Printed once, by the printer, from `lib::run`.

use std::path::PathBuf;

use crate::argo::RenderError;
use crate::environment::discover::DiscoverError;
use crate::environment::pod::PodError;
use crate::output::OutputError;
use crate::pipeline::error::PipelineErrors;
use crate::settings::config_file::{ConfigError, LoadError};

/// Exit codes (documented in README):
/// 0 success; 1 a run failed; 2 bad input or usage (nothing was started or submitted);
/// 3 the cluster refused or could not be reached (nothing submitted or changed); 4 a submission
/// may have happened but could not be confirmed or followed (check with `get`);
/// 130/143 interrupted by SIGINT/SIGTERM.
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
/// The cluster could not be reached, refused the request, or lacks Argo: nothing was submitted
/// (or, for `get`/`delete`…, nothing changed).
pub const EXIT_CLUSTER: u8 = 3;

#[derive(Debug, thiserror::Error)]
pub enum Error {
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
    #[error("{0}")]
    Runtime(String),
    #[error(transparent)]
    Cluster(Box<crate::cluster::ClusterError>),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<crate::cluster::ClusterError> for Error {
    fn from(e: crate::cluster::ClusterError) -> Self {
        Error::Cluster(Box::new(e))
    }
}

impl Error {
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Write { .. } | Error::Local(_) | Error::Runtime(_) => EXIT_FAILED,
            Error::Cluster(e) => e.exit_code(),
            _ => EXIT_USAGE,
        }
    }

    /// How to fix it, when there is one thing to say. (Pipeline errors print their own.)
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Render(e) => Some(e.hint().to_owned()),
            Error::Output(e) => Some(e.hint().to_owned()),
            Error::Usage { hint, .. } => hint.clone(),
            Error::Cluster(e) => Some(e.hint()),
            Error::ReadInput { .. } => Some("check the path and that the file is readable".into()),
            // These messages already say how to fix them.
            Error::Write { .. }
            | Error::Local(_)
            | Error::Record(_)
            | Error::Runtime(_)
            | Error::Pipeline(_)
            | Error::Pod(_)
            | Error::Discover(_)
            | Error::Config(_)
            | Error::ConfigFile(_) => None,
        }
    }
}
