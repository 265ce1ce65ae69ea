//! The local plan (`run --dry-run --local`): every job with its exact argv, its stage and what
//! it waits for, as a table or as JSON/YAML. Pure: the plan in, text out.

use std::collections::HashMap;
use std::path::Path;

use serde_json::json;

use super::format::{self, OutputError, OutputFormat};
use super::table;
use crate::local::Plan;
use crate::pipeline::Dag;
use crate::pipeline::command::quote;

/// What would run, in what order, in `format` (a table unless a structured format is asked).
pub(crate) fn plan(
    dag: &Dag,
    plan: &Plan,
    working_dir: &Path,
    parallelism: usize,
    format: &OutputFormat,
) -> Result<String, OutputError> {
    let names: Vec<&str> = plan.jobs.iter().map(|j| j.name.as_str()).collect();
    // Jobs `--from`/`--only` left out do not run, and what waits for one does not wait.
    let runs = |i: usize| plan.jobs[i].left_out.is_none();
    let waits_for = |j: &crate::local::PlannedJob| -> Vec<&str> {
        j.depends
            .iter()
            .filter(|&&d| runs(d))
            .map(|&d| names[d])
            .collect()
    };
    let running: Vec<usize> = (0..plan.jobs.len()).filter(|&i| runs(i)).collect();
    if let OutputFormat::Json | OutputFormat::Yaml | OutputFormat::JsonPath(_) = format {
        let value = json!({
            "name": plan.name,
            "workingDir": working_dir,
            "parallelism": parallelism,
            "jobs": running.iter().map(|&i| &plan.jobs[i]).map(|j| with_notebook(j, json!({
                "name": j.name,
                "argv": j.argv,
                "env": j.env.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
                "depends": waits_for(j),
                "retries": j.retries,
                "timeoutSeconds": j.timeout.map(|t| t.as_secs()),
            }))).collect::<Vec<_>>(),
        });
        return Ok(format::structured(&value, format)?.unwrap_or_default());
    }
    if *format == OutputFormat::Name {
        return Ok(running
            .iter()
            .map(|&i| plan.jobs[i].name.clone() + "\n")
            .collect());
    }
    let levels = job_levels(dag, plan);
    // By stage, and as written within one.
    let mut order = running.clone();
    order.sort_by_key(|&i| levels[i]);
    let rows: Vec<Vec<String>> = order
        .into_iter()
        .map(|i| (i, &plan.jobs[i]))
        .map(|(i, j)| {
            let deps = waits_for(j);
            vec![
                (levels[i] + 1).to_string(),
                j.name.clone(),
                {
                    let text = j
                        .argv
                        .iter()
                        .map(|a| quote(a))
                        .collect::<Vec<_>>()
                        .join(" ");
                    match notebook_of(&j.argv) {
                        Some(_) => format!("{} {text}", super::graph::NOTEBOOK_MARK),
                        None => text,
                    }
                },
                if deps.len() > 3 {
                    format!("{}, … ({} jobs)", deps[..2].join(", "), deps.len())
                } else {
                    deps.join(", ")
                },
            ]
        })
        .collect();
    let mut text = table::render(&["STAGE", "JOB", "COMMAND", "AFTER"], &rows);
    let left_out = plan.jobs.len() - running.len();
    text.push_str(&format!(
        "{}{}, at most {parallelism} at once, in {}\n",
        super::run_view::jobs_count(running.len()),
        if left_out > 0 {
            format!(" ({left_out} left out)")
        } else {
            String::new()
        },
        working_dir.display()
    ));
    if !plan.params.is_empty() {
        text.push_str(&format!("params: {}\n", plan.params));
    }
    if let Some(engine) = notebook_engine(dag) {
        text.push_str(&engine);
    }
    Ok(text)
}

/// Each job's stage: its task's depth in the DAG.
/// "notebook engine: papermill", when notebook steps run with papermill (the default,
/// nbclient, goes unsaid).
pub(crate) fn notebook_engine(dag: &Dag) -> Option<String> {
    let engine = dag.options.notebook_engine;
    (engine != crate::pipeline::NotebookEngine::default()
        && dag.tasks.iter().any(|t| t.notebook_path().is_some()))
    .then(|| format!("notebook engine: {}\n", engine.as_str()))
}

/// The notebook a job runs, when it is a notebook step (a dry run shows steps as written).
fn notebook_of(argv: &[String]) -> Option<&str> {
    argv.first()
        .map(String::as_str)
        .filter(|p| crate::pipeline::notebook::step::is_notebook(p))
}

/// Marks a notebook step in the JSON plan (`"notebook": "train.ipynb"`).
fn with_notebook(
    job: &crate::local::PlannedJob,
    mut value: serde_json::Value,
) -> serde_json::Value {
    if let (Some(notebook), Some(object)) = (notebook_of(&job.argv), value.as_object_mut()) {
        object.insert("notebook".to_owned(), notebook.into());
    }
    value
}

fn job_levels(dag: &Dag, plan: &Plan) -> Vec<usize> {
    let levels = dag.levels();
    let by_name: HashMap<&str, usize> = dag
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), levels[i]))
        .collect();
    plan.jobs
        .iter()
        .map(|j| by_name.get(j.task.as_str()).copied().unwrap_or(0))
        .collect()
}
