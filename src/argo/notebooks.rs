//! Where a cluster run's failed notebook steps left their executed notebooks, read from the
//! Workflow: its `jupyterflow.io/notebooks` annotation names the notebook tasks, the shared
//! template's `workingDir` is where jobs ran, and each job's name comes from its node (a
//! sweep point's item carries it as `job`). Pure; `get` reads the files.

use std::path::PathBuf;

use serde_json::Value;

use super::labels::NOTEBOOKS_ANNOTATION;
use super::manifest::SHARED_TEMPLATE;
use super::view::{JobView, WorkflowView};
use crate::events::JobPhase;
use crate::pipeline::notebook::prepare::notebook_job_of;

/// (job, executed notebook) of each failed notebook step of `object`, in the view's order.
pub(crate) fn failed_notebooks(object: &Value, view: &WorkflowView) -> Vec<(String, PathBuf)> {
    let Some(tasks) = object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(NOTEBOOKS_ANNOTATION))
        .and_then(Value::as_str)
    else {
        return Vec::new();
    };
    let tasks: Vec<&str> = tasks
        .split(',')
        .filter_map(|step| step.split_once('=').map(|(task, _)| task))
        .collect();
    let working_dir = object
        .pointer("/spec/templates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|t| t.get("name").and_then(Value::as_str) == Some(SHARED_TEMPLATE))
        .and_then(|t| t.pointer("/container/workingDir"))
        .and_then(Value::as_str)
        .map_or_else(PathBuf::new, PathBuf::from);
    let runs = working_dir.join(".jupyterflow/runs").join(&view.name);
    view.jobs
        .iter()
        .filter(|j| j.phase == JobPhase::Failed && tasks.contains(&j.task.as_str()))
        .map(|j| {
            let job = job_name(j);
            let path = runs.join("notebooks").join(format!("{job}.ipynb"));
            (job, path)
        })
        .collect()
}

/// The job's name as jupyterflow gives it: the task's, or for a sweep point the `job` of its
/// item.
fn job_name(job: &JobView) -> String {
    notebook_job_of(&job.name).map_or_else(|| job.task.clone(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_notebook_sweeps_recorded_jobs_are_named_as_argo_names_its_nodes() {
        let mut dag = crate::pipeline::testing::dag("train.ipynb -p lr {1,2}");
        let notebook = r#"{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}"#;
        crate::pipeline::notebook::prepare(&mut dag, &mut |_| Ok(notebook.to_owned()))
            .expect("prepared");
        let jobs = crate::argo::render::argo_jobs(&dag);
        let names: Vec<Option<&str>> = jobs.iter().map(|j| notebook_job_of(&j.name)).collect();
        assert_eq!(names, [Some("train-1"), Some("train-2")], "{jobs:?}");
        assert!(
            jobs[0].name.starts_with("train(0:job:train-1,lr:1,nb:"),
            "{jobs:?}"
        );
        assert!(jobs[1].argv[2].starts_with("exec python3 .jupyterflow/notebooks/nbrun-"));
        assert!(
            jobs[1].argv[2].ends_with(".ipynb train-2"),
            "{:?}",
            jobs[1].argv
        );
    }

    #[test]
    fn failed_notebook_jobs_and_their_executed_copies() {
        let object = json!({
            "metadata": {"name": "wf-x", "annotations": {NOTEBOOKS_ANNOTATION: "train=train.ipynb,prep=prep.ipynb"}},
            "spec": {"templates": [{"name": "job", "container": {"workingDir": "/home/jovyan"}}]},
            "status": {"phase": "Failed", "nodes": {
                "a": {"id": "a", "name": "wf-x.train(0:job:train-0-1,learning_rate:0.1,notebook:ab)", "displayName": "train(0:job:train-0-1,learning_rate:0.1,notebook:ab)", "type": "Pod", "phase": "Failed", "templateName": "job"},
                "b": {"id": "b", "name": "wf-x.prep", "displayName": "prep", "type": "Pod", "phase": "Succeeded", "templateName": "job"},
                "c": {"id": "c", "name": "wf-x.eval", "displayName": "eval", "type": "Pod", "phase": "Failed", "templateName": "job"}
            }}
        });
        let view = WorkflowView::from_json(&object);
        let found = failed_notebooks(&object, &view);
        assert_eq!(
            found,
            [(
                "train-0-1".to_owned(),
                PathBuf::from("/home/jovyan/.jupyterflow/runs/wf-x/notebooks/train-0-1.ipynb")
            )],
            "{:?}",
            view.jobs
        );
    }
}
