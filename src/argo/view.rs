//! What an Argo `Workflow` or `CronWorkflow` says about itself, read from the JSON the API server
//! returns into plain views: `WorkflowView` (the run), `JobView` (one job: a pod, or a Retry node
//! and its pod attempts), `CronView`. Pure and total: a missing or mistyped field becomes `None`
//! or a default, never an error, because a half-written object (not yet picked up by the
//! controller, written by another Argo version) must still list and show. Never reads the clock:
//! whatever depends on "now" takes it as an argument.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

use super::labels::{CRON_WORKFLOW_LABEL, PARAMS_ANNOTATION, SOURCE_ANNOTATION};
use crate::events::{Exit, JobPhase, RunStatus};
use crate::pipeline::ParamMap;
use crate::time;

/// `spec.shutdown`, set by `argo stop` (exit handlers still run) or `argo terminate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shutdown {
    Stop,
    Terminate,
}

impl Shutdown {
    /// Argo's value for `spec.shutdown`.
    pub(crate) fn strategy(self) -> &'static str {
        match self {
            Shutdown::Stop => "Stop",
            Shutdown::Terminate => "Terminate",
        }
    }

    /// The verb the user typed: `stop` lets running jobs finish (exit handlers run),
    /// `terminate` kills them now.
    pub(crate) fn verb(self) -> &'static str {
        match self {
            Shutdown::Stop => "stop",
            Shutdown::Terminate => "terminate",
        }
    }

    pub(crate) fn done(self) -> &'static str {
        match self {
            Shutdown::Stop => "stopped",
            Shutdown::Terminate => "terminated",
        }
    }
}

/// One Argo workflow as the list, get and watch views need it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct WorkflowView {
    pub name: String,
    pub namespace: Option<String>,
    pub created: Option<SystemTime>,
    /// Argo's phase: `Pending`, `Running`, `Succeeded`, `Failed` or `Error` (empty reads as Pending).
    pub phase: String,
    pub started_at: Option<SystemTime>,
    pub finished_at: Option<SystemTime>,
    pub message: Option<String>,
    /// `status.progress` "N/M": pods succeeded of pods created, retries included. Only used when
    /// the nodes are not in the object (see `nodes_offloaded`).
    pub argo_progress: Option<(usize, usize)>,
    pub shutdown: Option<Shutdown>,
    pub suspend: bool,
    pub labels: BTreeMap<String, String>,
    /// The CronWorkflow that started this run.
    pub cron_workflow: Option<String>,
    /// The `-c` text or workflow file it was made from.
    pub source: Option<String>,
    /// The params it ran with (`params:` after `--set`).
    pub params: ParamMap,
    /// Jobs the controller has created nodes for, by start time then name, unstarted last.
    pub jobs: Vec<JobView>,
    /// The tasks the spec runs (nested `part-*` DAGs followed), in written order.
    pub tasks: Vec<PlannedTask>,
    /// `status.nodes` is empty because the controller moved it to its database or compressed
    /// it (large workflows): no jobs can be shown.
    pub nodes_offloaded: bool,
}

/// A task of the spec and how many jobs it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedTask {
    pub name: String,
    /// `withItems` points; `None` for a plain task (one job named like the task).
    pub points: Option<usize>,
}

impl PlannedTask {
    pub(crate) fn jobs(&self) -> usize {
        self.points.unwrap_or(1)
    }
}

/// One job: a task, or one sweep point of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobView {
    /// The node's display name: `prep`, or `train(0:p0:0.1,p1:relu)` for a sweep point.
    pub name: String,
    /// The DAG task it belongs to (`train`).
    pub task: String,
    pub phase: JobPhase,
    pub started_at: Option<SystemTime>,
    pub finished_at: Option<SystemTime>,
    /// How the last attempt's main container ended (`outputs.exitCode`).
    pub exit: Option<Exit>,
    pub message: Option<String>,
    /// The job's own node (Pod, Retry or Skipped); pods are matched later by the annotation
    /// `workflows.argoproj.io/node-name`, which holds an attempt's `node_name`.
    pub node_id: String,
    pub node_name: String,
    pub template: Option<String>,
    /// Pod attempts in order; one for a job without retries, none for a skipped job.
    pub attempts: Vec<Attempt>,
    /// 1 + the template's `retryStrategy.limit`; `None` when the template is not in the spec.
    pub max_attempts: Option<u32>,
    pub backoff: Option<Backoff>,
}

/// One pod of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attempt {
    pub node_id: String,
    pub node_name: String,
    pub template: Option<String>,
    pub phase: JobPhase,
    pub started_at: Option<SystemTime>,
    pub finished_at: Option<SystemTime>,
    pub exit: Option<Exit>,
    pub message: Option<String>,
}

/// A template's `retryStrategy.backoff`: wait `duration × factor^(n-1)` after the n-th failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub duration: Duration,
    pub factor: u32,
    pub max: Option<Duration>,
}

/// One CronWorkflow as `list --cron` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct CronView {
    pub name: String,
    pub namespace: Option<String>,
    pub created: Option<SystemTime>,
    /// `spec.schedules`, or the pre-3.6 `spec.schedule`.
    pub schedules: Vec<String>,
    pub timezone: Option<String>,
    pub suspend: bool,
    pub last_scheduled: Option<SystemTime>,
    /// Workflows it started that are still running.
    pub active: usize,
    pub source: Option<String>,
    pub labels: BTreeMap<String, String>,
}

impl WorkflowView {
    pub(crate) fn from_json(object: &Value) -> WorkflowView {
        let labels = string_map(object.pointer("/metadata/labels"));
        let annotations = string_map(object.pointer("/metadata/annotations"));
        let name = text(object, "/metadata/name").unwrap_or_default();
        let shutdown = match text(object, "/spec/shutdown").as_deref() {
            Some("Stop") => Some(Shutdown::Stop),
            Some("Terminate") => Some(Shutdown::Terminate),
            _ => None,
        };
        let templates = nodes::Templates::new(object.pointer("/spec/templates"));
        let nodes = object.pointer("/status/nodes").and_then(Value::as_object);
        let empty = Map::new();
        let nodes = nodes.unwrap_or(&empty);
        let offloaded = nodes.is_empty()
            && (text(object, "/status/offloadNodeStatusVersion").is_some()
                || text(object, "/status/compressedNodes").is_some());
        let entrypoint = text(object, "/spec/entrypoint").unwrap_or_else(|| "main".to_owned());
        let mut tasks = Vec::new();
        templates.plan(&entrypoint, &mut tasks, &mut HashSet::new());
        WorkflowView {
            namespace: text(object, "/metadata/namespace"),
            created: time(object, "/metadata/creationTimestamp"),
            phase: text(object, "/status/phase").unwrap_or_else(|| "Pending".to_owned()),
            started_at: time(object, "/status/startedAt"),
            finished_at: time(object, "/status/finishedAt"),
            message: text(object, "/status/message"),
            argo_progress: text(object, "/status/progress").and_then(|p| parse_progress(&p)),
            shutdown,
            suspend: object.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true),
            cron_workflow: labels.get(CRON_WORKFLOW_LABEL).cloned(),
            source: annotations.get(SOURCE_ANNOTATION).cloned(),
            params: annotations
                .get(PARAMS_ANNOTATION)
                .and_then(|json| serde_json::from_str(json).ok())
                .unwrap_or_default(),
            jobs: nodes::jobs(nodes, &templates, shutdown.is_some()),
            tasks,
            nodes_offloaded: offloaded,
            labels,
            name,
        }
    }

    /// Running until Argo says otherwise; a stopped or terminated run that ended is Cancelled,
    /// as a local run stopped by Ctrl-C is.
    pub(crate) fn run_status(&self) -> RunStatus {
        match self.phase.as_str() {
            "Succeeded" => RunStatus::Succeeded,
            "Failed" | "Error" if self.shutdown.is_some() => RunStatus::Cancelled,
            "Failed" | "Error" => RunStatus::Failed,
            _ => RunStatus::Running,
        }
    }

    pub(crate) fn is_finished(&self) -> bool {
        matches!(self.phase.as_str(), "Succeeded" | "Failed" | "Error")
    }

    /// The STATUS cell: the run status, or Pending before the controller starts it, with
    /// `(Suspended)` or `(Stopping)` while that is what holds it up.
    pub(crate) fn status_text(&self) -> String {
        if self.is_finished() {
            return self.run_status().as_str().to_owned();
        }
        let base = if self.phase == "Pending" {
            "Pending"
        } else {
            "Running"
        };
        if self.shutdown.is_some() {
            format!("{base} (Stopping)")
        } else if self.suspend {
            format!("{base} (Suspended)")
        } else {
            base.to_owned()
        }
    }

    /// (jobs done, jobs in all) counted like a local run: done means terminal, and a finished
    /// run is all done (jobs it never created are as settled as skipped ones). Sweep points not
    /// expanded yet count from the spec.
    pub(crate) fn progress(&self) -> (usize, usize) {
        if self.jobs.is_empty()
            && let Some(progress) = self.argo_progress
        {
            return progress;
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for job in &self.jobs {
            *seen.entry(job.task.as_str()).or_default() += 1;
        }
        let planned: usize = self
            .tasks
            .iter()
            .map(|t| t.jobs().max(seen.remove(t.name.as_str()).unwrap_or(0)))
            .sum();
        let total = planned + seen.values().sum::<usize>();
        if self.is_finished() {
            return (total, total);
        }
        let done = self.jobs.iter().filter(|j| j.phase.is_terminal()).count();
        (done, total)
    }

    /// Spec tasks with no node at all yet (or ever, once the run ended). None when the nodes
    /// are offloaded: then nothing is known about which tasks ran.
    pub(crate) fn unstarted_tasks(&self) -> impl Iterator<Item = &PlannedTask> {
        self.tasks
            .iter()
            .filter(|t| !self.nodes_offloaded && !self.jobs.iter().any(|j| j.task == t.name))
    }

    /// From the start to the end, or to `now` while it runs.
    pub(crate) fn duration(&self, now: SystemTime) -> Option<Duration> {
        elapsed(self.started_at, self.finished_at, !self.is_finished(), now)
    }

    pub(crate) fn age(&self, now: SystemTime) -> Option<Duration> {
        now.duration_since(self.created?).ok()
    }
}

impl JobView {
    /// From the first start to the end, or to `now` while it runs.
    pub(crate) fn duration(&self, now: SystemTime) -> Option<Duration> {
        elapsed(
            self.started_at,
            self.finished_at,
            !self.phase.is_terminal(),
            now,
        )
    }

    /// About how long Argo waits before the attempt after failed attempt `failed` (1-based).
    pub(crate) fn retry_delay(&self, failed: u32) -> Duration {
        let Some(backoff) = self.backoff else {
            return Duration::ZERO;
        };
        let power = backoff.factor.saturating_pow(failed.saturating_sub(1));
        let delay = backoff.duration.saturating_mul(power);
        backoff.max.map_or(delay, |max| delay.min(max))
    }

    /// What went wrong, for anything but success: Argo's message, else the exit code.
    pub(crate) fn reason(&self) -> Option<String> {
        if self.phase == JobPhase::Succeeded {
            return None;
        }
        self.message
            .clone()
            .or_else(|| self.exit.filter(|e| !e.success()).map(|e| e.to_string()))
    }
}

impl CronView {
    pub(crate) fn from_json(object: &Value) -> CronView {
        let mut schedules: Vec<String> = object
            .pointer("/spec/schedules")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if schedules.is_empty() {
            schedules.extend(text(object, "/spec/schedule"));
        }
        CronView {
            name: text(object, "/metadata/name").unwrap_or_default(),
            namespace: text(object, "/metadata/namespace"),
            created: time(object, "/metadata/creationTimestamp"),
            schedules,
            timezone: text(object, "/spec/timezone"),
            suspend: object.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true),
            last_scheduled: time(object, "/status/lastScheduledTime"),
            active: object
                .pointer("/status/active")
                .and_then(Value::as_array)
                .map_or(0, Vec::len),
            source: string_map(object.pointer("/metadata/annotations")).remove(SOURCE_ANNOTATION),
            labels: string_map(object.pointer("/metadata/labels")),
        }
    }
}

fn elapsed(
    start: Option<SystemTime>,
    end: Option<SystemTime>,
    running: bool,
    now: SystemTime,
) -> Option<Duration> {
    let end = match end {
        Some(end) => end,
        None if running => now,
        None => return None,
    };
    end.duration_since(start?).ok()
}

/// A non-empty string at `pointer`.
fn text(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A Kubernetes `Time` (RFC 3339, UTC, whole seconds) at `pointer`; `null` reads as absent.
fn time(value: &Value, pointer: &str) -> Option<SystemTime> {
    time::parse(value.pointer(pointer)?.as_str()?)
}

fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect()
}

/// Sorts Argo objects newest first, as `argo list` shows them.
pub(crate) fn newest_first(items: &mut [Value]) {
    items.sort_by(|a, b| {
        b["metadata"]["creationTimestamp"]
            .as_str()
            .cmp(&a["metadata"]["creationTimestamp"].as_str())
    });
}

/// "N/M" → (N, M).
fn parse_progress(text: &str) -> Option<(usize, usize)> {
    let (done, total) = text.split_once('/')?;
    Some((done.trim().parse().ok()?, total.trim().parse().ok()?))
}

/// A Workflow or CronWorkflow from `tests/fixtures/argo-status/` (shared by the tests of the
/// views, the tracker and the printer).
#[cfg(test)]
pub(crate) fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/argo-status/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("fixture file");
    serde_json::from_str(&text).expect("fixture JSON")
}

mod nodes;
#[cfg(test)]
mod tests;
