//! Argo workflows and cron workflows as text: the `list` table, the `list --cron` table and the
//! `get` details, in the layout local runs use (`runs`), so a user sees one tool whichever
//! backend ran the pipeline. Pure: views and `now` in, text out.

use std::time::SystemTime;

use super::runs::{self, JobRow, RunRow};
use serde_json::Value;

use super::table;
use crate::argo::ArgoKind;
use crate::argo::labels::RETRY_OF_LABEL;
use crate::argo::view::{CronView, WorkflowView};
use crate::events::JobPhase;
use crate::local::record::Backend;
use crate::time;

/// The `list` rows of Workflows.
pub(crate) fn list_rows(views: &[WorkflowView], now: SystemTime) -> Vec<RunRow> {
    views
        .iter()
        .map(|v| {
            let (done, total) = v.progress();
            RunRow {
                name: v.name.clone(),
                backend: Backend::Argo.as_str(),
                status: v.status_text(),
                done,
                total,
                age: v.age(now),
                duration: v.duration(now),
                message: message(v),
                source: v.source.clone(),
            }
        })
        .collect()
}

/// `-o name`: one `kind.argoproj.io/NAME` line per object.
pub(crate) fn names(kind: ArgoKind, items: &[Value]) -> String {
    items
        .iter()
        .map(|o| kind.resource_name(o["metadata"]["name"].as_str().unwrap_or_default()) + "\n")
        .collect()
}

/// NAME, SCHEDULE, SUSPENDED, LAST RUN (how long ago), AGE.
pub(crate) fn cron_table(views: &[CronView], now: SystemTime) -> String {
    let ago = |t: Option<SystemTime>| {
        t.and_then(|t| now.duration_since(t).ok())
            .map_or_else(|| "-".to_owned(), table::age)
    };
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|c| {
            let mut schedule = c.schedules.join(", ");
            if let Some(zone) = &c.timezone {
                schedule.push_str(&format!(" ({zone})"));
            }
            vec![
                c.name.clone(),
                schedule,
                c.suspend.to_string(),
                ago(c.last_scheduled),
                ago(c.created),
            ]
        })
        .collect();
    table::render(&["NAME", "SCHEDULE", "SUSPENDED", "LAST RUN", "AGE"], &rows)
}

/// The header lines, then every job. Tasks the controller has not reached are listed too
/// (Pending, or Skipped once the run ended), as a local run lists all its jobs.
pub(crate) fn get_text(view: &WorkflowView, now: SystemTime) -> String {
    let dash = || "-".to_owned();
    let mut fields = vec![("Name", view.name.clone())];
    if let Some(namespace) = &view.namespace {
        fields.push(("Namespace", namespace.clone()));
    }
    fields.push(("Status", view.status_text()));
    fields.push(("Source", view.source.clone().unwrap_or_else(dash)));
    if !view.params.is_empty() {
        fields.push(("Params", view.params.to_string()));
    }
    if let Some(cron) = &view.cron_workflow {
        fields.push(("Cron", cron.clone()));
    }
    if let Some(old) = view.labels.get(RETRY_OF_LABEL) {
        fields.push(("Retry of", old.clone()));
    }
    fields.push(("Started", view.started_at.map_or_else(dash, time::format)));
    fields.push((
        "Duration",
        view.duration(now).map_or_else(dash, table::duration),
    ));
    if let Some(message) = message(view) {
        fields.push(("Message", message));
    }
    let mut jobs: Vec<JobRow> = view
        .jobs
        .iter()
        .map(|j| JobRow {
            name: j.name.clone(),
            phase: j.phase,
            started: j.started_at,
            duration: j.duration(now),
            exit: j.exit,
            reason: j.reason(),
        })
        .collect();
    let finished = view.is_finished();
    jobs.extend(view.unstarted_tasks().map(|t| JobRow {
        name: t.name.clone(),
        phase: if finished {
            JobPhase::Skipped
        } else {
            JobPhase::Pending
        },
        started: None,
        duration: None,
        exit: None,
        reason: match (t.points, finished) {
            (Some(points), true) => Some(format!("not started ({points} points)")),
            (Some(points), false) => Some(format!("{points} points")),
            (None, true) => Some("not started".to_owned()),
            (None, false) => None,
        },
    }));
    let mut text = runs::run_details(&fields, &jobs);
    if view.nodes_offloaded {
        text.push_str(
            "(the controller keeps this workflow's job details in its database; \
             the Argo UI or `argo get` shows them)\n",
        );
    }
    text
}

/// What to say about a run, as for local runs: its failed jobs and why; else Argo's own
/// message (a stop, a spec the controller refused). Argo's message for a failed DAG, "child
/// '<node id>' failed", names a node id where the job name says more.
fn message(view: &WorkflowView) -> Option<String> {
    runs::failure_summary(
        view.jobs
            .iter()
            .filter(|j| j.phase == JobPhase::Failed)
            .map(|j| {
                let why = j.reason().unwrap_or_else(|| "failed".to_owned());
                (j.name.clone(), why)
            }),
    )
    .or_else(|| view.message.clone())
}

#[cfg(test)]
mod tests;
