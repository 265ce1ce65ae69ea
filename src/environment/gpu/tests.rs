//! Tests for the GPU checks: peak demand over stages and sweeps, `parallelism`, `gpu: 0`, the
//! note's words, the refusal on the notebook's node, and the GPU tolerations.

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::*;
use crate::pipeline::{one_liner, workflow_file};

fn file(yaml: &str) -> Dag {
    let pipeline = workflow_file::parse(yaml, Path::new("workflow.yaml"), None).expect("parses");
    Dag::build(pipeline).expect("valid")
}

fn one_liner(text: &str) -> Dag {
    Dag::build(one_liner::parse(text, None).expect("parses")).expect("valid")
}

/// A notebook holding `n` GPUs of `resource`.
fn notebook(resource: &str, n: u64) -> Environment {
    let limits: BTreeMap<String, Quantity> = [
        ("cpu".to_owned(), Quantity("2".into())),
        (resource.to_owned(), Quantity(n.to_string())),
    ]
    .into();
    let resources = ResourceRequirements {
        limits: Some(limits),
        ..ResourceRequirements::default()
    };
    Environment {
        notebook_gpus: gpus(Some(&resources)),
        resources: Some(resources),
        node_name: Some("gpu-node-1".into()),
        ..Environment::default()
    }
}

#[test]
fn a_sweep_is_one_wide_stage() {
    let dag = one_liner("python prep.py >> python train.py --seed {1,2,3,4} >> python eval.py");
    let env = notebook("nvidia.com/gpu", 1);
    let peak = peak_demand(&dag, &env).expect("GPUs");
    assert_eq!(peak.gpus, 4);
    assert_eq!(
        peak.parts,
        vec![Part {
            task: "train".into(),
            jobs: 4,
            each: 1
        }]
    );
    assert_eq!(
        demand_note(&dag, &env).expect("a note"),
        "these jobs may ask for up to 4 GPUs at once (stage `train`: 4 jobs × 1 GPU); the notebook holds 1; in a workflow.yaml, set `gpu: 0` (`resources: {gpu: 0}`) on jobs that need none"
    );
}

#[test]
fn no_note_when_the_notebook_holds_enough_or_none_are_asked_for() {
    let chain = one_liner("python prep.py >> python train.py >> python eval.py");
    assert_eq!(
        peak_demand(&chain, &notebook("nvidia.com/gpu", 1)).map(|p| p.gpus),
        Some(1)
    );
    assert_eq!(demand_note(&chain, &notebook("nvidia.com/gpu", 1)), None);
    let cpu_only = Environment::default();
    assert_eq!(peak_demand(&chain, &cpu_only), None);
    assert_eq!(demand_note(&chain, &cpu_only), None);
}

#[test]
fn gpu_zero_jobs_count_for_nothing_and_gpu_n_for_n() {
    let dag = file(
        "jobs:
  - {name: prep, command: python prep.py, resources: {gpu: 0}}
  - {name: a, command: python a.py, depends: prep}
  - {name: b, command: python b.py, depends: prep, resources: {gpu: 2}}
  - {name: c, command: python c.py, depends: prep, resources: {gpu: 0}}
",
    );
    let env = notebook("amd.com/gpu", 1);
    let peak = peak_demand(&dag, &env).expect("GPUs");
    assert_eq!(peak.gpus, 3);
    assert_eq!(
        demand_note(&dag, &env).expect("note"),
        "these jobs may ask for up to 3 GPUs at once (one stage: `b` 1 job × 2 GPUs, `a` 1 job × 1 GPU); the notebook holds 1; set `gpu: 0` (`resources: {gpu: 0}`) on jobs that need none"
    );
    assert_eq!(task_gpus(&dag.tasks[0], &env), 0);
    assert_eq!(task_gpus(&dag.tasks[2], &env), 2);
}

#[test]
fn parallelism_caps_the_peak_counting_the_hungriest_jobs_first() {
    let dag = file(
        "parallelism: 3
jobs:
  - name: train
    command: python train.py --seed {seed}
    matrix: {seed: [1, 2, 3, 4, 5, 6]}
  - {name: big, command: python big.py, resources: {gpu: 2}}
",
    );
    let env = notebook("nvidia.com/gpu", 1);
    let peak = peak_demand(&dag, &env).expect("GPUs");
    assert_eq!(peak.gpus, 4, "big (2) and two of train's six (1 each)");
    assert_eq!(peak.capped_by, Some(3));
    let note = demand_note(&dag, &env).expect("note");
    assert!(
        note.contains(
            "(one stage: `big` 1 job × 2 GPUs, `train` 2 jobs × 1 GPU, as `parallelism: 3` allows)"
        ),
        "{note}"
    );
}

#[test]
fn a_late_branch_running_beside_a_long_chain_counts() {
    // `slow` has no dependencies, so it may still run while `b` (after `a`) does: staged as
    // early as possible they look apart, staged as late as possible they meet.
    let dag = file(
        "jobs:
  - {name: a, command: python a.py, resources: {gpu: 0}}
  - {name: b, command: python b.py, depends: a}
  - {name: slow, command: python slow.py}
",
    );
    let env = notebook("nvidia.com/gpu", 1);
    assert_eq!(peak_demand(&dag, &env).map(|p| p.gpus), Some(2));
}

#[test]
fn gpu_jobs_pinned_to_the_notebooks_node_are_refused() {
    let dag = file(
        "jobs:
  - {name: prep, command: python prep.py, resources: {gpu: 0}}
  - {name: train, command: python train.py, depends: prep}
",
    );
    let env = notebook("nvidia.com/gpu", 1);
    let pinned = Placement::NotebookNode {
        claim: "claim-alice".into(),
    };
    let refusal = check_placement(&dag, &env, &pinned, false).expect_err("refused");
    assert_eq!(refusal.jobs, vec!["train".to_owned()]);
    assert_eq!(
        refusal.to_string(),
        "job `train` asks for GPUs, but job pods must run on the notebook's node gpu-node-1 (claim `claim-alice` is ReadWriteOnce), where the notebook itself holds 1 GPU: they may wait for a GPU forever"
    );
    let hint = refusal.hint();
    assert!(hint.contains("`gpu: 0`"), "{hint}");
    assert!(hint.contains("ReadWriteMany"), "{hint}");
    assert!(hint.contains("--allow-gpu-on-notebook-node"), "{hint}");

    let allowed = check_placement(&dag, &env, &pinned, true)
        .expect("allowed")
        .expect("a note");
    assert_eq!(
        allowed,
        "--allow-gpu-on-notebook-node: job `train` asks for GPUs on the notebook's node gpu-node-1, where the notebook itself holds 1 GPU"
    );
    let anywhere = check_placement(&dag, &env, &Placement::Anywhere, false);
    assert_eq!(anywhere, Ok(None));
}

#[test]
fn without_gpu_jobs_the_notebooks_node_is_fine() {
    let dag = file("jobs:\n  - {name: prep, command: python prep.py, resources: {gpu: 0}}\n");
    let pinned = Placement::NotebookNode { claim: "c".into() };
    let env = notebook("nvidia.com/gpu", 1);
    assert_eq!(check_placement(&dag, &env, &pinned, false), Ok(None));
}

#[test]
fn an_unknown_access_mode_warns_instead() {
    let dag = one_liner("python train.py");
    let env = notebook("nvidia.com/gpu", 1);
    let maybe = Placement::MaybeNotebookNode {
        claim: "claim-alice".into(),
    };
    let note = check_placement(&dag, &env, &maybe, false)
        .expect("a warning, not a refusal")
        .expect("a note");
    assert!(
        note.starts_with("if claim `claim-alice` is ReadWriteOnce, a submission would be refused: job `train` asks for GPUs"),
        "{note}"
    );
    assert!(
        note.contains("in a workflow.yaml") || note.contains("from a workflow.yaml"),
        "{note}"
    );
    assert_eq!(check_placement(&dag, &env, &maybe, true), Ok(None));
}

#[test]
fn gpu_tolerations_are_added_once_and_only_to_gpu_jobs() {
    let taint = |key: &str, operator: Option<&str>| Toleration {
        key: Some(key.into()),
        operator: operator.map(Into::into),
        effect: Some("NoSchedule".into()),
        ..Toleration::default()
    };
    let base = vec![taint("hub.jupyter.org/dedicated", Some("Equal"))];
    let gpu = vec![
        taint("nvidia.com/gpu", Some("Exists")),
        // The same as the notebook's, but with the operator left to its default.
        taint("hub.jupyter.org/dedicated", None),
    ];
    let for_gpu_job = tolerations_for(&base, 1, &gpu);
    assert_eq!(for_gpu_job, vec![base[0].clone(), gpu[0].clone()]);
    assert_eq!(tolerations_for(&base, 0, &gpu), base);
    assert_eq!(tolerations_for(&for_gpu_job, 2, &gpu), for_gpu_job);
}
