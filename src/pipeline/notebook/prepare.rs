//! Getting a `Dag`'s notebook steps ready to run, pure: each sweep point's notebook with its
//! parameters injected, named by its content (`.jupyterflow/notebooks/<sha256>.ipynb`), and the
//! driver script that executes it. What to write is returned; the caller writes it (nothing is
//! written for `--dry-run` or `lint`). Both backends then run the same argv:
//! `python3 <driver> <injected notebook> <job>`.

use std::collections::{BTreeMap, HashMap};

use super::step::{self, NotebookStep};
use super::{NotebookError, inject_parameters};
use crate::pipeline::{Dag, NotebookEngine};

/// Where injected notebooks and the driver go, relative to the jobs' working directory.
pub const NOTEBOOKS_DIR: &str = ".jupyterflow/notebooks";
/// The variable that tells the driver the run's folder: the executed copy goes to its
/// `notebooks/<job>.ipynb`. Set by the local executor for every job, and by the Argo template.
pub const RUN_DIR_ENV: &str = "JUPYTERFLOW_RUN_DIR";
/// The variable that asks the driver for papermill (`papermill`); unset, it uses nbclient.
/// Set, like `RUN_DIR_ENV`, on the shared Argo template and by the local plan.
pub const ENGINE_ENV: &str = "JUPYTERFLOW_NOTEBOOK_ENGINE";
/// The interpreter that runs the driver: the image's own.
pub const PYTHON: &str = "python3";
/// The driver: executes one injected notebook and keeps the executed copy (see the file).
pub const DRIVER_SOURCE: &str = include_str!("run_notebook.py");

/// The driver's variable for `engine`, when it is not the default: manifests and plans of
/// pipelines that do not ask for papermill stay as they were.
pub fn engine_env(engine: NotebookEngine) -> Option<(String, String)> {
    (engine != NotebookEngine::default())
        .then(|| (ENGINE_ENV.to_owned(), engine.as_str().to_owned()))
}

/// Hex digits of the SHA-256 kept in file names: 64 bits, far from any collision among the
/// notebooks of one working directory.
const HASH_DIGITS: usize = 16;

/// A notebook step, ready: the same for every backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedNotebook {
    /// The notebook as written (the first sweep point's, when a sweep varies it).
    pub notebook: String,
    /// The driver script, relative to the working directory.
    pub driver: String,
    /// The injected notebook of each sweep point, in `Task::points()` order, relative to the
    /// working directory.
    pub injected: Vec<String>,
}

impl PreparedNotebook {
    /// What the job at sweep point `point` runs.
    pub fn argv(&self, point: usize, job: &str) -> Vec<String> {
        vec![
            PYTHON.to_owned(),
            self.driver.clone(),
            self.injected.get(point).cloned().unwrap_or_default(),
            job.to_owned(),
        ]
    }
}

/// A file to write before the jobs start, relative to the working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookFile {
    pub path: String,
    pub content: String,
}

/// Why a notebook step cannot be made ready.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrepareError {
    #[error("job `{job}`: cannot read the notebook `{path}`: {reason}")]
    Read {
        job: String,
        path: String,
        reason: String,
    },
    #[error("job `{job}`: `{path}` is not a usable notebook: {source}")]
    Notebook {
        job: String,
        path: String,
        source: NotebookError,
    },
}

impl PrepareError {
    pub fn hint(&self) -> String {
        match self {
            PrepareError::Read { path, .. } => format!(
                "a notebook step's path is relative to the job's working directory (the workflow file's folder, or the current one for `-c`); check that `{path}` is there"
            ),
            PrepareError::Notebook { .. } => {
                "open it in Jupyter and save it again; `jupyterflow lint` checks every notebook of a pipeline".to_owned()
            }
        }
    }
}

/// Sets `Task::notebook` on every notebook step of `dag` and returns the files they need:
/// the driver once, and each distinct injected notebook once. `read` gives a notebook's text
/// by its path as written.
pub fn prepare(
    dag: &mut Dag,
    read: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<Vec<NotebookFile>, PrepareError> {
    // 32 bits tell the driver's versions apart; short, because every task's `cmd` names it.
    let driver = format!(
        "{NOTEBOOKS_DIR}/nbrun-{}.py",
        &content_hash(DRIVER_SOURCE)[..8]
    );
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    let mut texts: HashMap<String, String> = HashMap::new();
    for task in &mut dag.tasks {
        let mut injected = Vec::new();
        let mut first = None;
        for argv in task.argvs() {
            // `Dag::build` refused steps whose arguments are not parameters.
            let Some(Ok(NotebookStep { path, params })) = step::parse(&argv) else {
                break;
            };
            if !texts.contains_key(&path) {
                let text = read(&path).map_err(|reason| PrepareError::Read {
                    job: task.name.clone(),
                    path: path.clone(),
                    reason,
                })?;
                texts.insert(path.clone(), text);
            }
            let note = format!("injected by jupyterflow into {path}");
            let content = inject_parameters(&texts[&path], &params, &note).map_err(|source| {
                PrepareError::Notebook {
                    job: task.name.clone(),
                    path: path.clone(),
                    source,
                }
            })?;
            let file = format!("{NOTEBOOKS_DIR}/{}.ipynb", content_hash(&content));
            files.entry(file.clone()).or_insert(content);
            injected.push(file);
            first.get_or_insert(path);
        }
        if let Some(notebook) = first {
            task.notebook = Some(PreparedNotebook {
                notebook,
                driver: driver.clone(),
                injected,
            });
        }
    }
    if files.is_empty() {
        return Ok(Vec::new());
    }
    files.insert(driver, DRIVER_SOURCE.to_owned());
    Ok(files
        .into_iter()
        .map(|(path, content)| NotebookFile { path, content })
        .collect())
}

/// The job a notebook sweep point's Argo node runs, from its name: the `job` of its item
/// (`train(0:job:train-0-1,lr:0.1,notebook:…)` → `train-0-1`); `None` for other names.
pub fn notebook_job_of(node: &str) -> Option<&str> {
    let (_, items) = node.split_once('(')?;
    items
        .trim_end_matches(')')
        .split(',')
        .map(|part| {
            part.split_once(':')
                .filter(|(index, _)| index.bytes().all(|b| b.is_ascii_digit()))
                .map_or(part, |(_, rest)| rest)
        })
        .find_map(|part| part.strip_prefix("job:"))
}

/// The first `HASH_DIGITS` hex digits of the SHA-256 of `text`.
fn content_hash(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let mut hex = String::with_capacity(HASH_DIGITS);
    for byte in digest.as_ref().iter().take(HASH_DIGITS / 2) {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::dag;

    const NOTEBOOK: &str = r#"{
 "cells": [
  {
   "cell_type": "code",
   "execution_count": null,
   "metadata": {"tags": ["parameters"]},
   "outputs": [],
   "source": ["lr = 1\n"]
  }
 ],
 "metadata": {},
 "nbformat": 4,
 "nbformat_minor": 4
}
"#;

    #[test]
    fn each_sweep_point_gets_its_own_injected_notebook_and_one_driver() {
        let mut dag = dag("prep.py >> train.ipynb -p lr {0.1,0.01}");
        let mut asked = Vec::new();
        let files = prepare(&mut dag, &mut |path| {
            asked.push(path.to_owned());
            Ok(NOTEBOOK.to_owned())
        })
        .expect("valid");
        assert_eq!(asked, ["train.ipynb"], "read once");
        assert_eq!(dag.tasks[0].notebook, None);
        let prepared = dag.tasks[1].notebook.clone().expect("valid");
        assert_eq!(prepared.notebook, "train.ipynb");
        assert_eq!(prepared.injected.len(), 2);
        assert_ne!(prepared.injected[0], prepared.injected[1]);
        assert_eq!(files.len(), 3, "{files:?}");
        let first = files
            .iter()
            .find(|f| f.path == prepared.injected[0])
            .expect("valid");
        assert!(first.content.contains("lr = 0.1\\n"), "{}", first.content);
        assert!(
            files
                .iter()
                .any(|f| f.path == prepared.driver && f.content == DRIVER_SOURCE)
        );
        assert_eq!(
            prepared.argv(1, "train-0-01"),
            [
                "python3",
                &prepared.driver,
                &prepared.injected[1],
                "train-0-01"
            ]
        );
    }

    #[test]
    fn the_same_content_is_one_file() {
        let mut dag = dag("a.ipynb -p lr 2 >> b.ipynb -p lr 2");
        let files = prepare(&mut dag, &mut |_| Ok(NOTEBOOK.to_owned())).expect("valid");
        // Injected notes name their notebook, so they differ; the same step twice would not.
        assert_eq!(files.len(), 3);
        let mut dag2 = crate::pipeline::testing::dag("a.ipynb -p lr 2 >> b.py");
        let again = prepare(&mut dag2, &mut |_| Ok(NOTEBOOK.to_owned())).expect("valid");
        assert_eq!(again.len(), 2);
        assert!(again.iter().all(|f| files.contains(f)), "{again:?}");
    }

    #[test]
    fn a_missing_or_broken_notebook_names_the_job() {
        let mut broken = dag("train.ipynb");
        let e = prepare(&mut broken, &mut |_| Err("No such file".to_owned())).expect_err("refused");
        assert!(e.to_string().contains("job `train`"), "{e}");
        assert!(e.hint().contains("working directory"));
        let e = prepare(&mut broken, &mut |_| Ok("{".to_owned())).expect_err("refused");
        assert!(matches!(e, PrepareError::Notebook { .. }), "{e}");
    }

    #[test]
    fn a_sweep_points_job_is_read_from_its_node_name() {
        assert_eq!(
            notebook_job_of("train(0:job:train-0-1,lr:0.1,notebook:ab)"),
            Some("train-0-1")
        );
        assert_eq!(notebook_job_of("train(1:lr:0.1)"), None);
        assert_eq!(notebook_job_of("prep"), None);
    }

    #[test]
    fn pipelines_without_notebooks_need_no_files() {
        let mut plain = dag("a.py >> b.py");
        assert_eq!(
            prepare(&mut plain, &mut |_| unreachable!()).expect("valid"),
            []
        );
    }
}
