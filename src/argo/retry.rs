//! `retry` on the cluster, pure: the job graph of a finished Workflow (nested `part-*` DAGs
//! flattened, sweep points as jobs), and the new Workflow that runs only the chosen jobs: the
//! old spec with the other tasks removed, sweeps cut to the chosen points, and `depends` edges
//! to removed tasks dropped (they are done). A new Workflow linked to the old one by label,
//! rather than Argo's in-place retry (rewriting the old status): it needs no rights beyond
//! `create`, keeps the failed run as it was, and is a run like any other (`get`, `logs`,
//! `watch`, `retry` again).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::labels::RETRY_OF_LABEL;
use super::manifest::PART_PREFIX;
use super::resubmit::resubmission;
use super::view::WorkflowView;
use crate::events::JobPhase;
use crate::pipeline::selection::JobGraph;

/// A Workflow's jobs, as `selection` takes them, and where each lives in the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WorkflowJobs {
    pub graph: JobGraph,
    /// Each job's task and sweep point (`None` for a task without `withItems`).
    pub place: Vec<(String, Option<usize>)>,
    /// Whether each job succeeded in the old run.
    pub succeeded: Vec<bool>,
}

/// One DAG task of the spec that runs a job (not a nested part).
struct FlatTask {
    name: String,
    items: Option<usize>,
    /// Every job task it waits for, through nested parts too.
    after: BTreeSet<String>,
}

fn dag_tasks<'a>(templates: &'a BTreeMap<String, &'a Value>, name: &str) -> &'a [Value] {
    templates
        .get(name)
        .and_then(|t| t.pointer("/dag/tasks"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The tasks a task waits for: `depends: "a && b"` (what jupyterflow writes), or the older
/// `dependencies: [a, b]` of runs submitted by earlier versions.
fn depends_names(task: &Value) -> Vec<String> {
    let mut names: Vec<String> = task["depends"]
        .as_str()
        .map(|d| {
            d.split("&&")
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if let Some(list) = task["dependencies"].as_array() {
        names.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    names
}

fn is_part(task: &Value) -> bool {
    task["template"]
        .as_str()
        .is_some_and(|t| t.starts_with(PART_PREFIX))
}

/// Every job task inside DAG template `name`, nested parts included.
fn leaves(templates: &BTreeMap<String, &Value>, name: &str, out: &mut BTreeSet<String>) {
    for task in dag_tasks(templates, name) {
        let task_name = task["name"].as_str().unwrap_or_default();
        if is_part(task) {
            leaves(
                templates,
                task["template"].as_str().unwrap_or_default(),
                out,
            );
        } else {
            out.insert(task_name.to_owned());
        }
    }
}

fn flatten(
    templates: &BTreeMap<String, &Value>,
    name: &str,
    inherited: &BTreeSet<String>,
    out: &mut Vec<FlatTask>,
) {
    let tasks = dag_tasks(templates, name);
    for task in tasks {
        let mut after = inherited.clone();
        for dep in depends_names(task) {
            match tasks.iter().find(|t| t["name"] == dep.as_str()) {
                Some(t) if is_part(t) => {
                    leaves(
                        templates,
                        t["template"].as_str().unwrap_or_default(),
                        &mut after,
                    );
                }
                _ => {
                    after.insert(dep);
                }
            }
        }
        if is_part(task) {
            flatten(
                templates,
                task["template"].as_str().unwrap_or_default(),
                &after,
                out,
            );
        } else {
            out.push(FlatTask {
                name: task["name"].as_str().unwrap_or_default().to_owned(),
                items: task["withItems"].as_array().map(Vec::len),
                after,
            });
        }
    }
}

/// The sweep point of a job's display name: `train(3:lr=0.1)` → 3.
fn point_of(display: &str, task: &str) -> Option<usize> {
    display
        .strip_prefix(task)?
        .strip_prefix('(')?
        .split(':')
        .next()?
        .parse()
        .ok()
}

impl WorkflowJobs {
    /// The jobs of `object` (a jupyterflow Workflow) and how each did, from its `view`.
    pub(crate) fn read(object: &Value, view: &WorkflowView) -> Self {
        let templates = templates_of(object);
        let entrypoint = object["spec"]["entrypoint"].as_str().unwrap_or("main");
        let mut flat = Vec::new();
        flatten(&templates, entrypoint, &BTreeSet::new(), &mut flat);
        let mut jobs = Vec::new();
        let mut tasks = Vec::new();
        let mut place = Vec::new();
        let mut succeeded = Vec::new();
        let mut of_task: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for task in &flat {
            let points: Vec<Option<usize>> = match task.items {
                Some(n) => (0..n).map(Some).collect(),
                None => vec![None],
            };
            for point in points {
                let shown = view.jobs.iter().find(|j| {
                    j.task == task.name
                        && match point {
                            Some(k) => point_of(&j.name, &task.name) == Some(k),
                            None => true,
                        }
                });
                of_task.entry(&task.name).or_default().push(jobs.len());
                jobs.push(shown.map_or_else(
                    || match point {
                        Some(k) => format!("{}({k})", task.name),
                        None => task.name.clone(),
                    },
                    |j| j.name.clone(),
                ));
                tasks.push(task.name.clone());
                place.push((task.name.clone(), point));
                succeeded.push(shown.is_some_and(|j| j.phase == JobPhase::Succeeded));
            }
        }
        let depends = flat
            .iter()
            .flat_map(|task| {
                let waits: Vec<usize> = task
                    .after
                    .iter()
                    .flat_map(|t| of_task.get(t.as_str()).cloned().unwrap_or_default())
                    .collect();
                let count = task.items.unwrap_or(1);
                std::iter::repeat_n(waits, count)
            })
            .collect();
        WorkflowJobs {
            graph: JobGraph {
                jobs,
                tasks,
                depends,
            },
            place,
            succeeded,
        }
    }

    /// The Workflow that runs only `chosen` (job indices) of `old`: see the module doc.
    pub(crate) fn retry_workflow(&self, old: &Value, chosen: &BTreeSet<usize>) -> Value {
        // Task → the points (or the one plain job) that run again.
        let mut keep: BTreeMap<&str, BTreeSet<Option<usize>>> = BTreeMap::new();
        for &i in chosen {
            let (task, point) = &self.place[i];
            keep.entry(task.as_str()).or_default().insert(*point);
        }
        let old_templates = templates_of(old);
        // Parts left with nothing to run go, with the tasks that use them.
        let emptied: BTreeSet<String> = old_templates
            .keys()
            .filter(|name| name.starts_with(PART_PREFIX))
            .filter(|name| {
                let mut inside = BTreeSet::new();
                leaves(&old_templates, name, &mut inside);
                inside.iter().all(|t| !keep.contains_key(t.as_str()))
            })
            .cloned()
            .collect();
        let mut new = resubmission(old);
        let old_name = old["metadata"]["name"].as_str().unwrap_or_default();
        new["metadata"]["labels"][RETRY_OF_LABEL] = Value::from(old_name);
        let Some(templates) = new["spec"]["templates"].as_array_mut() else {
            return new;
        };
        templates.retain(|t| !emptied.contains(t["name"].as_str().unwrap_or_default()));
        for template in templates.iter_mut() {
            let Some(tasks) = template
                .pointer_mut("/dag/tasks")
                .and_then(Value::as_array_mut)
            else {
                continue;
            };
            let mut removed: BTreeSet<String> = BTreeSet::new();
            tasks.retain_mut(|task| {
                let name = task["name"].as_str().unwrap_or_default().to_owned();
                let stays = if is_part(task) {
                    !emptied.contains(task["template"].as_str().unwrap_or_default())
                } else if let Some(points) = keep.get(name.as_str()) {
                    // `get_mut`, not `["withItems"]`: indexing would add a null one.
                    if let Some(items) = task.get_mut("withItems").and_then(Value::as_array_mut) {
                        let mut k = 0;
                        items.retain(|_| {
                            k += 1;
                            points.contains(&Some(k - 1))
                        });
                    }
                    true
                } else {
                    false
                };
                if !stays {
                    removed.insert(name);
                }
                stays
            });
            for task in tasks.iter_mut() {
                let waits: Vec<String> = depends_names(task)
                    .into_iter()
                    .filter(|d| !removed.contains(d))
                    .collect();
                if let Some(task) = task.as_object_mut() {
                    task.remove("dependencies");
                    if waits.is_empty() {
                        task.remove("depends");
                    } else {
                        task.insert("depends".to_owned(), Value::from(waits.join(" && ")));
                    }
                }
            }
        }
        new
    }
}

/// A job as a cluster run's record names it: its name (as Argo names its node), task and argv.
pub(crate) type RecordedJob = (String, String, Vec<String>);

impl WorkflowJobs {
    /// The jobs of the retry Workflow that runs `chosen`, for its run record, from `old` (the
    /// old run's recorded jobs, in the order `run` wrote them: a sweep's points in order). A
    /// sweep cut to its chosen points numbers them anew, as Argo will name them: the old
    /// `train(1:lr:0.01)` is the retry's `train(0:lr:0.01)` when it is the only point left.
    /// Jobs the old record lacks are left out (their supervisors add them as they start).
    pub(crate) fn retry_jobs(
        &self,
        chosen: &BTreeSet<usize>,
        old: &[RecordedJob],
    ) -> Vec<RecordedJob> {
        let mut next_point: BTreeMap<&str, usize> = BTreeMap::new();
        chosen
            .iter()
            .filter_map(|&i| {
                let (task, point) = &self.place[i];
                let mut of_task = old.iter().filter(|(_, t, _)| t == task);
                let Some(point) = point else {
                    return of_task.next().cloned();
                };
                let (name, _, argv) = of_task.nth(*point)?;
                let new_point = next_point.entry(task.as_str()).or_default();
                let renamed = name
                    .strip_prefix(task.as_str())
                    .and_then(|rest| rest.strip_prefix('('))
                    .and_then(|rest| rest.split_once(':'))
                    .map_or_else(
                        || name.clone(),
                        |(_, values)| format!("{task}({new_point}:{values}"),
                    );
                *new_point += 1;
                Some((renamed, task.clone(), argv.clone()))
            })
            .collect()
    }
}

/// The spec's templates by name.
fn templates_of(object: &Value) -> BTreeMap<String, &Value> {
    object["spec"]["templates"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|t| (t["name"].as_str().unwrap_or_default().to_owned(), t))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
