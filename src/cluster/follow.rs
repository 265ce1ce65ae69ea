//! Following a workflow live (`run --watch`, `watch`): the watch API on that one object (no
//! polling, see `watch`), each snapshot turned by `argo::tracker` into the same `RunEvent`s the
//! local engine sends; after a job fails, the last lines of its pod's log (`JobLogTail`), as
//! the local engine sends them from its log file. Hands events and the client's notes to its
//! caller; never prints. The caller's `detach` future (Ctrl-C) ends the following, not the run.

use std::future::Future;
use std::time::{Duration, SystemTime};

use futures::io::AsyncReadExt as _;
use k8s_openapi::api::core::v1::Pod;
use kube::api::LogParams;
use serde_json::Value;

use super::api::Cluster;
use super::error::ClusterError;
use super::watch::{self, Update, WorkflowWatch};
use crate::argo::labels::{NODE_NAME_ANNOTATION, WORKFLOW_LABEL};
use crate::argo::pods::job_pods;
use crate::argo::tracker::Tracker;
use crate::argo::view::WorkflowView;
use crate::events::{FAILURE_TAIL_LINES, JobPhase, RunEvent, RunStatus};

/// The container whose output is the job's.
const CONTAINER: &str = "main";

/// What following hands out, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Progress {
    Event(RunEvent),
    /// What the client did behind the scenes since the last look (retries), for `-v`.
    Notes(Vec<String>),
    /// Something the user should know while waiting (no controller has taken the workflow).
    Warning(String),
}

/// How long a workflow may wait for a controller before following says so. Argo's controller
/// marks a workflow Running within a second or two of its creation; a minute of silence means
/// none is coming.
pub(crate) const UNCLAIMED_AFTER: Duration = Duration::from_secs(30);

/// How following ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Followed {
    /// The workflow finished with this status.
    Finished(RunStatus),
    /// `detach` fired first: the run goes on in the cluster.
    Detached,
}

/// Follows workflow `name` from `initial` until it ends or `detach` completes.
pub(crate) async fn follow(
    cluster: &mut Cluster,
    name: &str,
    initial: Value,
    detach: impl Future<Output = ()>,
    mut show: impl FnMut(Progress),
) -> Result<Followed, ClusterError> {
    let mut tracker = Tracker::new();
    let mut watch = WorkflowWatch::from_object(name, &initial);
    let mut object = initial;
    let mut detach = std::pin::pin!(detach);
    let mut warned = false;
    loop {
        // No controller has written a phase yet: warn once, after `UNCLAIMED_AFTER` counted
        // from the workflow's creation (so `watch` on a long-stuck workflow warns at once).
        let unclaimed_for = if warned {
            None
        } else {
            unclaimed_for(&object, SystemTime::now())
        };
        if let Some(waited) = unclaimed_for
            && waited >= UNCLAIMED_AFTER
        {
            show(Progress::Warning(unclaimed_warning(name, &object, waited)));
            warned = true;
        }
        let snapshot = WorkflowView::from_json(&object);
        // The run's pods, listed once per snapshot and only when a job failed in it.
        let mut pods: Option<Vec<Pod>> = None;
        for event in tracker.update(&snapshot) {
            let failed = match &event {
                RunEvent::JobFinished {
                    job,
                    phase: JobPhase::Failed,
                    ..
                } => Some(job.clone()),
                _ => None,
            };
            show(Progress::Event(event));
            let Some(job) = failed else { continue };
            let tail = tokio::select! {
                () = &mut detach => return Ok(Followed::Detached),
                tail = failure_tail(cluster, name, &snapshot, &job, &mut pods) => tail,
            };
            let notes = std::mem::take(&mut cluster.notes);
            if !notes.is_empty() {
                show(Progress::Notes(notes));
            }
            if let Some(lines) = tail {
                show(Progress::Event(RunEvent::JobLogTail { job, lines }));
            }
        }
        if snapshot.is_finished() {
            return Ok(Followed::Finished(snapshot.run_status()));
        }
        let warn_in = match unclaimed_for {
            Some(waited) if !warned => UNCLAIMED_AFTER.saturating_sub(waited),
            // Nothing to warn about: a timer that never fires in practice.
            _ => Duration::from_secs(u64::from(u32::MAX)),
        };
        let update = tokio::select! {
            () = &mut detach => return Ok(Followed::Detached),
            () = tokio::time::sleep(warn_in) => continue,
            update = watch.next(cluster) => update,
        };
        let notes = std::mem::take(&mut cluster.notes);
        if !notes.is_empty() {
            show(Progress::Notes(notes));
        }
        match update? {
            Update::Changed(changed) => object = changed,
            Update::Deleted => return Err(watch::deleted(name)),
        }
    }
}

/// How long the workflow has waited for a controller, when none has written its phase yet.
fn unclaimed_for(object: &Value, now: SystemTime) -> Option<Duration> {
    let phase = object.pointer("/status/phase").and_then(Value::as_str);
    if phase.is_some_and(|p| !p.is_empty()) {
        return None;
    }
    let view = WorkflowView::from_json(object);
    Some(view.age(now).unwrap_or_default())
}

/// What to check when no controller takes a workflow: the three usual causes.
fn unclaimed_warning(name: &str, object: &Value, waited: Duration) -> String {
    let namespace = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("this namespace");
    let instance = object
        .pointer("/metadata/labels/workflows.argoproj.io~1controller-instanceid")
        .and_then(Value::as_str);
    let instance_hint = match instance {
        Some(id) => format!("is there a controller with instanceID `{id}` (config `argo_instance_id`)"),
        None => "was the controller started with an instanceID (then set `argo_instance_id` in the config)".to_owned(),
    };
    format!(
        "no Argo controller has picked up {name} in {}s: is the workflow controller running \
         (kubectl get pods -A -l app=workflow-controller), does it watch namespace `{namespace}` \
         (a namespaced install watches only its own), {instance_hint}? \
         The workflow waits until one does; `jupyterflow delete {name}` removes it",
        waited.as_secs()
    )
}

/// The last lines of the log of `job`'s last pod, or None when there are none to show: the
/// pod is already gone (Argo's pod GC) or its log cannot be read. Not being able to show the
/// tail must not end the following; a failure to read it becomes a note.
async fn failure_tail(
    cluster: &mut Cluster,
    workflow: &str,
    view: &WorkflowView,
    job: &str,
    pods: &mut Option<Vec<Pod>>,
) -> Option<Vec<String>> {
    if pods.is_none() {
        match cluster
            .list_pods(&format!("{WORKFLOW_LABEL}={workflow}"))
            .await
        {
            Ok(listed) => *pods = Some(listed),
            Err(e) => {
                cluster
                    .notes
                    .push(format!("cannot show the last lines of {job}: {e}"));
                *pods = Some(Vec::new());
            }
        }
    }
    let pod = last_pod(pods.as_deref().unwrap_or_default(), view, job)?;
    let params = LogParams {
        container: Some(CONTAINER.to_owned()),
        tail_lines: Some(i64::try_from(FAILURE_TAIL_LINES).unwrap_or(i64::MAX)),
        ..LogParams::default()
    };
    let read = match cluster.pod_log(&pod, &params).await {
        Ok(mut stream) => {
            let mut bytes = Vec::new();
            stream
                .read_to_end(&mut bytes)
                .await
                .map(|_| bytes)
                .map_err(|e| e.to_string())
        }
        Err(ClusterError::NotFound { .. }) => return None,
        Err(e) => Err(e.to_string()),
    };
    match read {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            (!lines.is_empty()).then_some(lines)
        }
        Err(e) => {
            cluster.notes.push(format!(
                "cannot show the last lines of {job} (pod {pod}): {e}"
            ));
            None
        }
    }
}

/// The pod of `job`'s last attempt: its pods as `argo::pods` finds them, the one Argo named
/// with the last attempt's node when a retried job has several.
fn last_pod(pods: &[Pod], view: &WorkflowView, job: &str) -> Option<String> {
    let mine: Vec<String> = job_pods(pods, view)
        .into_iter()
        .filter(|p| p.job == job)
        .map(|p| p.pod)
        .collect();
    let last_node = view
        .jobs
        .iter()
        .find(|j| j.name == job)
        .map(|j| j.attempts.last().map_or(&j.node_name, |a| &a.node_name));
    let node_of = |name: &String| {
        pods.iter()
            .find(|p| p.metadata.name.as_ref() == Some(name))
            .and_then(|p| p.metadata.annotations.as_ref())
            .and_then(|a| a.get(NODE_NAME_ANNOTATION))
    };
    mine.iter()
        .find(|name| last_node.is_some() && node_of(name) == last_node)
        .or(mine.last())
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_workflow_is_unclaimed_until_a_controller_writes_its_phase() {
        let created = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut object = json!({"metadata": {"name": "w", "namespace": "team-a",
            "creationTimestamp": "1970-01-12T13:46:40Z"}});
        let now = created + Duration::from_secs(45);
        assert_eq!(unclaimed_for(&object, now), Some(Duration::from_secs(45)));
        object["status"] = json!({"phase": ""});
        assert_eq!(unclaimed_for(&object, now), Some(Duration::from_secs(45)));
        object["status"] = json!({"phase": "Running"});
        assert_eq!(unclaimed_for(&object, now), None);
        let text = unclaimed_warning("w", &object, Duration::from_secs(45));
        assert!(text.contains("namespace `team-a`"), "{text}");
        assert!(text.contains("set `argo_instance_id`"), "{text}");
    }
}
