//! `logs NAME [JOB] [-f]` for cluster runs: the `main` container of each job pod (label
//! `workflows.argoproj.io/workflow`), every line prefixed with its job. With `-f`, one log
//! stream per pod, and the workflow's watch tells when new pods appear and when the run ends.

use std::collections::{BTreeMap, HashSet};

use futures::io::AsyncBufReadExt as _;
use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Pod;
use kube::api::WatchEvent;
use tokio::sync::mpsc;

use super::cluster_runs::{resolve, with_cluster};
use crate::cli::LogsArgs;
use crate::cluster::api::to_json;
use crate::cluster::status::WorkflowView;
use crate::cluster::{ArgoKind, Cluster, ClusterError};
use crate::environment::user_config::UserConfig;
use crate::error::{EXIT_FAILED, Error};
use crate::events::RunStatus;
use crate::printer::Printer;

const WORKFLOW_LABEL: &str = "workflows.argoproj.io/workflow";
const NODE_NAME_ANNOTATION: &str = "workflows.argoproj.io/node-name";
const CONTAINER: &str = "main";

/// A job pod: its name, the job it runs, and whether its container has started.
#[derive(Debug, Clone, PartialEq, Eq)]
struct JobPod {
    pod: String,
    job: String,
    task: String,
    started: bool,
}

/// Which job each pod runs, from the node-name annotation Argo puts on it, matched against the
/// workflow's nodes (so sweep points read `train(0:0.1)`, not a pod hash).
fn job_pods(pods: &[Pod], view: &WorkflowView) -> Vec<JobPod> {
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

fn prefixed(job: &str, text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(job);
        out.push_str(" | ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

pub fn logs(args: &LogsArgs, config: &UserConfig, printer: &mut Printer) -> Result<u8, Error> {
    with_cluster(&args.history, config, printer, async |cluster, printer| {
        let name = resolve(cluster, &args.run).await?;
        let object = cluster.get(ArgoKind::Workflow, &name).await?;
        let view = WorkflowView::from_json(&object);
        if let Some(job) = &args.job
            && !view.jobs.iter().any(|j| &j.name == job || &j.task == job)
        {
            let names: Vec<&str> = view.jobs.iter().map(|j| j.name.as_str()).collect();
            return Err(Error::usage(
                format!("run {name} has no job named `{job}`"),
                if names.is_empty() {
                    "no job has started yet; try again with -f".to_owned()
                } else {
                    format!("its jobs are: {}", names.join(", "))
                },
            ));
        }
        let wanted = |p: &JobPod| {
            args.job
                .as_ref()
                .is_none_or(|j| &p.job == j || &p.task == j)
        };
        if args.follow {
            return follow(cluster, &name, object, &wanted, printer).await;
        }
        let pods = cluster
            .list_pods(&format!("{WORKFLOW_LABEL}={name}"))
            .await?;
        let pods: Vec<JobPod> = job_pods(&pods, &view)
            .into_iter()
            .filter(|p| wanted(p))
            .collect();
        if pods.is_empty() {
            gone(&name, &view, printer)?;
            return Ok(0);
        }
        for pod in pods.iter().filter(|p| p.started) {
            let mut stream = cluster.pod_log(&pod.pod, CONTAINER, false).await?;
            let mut text = String::new();
            futures::io::AsyncReadExt::read_to_string(&mut stream, &mut text)
                .await
                .map_err(|e| Error::Runtime(format!("reading the log of {}: {e}", pod.pod)))?;
            printer.data(&prefixed(&pod.job, &text));
        }
        Ok(0)
    })
}

/// No pods: either no job started yet, or Argo already removed them (pod GC).
fn gone(name: &str, view: &WorkflowView, printer: &mut Printer) -> Result<(), Error> {
    if view.is_finished() && !view.jobs.is_empty() {
        return Err(ClusterError::Other {
            message: format!("the job pods of {name} are gone (removed by Argo's pod garbage collection), and their logs with them"),
            hint: "to keep logs, configure an artifact repository with archiveLogs, or a podGC strategy that keeps pods".into(),
        }
        .into());
    }
    printer.status(&format!("{name} has no job pods yet; -f waits for them"));
    Ok(())
}

/// Streams every job pod's log until the workflow ends and every stream has finished.
async fn follow(
    cluster: &mut Cluster,
    name: &str,
    mut object: serde_json::Value,
    wanted: &dyn Fn(&JobPod) -> bool,
    printer: &mut Printer,
) -> Result<u8, Error> {
    let (lines, mut incoming) = mpsc::unbounded_channel::<String>();
    let mut streaming: HashSet<String> = HashSet::new();
    let mut version = object["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let mut watch = None;
    loop {
        let view = WorkflowView::from_json(&object);
        let pods = cluster
            .list_pods(&format!("{WORKFLOW_LABEL}={name}"))
            .await?;
        for pod in job_pods(&pods, &view) {
            if pod.started && wanted(&pod) && streaming.insert(pod.pod.clone()) {
                let mut pod_cluster = Cluster::new(cluster.conn.clone());
                let lines = lines.clone();
                tokio::spawn(async move {
                    let Ok(stream) = pod_cluster.pod_log(&pod.pod, CONTAINER, true).await else {
                        return;
                    };
                    let mut stream = stream.lines();
                    while let Ok(Some(line)) = stream.try_next().await {
                        if lines.send(prefixed(&pod.job, &line)).is_err() {
                            break;
                        }
                    }
                });
            }
        }
        if view.is_finished() {
            if streaming.is_empty() {
                gone(name, &view, printer)?;
            }
            drop(lines);
            while let Some(text) = incoming.recv().await {
                printer.data(&text);
            }
            return Ok(match view.run_status() {
                RunStatus::Succeeded => 0,
                _ => EXIT_FAILED,
            });
        }
        // Wait for the workflow to change, printing lines meanwhile.
        loop {
            if watch.is_none() {
                watch = Some(Box::pin(
                    cluster
                        .watch_one(ArgoKind::Workflow, name, &version)
                        .await?,
                ));
            }
            let Some(stream) = watch.as_mut() else {
                continue;
            };
            tokio::select! {
                Some(text) = incoming.recv() => printer.data(&text),
                event = stream.next() => match event {
                    Some(Ok(WatchEvent::Added(o) | WatchEvent::Modified(o))) => {
                        object = to_json(&o);
                        version = object["metadata"]["resourceVersion"].as_str().unwrap_or("").to_owned();
                        break;
                    }
                    Some(Ok(WatchEvent::Bookmark(b))) => version = b.metadata.resource_version,
                    Some(Ok(WatchEvent::Deleted(_))) => {
                        return Err(Error::usage(format!("workflow {name} was deleted"), "nothing more to follow"));
                    }
                    Some(Ok(WatchEvent::Error(_)) | Err(_)) => {
                        object = cluster.get(ArgoKind::Workflow, name).await?;
                        version = object["metadata"]["resourceVersion"].as_str().unwrap_or("").to_owned();
                        watch = None;
                        break;
                    }
                    None => watch = None,
                },
            }
        }
    }
}
