use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;
use crate::argo::view::fixture;

fn jobs_of(name: &str) -> (Value, WorkflowJobs) {
    let object = fixture(name);
    let jobs = WorkflowJobs::read(&object, &WorkflowView::from_json(&object));
    (object, jobs)
}

fn tasks_of(workflow: &Value, template: &str) -> Vec<(String, Option<String>, usize)> {
    workflow["spec"]["templates"]
        .as_array()
        .expect("templates")
        .iter()
        .find(|t| t["name"] == template)
        .unwrap_or_else(|| panic!("no template {template}"))["dag"]["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().expect("name").to_owned(),
                t["depends"].as_str().map(str::to_owned),
                t["withItems"].as_array().map_or(0, Vec::len),
            )
        })
        .collect()
}

#[test]
fn a_failed_chain_retries_the_failed_job_and_what_follows() {
    let (object, jobs) = jobs_of("failed.json");
    assert_eq!(jobs.graph.jobs, ["prep", "train", "eval"]);
    assert_eq!(jobs.succeeded, [true, false, false]);
    let chosen = jobs.graph.retry(&|i| jobs.succeeded[i]);
    let new = jobs.retry_workflow(&object, &chosen);
    assert_eq!(
        tasks_of(&new, "main"),
        [
            ("train".to_owned(), None, 0),
            ("eval".to_owned(), Some("train".to_owned()), 0)
        ]
    );
    assert_eq!(new["metadata"]["labels"][RETRY_OF_LABEL], "chain-q9z4m");
    assert!(
        new["metadata"]["name"].is_null(),
        "a fresh name is generated"
    );
    assert!(new.get("status").is_none());
}

/// Only the sweep points that did not succeed run again, with their own values.
#[test]
fn a_sweep_retries_only_its_unfinished_points() {
    let (object, jobs) = jobs_of("sweep.json");
    assert_eq!(jobs.graph.jobs.len(), 6);
    let chosen = jobs.graph.retry(&|i| jobs.succeeded[i]);
    let names: Vec<&str> = chosen
        .iter()
        .map(|&i| jobs.graph.jobs[i].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "train(2:p0:0.01,p1:relu)",
            "train(3:p0:0.01,p1:tanh)",
            "eval"
        ]
    );
    let new = jobs.retry_workflow(&object, &chosen);
    assert_eq!(
        tasks_of(&new, "main"),
        [
            ("train".to_owned(), None, 2),
            ("eval".to_owned(), Some("train".to_owned()), 0)
        ]
    );
    let items = new["spec"]["templates"][0]["dag"]["tasks"][0]["withItems"].clone();
    let old_items = object["spec"]["templates"][0]["dag"]["tasks"][1]["withItems"].clone();
    assert_eq!(items, json!([old_items[2], old_items[3]]));
}

/// The retry's run record names each job as Argo will: the chosen points numbered anew.
#[test]
fn the_retry_record_renumbers_the_points_it_keeps() {
    let (_, jobs) = jobs_of("sweep.json");
    let chosen = jobs.graph.retry(&|i| jobs.succeeded[i]);
    let job = |name: &str, task: &str| (name.to_owned(), task.to_owned(), vec![name.to_owned()]);
    let old = [
        job("prep", "prep"),
        job("train(0:p0:0.1,p1:relu)", "train"),
        job("train(1:p0:0.1,p1:tanh)", "train"),
        job("train(2:p0:0.01,p1:relu)", "train"),
        job("train(3:p0:0.01,p1:tanh)", "train"),
        job("eval", "eval"),
    ];
    let new: Vec<(String, Vec<String>)> = jobs
        .retry_jobs(&chosen, &old)
        .into_iter()
        .map(|(name, _, argv)| (name, argv))
        .collect();
    assert_eq!(
        new,
        [
            (
                "train(0:p0:0.01,p1:relu)".to_owned(),
                vec!["train(2:p0:0.01,p1:relu)".to_owned()]
            ),
            (
                "train(1:p0:0.01,p1:tanh)".to_owned(),
                vec!["train(3:p0:0.01,p1:tanh)".to_owned()]
            ),
            ("eval".to_owned(), vec!["eval".to_owned()]),
        ]
    );
    // A job the old record lacks is left out.
    assert_eq!(jobs.retry_jobs(&chosen, &old[..3]).len(), 0);
}

/// Nested parts: a part with nothing left goes, with its task and template; edges into a kept
/// part from a removed one go too.
#[test]
fn nested_parts_are_pruned_whole() {
    let (object, jobs) = jobs_of("nested.json");
    assert_eq!(jobs.graph.jobs, ["load", "clean", "feat", "fit"]);
    // `feat` waits for `clean` (inside part-1-1) through the parts' own edge.
    let feat = jobs
        .graph
        .jobs
        .iter()
        .position(|j| j == "feat")
        .expect("feat");
    let clean = jobs
        .graph
        .jobs
        .iter()
        .position(|j| j == "clean")
        .expect("clean");
    assert!(jobs.graph.depends[feat].contains(&clean));
    let chosen: BTreeSet<usize> = jobs.graph.retry(&|i| jobs.succeeded[i]);
    let new = jobs.retry_workflow(&object, &chosen);
    assert_eq!(tasks_of(&new, "main"), [("part-1-2".to_owned(), None, 0)]);
    let names: Vec<&str> = new["spec"]["templates"]
        .as_array()
        .expect("templates")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(!names.contains(&"part-1-1"), "{names:?}");
    assert_eq!(
        tasks_of(&new, "part-1-2"),
        [
            ("feat".to_owned(), None, 0),
            ("fit".to_owned(), Some("feat".to_owned()), 0)
        ]
    );
}
