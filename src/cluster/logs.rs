//! Job logs of a cluster run: the `main` container of each job pod (label
//! `workflows.argoproj.io/workflow`). Read once, or followed: one log stream per pod, and the
//! workflow's watch (in a task of its own) tells when new pods appear and when the run ends.
//! Hands every piece of output to its caller; never prints.

use std::collections::{BTreeSet, HashSet};

use futures::io::AsyncBufReadExt as _;
use serde_json::Value;
use tokio::sync::mpsc;

use super::api::Cluster;
use super::error::ClusterError;
use super::watch::{self, Update, WorkflowWatch};
use crate::argo::labels::WORKFLOW_LABEL;
use crate::argo::pods::{JobPod, job_pods};
use crate::argo::view::WorkflowView;
use crate::events::{JobPhase, RunStatus};

const CONTAINER: &str = "main";

/// Which pods' output to show: every job, or one job (a job name, or a task's name for all
/// its sweep points).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Selection<'a>(pub Option<&'a str>);

impl Selection<'_> {
    fn wants(&self, pod: &JobPod) -> bool {
        self.0.is_none_or(|j| pod.job == j || pod.task == j)
    }
}

/// What the caller is handed, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LogPiece {
    /// Output of a job (whole lines while following; invalid UTF-8 replaced).
    Output { job: String, text: String },
    /// Some output could not be read or stopped early: why, for a note.
    Lost(String),
    /// No job has a pod yet (a status line for the user).
    NoPodsYet(String),
}

/// Reads the logs of run `name` (its state in `view`) once. Returns how many pods' logs could
/// not be read: one pod gone or never started must not hide the others' output.
pub(crate) async fn read(
    cluster: &mut Cluster,
    name: &str,
    view: &WorkflowView,
    selection: Selection<'_>,
    mut show: impl FnMut(LogPiece),
) -> Result<usize, ClusterError> {
    let pods = cluster
        .list_pods(&format!("{WORKFLOW_LABEL}={name}"))
        .await?;
    let pods: Vec<JobPod> = job_pods(&pods, view)
        .into_iter()
        .filter(|p| selection.wants(p))
        .collect();
    if pods.is_empty() {
        show(no_pods(name, view)?);
        return Ok(0);
    }
    let mut unreadable = 0;
    for pod in pods.iter().filter(|p| p.started) {
        match read_log(cluster, &pod.pod).await {
            Ok(text) => show(LogPiece::Output {
                job: pod.job.clone(),
                text,
            }),
            Err(e) => {
                unreadable += 1;
                show(LogPiece::Lost(format!(
                    "{}: cannot read the log of pod {}: {e}",
                    pod.job, pod.pod
                )));
            }
        }
    }
    Ok(unreadable)
}

/// A whole log; invalid UTF-8 (a program printing bytes) is replaced, not an error.
async fn read_log(cluster: &mut Cluster, pod: &str) -> Result<String, ClusterError> {
    let mut stream = cluster.pod_log(pod, CONTAINER, false).await?;
    let mut bytes = Vec::new();
    futures::io::AsyncReadExt::read_to_end(&mut stream, &mut bytes)
        .await
        .map_err(|e| ClusterError::ReadLog {
            pod: pod.to_owned(),
            detail: e.to_string(),
        })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// No pods: either no job started yet, or Argo already removed them (pod GC).
fn no_pods(name: &str, view: &WorkflowView) -> Result<LogPiece, ClusterError> {
    if view.is_finished() && !view.jobs.is_empty() {
        return Err(ClusterError::PodsGone {
            name: name.to_owned(),
        });
    }
    Ok(LogPiece::NoPodsYet(format!(
        "{name} has no job pods yet; -f waits for them"
    )))
}

/// What a pod's log task sends: a piece of output, or why the output stopped early.
enum Piece {
    Lines { job: String, text: String },
    Broken(String),
}

/// Streams one pod's log into the channel, line by line, until the container ends.
async fn stream_pod(mut cluster: Cluster, pod: JobPod, out: mpsc::UnboundedSender<Piece>) {
    let stream = match cluster.pod_log(&pod.pod, CONTAINER, true).await {
        Ok(stream) => stream,
        Err(e) => {
            let _ = out.send(Piece::Broken(format!(
                "{}: cannot follow pod {}: {e}",
                pod.job, pod.pod
            )));
            return;
        }
    };
    futures::pin_mut!(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match stream.read_until(b'\n', &mut line).await {
            Ok(0) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line).into_owned();
                let piece = Piece::Lines {
                    job: pod.job.clone(),
                    text,
                };
                if out.send(piece).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = out.send(Piece::Broken(format!(
                    "{}: the log stream of pod {} broke: {e}",
                    pod.job, pod.pod
                )));
                return;
            }
        }
    }
}

/// The job nodes that have a pod by now: when this set grows, new pods are worth listing.
fn started_nodes(view: &WorkflowView) -> BTreeSet<String> {
    view.jobs
        .iter()
        .flat_map(|j| {
            j.attempts
                .iter()
                .map(|a| (a.node_name.clone(), a.phase))
                .chain([(j.node_name.clone(), j.phase)])
        })
        .filter(|(_, phase)| *phase != JobPhase::Pending && *phase != JobPhase::Skipped)
        .map(|(node, _)| node)
        .collect()
}

/// Watches the workflow in its own task and sends each change, so that handing out log lines
/// never cancels a watch request half-way.
fn spawn_watch(
    cluster: &Cluster,
    name: &str,
    object: &Value,
) -> mpsc::UnboundedReceiver<Result<Update, ClusterError>> {
    let (sender, receiver) = mpsc::unbounded_channel();
    let mut cluster = Cluster::new(cluster.conn.clone());
    let mut watch = WorkflowWatch::from_object(name, object);
    tokio::spawn(async move {
        loop {
            let update = watch.next(&mut cluster).await;
            let last = match &update {
                Ok(Update::Changed(object)) => WorkflowView::from_json(object).is_finished(),
                Ok(Update::Deleted) | Err(_) => true,
            };
            if sender.send(update).is_err() || last {
                return;
            }
        }
    });
    receiver
}

/// Hands a stream's piece to the caller, counting streams that broke.
fn hand_out(piece: Piece, broken: &mut usize, show: &mut impl FnMut(LogPiece)) {
    match piece {
        Piece::Lines { job, text } => show(LogPiece::Output { job, text }),
        Piece::Broken(note) => {
            *broken += 1;
            show(LogPiece::Lost(note));
        }
    }
}

/// How a followed run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Followed {
    pub status: RunStatus,
    /// Pods whose output could not be followed to its end.
    pub broken: usize,
}

/// Streams every selected job pod's log (`object` is the workflow as last read) until the
/// workflow ends and every stream has finished.
pub(crate) async fn follow(
    cluster: &mut Cluster,
    name: &str,
    object: Value,
    selection: Selection<'_>,
    mut show: impl FnMut(LogPiece),
) -> Result<Followed, ClusterError> {
    let (sender, mut incoming) = mpsc::unbounded_channel::<Piece>();
    let mut streaming: HashSet<String> = HashSet::new();
    let mut listed: Option<BTreeSet<String>> = None;
    let mut broken = 0;
    let mut changes = spawn_watch(cluster, name, &object);
    let mut view = WorkflowView::from_json(&object);
    loop {
        let nodes = started_nodes(&view);
        // List pods only when a job node gained a pod (or a pod may have started since).
        if listed.as_ref() != Some(&nodes) || view.is_finished() {
            let pods = cluster
                .list_pods(&format!("{WORKFLOW_LABEL}={name}"))
                .await?;
            let pods = job_pods(&pods, &view);
            let started = pods.iter().filter(|p| p.started).count();
            for pod in pods {
                if pod.started && selection.wants(&pod) && streaming.insert(pod.pod.clone()) {
                    tokio::spawn(stream_pod(
                        Cluster::new(cluster.conn.clone()),
                        pod,
                        sender.clone(),
                    ));
                }
            }
            // A pod still Pending keeps the set "unlisted" so the next change lists again.
            if started >= nodes.len() {
                listed = Some(nodes);
            }
        }
        if view.is_finished() {
            if streaming.is_empty() {
                show(no_pods(name, &view)?);
            }
            drop(sender);
            while let Some(piece) = incoming.recv().await {
                hand_out(piece, &mut broken, &mut show);
            }
            return Ok(Followed {
                status: view.run_status(),
                broken,
            });
        }
        // Hand out output until the workflow changes.
        loop {
            tokio::select! {
                Some(piece) = incoming.recv() => hand_out(piece, &mut broken, &mut show),
                update = changes.recv() => {
                    match update {
                        Some(Ok(Update::Changed(object))) => view = WorkflowView::from_json(&object),
                        Some(Ok(Update::Deleted)) => return Err(watch::deleted(name)),
                        Some(Err(e)) => return Err(e),
                        None => return Err(ClusterError::WatchStopped { name: name.to_owned() }),
                    }
                    break;
                }
            }
        }
    }
}
