//! Which job each of a workflow's pods runs, pure: Argo names the node on each pod
//! (`workflows.argoproj.io/node-name`), matched here against the workflow's jobs so sweep points
//! read `train(0:0.1)`, not a pod hash.

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
