//! Notebook steps in the Argo object: the task runs the driver (`python3 <driver> <injected
//! notebook> <job>`, only paths per task), the shared template tells it the run's folder on
//! the shared volume (`JUPYTERFLOW_RUN_DIR=.jupyterflow/runs/{{workflow.name}}`) and, when
//! asked, papermill (`JUPYTERFLOW_NOTEBOOK_ENGINE=papermill`), and an
//! annotation names the notebook steps, so they read as such in the manifest.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, EnvVar};

use crate::argo::labels::NOTEBOOKS_ANNOTATION;
use crate::pipeline::command::quote;
use crate::pipeline::notebook::PreparedNotebook;
use crate::pipeline::notebook::prepare::{NOTEBOOKS_DIR, PYTHON, RUN_DIR_ENV, engine_env};
use crate::pipeline::{Dag, Task};

/// Adds the notebook steps' annotation to the workflow's `annotations`, when there are any.
pub(super) fn annotate(
    dag: &Dag,
    mut annotations: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let steps: Vec<String> = dag
        .tasks
        .iter()
        .filter(|t| t.runs())
        .filter_map(|t| Some(format!("{}={}", t.name, t.notebook.as_ref()?.notebook)))
        .collect();
    if !steps.is_empty() {
        annotations.insert(NOTEBOOKS_ANNOTATION.to_owned(), steps.join(","));
    }
    annotations
}

/// Each task's job names, in `points()` order, when the pipeline has notebook steps (their
/// executed copies are named after their jobs); empty lists otherwise.
pub(super) fn job_names(dag: &Dag) -> Vec<Vec<String>> {
    let mut names: Vec<Vec<String>> = vec![Vec::new(); dag.tasks.len()];
    if dag.tasks.iter().any(|t| t.notebook.is_some()) {
        for job in dag.jobs() {
            names[job.task].push(job.name);
        }
    }
    names
}

/// Gives the shared container the run folder's path, and papermill when it is asked for,
/// when any task is a notebook step (once for all tasks: the manifest stays small).
pub(super) fn add_run_dir(dag: &Dag, container: &mut Container) {
    if dag.tasks.iter().any(|t| t.notebook.is_some()) {
        let env = container.env.get_or_insert_with(Vec::new);
        env.push(EnvVar {
            name: RUN_DIR_ENV.to_owned(),
            value: Some(".jupyterflow/runs/{{workflow.name}}".to_owned()),
            value_from: None,
        });
        if let Some((name, value)) = engine_env(dag.options.notebook_engine) {
            env.push(EnvVar {
                name,
                value: Some(value),
                value_from: None,
            });
        }
    }
}

/// The `cmd` of a notebook step and its sweep items: without a sweep the paths are written
/// out; with one, each item also carries its injected notebook's name and its job's name
/// (`jobs`: the task's job names, in `points()` order), next to the values the UI shows.
pub(super) fn task_arguments(
    task: &Task,
    prepared: &PreparedNotebook,
    jobs: &[String],
    mut items: Vec<BTreeMap<String, String>>,
) -> (String, Vec<BTreeMap<String, String>>) {
    let driver = quote(&prepared.driver);
    if task.axes.is_empty() {
        let injected = prepared
            .injected
            .first()
            .map_or_else(String::new, |p| quote(p));
        let job = jobs.first().map_or_else(String::new, |j| quote(j));
        return (format!("exec {PYTHON} {driver} {injected} {job}"), items);
    }
    let taken = |key: &str| items.first().is_some_and(|item| item.contains_key(key));
    let mut notebook_key = "nb".to_owned();
    while taken(&notebook_key) {
        notebook_key.insert(0, '_');
    }
    let mut job_key = "job".to_owned();
    while taken(&job_key) {
        job_key.insert(0, '_');
    }
    let chosen = (0..task.job_count()).filter(|&k| task.runs_point(k));
    for (item, point) in items.iter_mut().zip(chosen) {
        let injected = prepared.injected.get(point).map_or("", String::as_str);
        let hash = injected
            .strip_prefix(NOTEBOOKS_DIR)
            .and_then(|rest| rest.strip_prefix('/'))
            .and_then(|rest| rest.strip_suffix(".ipynb"))
            .unwrap_or(injected);
        item.insert(notebook_key.clone(), hash.to_owned());
        item.insert(
            job_key.clone(),
            jobs.get(point).cloned().unwrap_or_default(),
        );
    }
    let cmd = format!(
        "exec {PYTHON} {driver} {NOTEBOOKS_DIR}/{{{{item.{notebook_key}}}}}.ipynb {{{{item.{job_key}}}}}"
    );
    (cmd, items)
}
