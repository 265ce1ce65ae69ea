//! What `list`, `get`, `logs` and `delete` do the same way for local and cluster runs, written
//! once over a `RunSummary` each backend's runs are read into: which run `@latest` is, which
//! finished runs `delete --completed/--older-than` picks, and naming each run once.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::argo::view::WorkflowView;
use crate::error::Error;
use crate::events::RunStatus;
use crate::local::record::{self, RunRecord, StoredRun};
use crate::local::run_folder;
use crate::time;

/// The name that means the newest run.
pub(super) const LATEST: &str = "@latest";

/// What the shared rules need to know of a run, whichever backend ran it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RunSummary {
    pub(super) name: String,
    pub(super) running: bool,
    pub(super) started: Option<SystemTime>,
    /// Breaks ties between runs started in the same instant (an etcd revision for cluster runs).
    pub(super) revision: u64,
    /// When it finished; for a local run whose process died, the last thing it did.
    pub(super) ended: Option<SystemTime>,
}

impl RunSummary {
    /// A local run, when its record can be read; it goes by its folder's name.
    pub(super) fn from_stored(stored: &StoredRun) -> Option<Self> {
        let run = stored.record.as_ref().ok()?;
        // A run whose process died has no finish time: its last activity stands in.
        let ended = run.finished.as_deref().and_then(time::parse).or_else(|| {
            std::iter::once(Some(&run.started))
                .chain(
                    run.jobs
                        .iter()
                        .flat_map(|j| [j.started.as_ref(), j.finished.as_ref()]),
                )
                .flatten()
                .filter_map(|t| time::parse(t))
                .max()
        });
        Some(RunSummary {
            name: stored.name.clone(),
            running: run.status == RunStatus::Running,
            started: time::parse(&run.started),
            revision: 0,
            ended,
        })
    }

    pub(super) fn from_workflow(object: &Value) -> Self {
        let view = WorkflowView::from_json(object);
        RunSummary {
            running: !view.is_finished(),
            // Timestamps have whole seconds; within one second the later write (higher
            // resourceVersion, an etcd revision) is the newer run.
            started: view.created,
            revision: object["metadata"]["resourceVersion"]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            ended: view.finished_at,
            name: view.name,
        }
    }
}

/// The local run named `name`: its folder under `runs_dir` (a record's own `id` is never
/// trusted for a path: a copied folder has its original's), or with `@latest` the newest run
/// whose record can be read. A folder whose `run.json` is corrupt is found too (it can be
/// deleted); its `record` holds why it cannot be read.
pub(super) fn find_local(runs_dir: &Path, name: &str) -> Result<StoredRun, Error> {
    if name == LATEST {
        let runs = record::list(runs_dir)?;
        let summaries: Vec<RunSummary> = runs.iter().filter_map(RunSummary::from_stored).collect();
        let newest = newest(&summaries).map(|n| n.name.clone());
        return runs
            .into_iter()
            .find(|r| Some(&r.name) == newest.as_ref())
            .ok_or_else(|| {
                Error::usage(
                    format!("there are no runs in {}", runs_dir.display()),
                    "start one with jupyterflow run -c \"…\"",
                )
            });
    }
    let plain = !name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.');
    let dir = runs_dir.join(name);
    // A schedule's cluster run has job records but no `run.json`: `list` shows it, so it can
    // be named too.
    if plain && run_folder::is_run_folder(&dir) {
        return Ok(StoredRun {
            name: name.to_owned(),
            record: record::load(&dir),
            dir,
        });
    }
    let known: Vec<String> = record::list(runs_dir)?
        .into_iter()
        .take(5)
        .map(|r| r.name)
        .collect();
    Err(Error::usage(
        format!("no run named `{name}` in {}", runs_dir.display()),
        if known.is_empty() {
            "there are no runs here yet; jupyterflow list shows them".to_owned()
        } else {
            format!("recent runs: {} (or @latest)", known.join(", "))
        },
    ))
}

/// The record of a found run, or why it cannot be read (with how to clean it up).
pub(super) fn readable(run: StoredRun) -> Result<(String, PathBuf, RunRecord), Error> {
    match run.record {
        Ok(record) => Ok((run.name, run.dir, record)),
        Err(e) => Err(Error::usage(
            e.to_string(),
            format!(
                "the run's record is damaged; `jupyterflow delete {}` removes the run",
                run.name
            ),
        )),
    }
}

/// The newest run: by start, then revision, then name.
pub(super) fn newest(runs: &[RunSummary]) -> Option<&RunSummary> {
    runs.iter()
        .max_by(|a, b| (a.started, a.revision, &a.name).cmp(&(b.started, b.revision, &b.name)))
}

/// The finished runs `delete --completed` (every one) or `--older-than AGE` (those that
/// ended at least AGE ago) picks.
pub(super) fn finished_to_delete(
    runs: &[RunSummary],
    older_than: Option<Duration>,
    now: SystemTime,
) -> Vec<String> {
    runs.iter()
        .filter(|r| {
            !r.running
                && older_than.is_none_or(|age| {
                    r.ended
                        .and_then(|at| now.duration_since(at).ok())
                        .is_some_and(|ago| ago >= age)
                })
        })
        .map(|r| r.name.clone())
        .collect()
}

/// Keeps the first of each name, in order: a run named twice is deleted once.
pub(super) fn dedupe(names: &mut Vec<String>) {
    let mut seen = HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, started: u64, revision: u64) -> RunSummary {
        RunSummary {
            name: name.into(),
            running: false,
            started: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(started)),
            revision,
            ended: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(started + 10)),
        }
    }

    #[test]
    fn newest_breaks_ties_by_revision() {
        let runs = [run("a", 100, 7), run("b", 100, 9), run("c", 50, 99)];
        assert_eq!(newest(&runs).map(|r| r.name.as_str()), Some("b"));
        assert_eq!(newest(&[]), None);
    }

    #[test]
    fn delete_picks_finished_runs_old_enough_once() {
        let mut live = run("live", 0, 0);
        live.running = true;
        let runs = [run("old", 0, 0), run("new", 1000, 0), live];
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1100);
        assert_eq!(finished_to_delete(&runs, None, now), ["old", "new"]);
        assert_eq!(
            finished_to_delete(&runs, Some(Duration::from_secs(500)), now),
            ["old"]
        );
        let mut names = vec!["a".to_owned(), "b".into(), "a".into()];
        dedupe(&mut names);
        assert_eq!(names, ["a", "b"]);
    }
}
