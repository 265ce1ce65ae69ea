//! The plan of a local run, pure: the job list built from a `Dag` (names, exact argv, the same
//! words Argo runs, environment, retries, timeout) and the job-level dependency graph.

use std::path::PathBuf;
use std::time::Duration;

use crate::events::JobPhase;
use crate::pipeline::notebook::prepare::engine_env;
use crate::pipeline::{Dag, ParamMap, Source, Task};

/// Most jobs at once: `requested` (`-p`), else the CPUs, capped by the workflow's
/// `parallelism`.
pub(crate) fn parallelism(requested: Option<usize>, cap: Option<u32>) -> usize {
    let requested =
        requested.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    match cap {
        Some(cap) => requested.min(cap as usize),
        None => requested,
    }
}

/// Everything needed to run a pipeline locally; no I/O has happened yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The workflow name (DNS-safe), used as the run id prefix.
    pub name: String,
    pub source: Source,
    /// The params its commands were filled with (recorded in `run.json`, shown by `get`).
    pub params: ParamMap,
    /// Jobs in written order (task by task, sweep points row-major), as `Dag::jobs`.
    pub jobs: Vec<PlannedJob>,
}

/// One process to run (with its retries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedJob {
    /// Unique across the plan; also the log file name.
    pub name: String,
    /// The task this job belongs to (same as `name` unless the task sweeps).
    pub task: String,
    /// Exactly what Argo runs: exec-mode words, or `["/bin/sh", "-c", text]`; for a notebook
    /// step, the driver that executes its injected notebook.
    pub argv: Vec<String>,
    /// The notebook a notebook step runs, as written: its executed copy is
    /// `<run folder>/notebooks/<name>.ipynb`.
    pub notebook: Option<String>,
    /// Added to the current environment.
    pub env: Vec<(String, String)>,
    /// Indices into `Plan::jobs` of the jobs this one waits for, sorted.
    pub depends: Vec<usize>,
    pub retries: u32,
    /// Per attempt, like Argo's `activeDeadlineSeconds` on the pod.
    pub timeout: Option<Duration>,
    /// Not run this time (`--from`, `--only`, `retry`): how it is recorded instead. What waits
    /// for it counts it as done.
    pub left_out: Option<LeftOut>,
}

/// A job a run leaves out, and what its record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeftOut {
    /// Succeeded (a retry keeps an earlier success) or Skipped (not chosen).
    pub phase: JobPhase,
    pub reason: String,
    /// Its log from the earlier run, when there is one.
    pub log: Option<PathBuf>,
}

/// The task's variables; a notebook step also learns its engine when it is papermill. In the
/// plan, not added at run time like the run folder, so a retry keeps the engine.
fn job_env(dag: &Dag, task: &Task) -> Vec<(String, String)> {
    let mut env = task.env.clone();
    if task.notebook_path().is_some() {
        env.extend(engine_env(dag.options.notebook_engine));
    }
    env
}

impl Plan {
    /// Expands the DAG into jobs. A job of task B waits for every job of every task B waits
    /// for, which is how Argo treats a dependency on a task with `withItems`.
    pub(crate) fn from_dag(dag: &Dag) -> Plan {
        let jobs = dag.jobs();
        let mut of_task: Vec<Vec<usize>> = vec![Vec::new(); dag.tasks.len()];
        for (index, job) in jobs.iter().enumerate() {
            of_task[job.task].push(index);
        }
        let planned = jobs
            .into_iter()
            .map(|job| {
                let task = &dag.tasks[job.task];
                let mut depends: Vec<usize> = task
                    .depends
                    .iter()
                    .flat_map(|&t| of_task[t].iter().copied())
                    .collect();
                depends.sort_unstable();
                let left_out = (!task.runs_point(job.point)).then(|| LeftOut {
                    phase: JobPhase::Skipped,
                    reason: "not chosen to run".to_owned(),
                    log: None,
                });
                PlannedJob {
                    left_out,
                    argv: task.job_argv(job.point, &job.values, &job.name),
                    notebook: task.notebook.as_ref().map(|n| n.notebook.clone()),
                    name: job.name,
                    task: task.name.clone(),
                    env: job_env(dag, task),
                    depends,
                    retries: task.retries.unwrap_or(0),
                    timeout: task.timeout,
                }
            })
            .collect();
        Plan {
            name: dag.name.clone().unwrap_or_else(|| "run".to_owned()),
            source: dag.source.clone(),
            params: ParamMap::of(&dag.options.params),
            jobs: planned,
        }
    }

    /// The job-level dependency lists, as the scheduler takes them.
    pub(crate) fn dependencies(&self) -> Vec<Vec<usize>> {
        self.jobs.iter().map(|j| j.depends.clone()).collect()
    }

    /// Says why the jobs left out were not chosen (`--from train`).
    pub(crate) fn left_out_because(&mut self, why: &str) {
        for job in &mut self.jobs {
            if let Some(left_out) = &mut job.left_out
                && left_out.phase == JobPhase::Skipped
            {
                left_out.reason = format!("not chosen to run ({why})");
            }
        }
    }

    pub(crate) fn job_names(&self) -> Vec<String> {
        self.jobs.iter().map(|j| j.name.clone()).collect()
    }
}

#[cfg(test)]
pub(crate) mod tests;
