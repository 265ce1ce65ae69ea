//! `lint` for notebook steps, pure over a reader: each notebook exists and is nbformat 4, and
//! each `-p` name is assigned in its `parameters` cell (a warning otherwise: papermill injects
//! it all the same, but the notebook probably never reads it).

use std::collections::{BTreeSet, HashMap};

use super::step::{self, NotebookStep};
use super::{ParametersCell, parameter_names};
use crate::pipeline::Dag;

/// One thing `lint` says about a notebook step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub job: String,
    pub message: String,
    pub hint: Option<String>,
    /// The step cannot run (missing or broken notebook); otherwise a warning.
    pub error: bool,
}

/// Every finding about `dag`'s notebook steps; `read` gives a notebook's text by its path as
/// written. Each notebook is read once, each (job, notebook, name) said once.
pub fn lint(dag: &Dag, read: &mut dyn FnMut(&str) -> Result<String, String>) -> Vec<Finding> {
    let mut cells: HashMap<String, Result<Option<ParametersCell>, String>> = HashMap::new();
    let mut said: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut findings = Vec::new();
    for task in &dag.tasks {
        for argv in task.argvs() {
            let Some(Ok(NotebookStep { path, params })) = step::parse(&argv) else {
                break;
            };
            let cell = cells.entry(path.clone()).or_insert_with(|| {
                let text =
                    read(&path).map_err(|e| format!("cannot read the notebook `{path}`: {e}"))?;
                parameter_names(&text)
                    .map_err(|e| format!("`{path}` is not a usable notebook: {e}"))
            });
            match cell {
                Err(message) => {
                    if said.insert((task.name.clone(), path.clone(), String::new())) {
                        findings.push(Finding {
                            job: task.name.clone(),
                            message: message.clone(),
                            hint: Some("a notebook step's path is relative to the job's working directory; open the notebook in Jupyter and save it".to_owned()),
                            error: true,
                        });
                    }
                }
                Ok(None) if !params.is_empty() => {
                    if said.insert((task.name.clone(), path.clone(), "\0".to_owned())) {
                        findings.push(Finding {
                            job: task.name.clone(),
                            message: format!("`{path}` has no cell tagged `parameters`: the values are injected as the first cell, before anything the notebook sets"),
                            hint: Some("in Jupyter, add the tag `parameters` to the cell that sets the defaults (View → Cell Toolbar → Tags, or the property inspector)".to_owned()),
                            error: false,
                        });
                    }
                }
                Ok(None) => {}
                Ok(Some(cell)) => {
                    for param in &params {
                        let Some(message) = super::unknown_parameter_hint(&param.name, cell) else {
                            continue;
                        };
                        if said.insert((task.name.clone(), path.clone(), param.name.clone())) {
                            findings.push(Finding {
                                job: task.name.clone(),
                                message: format!("{path}: {message}"),
                                hint: None,
                                error: false,
                            });
                        }
                    }
                }
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::dag;

    const NOTEBOOK: &str = r#"{"cells": [{"cell_type": "code", "metadata": {"tags": ["parameters"]},
        "source": "learning_rate = 0.1\nepochs = 2\n", "outputs": [], "execution_count": null}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 4}"#;

    #[test]
    fn unknown_names_missing_and_broken_notebooks() {
        let dag = dag("a.ipynb -p learning_rat {1,2} -p epochs 3 >> gone.ipynb >> bad.ipynb");
        let findings = lint(&dag, &mut |path| match path {
            "a.ipynb" => Ok(NOTEBOOK.to_owned()),
            "bad.ipynb" => Ok("{\"cells\": [".to_owned()),
            _ => Err("No such file or directory".to_owned()),
        });
        assert_eq!(findings.len(), 3, "{findings:#?}");
        assert!(!findings[0].error);
        assert!(
            findings[0]
                .message
                .contains("did you mean `learning_rate`?"),
            "{}",
            findings[0].message
        );
        assert!(
            findings[1].error
                && findings[1]
                    .message
                    .contains("cannot read the notebook `gone.ipynb`")
        );
        assert!(
            findings[2].error && findings[2].message.contains("not valid JSON"),
            "{}",
            findings[2].message
        );
    }
}
