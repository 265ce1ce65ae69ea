//! Planning tests (pure), plus the helpers the executor and run tests build plans with.

use super::*;
use crate::pipeline::testing::job;
use crate::pipeline::{JobRef, Pipeline, WorkflowOptions};

/// A plan from `(name, command, depends)` triples, parsed and validated like real input.
pub(crate) fn plan(jobs: &[(&str, &str, &[&str])]) -> Plan {
    let specs = jobs
        .iter()
        .map(|(name, text, depends)| {
            let mut spec = job(text);
            spec.name = Some((*name).to_owned());
            spec.depends = depends
                .iter()
                .map(|d| JobRef::Name((*d).to_owned()))
                .collect();
            spec
        })
        .collect();
    let dag = Dag::build(Pipeline {
        name: Some("test".to_owned()),
        source: Source::CommandLine("test".to_owned()),
        jobs: specs,
        edges: Vec::new(),
        options: WorkflowOptions::default(),
    })
    .expect("valid pipeline");
    Plan::from_dag(&dag)
}

#[test]
fn exec_and_shell_commands_keep_their_argv() {
    let p = plan(&[
        ("quoted", "echo 'good bye'", &[]),
        ("piped", "printf 'a\\nb\\n' | wc -l", &[]),
    ]);
    assert_eq!(p.jobs[0].argv, ["echo", "good bye"]);
    assert_eq!(p.jobs[1].argv[..2], ["/bin/sh", "-c"]);
    assert!(p.jobs[1].argv[2].contains("| wc -l"));
}

#[test]
fn sweep_jobs_depend_on_every_job_of_their_dependencies() {
    let p = plan(&[
        ("prep", "echo prep", &[]),
        ("train", "echo {1,2,3}", &["prep"]),
        ("eval", "echo {a,b}", &["train"]),
    ]);
    let names = p.job_names();
    assert_eq!(
        names,
        ["prep", "train-1", "train-2", "train-3", "eval-a", "eval-b"]
    );
    assert_eq!(p.jobs[1].depends, [0]);
    assert_eq!(p.jobs[4].depends, [1, 2, 3]);
    assert_eq!(p.jobs[5].depends, [1, 2, 3]);
    assert_eq!(p.jobs[2].argv, ["echo", "2"]);
    assert_eq!(p.jobs[4].task, "eval");
}

#[test]
fn retries_timeout_and_env_come_from_the_task() {
    let mut spec = job("echo hi");
    spec.env = vec![("A".to_owned(), "1".to_owned())];
    spec.timeout = Some(Duration::from_secs(5));
    let dag = Dag::build(Pipeline {
        name: None,
        source: Source::CommandLine("echo hi".to_owned()),
        jobs: vec![spec],
        edges: Vec::new(),
        options: WorkflowOptions {
            retries: Some(2),
            ..WorkflowOptions::default()
        },
    })
    .expect("valid");
    let p = Plan::from_dag(&dag);
    assert_eq!(p.name, "run", "a -c pipeline has no name of its own");
    assert_eq!(p.jobs[0].retries, 2, "the workflow default applies");
    assert_eq!(p.jobs[0].timeout, Some(Duration::from_secs(5)));
    assert_eq!(p.jobs[0].env, [("A".to_owned(), "1".to_owned())]);
}
