//! Job logs of a cluster run: the `main` container of each job pod (label
//! `workflows.argoproj.io/workflow`). Read once, or followed: one log stream per pod, and the
//! workflow's watch (in a task of its own) tells when new pods appear and when the run ends.
//! A followed stream that breaks is opened again from the time of the last line shown, and
//! skips what was shown, so every line is shown once. Hands every piece of output to its
//! caller; never prints.

use std::collections::{BTreeSet, HashSet};

use futures::io::AsyncBufReadExt as _;
use jiff::Timestamp;
use kube::api::LogParams;
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
    /// What happened behind the scenes (a stream opened again, a re-watch, retries), for `-v`.
    Notes(Vec<String>),
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
    let params = LogParams {
        container: Some(CONTAINER.to_owned()),
        ..LogParams::default()
    };
    let mut stream = cluster.pod_log(pod, &params).await?;
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

/// What a pod's log task sends: a piece of output, why the output stopped early, or notes.
enum Piece {
    Lines { job: String, text: String },
    Broken(String),
    Notes(Vec<String>),
}

/// How many times in a row a pod's stream may break without a new line before we give up.
const MAX_REOPENS: u32 = 10;

/// How far a followed log was shown: the time of the last line shown and how many lines shown
/// carry exactly that time (a runtime stamps a burst of lines alike).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Shown {
    last: Option<Timestamp>,
    at_last: usize,
}

impl Shown {
    fn record(&mut self, at: Option<Timestamp>) {
        let Some(at) = at else { return };
        if self.last == Some(at) {
            self.at_last += 1;
        } else {
            self.last = Some(at);
            self.at_last = 1;
        }
    }

    /// Where to read again from: the API server passes `sinceTime` on in whole seconds, so
    /// the second of the last line shown (what came before it in that second is skipped).
    fn since(&self) -> Option<Timestamp> {
        self.last
            .and_then(|t| Timestamp::from_second(t.as_second()).ok())
    }
}

/// In a stream opened again, which lines were shown before: those older than the last one
/// shown, and as many of those stamped like it as were shown. Everything after the first new
/// line is new (a log only grows).
#[derive(Debug)]
struct Skip {
    shown: Shown,
    alike_seen: usize,
    caught_up: bool,
}

impl Skip {
    fn new(shown: Shown) -> Self {
        Skip {
            shown,
            alike_seen: 0,
            caught_up: shown.last.is_none(),
        }
    }

    fn seen_before(&mut self, at: Option<Timestamp>) -> bool {
        if self.caught_up {
            return false;
        }
        // A line without a time cannot be placed: better shown twice than lost.
        let (Some(at), Some(last)) = (at, self.shown.last) else {
            return false;
        };
        if at < last {
            return true;
        }
        if at == last && self.alike_seen < self.shown.at_last {
            self.alike_seen += 1;
            return true;
        }
        self.caught_up = true;
        false
    }
}

/// A line read with `timestamps=true`: its time, and the text after it.
fn stamped(line: &[u8]) -> (Option<Timestamp>, &[u8]) {
    let Some(space) = line.iter().position(|b| *b == b' ') else {
        return (None, line);
    };
    let at = std::str::from_utf8(&line[..space])
        .ok()
        .and_then(|t| t.parse::<Timestamp>().ok());
    match at {
        Some(at) => (Some(at), &line[space + 1..]),
        None => (None, line),
    }
}

/// Streams one pod's log into the channel, line by line, until the container ends. A stream
/// that breaks is opened again from the last line shown, up to `MAX_REOPENS` times in a row
/// without progress.
async fn stream_pod(mut cluster: Cluster, pod: JobPod, out: mpsc::UnboundedSender<Piece>) {
    let mut shown = Shown::default();
    let mut reopens = 0;
    loop {
        let params = LogParams {
            container: Some(CONTAINER.to_owned()),
            follow: true,
            timestamps: true,
            since_time: shown.since(),
            ..LogParams::default()
        };
        let opened = cluster.pod_log(&pod.pod, &params).await;
        let notes = std::mem::take(&mut cluster.notes);
        if !notes.is_empty() && out.send(Piece::Notes(notes)).is_err() {
            return;
        }
        let stream = match opened {
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
        let mut skip = Skip::new(shown);
        let before = shown;
        let mut line = Vec::new();
        let broke = loop {
            line.clear();
            match stream.read_until(b'\n', &mut line).await {
                Ok(0) => break None,
                // A whole line, or the last one of a log that ends without a newline.
                Ok(_) => {
                    let (at, text) = stamped(&line);
                    if skip.seen_before(at) {
                        continue;
                    }
                    shown.record(at);
                    let piece = Piece::Lines {
                        job: pod.job.clone(),
                        text: String::from_utf8_lossy(text).into_owned(),
                    };
                    if out.send(piece).is_err() {
                        return;
                    }
                }
                // What was read of a cut line is read again with the rest.
                Err(e) => break Some(e),
            }
        };
        // A clean end: the container ended (the kubelet ends a follow only then).
        let Some(e) = broke else { return };
        reopens = if shown == before { reopens + 1 } else { 1 };
        if reopens > MAX_REOPENS {
            let _ = out.send(Piece::Broken(format!(
                "{}: the log stream of pod {} broke {MAX_REOPENS} times in a row: {e}",
                pod.job, pod.pod
            )));
            return;
        }
        let note = format!(
            "{}: the log stream of pod {} broke ({e}); reading on from its last line shown",
            pod.job, pod.pod
        );
        if out.send(Piece::Notes(vec![note])).is_err() {
            return;
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

/// What the watching task sends: a change (or the error that ended the watch), or the notes
/// its client made on the way (re-watches, retries).
enum Watched {
    Update(Result<Update, ClusterError>),
    Notes(Vec<String>),
}

/// Watches the workflow in its own task and sends each change, so that handing out log lines
/// never cancels a watch request half-way.
fn spawn_watch(cluster: &Cluster, name: &str, object: &Value) -> mpsc::UnboundedReceiver<Watched> {
    let (sender, receiver) = mpsc::unbounded_channel();
    let mut cluster = Cluster::new(cluster.conn.clone());
    let mut watch = WorkflowWatch::from_object(name, object);
    tokio::spawn(async move {
        loop {
            let update = watch.next(&mut cluster).await;
            let notes = std::mem::take(&mut cluster.notes);
            if !notes.is_empty() && sender.send(Watched::Notes(notes)).is_err() {
                return;
            }
            let last = match &update {
                Ok(Update::Changed(object)) => WorkflowView::from_json(object).is_finished(),
                Ok(Update::Deleted) | Err(_) => true,
            };
            if sender.send(Watched::Update(update)).is_err() || last {
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
        Piece::Notes(notes) => show(LogPiece::Notes(notes)),
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
                        Some(Watched::Notes(behind)) => {
                            show(LogPiece::Notes(behind));
                            continue;
                        }
                        Some(Watched::Update(Ok(Update::Changed(object)))) => {
                            view = WorkflowView::from_json(&object);
                        }
                        Some(Watched::Update(Ok(Update::Deleted))) => {
                            return Err(watch::deleted(name));
                        }
                        Some(Watched::Update(Err(e))) => return Err(e),
                        None => return Err(ClusterError::WatchStopped { name: name.to_owned() }),
                    }
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("a time")
    }

    /// Shows `lines` (time, text) through `skip`, recording them in `shown`.
    fn pass<'a>(skip: &mut Skip, shown: &mut Shown, lines: &[(&str, &'a str)]) -> Vec<&'a str> {
        lines
            .iter()
            .filter(|(time, _)| !skip.seen_before(Some(at(time))))
            .map(|(time, text)| {
                shown.record(Some(at(time)));
                *text
            })
            .collect()
    }

    #[test]
    fn a_reopened_stream_shows_each_line_once() {
        let log = [
            ("2026-09-01T11:40:00.100Z", "a"),
            ("2026-09-01T11:40:01.100Z", "b"),
            ("2026-09-01T11:40:01.100Z", "c"),
            ("2026-09-01T11:40:01.100Z", "d"),
            ("2026-09-01T11:40:01.700Z", "e"),
            ("2026-09-01T11:40:02.000Z", "f"),
        ];
        for cut in 0..=log.len() {
            let mut shown = Shown::default();
            let mut skip = Skip::new(shown);
            let mut out = pass(&mut skip, &mut shown, &log[..cut]);
            // The server sends again from the second of the last line shown.
            let since = shown.since();
            let again: Vec<(&str, &str)> = log
                .iter()
                .copied()
                .filter(|(time, _)| since.is_none_or(|s| at(time) >= s))
                .collect();
            let mut skip = Skip::new(shown);
            out.extend(pass(&mut skip, &mut shown, &again));
            assert_eq!(out, ["a", "b", "c", "d", "e", "f"], "cut after {cut}");
        }
    }

    #[test]
    fn since_is_the_second_of_the_last_line() {
        let mut shown = Shown::default();
        assert_eq!(shown.since(), None);
        shown.record(Some(at("2026-09-01T11:40:01.999Z")));
        assert_eq!(shown.since(), Some(at("2026-09-01T11:40:01Z")));
    }

    #[test]
    fn the_time_is_split_off_each_line() {
        let (time, text) = stamped(b"2026-09-01T11:40:01.120000000Z epoch 1\n");
        assert_eq!(time, Some(at("2026-09-01T11:40:01.12Z")));
        assert_eq!(text, b"epoch 1\n");
        // Not a time: the whole line is text.
        assert_eq!(stamped(b"no time here\n"), (None, &b"no time here\n"[..]));
        assert_eq!(stamped(b"plain"), (None, &b"plain"[..]));
    }
}
