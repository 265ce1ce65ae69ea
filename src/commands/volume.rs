//! A cluster run as its run folder on the shared volume tells it: what `get` and `logs` show
//! once Argo has removed the pods or the Workflow (pod GC, TTL, `kubectl delete`). The job
//! supervisors (`exec-job`) keep each job's log and exit there; `run` wrote `run.json` when it
//! submitted (see `local::run_folder`).

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::local::record::{self, Backend, RunRecord};
use crate::local::run_folder;

/// What is gone from the cluster, so the volume stands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gone {
    /// The Workflow itself (deleted, or its TTL ran out).
    Workflow,
    /// Its pods (pod GC, or their nodes were scaled down); the Workflow still says how it went.
    Pods,
}

impl Gone {
    /// The line that says where what follows comes from.
    pub(super) fn source_line(self) -> &'static str {
        match self {
            Gone::Workflow => {
                "(from the run folder on the shared volume: the Workflow is gone from the cluster)"
            }
            Gone::Pods => "(from the run folder on the shared volume: pods are gone)",
        }
    }
}

/// The run folder of cluster run `name` under `run_folders` and its record, when there is one
/// (a run submitted from this directory with the job supervisor on). With the Workflow gone,
/// jobs still recorded as running or waiting ended with it.
pub(super) fn find(
    run_folders: &Path,
    name: &str,
    gone: Gone,
) -> Result<Option<(PathBuf, RunRecord)>, Error> {
    let plain = !name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.');
    let dir = run_folders.join(name);
    if !plain || !run_folder::is_run_folder(&dir) {
        return Ok(None);
    }
    let mut run = record::load(&dir).map_err(|e| {
        Error::usage(
            e.to_string(),
            format!(
                "the run folder {} on the shared volume is damaged; its logs are in {}",
                dir.display(),
                dir.join(run_folder::LOGS_DIR).display()
            ),
        )
    })?;
    if run.backend != Backend::Argo {
        return Ok(None);
    }
    if gone == Gone::Workflow {
        run_folder::workflow_gone(&mut run);
    }
    Ok(Some((dir, run)))
}
