//! A cluster run as its run folder on the shared volume tells it: what `get` and `logs` show
//! once Argo has removed the pods or the Workflow (pod GC, TTL, `kubectl delete`). The job
//! supervisors (`exec-job`) keep each job's log and exit there; `run`, `retry` and `resubmit`
//! write `run.json` when they submit (here; see `local::run_folder` for the layout).

use std::path::{Path, PathBuf};

use crate::argo::retry::RecordedJob;
use crate::error::Error;
use crate::local::record::{self, Backend, DEFAULT_RUNS_DIR, RecordError, RunRecord};
use crate::local::run_folder;
use crate::pipeline::{ParamMap, Source};
use crate::printer::Printer;

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

/// The newest cluster run folder under `run_folders` of a run submitted to `namespace` (what
/// `@latest` names once no Workflow is left on the cluster), if any.
pub(super) fn newest(run_folders: &Path, namespace: &str) -> Option<String> {
    record::list(run_folders)
        .ok()?
        .into_iter()
        .find(|run| {
            run.record.as_ref().is_ok_and(|record| {
                record.backend == Backend::Argo
                    && record
                        .argo
                        .as_ref()
                        .and_then(|a| a.namespace.as_deref())
                        .is_none_or(|n| n == namespace)
            })
        })
        .map(|run| run.name)
}

/// What a submitted Workflow's `run.json` says: written by `run`, `retry` and `resubmit`.
pub(super) struct Started<'a> {
    /// The Workflow's name: its run folder's.
    pub name: &'a str,
    pub namespace: &'a str,
    /// The working directory its jobs run in (their supervisors write under it).
    pub workdir: &'a Path,
    pub source: &'a Source,
    /// Each job as Argo names it, with its task and argv.
    pub jobs: Vec<RecordedJob>,
    pub params: ParamMap,
    /// The run a `retry` continues.
    pub retry_of: Option<&'a str>,
    /// (task, notebook) of each notebook step: `get` finds a failed one's executed copy by it,
    /// also once the Workflow is gone.
    pub notebooks: Vec<(String, String)>,
}

/// Writes `run.json` in the run folder `<workdir>/.jupyterflow/runs/<name>` of a submitted
/// Workflow: backend `argo`, status Running, every job Pending. The job supervisors fill the
/// folder in.
pub(super) fn start(started: Started<'_>) -> Result<(), RecordError> {
    let Started {
        name,
        namespace,
        workdir,
        source,
        jobs,
        params,
        retry_of,
        notebooks,
    } = started;
    let dir = workdir.join(DEFAULT_RUNS_DIR).join(name);
    std::fs::create_dir_all(&dir).map_err(|source| RecordError::Write {
        path: dir.clone(),
        source,
    })?;
    let base = name.rsplit_once('-').map_or(name, |(base, _)| base);
    let mut record = RunRecord::argo(
        name.to_owned(),
        base.to_owned(),
        source,
        workdir.to_path_buf(),
        Some(namespace.to_owned()),
        jobs,
        &dir,
    );
    record.params = params;
    record.retry_of = retry_of.map(str::to_owned);
    for job in &mut record.jobs {
        job.notebook = notebooks
            .iter()
            .find(|(task, _)| *task == job.task)
            .map(|(_, notebook)| notebook.clone());
    }
    record.save(&dir)
}

/// A retry's jobs, from the old run's recorded ones.
pub(super) type Retried<'a> = dyn Fn(&[RecordedJob]) -> Vec<RecordedJob> + 'a;

/// Writes the `run.json` of Workflow `new`, made from the spec of `old` (`retry`, `resubmit`),
/// beside the old run's folder under `run_folders`, as `run` does at submit, so its `get`,
/// `logs` and `list` work from the volume once the Workflow is gone. Only when the old run has
/// one: its jobs ran under their supervisor, and so will the new one's (same spec). `retried`:
/// for a retry, its jobs from the old ones (and `retry_of` is set); else the same jobs. The
/// run was submitted whatever happens here: a failure is a warning.
pub(super) fn start_again(
    run_folders: &Path,
    old: &str,
    new: &str,
    namespace: &str,
    retried: Option<&Retried<'_>>,
    printer: &mut Printer,
) {
    let Ok(Some((_, record))) = find(run_folders, old, Gone::Pods) else {
        return;
    };
    let recorded: Vec<RecordedJob> = record
        .jobs
        .iter()
        .map(|j| (j.name.clone(), j.task.clone(), j.argv.clone()))
        .collect();
    let started = Started {
        name: new,
        namespace,
        workdir: &record.workdir,
        source: &record.plan().source,
        jobs: retried.map_or_else(|| recorded.clone(), |f| f(&recorded)),
        params: record.params.clone(),
        retry_of: retried.map(|_| old),
        notebooks: record
            .jobs
            .iter()
            .filter_map(|j| Some((j.task.clone(), j.notebook.clone()?)))
            .collect(),
    };
    if let Err(e) = start(started) {
        printer.warning(
            &format!(
                "{e}; once its Workflow is gone, `jupyterflow get {new}` shows only the jobs that started"
            ),
            None,
        );
    }
}
