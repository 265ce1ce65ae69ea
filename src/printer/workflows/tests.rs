//! Snapshot tests of the Argo run tables with a fixed clock.

use std::time::SystemTime;

use super::*;
use crate::argo::view::fixture;
use crate::time;

const WORKFLOWS: [&str; 7] = [
    "running-chain",
    "sweep",
    "retried",
    "failed",
    "stopped",
    "nested",
    "succeeded",
];

/// Ten minutes after the newest fixture was created.
fn now() -> SystemTime {
    time::parse("2026-09-01T12:10:00Z").expect("a time")
}

fn view(name: &str) -> WorkflowView {
    WorkflowView::from_json(&fixture(&format!("{name}.json")))
}

#[test]
fn list_tables() {
    let views: Vec<WorkflowView> = WORKFLOWS.iter().map(|n| view(n)).collect();
    insta::assert_snapshot!("list", runs::run_list(&list_rows(&views, now()), false));
    insta::assert_snapshot!("list-wide", runs::run_list(&list_rows(&views, now()), true));
}

#[test]
fn get_texts() {
    for name in WORKFLOWS {
        insta::assert_snapshot!(format!("get-{name}"), get_text(&view(name), now()));
    }
}

#[test]
fn cron_tables() {
    let nightly = CronView::from_json(&fixture("cron.json"));
    let paused = CronView {
        name: "hourly-report".into(),
        schedules: vec!["0 * * * *".into(), "30 12 * * 1-5".into()],
        suspend: true,
        created: time::parse("2026-08-31T12:10:00Z"),
        ..CronView::default()
    };
    insta::assert_snapshot!("cron", cron_table(&[nightly, paused], now()));
}

#[test]
fn offloaded_jobs_are_explained_not_invented() {
    let mut object = fixture("running-chain.json");
    object["status"]["nodes"] = serde_json::json!({});
    object["status"]["offloadNodeStatusVersion"] = serde_json::json!("fnv:3312743226");
    let text = get_text(&WorkflowView::from_json(&object), now());
    assert!(
        text.contains("keeps this workflow's job details in its database"),
        "{text}"
    );
    assert!(!text.lines().any(|l| l.starts_with("prep")), "{text}");
}

#[test]
fn local_and_argo_lists_share_one_header() {
    let argo = runs::run_list(&list_rows(&[view("succeeded")], now()), true);
    let local = runs::run_list(&[], true);
    let columns = |text: &str| -> Vec<String> {
        let header = text.lines().next().unwrap_or_default();
        header
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(columns(&argo), columns(&local));
    assert_eq!(columns(&argo).len(), 8);
}

/// The params a Workflow ran with come from its annotation, in the file's order.
#[test]
fn get_shows_the_params_a_run_had() {
    let mut object = fixture("succeeded.json");
    object["metadata"]["annotations"]["jupyterflow.io/params"] =
        serde_json::json!(r#"{"lr":"0.01","data":"s3://b/x"}"#);
    let text = get_text(&WorkflowView::from_json(&object), now());
    let line = text
        .lines()
        .find(|l| l.starts_with("Params:"))
        .unwrap_or_else(|| panic!("no Params line in\n{text}"));
    assert!(line.ends_with(" lr=0.01, data=s3://b/x"), "{line}");
    let plain = get_text(&view("succeeded"), now());
    assert!(!plain.contains("Params:"), "{plain}");
}
