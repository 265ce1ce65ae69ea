//! `logs NAME [JOB] [-f]` for cluster runs: the `main` container of each job pod (label
//! `workflows.argoproj.io/workflow`), every line prefixed with its job. With `-f`, one log
//! stream per pod, and the workflow's watch tells when new pods appear and when the run ends.

use std::collections::{BTreeSet, HashSet};

use futures::io::AsyncBufReadExt as _;
use tokio::sync::mpsc;

use super::cluster_runs::{resolve, with_cluster};
use crate::argo::ArgoKind;
use crate::argo::labels::WORKFLOW_LABEL;
use crate::argo::pods::{JobPod, job_pods};
use crate::argo::view::WorkflowView;
use crate::cli::LogsArgs;
use crate::cluster::watch::{self, Update, WorkflowWatch};
use crate::cluster::{Cluster, ClusterError};
use crate::error::{EXIT_FAILED, Error};
use crate::events::JobPhase;
use crate::printer::{Printer, prefix_lines};
use crate::settings::config_file::UserConfig;

const CONTAINER: &str = "main";

/// Which pods' output to show: every job, or one job (a job name, or a task's name for all
/// its sweep points).
struct Selection<'a>(Option<&'a str>);

impl Selection<'_> {
    fn wants(&self, pod: &JobPod) -> bool {
        self.0.is_none_or(|j| pod.job == j || pod.task == j)
    }
}

pub fn logs(args: &LogsArgs, config: &UserConfig, printer: &mut Printer) -> Result<u8, Error> {
    with_cluster(&args.history, config, printer, async |cluster, printer| {
        let name = resolve(cluster, &args.run).await?;
        let object = cluster.get(ArgoKind::Workflow, &name).await?;
        let view = WorkflowView::from_json(&object);
        if let Some(job) = &args.job {
            let started = view.jobs.iter().any(|j| &j.name == job || &j.task == job);
            // With -f a job that has not started yet is worth waiting for.
            let planned = view.tasks.iter().any(|t| &t.name == job);
            if !(started || args.follow && planned) {
                let mut names: Vec<&str> = view.jobs.iter().map(|j| j.name.as_str()).collect();
                names.extend(view.unstarted_tasks().map(|t| t.name.as_str()));
                return Err(Error::usage(
                    format!("run {name} has no job named `{job}`"),
                    format!("its jobs are: {}", names.join(", ")),
                ));
            }
        }
        let selection = Selection(args.job.as_deref());
        if args.follow {
            return follow(cluster, &name, object, &selection, printer).await;
        }
        let pods = cluster
            .list_pods(&format!("{WORKFLOW_LABEL}={name}"))
            .await?;
        let pods: Vec<JobPod> = job_pods(&pods, &view)
            .into_iter()
            .filter(|p| selection.wants(p))
            .collect();
        if pods.is_empty() {
            gone(&name, &view, printer)?;
            return Ok(0);
        }
        let mut unreadable = 0;
        for pod in pods.iter().filter(|p| p.started) {
            match read_log(cluster, &pod.pod).await {
                Ok(text) => printer.data(&prefix_lines(&pod.job, &text)),
                // One pod gone or never started must not hide the others' output.
                Err(e) => {
                    unreadable += 1;
                    printer.note(&format!(
                        "{}: cannot read the log of pod {}: {e}",
                        pod.job, pod.pod
                    ));
                }
            }
        }
        Ok(if unreadable == 0 { 0 } else { EXIT_FAILED })
    })
}

/// A whole log; invalid UTF-8 (a program printing bytes) is replaced, not an error.
async fn read_log(cluster: &mut Cluster, pod: &str) -> Result<String, Error> {
    let mut stream = cluster.pod_log(pod, CONTAINER, false).await?;
    let mut bytes = Vec::new();
    futures::io::AsyncReadExt::read_to_end(&mut stream, &mut bytes)
        .await
        .map_err(|e| Error::Runtime(format!("reading the log of {pod}: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
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

/// What a pod's log task sends: a piece of output, or why the output stopped early.
enum Piece {
    Lines(String),
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
                let text = String::from_utf8_lossy(&line);
                if out
                    .send(Piece::Lines(prefix_lines(&pod.job, &text)))
                    .is_err()
                {
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

/// Watches the workflow in its own task and sends each change, so that printing log lines
/// never cancels a watch request half-way.
fn spawn_watch(
    cluster: &Cluster,
    name: &str,
    object: &serde_json::Value,
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

/// Streams every job pod's log until the workflow ends and every stream has finished.
async fn follow(
    cluster: &mut Cluster,
    name: &str,
    object: serde_json::Value,
    selection: &Selection<'_>,
    printer: &mut Printer,
) -> Result<u8, Error> {
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
                gone(name, &view, printer)?;
            }
            drop(sender);
            while let Some(piece) = incoming.recv().await {
                broken += show(piece, printer);
            }
            return Ok(if broken == 0 {
                view.exit_code()
            } else {
                EXIT_FAILED
            });
        }
        // Print output until the workflow changes.
        loop {
            tokio::select! {
                Some(piece) = incoming.recv() => broken += show(piece, printer),
                update = changes.recv() => {
                    match update {
                        Some(Ok(Update::Changed(object))) => view = WorkflowView::from_json(&object),
                        Some(Ok(Update::Deleted)) => return Err(watch::deleted(name).into()),
                        Some(Err(e)) => return Err(e.into()),
                        None => return Err(Error::Runtime("the workflow watch stopped".into())),
                    }
                    break;
                }
            }
        }
    }
}

/// Prints a piece; returns 1 when it reports lost output.
fn show(piece: Piece, printer: &mut Printer) -> usize {
    match piece {
        Piece::Lines(text) => {
            printer.data(&text);
            0
        }
        Piece::Broken(note) => {
            printer.note(&note);
            1
        }
    }
}
