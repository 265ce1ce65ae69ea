//! Status nodes → jobs: one job per Retry node (its Pod children are the attempts), per Pod
//! node outside a Retry node, and per Skipped node; DAG, TaskGroup and other bookkeeping nodes
//! are left out. Also the spec's templates, for each job's retry settings and the task plan.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::{Map, Value};

use super::{Attempt, Backoff, JobView, PlannedTask, text, time};
use crate::events::{Exit, JobPhase};

/// The spec's templates by name, for retry settings and the task plan.
pub(super) struct Templates<'a>(HashMap<&'a str, &'a Value>);

impl<'a> Templates<'a> {
    pub(super) fn new(list: Option<&'a Value>) -> Self {
        let list = list
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        Templates(
            list.iter()
                .filter_map(|t| Some((t.get("name")?.as_str()?, t)))
                .collect(),
        )
    }

    /// The tasks of DAG template `name`, following tasks that call DAG templates (`part-*`).
    /// `visiting` stops a template that (wrongly) calls itself.
    pub(super) fn plan(
        &self,
        name: &'a str,
        out: &mut Vec<PlannedTask>,
        visiting: &mut HashSet<&'a str>,
    ) {
        let Some(tasks) = self
            .0
            .get(name)
            .and_then(|t| t.pointer("/dag/tasks"))
            .and_then(Value::as_array)
        else {
            return;
        };
        if !visiting.insert(name) {
            return;
        }
        for task in tasks {
            let Some(task_name) = task.get("name").and_then(Value::as_str) else {
                continue;
            };
            let called = task.get("template").and_then(Value::as_str).unwrap_or("");
            if self.0.get(called).is_some_and(|t| t.get("dag").is_some()) {
                self.plan(called, out, visiting);
                continue;
            }
            out.push(PlannedTask {
                name: task_name.to_owned(),
                points: task
                    .get("withItems")
                    .and_then(Value::as_array)
                    .map(Vec::len),
            });
        }
        visiting.remove(name);
    }

    /// (max attempts, backoff) of `template`; `None` attempts when it is not in the spec.
    fn retries(&self, template: Option<&str>) -> (Option<u32>, Option<Backoff>) {
        let Some(found) = template.and_then(|t| self.0.get(t)) else {
            return (None, None);
        };
        let Some(strategy) = found.get("retryStrategy") else {
            return (Some(1), None);
        };
        // An absent limit means "retry forever" in Argo: no maximum to show.
        let limit = strategy.get("limit").and_then(int_or_string);
        let backoff = strategy.get("backoff").and_then(|b| {
            Some(Backoff {
                duration: b.get("duration").and_then(argo_duration)?,
                factor: b.get("factor").and_then(int_or_string).unwrap_or(1),
                max: b.get("maxDuration").and_then(argo_duration),
            })
        });
        (limit.map(|l| l.saturating_add(1)), backoff)
    }
}

/// One job per Retry node, per Pod node outside a Retry node, and per Skipped node.
pub(super) fn jobs(
    nodes: &Map<String, Value>,
    templates: &Templates,
    shutdown: bool,
) -> Vec<JobView> {
    let in_retry: HashSet<&str> = nodes
        .values()
        .filter(|n| n.get("type").and_then(Value::as_str) == Some("Retry"))
        .flat_map(children)
        .collect();
    let mut jobs: Vec<JobView> = nodes
        .iter()
        .filter_map(|(id, node)| {
            let attempts: Vec<Attempt> = match node.get("type").and_then(Value::as_str)? {
                "Pod" if !in_retry.contains(id.as_str()) => vec![attempt(id, node, shutdown)],
                "Retry" => children(node)
                    .filter_map(|child| Some(attempt(child, nodes.get(child)?, shutdown)))
                    .collect(),
                "Skipped" => Vec::new(),
                _ => return None,
            };
            Some(job(id, node, attempts, templates, shutdown))
        })
        .collect();
    jobs.sort_by(|a, b| {
        (a.started_at.is_none(), a.started_at, &a.name).cmp(&(
            b.started_at.is_none(),
            b.started_at,
            &b.name,
        ))
    });
    jobs
}

fn job(
    id: &str,
    node: &Value,
    attempts: Vec<Attempt>,
    templates: &Templates,
    shutdown: bool,
) -> JobView {
    let own = attempt(id, node, shutdown);
    let is_retry = node.get("type").and_then(Value::as_str) == Some("Retry");
    let last = attempts.last();
    let phase = if !is_retry || own.phase.is_terminal() {
        own.phase
    } else {
        // A Retry node between attempts is Running while its last attempt has failed: the
        // job is waiting for its next attempt, as a local job in backoff is.
        match last.map(|a| a.phase) {
            None | Some(JobPhase::Pending) if attempts.len() <= 1 => JobPhase::Pending,
            _ => JobPhase::Running,
        }
    };
    let name = text(node, "/displayName").unwrap_or_else(|| own.node_name.clone());
    let (max_attempts, backoff) = templates.retries(own.template.as_deref());
    JobView {
        task: name.split('(').next().unwrap_or(&name).to_owned(),
        name,
        phase,
        started_at: own.started_at,
        finished_at: own.finished_at,
        // The attempt's own message ("Error (exit code 2)") says more than the Retry node's
        // ("No more retries left").
        exit: last.and_then(|a| a.exit).or(own.exit),
        message: last.and_then(|a| a.message.clone()).or(own.message),
        node_id: own.node_id,
        node_name: own.node_name,
        template: own.template,
        attempts,
        max_attempts,
        backoff,
    }
}

fn attempt(id: &str, node: &Value, shutdown: bool) -> Attempt {
    let message = text(node, "/message");
    let mut phase = match text(node, "/phase").as_deref() {
        Some("Running") => JobPhase::Running,
        Some("Succeeded") => JobPhase::Succeeded,
        Some("Failed" | "Error") => JobPhase::Failed,
        Some("Skipped" | "Omitted") => JobPhase::Skipped,
        _ => JobPhase::Pending,
    };
    // Argo marks what a stop or terminate killed as Failed; locally that is Cancelled.
    let stopped = message.as_deref().is_some_and(|m| {
        m.starts_with("workflow shutdown with strategy") || m.starts_with("Stopped with strategy")
    });
    if shutdown && stopped && phase == JobPhase::Failed {
        phase = JobPhase::Cancelled;
    }
    Attempt {
        node_id: text(node, "/id").unwrap_or_else(|| id.to_owned()),
        node_name: text(node, "/name").unwrap_or_else(|| id.to_owned()),
        template: text(node, "/templateName"),
        phase,
        started_at: time(node, "/startedAt"),
        finished_at: time(node, "/finishedAt"),
        exit: text(node, "/outputs/exitCode")
            .and_then(|c| c.trim().parse().ok())
            .map(Exit::Code),
        message,
    }
}

fn children(node: &Value) -> impl Iterator<Item = &str> {
    node.get("children")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// IntOrString: `3` or `"3"`.
fn int_or_string(value: &Value) -> Option<u32> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Argo backoff durations: `"10s"`, `"2m"`, `"1h30m"`, or a number of seconds.
fn argo_duration(value: &Value) -> Option<Duration> {
    match value {
        Value::String(s) => crate::time::parse_duration(s).ok(),
        other => int_or_string(other).map(|s| Duration::from_secs(u64::from(s))),
    }
}
