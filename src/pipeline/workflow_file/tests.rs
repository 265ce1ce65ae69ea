//! Tests for workflow.yaml parsing: the original JupyterFlow examples, every extension, exact
//! scalar text, positions, and error reporting.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::pipeline::command::{Segment, Word};
use crate::pipeline::error::PipelineErrorKind;
use crate::pipeline::{Axis, CommandTemplate, JobRef, JobSpec, ResourceSpec, TolerationSpec};

fn parse_ok(yaml: &str) -> Pipeline {
    parse(yaml, Path::new("workflow.yaml"), None).unwrap_or_else(|e| panic!("{e}"))
}

fn parse_err(yaml: &str) -> Vec<PipelineError> {
    match parse(yaml, Path::new("workflow.yaml"), None) {
        Ok(p) => panic!("expected an error, got {p:#?}"),
        Err(PipelineErrors(errors)) => errors,
    }
}

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/workflows")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse_fixture(name: &str) -> Pipeline {
    parse(&fixture(name), Path::new(name), None).unwrap_or_else(|e| panic!("{e}"))
}

/// The argv of an unswept job.
fn argv(job: &JobSpec) -> Vec<String> {
    job.command.argv(&[])
}

fn words(s: &str) -> Vec<String> {
    s.split(' ').map(str::to_owned).collect()
}

fn idx(from: usize, to: usize) -> (JobRef, JobRef) {
    (JobRef::Index(from), JobRef::Index(to))
}

fn name(s: &str) -> JobRef {
    JobRef::Name(s.to_owned())
}

fn edge_pairs(p: &Pipeline) -> Vec<(JobRef, JobRef)> {
    p.edges
        .iter()
        .map(|e| (e.from.clone(), e.to.clone()))
        .collect()
}

#[expect(
    clippy::unnecessary_wraps,
    reason = "compared with `Option<Pos>` fields"
)]
fn pos(line: u32, column: u32) -> Option<Pos> {
    Some(Pos { line, column })
}

// --- The original JupyterFlow examples -------------------------------------------------

#[test]
fn get_started_example() {
    let p = parse_ok("jobs: [python hello.py, python world.py]\ndags: [\"1 >> 2\"]\n");
    assert_eq!(p.jobs.len(), 2);
    assert_eq!(argv(&p.jobs[0]), words("python hello.py"));
    assert_eq!(argv(&p.jobs[1]), words("python world.py"));
    assert_eq!(edge_pairs(&p), vec![idx(1, 2)]);
    assert_eq!(p.source, Source::File("workflow.yaml".into()));
    let from_file = parse_fixture("get-started.yaml");
    let texts = |p: &Pipeline| p.jobs.iter().map(|j| j.text.clone()).collect::<Vec<_>>();
    assert_eq!(texts(&from_file), texts(&p));
    assert_eq!(edge_pairs(&from_file), edge_pairs(&p));
}

#[test]
fn basic_example() {
    let p = parse_fixture("basic.yaml");
    let texts: Vec<&str> = p.jobs.iter().map(|j| j.text.as_str()).collect();
    assert_eq!(
        texts,
        ["python prep.py", "python train.py", "python eval.py"]
    );
    assert_eq!(edge_pairs(&p), vec![idx(1, 2), idx(1, 3)]);
    assert!(p.jobs.iter().all(|j| j.command.mode() == CommandMode::Exec));
    assert_eq!(p.name, None);
    assert_eq!(p.options, WorkflowOptions::default());
}

#[test]
fn ml_pipeline_example() {
    let p = parse_fixture("ml-pipeline.yaml");
    assert_eq!(argv(&p.jobs[1]), words("python train.py 0.5"));
    assert_eq!(argv(&p.jobs[3]), words("python train.py 0.7"));
    assert_eq!(
        edge_pairs(&p),
        vec![
            idx(1, 2),
            idx(1, 3),
            idx(1, 4),
            idx(2, 5),
            idx(3, 5),
            idx(4, 5)
        ]
    );
    // Positions: jobs start on line 3 of the fixture, dags on line 10.
    assert_eq!(p.jobs[0].pos, pos(3, 3));
    assert_eq!(p.jobs[4].pos, pos(7, 3));
    assert_eq!(p.edges[0].pos, pos(10, 3));
    assert_eq!(p.edges[5].pos, pos(15, 3));
    insta::assert_debug_snapshot!("ml_pipeline", p);
}

#[test]
fn hello_world_seed() {
    let p = parse_fixture("hello-world.yaml");
    assert_eq!(argv(&p.jobs[0]), words("echo hello"));
    assert_eq!(argv(&p.jobs[1]), words("echo world"));
    assert_eq!(edge_pairs(&p), vec![idx(1, 2)]);
}

#[test]
fn schedule_example() {
    let p = parse_fixture("scheduled.yaml");
    assert_eq!(p.name.as_deref(), Some("my-workflow"));
    assert_eq!(p.options.schedule.as_deref(), Some("*/2 * * * *"));
    assert_eq!(p.options.schedule_pos, pos(9, 11));
    assert_eq!(edge_pairs(&p), vec![idx(1, 2)]);
}

#[test]
fn shell_mode_example() {
    let p = parse_ok("jobs:\n- echo $HOME | wc -c\ncmd_mode: shell\n");
    assert_eq!(p.jobs[0].command.mode(), CommandMode::Shell);
    assert_eq!(
        argv(&p.jobs[0]),
        ["/bin/sh", "-c", "echo $HOME | wc -c"].map(str::to_owned)
    );
    assert_eq!(p.jobs[0].text, "echo $HOME | wc -c");
}

#[test]
fn shell_syntax_is_detected_without_cmd_mode() {
    let p = parse_ok("jobs:\n- echo $HOME | wc -c\n- python a.py\n");
    assert_eq!(p.jobs[0].command.mode(), CommandMode::Shell);
    assert_eq!(p.jobs[1].command.mode(), CommandMode::Exec);
}

#[test]
fn jobs_without_dags_have_no_edges() {
    let p = parse_ok("jobs:\n- python a.py\n- python b.py\n");
    assert!(p.edges.is_empty());
    assert!(p.jobs.iter().all(|j| j.depends.is_empty()));
}

// --- Modes ----------------------------------------------------------------------------

#[test]
fn job_cmd_mode_overrides_file_and_flag_overrides_both() {
    let yaml = "cmd_mode: shell\njobs:\n- echo a\n- command: echo b\n  cmd_mode: exec\n";
    let p = parse_ok(yaml);
    assert_eq!(p.jobs[0].command.mode(), CommandMode::Shell);
    assert_eq!(p.jobs[1].command.mode(), CommandMode::Exec);
    let p = parse(yaml, Path::new("w.yaml"), Some(CommandMode::Shell))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        p.jobs
            .iter()
            .all(|j| j.command.mode() == CommandMode::Shell)
    );
    let p =
        parse(yaml, Path::new("w.yaml"), Some(CommandMode::Exec)).unwrap_or_else(|e| panic!("{e}"));
    assert!(p.jobs.iter().all(|j| j.command.mode() == CommandMode::Exec));
}

#[test]
fn bad_cmd_mode_is_reported_with_position() {
    let errors = parse_err("jobs: [a]\ncmd_mode: bash\n");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].pos, pos(2, 11));
    assert!(
        matches!(&errors[0].kind, PipelineErrorKind::InvalidValue { key, .. } if key == "cmd_mode")
    );
}

// --- Mapping jobs -----------------------------------------------------------------------

#[test]
fn mapping_job_with_every_field() {
    let p = parse_ok(
        "jobs:
- name: train
  command: python train.py
  depends: [prep, 1]
  cmd_mode: exec
  env: {B: two, A: one}
  resources: {cpu: 500m, memory: 4Gi, gpu: 1}
  retries: 2
  timeout: 90s
",
    );
    let job = &p.jobs[0];
    assert_eq!(job.name.as_deref(), Some("train"));
    assert_eq!(job.text, "python train.py");
    assert_eq!(argv(job), words("python train.py"));
    assert_eq!(job.depends, vec![name("prep"), JobRef::Index(1)]);
    // Written order, not sorted.
    assert_eq!(
        job.env,
        vec![("B".into(), "two".into()), ("A".into(), "one".into())]
    );
    assert_eq!(
        job.resources,
        ResourceSpec {
            cpu: Some("500m".into()),
            memory: Some("4Gi".into()),
            gpu: Some("1".into()),
        }
    );
    assert_eq!(job.retries, Some(2));
    assert_eq!(job.timeout, Some(Duration::from_secs(90)));
    assert_eq!(job.pos, pos(2, 3));
}

#[test]
fn depends_as_single_name_or_number() {
    let p = parse_ok(
        "jobs:\n- command: a\n  depends: prep\n- command: b\n  depends: 2\n- command: c\n  depends: yes\n",
    );
    assert_eq!(p.jobs[0].depends, vec![name("prep")]);
    assert_eq!(p.jobs[1].depends, vec![JobRef::Index(2)]);
    // `yes` is a job name here, not a boolean.
    assert_eq!(p.jobs[2].depends, vec![name("yes")]);
}

#[test]
fn timeout_as_integer_seconds() {
    let p = parse_ok("jobs:\n- command: a\n  timeout: 300\n");
    assert_eq!(p.jobs[0].timeout, Some(Duration::from_secs(300)));
}

#[test]
fn bad_timeout_and_retries_name_the_key() {
    let errors = parse_err("jobs:\n- command: a\n  timeout: soon\n  retries: many\n");
    let keys: Vec<(&str, Option<Pos>)> = errors
        .iter()
        .map(|e| match &e.kind {
            PipelineErrorKind::InvalidValue { key, .. } => (key.as_str(), e.pos),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        keys,
        vec![
            ("jobs[1].timeout", pos(3, 12)),
            ("jobs[1].retries", pos(4, 12))
        ]
    );
}

#[test]
fn scalars_keep_their_exact_text() {
    let p = parse_ok(
        "jobs:
- command: run
  env: {DEBUG: 1, FLAG: yes, OFF: off, ZERO: \"007\", RATE: 1.50, NUL: '~'}
  resources: {cpu: 0.5, memory: 1024}
- command: run
  resources: {cpu: 2}
- yes
- true
- 1.0
",
    );
    let env: Vec<(&str, &str)> = p.jobs[0]
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        env,
        vec![
            ("DEBUG", "1"),
            ("FLAG", "yes"),
            ("OFF", "off"),
            ("ZERO", "007"),
            ("RATE", "1.50"),
            ("NUL", "~")
        ]
    );
    assert_eq!(p.jobs[0].resources.cpu.as_deref(), Some("0.5"));
    assert_eq!(p.jobs[0].resources.memory.as_deref(), Some("1024"));
    assert_eq!(p.jobs[1].resources.cpu.as_deref(), Some("2"));
    // Commands that YAML would read as a boolean or a number are commands.
    assert_eq!(argv(&p.jobs[2]), ["yes"]);
    assert_eq!(argv(&p.jobs[3]), ["true"]);
    assert_eq!(argv(&p.jobs[4]), ["1.0"]);
}

#[test]
fn list_command_is_an_exact_argv() {
    let p = parse_ok("jobs:\n- command: [python, -c, 'print(\"a b\")', '$HOME', '', 1]\n");
    let job = &p.jobs[0];
    assert_eq!(job.command.mode(), CommandMode::Exec);
    assert_eq!(
        argv(job),
        ["python", "-c", "print(\"a b\")", "$HOME", "", "1"]
    );
    assert_eq!(job.text, r#"python -c 'print("a b")' '$HOME' '' 1"#);
}

#[test]
fn list_command_ignores_file_shell_mode_but_rejects_job_shell_mode() {
    let p = parse_ok("cmd_mode: shell\njobs:\n- command: [echo, a]\n");
    assert_eq!(argv(&p.jobs[0]), ["echo", "a"]);
    let errors = parse_err("jobs:\n- command: [echo, a]\n  cmd_mode: shell\n");
    assert_eq!(errors[0].pos, pos(3, 13));
    assert!(
        matches!(&errors[0].kind, PipelineErrorKind::InvalidValue { key, .. } if key == "jobs[1].cmd_mode")
    );
}

#[test]
fn matrix_axes_in_written_order_with_exact_values() {
    let p = parse_ok(
        "jobs:
- name: train
  command: python train.py --lr={lr} --seed {seed}
  matrix:
    seed: [1, 2]
    lr: [0.10, 1e-3, yes]
",
    );
    let job = &p.jobs[0];
    assert_eq!(
        job.axes,
        vec![
            Axis {
                key: "seed".into(),
                values: vec!["1".into(), "2".into()]
            },
            Axis {
                key: "lr".into(),
                values: vec!["0.10".into(), "1e-3".into(), "yes".into()]
            },
        ]
    );
    assert_eq!(
        job.command.argv(&["7", "0.5"]),
        words("python train.py --lr=0.5 --seed 7")
    );
}

/// Report #18: a bare `{name}` that names no matrix key is refused with a did-you-mean;
/// quoted or escaped it stays text, and jobs without a matrix are not affected.
#[test]
fn placeholders_that_name_no_matrix_key() {
    let errors = parse_err(
        "jobs:\n- name: t\n  command: echo {lr} {bs} {lrr} '{fmt}' \\{esc} {} {a,b}\n  matrix: {lr: [1, 2]}\n",
    );
    let found: Vec<(&str, Option<&str>)> = errors
        .iter()
        .map(|e| match &e.kind {
            PipelineErrorKind::UnknownMatrixKey {
                name,
                suggestion,
                keys,
                job,
                params,
            } => {
                assert_eq!(
                    (job.as_str(), keys.as_slice()),
                    ("t", &["lr".to_owned()][..])
                );
                assert!(params.is_empty());
                assert_eq!(e.pos, pos(2, 3));
                (name.as_str(), suggestion.as_deref())
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(found, [("bs", None), ("lrr", Some("lr"))]);
    let p = parse_ok("jobs:\n- name: t\n  command: echo {bs} '{lr}'\n");
    assert_eq!(argv(&p.jobs[0]), ["echo", "{bs}", "{lr}"]);
}

#[test]
fn matrix_and_brace_sweeps_combine() {
    let p = parse_ok(
        "jobs:\n- command: python train.py --lr {lr} --opt {adam,sgd}\n  matrix: {lr: [0.1, 0.2]}\n",
    );
    let job = &p.jobs[0];
    let keys: Vec<&str> = job.axes.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["lr", "p1"]);
    assert_eq!(job.axes[1].values, ["adam", "sgd"]);
    assert_eq!(
        job.command.argv(&["0.2", "sgd"]),
        words("python train.py --lr 0.2 --opt sgd")
    );
}

#[test]
fn brace_sweeps_work_in_plain_string_jobs() {
    let p = parse_ok("jobs:\n- python train.py {0.1,0.2}\n");
    assert_eq!(p.jobs[0].axes.len(), 1);
    assert_eq!(p.jobs[0].axes[0].values, ["0.1", "0.2"]);
}

#[test]
fn matrix_keys_in_list_commands() {
    let p = parse_ok(
        "jobs:\n- command: [python, train.py, '--lr={lr}', '{other}', '{lr}']\n  matrix: {lr: [0.1]}\n",
    );
    let job = &p.jobs[0];
    assert_eq!(
        job.command.argv(&["0.1"]),
        ["python", "train.py", "--lr=0.1", "{other}", "0.1"]
    );
    assert_eq!(
        job.command,
        CommandTemplate::Exec(vec![
            Word(vec![Segment::Text("python".into())]),
            Word(vec![Segment::Text("train.py".into())]),
            Word(vec![Segment::Text("--lr=".into()), Segment::Param(0)]),
            Word(vec![Segment::Text("{other}".into())]),
            Word(vec![Segment::Param(0)]),
        ])
    );
}

// --- dags -------------------------------------------------------------------------------

#[test]
fn dags_with_names_chains_and_groups() {
    let p = parse_ok(
        "jobs:
- {name: prep, command: a}
- {name: a, command: b}
- {name: b, command: c}
- {name: eval, command: d}
dags:
- prep >> [a, b] >> eval
- 1 >> 4
",
    );
    assert_eq!(
        edge_pairs(&p),
        vec![
            (name("prep"), name("a")),
            (name("prep"), name("b")),
            (name("a"), name("eval")),
            (name("b"), name("eval")),
            idx(1, 4),
        ]
    );
    assert!(p.edges[..4].iter().all(|e| e.pos == pos(7, 3)));
    assert_eq!(p.edges[4].pos, pos(8, 3));
}

#[test]
fn malformed_dags_entries_are_all_reported() {
    let errors = parse_err("jobs: [a, b]\ndags:\n- 1 > 2\n- 1 >> [2\n");
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].pos, pos(3, 3));
    assert_eq!(errors[1].pos, pos(4, 3));
    assert!(
        errors
            .iter()
            .all(|e| matches!(e.kind, PipelineErrorKind::Syntax(_)))
    );
}

// --- Workflow-level options -------------------------------------------------------------

#[test]
fn workflow_options() {
    let p = parse_ok(
        "version: 1
name: nightly
jobs: [a]
schedule: 0 3 * * *
timezone: Europe/Paris
concurrency_policy: forbid
parallelism: 3
retries: 2
timeout: 1h30m
ttl: 7d
labels: {team: ml, cost: 1}
notebook_engine: Papermill
",
    );
    assert_eq!(p.name.as_deref(), Some("nightly"));
    let expected = WorkflowOptions {
        parallelism: Some(3),
        retries: Some(2),
        timeout: Some(Duration::from_secs(5_400)),
        ttl: Some(Duration::from_secs(7 * 86_400)),
        schedule: Some("0 3 * * *".into()),
        schedule_pos: pos(4, 11),
        timezone: Some("Europe/Paris".into()),
        timezone_pos: pos(5, 11),
        concurrency_policy: Some(ConcurrencyPolicy::Forbid),
        labels: BTreeMap::from([("team".into(), "ml".into()), ("cost".into(), "1".into())]),
        params: Vec::new(),
        notebook_engine: NotebookEngine::Papermill,
    };
    assert_eq!(p.options, expected);
}

#[test]
fn notebook_engine_defaults_to_nbclient() {
    let p = parse_ok(
        "jobs: [a]
",
    );
    assert_eq!(p.options.notebook_engine, NotebookEngine::Nbclient);
    let p = parse_ok(
        "jobs: [a]
notebook_engine: nbclient
",
    );
    assert_eq!(p.options.notebook_engine, NotebookEngine::Nbclient);
}

#[test]
fn an_unknown_notebook_engine_is_refused_with_a_did_you_mean() {
    let errors = parse_err(
        "jobs: [a]
notebook_engine: paper_mill
",
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].pos, pos(2, 18));
    match &errors[0].kind {
        PipelineErrorKind::InvalidValue { key, message } => {
            assert_eq!(key, "notebook_engine");
            assert_eq!(
                message,
                "expected `nbclient` or `papermill`, found `paper_mill`; did you mean `papermill`?"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let errors = parse_err(
        "jobs: [a]
notebook_engine: [papermill]
",
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
}

#[test]
fn version_accepts_only_one() {
    parse_ok("version: '1'\njobs: [a]\n");
    let errors = parse_err("version: 2\njobs: [a]\n");
    assert_eq!(errors[0].pos, pos(1, 10));
    assert!(
        matches!(&errors[0].kind, PipelineErrorKind::InvalidValue { key, .. } if key == "version")
    );
}

#[test]
fn bad_option_values() {
    let errors =
        parse_err("jobs: [a]\nparallelism: 0\nconcurrency_policy: Sometimes\nttl: forever\n");
    let keys: Vec<&str> = errors
        .iter()
        .map(|e| match &e.kind {
            PipelineErrorKind::InvalidValue { key, .. } => key.as_str(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(keys, ["parallelism", "concurrency_policy", "ttl"]);
}

// --- Errors -----------------------------------------------------------------------------

#[test]
fn unknown_keys_suggest_the_right_one_with_position() {
    let errors = parse_err(&fixture("errors/unknown-key.yaml"));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].pos, pos(4, 1));
    assert_eq!(
        errors[0].kind.hint().as_deref(),
        Some("did you mean `dags`?")
    );
    assert_eq!(
        errors[0].to_string(),
        "workflow.yaml:4:1: unknown key `dag` in workflow.yaml"
    );
}

#[test]
fn unknown_keys_in_jobs_and_resources_are_all_reported() {
    let errors = parse_err(
        "jobs:
- command: a
  depend: [b]
  resources: {cpus: 2}
- command: b
  zzz: 1
",
    );
    let found: Vec<(String, Option<String>, Option<Pos>)> = errors
        .iter()
        .map(|e| match &e.kind {
            PipelineErrorKind::UnknownKey {
                key, suggestion, ..
            } => (key.clone(), suggestion.clone(), e.pos),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        found,
        vec![
            ("depend".into(), Some("depends".into()), pos(3, 3)),
            ("cpus".into(), Some("cpu".into()), pos(4, 15)),
            ("zzz".into(), None, pos(6, 3)),
        ]
    );
    assert_eq!(
        errors[2].kind.hint().as_deref(),
        Some(
            "expected one of: name, command, depends, cmd_mode, env, resources, node_selector, tolerations, retries, timeout, matrix, notebook, parameters"
        )
    );
}

/// Report #25 and the type-error finding: a value of the wrong shape is named by its key path
/// in plain words, with its position, never in serde's or Rust's terms.
#[test]
fn wrong_types_name_the_key_path() {
    let fixture_errors = parse_err(&fixture("errors/bad-type.yaml"));
    assert_eq!(fixture_errors.len(), 1);
    assert_eq!(fixture_errors[0].pos, pos(4, 12));

    let cases = [
        "- a\n- b\n",
        "hello\n",
        "jobs: echo a\n",
        "jobs: 3\n",
        "jobs: {a: b}\n",
        "jobs:\n- [python, a.py]\n",
        "jobs:\n- command: {a: b}\n",
        "jobs:\n- command: [python, [a.py]]\n",
        "jobs:\n- command: [python, ~]\n",
        "jobs:\n- name: [a]\n  command: x\n",
        "jobs:\n- x\n- command: x\n  env: [A=1]\n",
        "jobs:\n- command: x\n  env: {A: [1], B: ~, C: 1}\n",
        "jobs:\n- command: x\n  depends: {a: b}\n",
        "jobs:\n- command: x\n  depends: [a, [b]]\n",
        "jobs:\n- command: x\n  resources: 2\n",
        "jobs:\n- command: x\n  resources: {cpu: [1]}\n",
        "jobs:\n- command: x\n  retries: [1, 2]\n",
        "jobs:\n- command: x\n  timeout: {m: 5}\n",
        "jobs:\n- command: x {v}\n  matrix: [1, 2]\n",
        "jobs:\n- command: x {v}\n  matrix: {v: 5}\n",
        "jobs:\n- command: x {v}\n  matrix: {v: [1, ~]}\n",
        "jobs:\n- command: x {v}\n  matrix: {v: [1, [2]]}\n",
        "jobs: [x]\ndags: 1 >> 2\n",
        "jobs: [x]\ndags: [[1, 2]]\n",
        "jobs: [x]\nversion: [1]\n",
        "jobs: [x]\nname: {a: b}\n",
        "jobs: [x]\nschedule: [1]\n",
        "jobs: [x]\ntimezone: [UTC]\n",
        "jobs: [x]\nlabels: [a]\n",
        "jobs: [x]\nlabels: {team: [a]}\n",
        "jobs: [x]\nparallelism: {n: 1}\n",
        "jobs: [x]\nttl: [1]\n",
        "jobs: [x]\ncmd_mode: [exec]\n",
        "jobs: [x]\nconcurrency_policy: {a: b}\n",
    ];
    let mut table = String::new();
    for yaml in cases {
        for e in parse_err(yaml) {
            let text = e.to_string();
            // Nothing of serde's or Rust's vocabulary reaches the user.
            for word in [
                "invalid type",
                "expected a",
                "Option<",
                "deserialize",
                "sequence",
                "scalar",
            ] {
                assert!(!text.contains(word), "{yaml:?}: {text}");
            }
            table.push_str(&format!("{yaml:?}\n  {text}\n"));
        }
    }
    insta::assert_snapshot!("wrong_types", table);
}

#[test]
fn empty_pipelines() {
    for yaml in ["", "# nothing\n", "jobs:\n", "jobs: []\n", "name: x\n"] {
        let errors = parse_err(yaml);
        assert_eq!(errors.len(), 1, "{yaml:?}");
        assert_eq!(errors[0].kind, PipelineErrorKind::EmptyPipeline, "{yaml:?}");
    }
    assert_eq!(
        parse_err(&fixture("errors/empty.yaml"))[0].kind,
        PipelineErrorKind::EmptyPipeline
    );
}

#[test]
fn command_errors_are_collected_per_job() {
    let errors =
        parse_err("jobs:\n- ''\n- python 'unclosed\n- command: [ ]\n- name: x\n- ~\n- [a, b]\n");
    let kinds: Vec<(&PipelineErrorKind, Option<Pos>)> =
        errors.iter().map(|e| (&e.kind, e.pos)).collect();
    assert_eq!(kinds.len(), 6, "{kinds:#?}");
    assert_eq!(
        kinds[0],
        (
            &PipelineErrorKind::EmptyCommand { job: "1".into() },
            pos(2, 3)
        )
    );
    assert!(
        matches!(kinds[1].0, PipelineErrorKind::BadCommand { job, message } if job == "2" && message.contains("unclosed"))
    );
    assert_eq!(kinds[1].1, pos(3, 3));
    assert_eq!(
        kinds[2].0,
        &PipelineErrorKind::EmptyCommand { job: "3".into() }
    );
    assert_eq!(
        kinds[3].0,
        &PipelineErrorKind::EmptyCommand { job: "x".into() }
    );
    assert_eq!(
        kinds[4].0,
        &PipelineErrorKind::EmptyCommand { job: "5".into() }
    );
    assert!(
        matches!(kinds[5].0, PipelineErrorKind::WrongType { path, found, .. } if path == "jobs[6]" && found == "a list")
    );
}

#[test]
fn unclosed_quote_fixture() {
    let errors = parse_err(&fixture("errors/unclosed-quote.yaml"));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].pos, pos(3, 3));
    assert!(matches!(&errors[0].kind, PipelineErrorKind::BadCommand { job, .. } if job == "2"));
}

#[test]
fn yaml_syntax_errors_have_positions() {
    let errors = parse_err("jobs: [a]\n  b: c\n");
    assert!(matches!(errors[0].kind, PipelineErrorKind::Syntax(_)));
    assert_eq!(errors[0].pos.map(|p| p.line), Some(2));
    // The position is in `pos`; the message does not repeat it.
    assert!(
        !errors[0].kind.to_string().contains("line"),
        "{}",
        errors[0].kind
    );
}

// --- Fixtures ---------------------------------------------------------------------------

#[test]
fn sweep_showcase() {
    let p = parse_fixture("sweep.yaml");
    let names: Vec<Option<&str>> = p.jobs.iter().map(|j| j.name.as_deref()).collect();
    assert_eq!(names, [Some("prep"), Some("train"), Some("eval")]);
    assert_eq!(p.options.parallelism, Some(4));
    assert_eq!(p.options.labels.get("team").map(String::as_str), Some("ml"));
    assert_eq!(p.jobs[1].axes.len(), 2);
    assert_eq!(p.jobs[1].env[0], ("EPOCHS".into(), "10".into()));
    assert_eq!(
        edge_pairs(&p),
        vec![(name("prep"), name("train")), (name("train"), name("eval"))]
    );
    insta::assert_debug_snapshot!("sweep", p);
}

/// These are errors for `dag` to find; the parser must read them faithfully.
#[test]
fn validation_fixtures_parse() {
    for file in [
        "unknown-ref.yaml",
        "index-zero.yaml",
        "out-of-range.yaml",
        "duplicate-name.yaml",
        "self-dep.yaml",
        "cycle.yaml",
        "bad-cron.yaml",
        "bad-quantity.yaml",
        "matrix-no-values.yaml",
        "matrix-unused-key.yaml",
    ] {
        let p = parse_fixture(&format!("errors/{file}"));
        assert!(!p.jobs.is_empty(), "{file}");
    }
    let cycle = parse_fixture("errors/cycle.yaml");
    assert_eq!(
        edge_pairs(&cycle),
        vec![
            (name("a"), name("b")),
            (name("b"), name("c")),
            (name("c"), name("a"))
        ]
    );
    assert_eq!(
        parse_fixture("errors/index-zero.yaml").edges[0].from,
        JobRef::Index(0)
    );
    assert_eq!(
        parse_fixture("errors/bad-quantity.yaml").jobs[0]
            .resources
            .memory
            .as_deref(),
        Some("8 gigs")
    );
    assert!(
        parse_fixture("errors/matrix-no-values.yaml").jobs[0].axes[0]
            .values
            .is_empty()
    );
    let null_axis = parse_ok("jobs:\n- command: a {lr}\n  matrix: {lr: }\n");
    assert!(null_axis.jobs[0].axes[0].values.is_empty());
}

/// Report #12/#19: env names Kubernetes refuses, and time limits Kubernetes and Argo cannot
/// hold (a pod's deadline is 1 to 2^31-1 seconds; a TTL an int32), are refused with the key.
#[test]
fn values_kubernetes_would_refuse() {
    let errors = parse_err(
        "timeout: 2147483648\nttl: 99999999999s\njobs:\n- name: a\n  command: env\n  env: {'1BAD=X': v, '': e, OK: fine, my.var-1: x, _x: y}\n  timeout: 0s\n",
    );
    let found: Vec<(String, Option<Pos>)> = errors
        .iter()
        .map(|e| match &e.kind {
            PipelineErrorKind::InvalidEnvName { path, name } => (format!("{path} {name}"), e.pos),
            PipelineErrorKind::InvalidValue { key, .. } => (key.clone(), e.pos),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        found,
        [
            ("timeout".to_owned(), pos(1, 10)),
            ("ttl".to_owned(), pos(2, 6)),
            ("jobs[1].env 1BAD=X".to_owned(), pos(6, 9)),
            ("jobs[1].env ".to_owned(), pos(6, 22)),
            ("jobs[1].timeout".to_owned(), pos(7, 12)),
        ]
    );
    // The largest values that fit, and a zero TTL (delete at once), are fine.
    let p = parse_ok("timeout: 2147483647\nttl: 0\njobs: [a]\n");
    assert_eq!(p.options.timeout, Some(Duration::from_secs(2_147_483_647)));
    assert_eq!(p.options.ttl, Some(Duration::from_secs(0)));
}

#[test]
fn node_selector_tolerations_and_gpu_zero() {
    let p = parse_ok(
        "jobs:
  - name: train
    command: python train.py
    node_selector: {cloud.google.com/gke-nodepool: gpu-pool, gpu-type: a100}
    tolerations:
      - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
      - key: dedicated
        value: ml
        effect: NoExecute
        tolerationSeconds: 600
      - operator: Exists
  - name: report
    command: python report.py
    resources: {gpu: 0}
",
    );
    let train = &p.jobs[0];
    assert_eq!(
        train.node_selector,
        BTreeMap::from([
            (
                "cloud.google.com/gke-nodepool".to_owned(),
                "gpu-pool".to_owned()
            ),
            ("gpu-type".to_owned(), "a100".to_owned()),
        ])
    );
    assert_eq!(
        train.tolerations,
        vec![
            TolerationSpec {
                key: Some("nvidia.com/gpu".into()),
                operator: Some("Exists".into()),
                effect: Some("NoSchedule".into()),
                ..TolerationSpec::default()
            },
            TolerationSpec {
                key: Some("dedicated".into()),
                value: Some("ml".into()),
                effect: Some("NoExecute".into()),
                toleration_seconds: Some(600),
                ..TolerationSpec::default()
            },
            TolerationSpec {
                operator: Some("Exists".into()),
                ..TolerationSpec::default()
            },
        ]
    );
    assert_eq!(p.jobs[1].resources.gpu.as_deref(), Some("0"));
    // `gpu: 0` passes the checks `dag` makes.
    crate::pipeline::Dag::build(p).expect("gpu: 0 is a valid count");
}

#[test]
fn bad_node_selectors_and_tolerations_are_reported_where_written() {
    let errors = parse_err(
        "jobs:
  - name: a
    command: python a.py
    node_selector: {bad key!: x, zone: -eu-}
    tolerations:
      - {key: a, operator: Is}
      - {key: b, effect: NoRun}
      - {effect: NoSchedule}
      - {key: c, operator: Exists, value: d}
      - {key: e, tolerationSeconds: 60}
      - {key: f, effect: NoExecute, tolerationSeconds: soon}
      - {key: g, efect: NoSchedule}
      - just-a-string
  - name: b
    command: python b.py
    node_selector: [gpu]
    tolerations: {key: a}
",
    );
    let found: Vec<(String, Option<Pos>)> =
        errors.iter().map(|e| (e.kind.to_string(), e.pos)).collect();
    let expect = [
        (
            "invalid value for `jobs[1].node_selector`: `bad key!` is not a node label key",
            pos(4, 21),
        ),
        (
            "invalid value for `jobs[1].node_selector.zone`: `-eu-` is not a label value",
            pos(4, 40),
        ),
        (
            "invalid value for `jobs[1].tolerations[1].operator`: expected `Exists` or `Equal`, found `Is`",
            pos(6, 28),
        ),
        (
            "invalid value for `jobs[1].tolerations[2].effect`: expected `NoSchedule`, `PreferNoSchedule` or `NoExecute`",
            pos(7, 26),
        ),
        (
            "invalid value for `jobs[1].tolerations[3]`: a toleration without `key` must have `operator: Exists`",
            pos(8, 9),
        ),
        (
            "invalid value for `jobs[1].tolerations[4].value`: `operator: Exists` takes no value",
            pos(9, 43),
        ),
        (
            "invalid value for `jobs[1].tolerations[5].tolerationSeconds`: `tolerationSeconds` only applies to `effect: NoExecute`",
            pos(10, 37),
        ),
        (
            "invalid value for `jobs[1].tolerations[6].tolerationSeconds`: expected a whole number of seconds, found `soon`",
            pos(11, 56),
        ),
        ("unknown key `efect` in a toleration", pos(12, 18)),
        (
            "`jobs[1].tolerations[8]` must be a mapping with `key`",
            pos(13, 9),
        ),
        (
            "`jobs[2].node_selector` must be a mapping of node label: value, not a list",
            pos(16, 20),
        ),
        (
            "`jobs[2].tolerations` must be a list of tolerations",
            pos(17, 18),
        ),
    ];
    assert_eq!(found.len(), expect.len(), "{found:#?}");
    for ((message, at), (start, want)) in found.iter().zip(expect) {
        assert!(message.starts_with(start), "{message}\n  expected: {start}");
        assert_eq!(*at, want, "{message}");
    }
    let unknown = errors
        .iter()
        .find(|e| matches!(e.kind, PipelineErrorKind::UnknownKey { .. }))
        .expect("the typo");
    assert_eq!(
        unknown.kind.hint().as_deref(),
        Some("did you mean `effect`?")
    );
}

#[test]
fn a_notebook_job_is_the_one_liner_a_user_would_write() {
    let pipeline = parse_ok(
        "jobs:\n  - notebook: nb/train me.ipynb\n    parameters:\n      lr: 0.1\n      name: a b\n      empty:\n",
    );
    let job = &pipeline.jobs[0];
    assert_eq!(
        job.text,
        "'nb/train me.ipynb' -p lr 0.1 -p name 'a b' -p empty null"
    );
    assert_eq!(
        argv(job),
        [
            "nb/train me.ipynb",
            "-p",
            "lr",
            "0.1",
            "-p",
            "name",
            "a b",
            "-p",
            "empty",
            "null"
        ]
    );
    let errors = parse_err("jobs:\n  - command: python a.py\n    notebook: a.ipynb\n");
    assert!(
        errors[0]
            .to_string()
            .contains("a job has either `command` or `notebook`, not both"),
        "{}",
        errors[0]
    );
}

// --- params ---------------------------------------------------------------------------

#[test]
fn params_fill_commands_in_every_form_and_env_values() {
    let p = parse_ok(
        "params: {lr: 0.10, data: 's3://b/x y', tag: v1}
jobs:
- name: train
  command: python train.py --lr {lr} --data={data}
  env: {RUN_TAG: '{tag}-{lr}', HOMEISH: '${HOME}/{nope}'}
- name: shell
  command: echo '{tag}' | tee \\{tag}.txt
- name: exact
  command: [python, -c, 'print({lr})', '{data}']
",
    );
    let names: Vec<(&str, &str)> = p
        .options
        .params
        .iter()
        .map(|p| (p.name.as_str(), p.value.as_str()))
        .collect();
    assert_eq!(
        names,
        [("lr", "0.10"), ("data", "s3://b/x y"), ("tag", "v1")]
    );
    assert_eq!(p.options.params[0].pos, pos(1, 10));
    let dag = crate::pipeline::Dag::build(p).unwrap_or_else(|e| panic!("{e}"));
    let argv = |i: usize| dag.tasks[i].argv(&[]);
    assert_eq!(
        argv(0),
        ["python", "train.py", "--lr", "0.10", "--data=s3://b/x y"]
    );
    assert_eq!(
        argv(1),
        ["/bin/sh", "-c", r"echo ''v1'' | tee \{tag}.txt"],
        "quoted params are filled (the quote closed around the value, as for matrix keys), \
         escaped ones left to the shell, which drops the backslash"
    );
    assert_eq!(argv(2), ["python", "-c", "print(0.10)", "s3://b/x y"]);
    let env: BTreeMap<&str, &str> = dag.tasks[0]
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(env["RUN_TAG"], "v1-0.10");
    assert_eq!(env["HOMEISH"], "${HOME}/{nope}");
    assert_eq!(dag.tasks[0].name, "train", "a param never renames a job");
}

#[test]
fn set_changes_what_commands_get() {
    let mut p = parse_ok("params: {lr: 0.1}\njobs: ['python train.py --lr {lr}']\n");
    p.set_params(&[crate::pipeline::ParamSet::parse("lr=0.01").expect("shape")])
        .expect("declared");
    let dag = crate::pipeline::Dag::build(p).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        dag.tasks[0].argv(&[]),
        ["python", "train.py", "--lr", "0.01"]
    );
    assert_eq!(
        dag.tasks[0].name, "train",
        "named by its script, not by the value"
    );
}

#[test]
fn bad_params_are_reported_where_they_are() {
    let errors = parse_err(
        "params: {lr: 0.1, 'bad name': 1, empty: , list: [1]}
jobs:
- name: t
  command: echo {lrr} {x}
  matrix: {lr: [1, 2], x: [3]}
",
    );
    let kinds: Vec<String> = errors
        .iter()
        .map(|e| format!("{}@{:?}", e.kind, e.pos.map(|p| (p.line, p.column))))
        .collect();
    assert!(
        kinds
            .iter()
            .any(|k| k.starts_with("param name `bad name` cannot be used")),
        "{kinds:#?}"
    );
    assert!(
        kinds.iter().any(|k| k.contains("params.empty")),
        "{kinds:#?}"
    );
    assert!(
        kinds.iter().any(|k| k.contains("params.list")),
        "{kinds:#?}"
    );
    assert!(
        kinds.iter().any(|k| k
            .starts_with("job `t`: matrix key `lr` has the name of a param (declared at 1:10)")),
        "{kinds:#?}"
    );
}

#[test]
fn a_misspelt_param_gets_a_did_you_mean() {
    let errors = parse_err("params: {epochs: 3}\njobs: ['python train.py --epochs {epoch}']\n");
    match &errors[0].kind {
        PipelineErrorKind::UnknownMatrixKey {
            name,
            suggestion,
            params,
            keys,
            ..
        } => {
            assert_eq!(name, "epoch");
            assert_eq!(suggestion.as_deref(), Some("epochs"));
            assert_eq!(params, &["epochs".to_owned()]);
            assert!(keys.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        errors[0].kind.to_string(),
        "job `1`: `{epoch}` in the command names no param"
    );
    let hint = errors[0].kind.hint().expect("a hint");
    assert!(
        hint.starts_with("did you mean `{epochs}`? the params are {epochs}"),
        "{hint}"
    );
}
