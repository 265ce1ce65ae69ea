//! Which job each of a workflow's pods runs, pure: Argo names the node on each pod
//! (`workflows.argoproj.io/node-name`), matched here against the workflow's jobs so sweep points
//! read `train(0:0.1)`, not a pod hash. [`job_of_node`] reads the same name without the
//! workflow's status, as a job's supervisor must (it sees only its own pod).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;

use super::labels::NODE_NAME_ANNOTATION;
use super::view::WorkflowView;

/// A job pod: its name, the job it runs, and whether its container has started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobPod {
    pub pod: String,
    pub job: String,
    pub task: String,
    pub started: bool,
}

/// Which job each pod runs, from the node-name annotation Argo puts on it, matched against the
/// workflow's nodes (so sweep points read `train(0:0.1)`, not a pod hash).
pub(crate) fn job_pods(pods: &[Pod], view: &WorkflowView) -> Vec<JobPod> {
    let mut out: Vec<JobPod> =
        pods.iter()
            .map(|pod| {
                let name = pod.metadata.name.clone().unwrap_or_default();
                let node = pod
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(NODE_NAME_ANNOTATION))
                    .cloned()
                    .unwrap_or_default();
                let job = view.jobs.iter().find(|j| {
                    j.node_name == node || j.attempts.iter().any(|a| a.node_name == node)
                });
                let fallback = node.rsplit('.').next().unwrap_or(&name).to_owned();
                let phase = pod
                    .status
                    .as_ref()
                    .and_then(|s| s.phase.as_deref())
                    .unwrap_or("Pending");
                JobPod {
                    pod: name.clone(),
                    job: job.map_or_else(|| fallback.clone(), |j| j.name.clone()),
                    task: job.map_or(fallback, |j| j.task.clone()),
                    started: phase != "Pending",
                }
            })
            .collect();
    // Job order as the workflow shows it, then pod name.
    let order: BTreeMap<&str, usize> = view
        .jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.name.as_str(), i))
        .collect();
    out.sort_by_key(|p| {
        (
            order.get(p.job.as_str()).copied().unwrap_or(usize::MAX),
            p.pod.clone(),
        )
    });
    out
}

/// The job a pod's node runs, read from the node's name alone: what `get` and `logs` call it
/// (the node's display name, as [`WorkflowView`] shows jobs), its task, and which attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeJob {
    /// `prep`, or `train(0:lr:0.1)` for a sweep point.
    pub job: String,
    /// The DAG task: `train`.
    pub task: String,
    /// 1 for the first attempt; a retried job's pods are its Retry node's children `(0)`,
    /// `(1)`…, so `(N)` is attempt N + 1.
    pub attempt: u32,
}

/// The job of the pod node `node_name` (`wf-abc12.train(0:lr:0.1)(1)`) in workflow
/// `workflow`. Argo names a node by its path: the workflow, each DAG it is nested in
/// (`part-1-1`, …), then the task, with `(i:k:v,…)` for a sweep point and `(N)` for a retry
/// attempt. Task and part names hold neither `.` nor `(`, so the job is what follows the last
/// `.` before the first `(`. A retry suffix is a final `(digits)`: a sweep's values never end
/// that way (a value holding a parenthesis is shell-quoted, so it ends in `'`).
/// `None` for a name that is not a node of `workflow`.
pub(crate) fn job_of_node(workflow: &str, node_name: &str) -> Option<NodeJob> {
    let path = node_name.strip_prefix(workflow)?.strip_prefix('.')?;
    let head_end = path.find('(').unwrap_or(path.len());
    let task_start = path[..head_end].rfind('.').map_or(0, |dot| dot + 1);
    let mut job = &path[task_start..];
    let task = &path[task_start..head_end];
    if task.is_empty() {
        return None;
    }
    let mut attempt = 1;
    if let Some(open) = job.rfind('(')
        && open >= task.len()
        && let Some(digits) = job[open + 1..].strip_suffix(')')
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        attempt = digits.parse::<u32>().ok()?.saturating_add(1);
        job = &job[..open];
    }
    Some(NodeJob {
        job: job.to_owned(),
        task: task.to_owned(),
        attempt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::argo::view::{WorkflowView, fixture};

    fn node(job: &str, task: &str, attempt: u32) -> NodeJob {
        NodeJob {
            job: job.into(),
            task: task.into(),
            attempt,
        }
    }

    #[test]
    fn node_names_map_to_the_jobs_get_and_logs_show() {
        let wf = "wf-abc12";
        for (workflow, name, expected) in [
            (wf, "wf-abc12.prep", Some(node("prep", "prep", 1))),
            // Retry attempts: the Retry node's children.
            (wf, "wf-abc12.prep(0)", Some(node("prep", "prep", 1))),
            (wf, "wf-abc12.train(2)", Some(node("train", "train", 3))),
            // Sweep points, with values holding dots, colons, slashes and quotes.
            (
                wf,
                "wf-abc12.train(0:lr:0.1)",
                Some(node("train(0:lr:0.1)", "train", 1)),
            ),
            (
                wf,
                "wf-abc12.train(3:p0:0.01,p1:tanh)(1)",
                Some(node("train(3:p0:0.01,p1:tanh)", "train", 2)),
            ),
            (
                wf,
                "wf-abc12.train(12:x:'a (3)')",
                Some(node("train(12:x:'a (3)')", "train", 1)),
            ),
            (
                wf,
                "wf-abc12.train(0:n:3)",
                Some(node("train(0:n:3)", "train", 1)),
            ),
            (
                wf,
                "wf-abc12.train(1:path:data/a.csv)(0)",
                Some(node("train(1:path:data/a.csv)", "train", 1)),
            ),
            // Nested parts of big pipelines, at any depth.
            (
                "big-r8m2x",
                "big-r8m2x.part-1-1.clean",
                Some(node("clean", "clean", 1)),
            ),
            (
                "big-r8m2x",
                "big-r8m2x.part-2-1.part-1-7.step-1401(1)",
                Some(node("step-1401", "step-1401", 2)),
            ),
            (
                "big-r8m2x",
                "big-r8m2x.part-1-2.train(7:seed:7)",
                Some(node("train(7:seed:7)", "train", 1)),
            ),
            // A workflow name holding dots (a workflow.yaml `name:`).
            (
                "ml.v2-x7k2p",
                "ml.v2-x7k2p.eval",
                Some(node("eval", "eval", 1)),
            ),
            // Not a job node of this workflow.
            (wf, "other-zz9zz.prep", None),
            (wf, "wf-abc12", None),
            (wf, "wf-abc12.", None),
            (wf, "wf-abc12.(0)", None),
        ] {
            assert_eq!(job_of_node(workflow, name), expected, "{name}");
        }
    }

    /// Every pod node of the fixtures Argo wrote maps to the job `get` shows for it.
    #[test]
    fn the_mapping_agrees_with_the_workflow_view() {
        for file in ["retried.json", "sweep.json", "nested.json", "failed.json"] {
            let object = fixture(file);
            let view = WorkflowView::from_json(&object);
            let mut checked = 0;
            for job in &view.jobs {
                for attempt in &job.attempts {
                    let found = job_of_node(&view.name, &attempt.node_name).expect("a job node");
                    assert_eq!(found.job, job.name, "{file}: {}", attempt.node_name);
                    assert_eq!(found.task, job.task, "{file}: {}", attempt.node_name);
                    checked += 1;
                }
            }
            assert!(checked > 0, "{file} has pod nodes");
        }
        let retried = WorkflowView::from_json(&fixture("retried.json"));
        let train = retried
            .jobs
            .iter()
            .find(|j| j.name == "train")
            .expect("train");
        let attempts: Vec<u32> = train
            .attempts
            .iter()
            .map(|a| {
                job_of_node(&retried.name, &a.node_name)
                    .expect("node")
                    .attempt
            })
            .collect();
        assert_eq!(attempts, [1, 2]);
    }
}
