//! Status-view tests over the Argo fixtures in tests/fixtures/argo-status.

use std::time::{Duration, SystemTime};

use serde_json::json;

use super::*;
use crate::time;

fn at(text: &str) -> SystemTime {
    time::parse(text).expect("a time")
}

fn view(name: &str) -> WorkflowView {
    WorkflowView::from_json(&fixture(name))
}

fn names(view: &WorkflowView) -> Vec<&str> {
    view.jobs.iter().map(|j| j.name.as_str()).collect()
}

fn job<'a>(view: &'a WorkflowView, name: &str) -> &'a JobView {
    view.jobs
        .iter()
        .find(|j| j.name == name)
        .expect("a job of that name")
}

#[test]
fn a_running_chain() {
    let v = view("running-chain.json");
    assert_eq!(v.name, "chain-x7k2p");
    assert_eq!(v.namespace.as_deref(), Some("jhub"));
    assert_eq!(v.created, Some(at("2026-09-01T12:00:00Z")));
    assert_eq!(v.phase, "Running");
    assert_eq!(v.run_status(), RunStatus::Running);
    assert!(!v.is_finished());
    assert_eq!(v.status_text(), "Running");
    assert_eq!(
        v.source.as_deref(),
        Some("python prep.py >> python train.py >> python eval.py")
    );
    assert_eq!(
        v.labels.get("jupyterflow.io/user").map(String::as_str),
        Some("alice")
    );
    assert_eq!(v.cron_workflow, None);
    assert_eq!(v.argo_progress, Some((1, 2)));
    assert_eq!(names(&v), ["prep", "train"]);
    // eval has no node yet but is in the spec: it counts.
    assert_eq!(v.progress(), (1, 3));
    let unstarted: Vec<&str> = v.unstarted_tasks().map(|t| t.name.as_str()).collect();
    assert_eq!(unstarted, ["eval"]);

    let now = at("2026-09-01T12:10:00Z");
    assert_eq!(v.duration(now), Some(Duration::from_secs(600)));
    assert_eq!(v.age(now), Some(Duration::from_secs(600)));
    let prep = job(&v, "prep");
    assert_eq!(prep.phase, JobPhase::Succeeded);
    assert_eq!(prep.exit, Some(Exit::Code(0)));
    assert_eq!(prep.duration(now), Some(Duration::from_secs(41)));
    assert_eq!(prep.max_attempts, Some(1));
    assert_eq!(prep.reason(), None);
    let train = job(&v, "train");
    assert_eq!(train.phase, JobPhase::Running);
    assert_eq!(train.node_name, "chain-x7k2p.train");
    assert_eq!(train.template.as_deref(), Some("job"));
    assert_eq!(train.attempts.len(), 1);
    assert_eq!(
        train.duration(now),
        Some(Duration::from_secs(9 * 60 + 9)),
        "still running: to now"
    );
}

#[test]
fn a_succeeded_run_started_by_a_cron_workflow() {
    let v = view("succeeded.json");
    assert_eq!(v.run_status(), RunStatus::Succeeded);
    assert!(v.is_finished());
    assert_eq!(v.cron_workflow.as_deref(), Some("nightly"));
    assert_eq!(names(&v), ["prep", "train", "eval"]);
    assert_eq!(v.progress(), (3, 3));
    // Finished: the clock does not matter.
    assert_eq!(
        v.duration(SystemTime::UNIX_EPOCH),
        Some(Duration::from_secs(252))
    );
    assert!(v.unstarted_tasks().next().is_none());
}

#[test]
fn a_failed_run_keeps_exit_code_message_and_the_omitted_job() {
    let v = view("failed.json");
    assert_eq!(v.run_status(), RunStatus::Failed);
    assert!(
        v.message
            .as_deref()
            .is_some_and(|m| m.starts_with("child 'chain-q9z4m-"))
    );
    let train = job(&v, "train");
    assert_eq!(train.phase, JobPhase::Failed);
    assert_eq!(train.exit, Some(Exit::Code(2)));
    assert_eq!(train.reason().as_deref(), Some("Error (exit code 2)"));
    let eval = job(&v, "eval");
    assert_eq!(eval.phase, JobPhase::Skipped);
    assert!(eval.attempts.is_empty());
    assert_eq!(
        eval.message.as_deref(),
        Some("omitted: depends condition not met")
    );
    assert_eq!(v.progress(), (3, 3));
}

#[test]
fn sweep_points_are_jobs_of_their_task() {
    let v = view("sweep.json");
    assert_eq!(
        names(&v),
        [
            "prep",
            "train(0:p0:0.1,p1:relu)",
            "train(1:p0:0.1,p1:tanh)",
            "train(2:p0:0.01,p1:relu)",
            "train(3:p0:0.01,p1:tanh)",
        ]
    );
    assert!(v.jobs[1..].iter().all(|j| j.task == "train"));
    let pending = job(&v, "train(3:p0:0.01,p1:tanh)");
    assert_eq!(pending.phase, JobPhase::Pending);
    assert_eq!(pending.message.as_deref(), Some("PodInitializing"));
    assert_eq!(
        v.tasks,
        [
            PlannedTask {
                name: "prep".into(),
                points: None
            },
            PlannedTask {
                name: "train".into(),
                points: Some(4)
            },
            PlannedTask {
                name: "eval".into(),
                points: None
            },
        ]
    );
    assert_eq!(v.progress(), (3, 6));
}

#[test]
fn a_retried_job_is_one_job_with_its_attempts() {
    let v = view("retried.json");
    assert_eq!(names(&v), ["prep", "train"]);
    let prep = job(&v, "prep");
    assert_eq!(prep.phase, JobPhase::Succeeded);
    assert_eq!(prep.attempts.len(), 1);
    let train = job(&v, "train");
    assert_eq!(train.phase, JobPhase::Running);
    assert_eq!(train.node_name, "retry-h4t6w.train");
    assert_eq!(train.started_at, Some(at("2026-09-01T11:58:45Z")));
    let phases: Vec<JobPhase> = train.attempts.iter().map(|a| a.phase).collect();
    assert_eq!(phases, [JobPhase::Failed, JobPhase::Running]);
    assert_eq!(train.attempts[0].exit, Some(Exit::Code(1)));
    assert_eq!(train.attempts[1].node_name, "retry-h4t6w.train(1)");
    assert_eq!(train.max_attempts, Some(3));
    assert_eq!(train.retry_delay(1), Duration::from_secs(10));
    assert_eq!(train.retry_delay(2), Duration::from_secs(20));
    assert_eq!(v.progress(), (1, 3));
}

#[test]
fn a_terminated_run_reads_as_cancelled() {
    let v = view("stopped.json");
    assert_eq!(v.shutdown, Some(Shutdown::Terminate));
    assert_eq!(v.run_status(), RunStatus::Cancelled);
    assert_eq!(v.status_text(), "Cancelled");
    assert_eq!(
        v.message.as_deref(),
        Some("Stopped with strategy 'Terminate'")
    );
    assert_eq!(job(&v, "train").phase, JobPhase::Cancelled);
    assert_eq!(job(&v, "prep").phase, JobPhase::Succeeded);
}

#[test]
fn nested_part_dags_are_followed() {
    let v = view("nested.json");
    assert_eq!(names(&v), ["load", "clean", "feat"]);
    let tasks: Vec<&str> = v.tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tasks, ["load", "clean", "feat", "fit"]);
    assert_eq!(job(&v, "feat").node_name, "big-r8m2x.part-1-2.feat");
    assert_eq!(v.source.as_deref(), Some("pipeline.yaml"));
    assert_eq!(v.progress(), (2, 4));
}

#[test]
fn a_cron_workflow() {
    let c = CronView::from_json(&fixture("cron.json"));
    assert_eq!(c.name, "nightly");
    assert_eq!(c.schedules, ["0 3 * * *"]);
    assert_eq!(c.timezone.as_deref(), Some("Europe/Berlin"));
    assert!(!c.suspend);
    assert_eq!(c.last_scheduled, Some(at("2026-09-01T01:00:00Z")));
    assert_eq!(c.created, Some(at("2026-08-25T09:14:00Z")));
    assert_eq!(c.active, 0);
    assert_eq!(c.source.as_deref(), Some("nightly.yaml"));

    let old = CronView::from_json(&json!({
        "metadata": {"name": "old"},
        "spec": {"schedule": "*/5 * * * *", "suspend": true},
        "status": {"active": [{"name": "old-1"}, {"name": "old-2"}]}
    }));
    assert_eq!(old.schedules, ["*/5 * * * *"]);
    assert!(old.suspend);
    assert_eq!(old.active, 2);
}

#[test]
fn anything_missing_reads_as_a_default() {
    let v = WorkflowView::from_json(&json!({}));
    assert_eq!(v.name, "");
    assert_eq!(v.phase, "Pending");
    assert_eq!(v.run_status(), RunStatus::Running);
    assert_eq!(v.status_text(), "Pending");
    assert!(v.jobs.is_empty());
    assert_eq!(v.progress(), (0, 0));
    assert_eq!(v.duration(SystemTime::UNIX_EPOCH), None);
    let odd = WorkflowView::from_json(&json!({
        "metadata": {"name": 5, "labels": {"a": 1, "b": "x"}},
        "status": {"phase": "", "nodes": {"n": {"type": "Pod"}, "m": 3}, "progress": "a/b"}
    }));
    assert_eq!(odd.phase, "Pending");
    assert_eq!(odd.labels.len(), 1);
    assert_eq!(odd.argo_progress, None);
    assert_eq!(odd.jobs.len(), 1);
    assert_eq!(odd.jobs[0].name, "n");
    assert_eq!(odd.jobs[0].phase, JobPhase::Pending);
}

#[test]
fn offloaded_nodes_fall_back_to_argo_progress() {
    let mut object = fixture("running-chain.json");
    object["status"]["nodes"] = json!({});
    object["status"]["offloadNodeStatusVersion"] = json!("fnv:3312743226");
    let v = WorkflowView::from_json(&object);
    assert!(v.nodes_offloaded);
    assert_eq!(v.progress(), (1, 2));
    assert!(v.unstarted_tasks().next().is_none());
}

#[test]
fn suspended_stopping_and_error_runs() {
    let mut object = fixture("running-chain.json");
    object["spec"]["suspend"] = json!(true);
    assert_eq!(
        WorkflowView::from_json(&object).status_text(),
        "Running (Suspended)"
    );
    object["spec"]["shutdown"] = json!("Stop");
    let stopping = WorkflowView::from_json(&object);
    assert_eq!(stopping.status_text(), "Running (Stopping)");
    assert_eq!(stopping.shutdown, Some(Shutdown::Stop));
    let error = WorkflowView::from_json(&json!({"status": {"phase": "Error"}}));
    assert_eq!(error.run_status(), RunStatus::Failed);
    assert!(error.is_finished());
}

#[test]
fn retry_nodes_between_and_before_attempts() {
    let node = |id: &str, typ: &str, phase: &str, children: &[&str]| {
        json!({"id": id, "name": format!("w.{id}"), "displayName": id, "type": typ,
               "phase": phase, "templateName": "job", "children": children,
               "startedAt": "2026-09-01T12:00:00Z"})
    };
    let object = json!({
        "metadata": {"name": "w"},
        "spec": {"templates": [{"name": "job", "retryStrategy": {"limit": 4,
            "backoff": {"duration": "1m", "factor": 3, "maxDuration": "5m"}}}]},
        "status": {"phase": "Running", "nodes": {
            "a": node("a", "Retry", "Running", &["a0"]),
            "a0": node("a(0)", "Pod", "Failed", &[]),
            "b": node("b", "Retry", "Running", &[]),
            "c": node("c", "Retry", "Running", &["c0"]),
            "c0": node("c(0)", "Pod", "Pending", &[]),
        }}
    });
    let v = WorkflowView::from_json(&object);
    let phase = |name: &str| job(&v, name).phase;
    assert_eq!(
        phase("a"),
        JobPhase::Running,
        "waiting for its next attempt"
    );
    assert_eq!(phase("b"), JobPhase::Pending);
    assert_eq!(phase("c"), JobPhase::Pending);
    let a = job(&v, "a");
    assert_eq!(a.max_attempts, Some(5));
    assert_eq!(a.retry_delay(1), Duration::from_secs(60));
    assert_eq!(a.retry_delay(2), Duration::from_secs(180));
    assert_eq!(a.retry_delay(3), Duration::from_secs(300), "capped");
}
