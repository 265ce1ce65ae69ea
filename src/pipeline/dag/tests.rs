//! Tests for DAG validation: each error class, naming, expansion, order, and random DAGs.

use super::*;
use crate::pipeline::testing::job;
use crate::pipeline::{EdgeSpec, JobSpec};
use proptest::prelude::*;

fn named(name: &str, text: &str, depends: &[&str]) -> JobSpec {
    let mut spec = job(text);
    spec.name = Some(name.to_owned());
    spec.depends = depends
        .iter()
        .map(|d| JobRef::Name((*d).to_owned()))
        .collect();
    spec
}

fn pipeline(jobs: Vec<JobSpec>, edges: Vec<(JobRef, JobRef)>) -> Pipeline {
    Pipeline {
        name: None,
        source: Source::File("workflow.yaml".into()),
        jobs,
        edges: edges
            .into_iter()
            .map(|(from, to)| EdgeSpec {
                from,
                to,
                pos: Some(Pos { line: 7, column: 3 }),
            })
            .collect(),
        options: WorkflowOptions::default(),
    }
}

fn errors(p: Pipeline) -> Vec<Kind> {
    Dag::build(p)
        .expect_err("should fail")
        .0
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

#[test]
fn names_are_derived_from_scripts_and_programs() {
    let dag = Dag::build(pipeline(
        vec![
            job("python prep.py"),
            job("python /home/jovyan/Train_Model.py --lr 0.1"),
            job("python -m pkg.evaluate"),
            job("echo hello"),
            job("echo world"),
            job("FOO=1 ./run.sh"),
        ],
        vec![],
    ))
    .expect("valid");
    let names: Vec<&str> = dag.tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["prep", "train-model", "evaluate", "echo-1", "echo-2", "run"]
    );
}

#[test]
fn references_by_index_name_and_safe_name() {
    let dag = Dag::build(pipeline(
        vec![
            named("Prep_Data", "python prep.py", &[]),
            named("train", "python train.py", &["Prep_Data"]),
            named("eval", "python eval.py", &["train", "prep-data"]),
        ],
        vec![(JobRef::Index(1), JobRef::Index(3))],
    ))
    .expect("valid");
    assert_eq!(dag.tasks[0].name, "prep-data");
    assert_eq!(dag.tasks[1].depends, vec![0]);
    assert_eq!(dag.tasks[2].depends, vec![0, 1]);
}

#[test]
fn every_error_class_is_reported_with_position() {
    let kinds = errors(pipeline(
        vec![job("echo a"), job("echo b")],
        vec![
            (JobRef::Index(0), JobRef::Index(1)),
            (JobRef::Index(1), JobRef::Index(3)),
            (JobRef::Name("nope".into()), JobRef::Index(1)),
        ],
    ));
    assert!(matches!(
        kinds[0],
        Kind::IndexOutOfRange { index: 0, count: 2 }
    ));
    assert!(matches!(
        kinds[1],
        Kind::IndexOutOfRange { index: 3, count: 2 }
    ));
    assert!(matches!(&kinds[2], Kind::UnknownJob { reference, .. } if reference == "nope"));

    let err = Dag::build(pipeline(
        vec![job("echo a")],
        vec![(JobRef::Index(1), JobRef::Index(2))],
    ))
    .expect_err("out of range");
    assert_eq!(
        err.to_string(),
        "workflow.yaml:7:3: job index 2 is out of range: there are 1 jobs, numbered from 1\n  hint: use a number from 1 to 1"
    );
}

#[test]
fn duplicates_self_dependencies_and_empty_pipelines() {
    let kinds = errors(pipeline(
        vec![named("a", "echo 1", &[]), named("a", "echo 2", &[])],
        vec![],
    ));
    assert_eq!(kinds, [Kind::DuplicateName { name: "a".into() }]);
    let kinds = errors(pipeline(vec![named("a", "echo 1", &["a"])], vec![]));
    assert_eq!(kinds, [Kind::SelfDependency { job: "a".into() }]);
    assert_eq!(errors(pipeline(vec![], vec![])), [Kind::EmptyPipeline]);
}

#[test]
fn a_self_edge_in_dags_is_reported_at_the_dags_line() {
    let err = Dag::build(pipeline(
        vec![job("echo a")],
        vec![(JobRef::Index(1), JobRef::Index(1))],
    ))
    .expect_err("self edge");
    assert_eq!(err.0[0].kind, Kind::SelfDependency { job: "echo".into() });
    assert_eq!(err.0[0].pos, Some(Pos { line: 7, column: 3 }));
}

#[test]
fn a_cycle_is_printed_whole() {
    let err = Dag::build(pipeline(
        vec![
            named("a", "echo a", &["c"]),
            named("b", "echo b", &["a"]),
            named("c", "echo c", &["b"]),
            named("d", "echo d", &[]),
        ],
        vec![],
    ))
    .expect_err("cycle");
    let Kind::Cycle { cycle } = &err.0[0].kind else {
        panic!("not a cycle: {err}");
    };
    assert_eq!(cycle.len(), 4);
    assert_eq!(cycle.first(), cycle.last());
    let text = err.to_string();
    assert!(
        text.contains("a → b → c → a")
            || text.contains("b → c → a → b")
            || text.contains("c → a → b → c"),
        "{text}"
    );
}

#[test]
fn bad_quantities_schedules_and_matrices() {
    let mut a = named("a", "python t.py {lr}", &[]);
    a.axes = vec![Axis {
        key: "lr".into(),
        values: vec![],
    }];
    a.resources.cpu = Some("two".into());
    a.resources.gpu = Some("0.5".into());
    // `{lr}` is not a placeholder when the command was parsed without keys: unused.
    let mut b = named("b", "python t.py", &[]);
    b.axes = vec![Axis {
        key: "act".into(),
        values: vec!["relu".into()],
    }];
    let mut p = pipeline(vec![a, b], vec![]);
    p.options.schedule = Some("61 * * *".into());
    let kinds = errors(p);
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, Kind::InvalidSchedule { .. }))
    );
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, Kind::InvalidQuantity { resource, .. } if resource == "cpu"))
    );
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, Kind::InvalidQuantity { resource, .. } if resource == "gpu"))
    );
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, Kind::EmptyMatrixAxis { key, .. } if key == "lr"))
    );
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, Kind::UnusedMatrixKey { key, .. } if key == "act"))
    );
}

#[test]
fn sweeps_expand_to_readable_unique_job_names() {
    let dag = Dag::build(pipeline(
        vec![
            job("python prep.py"),
            job("python train.py --lr {0.1,0.01} --act {relu,tanh}"),
        ],
        vec![],
    ))
    .expect("valid");
    let names: Vec<String> = dag.jobs().into_iter().map(|j| j.name).collect();
    assert_eq!(
        names,
        [
            "prep",
            "train-0-1-relu",
            "train-0-1-tanh",
            "train-0-01-relu",
            "train-0-01-tanh"
        ]
    );
    let jobs = dag.jobs();
    assert_eq!(
        dag.tasks[1].argv(&jobs[2].values),
        ["python", "train.py", "--lr", "0.1", "--act", "tanh"]
    );
}

#[test]
fn colliding_sweep_names_get_numbered() {
    let dag = Dag::build(pipeline(vec![job("echo {a.b,a-b,A_B}")], vec![])).expect("valid");
    let names: Vec<String> = dag.jobs().into_iter().map(|j| j.name).collect();
    assert_eq!(names, ["echo-a-b", "echo-a-b-2", "echo-a-b-3"]);
}

#[test]
fn defaults_fill_retries_and_timeout() {
    let mut p = pipeline(vec![job("echo a"), named("b", "echo b", &[])], vec![]);
    p.jobs[1].retries = Some(5);
    p.options.retries = Some(2);
    p.options.timeout = Some(Duration::from_secs(60));
    let dag = Dag::build(p).expect("valid");
    assert_eq!(dag.tasks[0].retries, Some(2));
    assert_eq!(dag.tasks[1].retries, Some(5));
    assert_eq!(dag.tasks[1].timeout, Some(Duration::from_secs(60)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Random forward edges never make a cycle: the DAG builds, the order respects every
    /// dependency, and levels are consistent with it.
    #[test]
    fn random_dags_order_and_levels(n in 1usize..40, edges in proptest::collection::vec((0usize..40, 0usize..40), 0..120)) {
        let edges: Vec<(JobRef, JobRef)> = edges
            .into_iter()
            .filter(|(a, b)| a < b && *b < n)
            .map(|(a, b)| (JobRef::Index(a + 1), JobRef::Index(b + 1)))
            .collect();
        let jobs = (0..n).map(|i| job(&format!("echo {i}"))).collect();
        let dag = Dag::build(pipeline(jobs, edges)).expect("forward edges are acyclic");
        let order = dag.topological_order();
        let mut position = vec![0; n];
        for (p, &i) in order.iter().enumerate() { position[i] = p; }
        let levels = dag.levels();
        for (i, task) in dag.tasks.iter().enumerate() {
            for &d in &task.depends {
                prop_assert!(position[d] < position[i]);
                prop_assert!(levels[d] < levels[i]);
            }
        }
    }

    /// Adding one back edge to a chain always yields a cycle error naming a closed path.
    #[test]
    fn back_edges_are_cycles(n in 2usize..30, from in 0usize..30, to in 0usize..30) {
        let (from, to) = (from % n, to % n);
        prop_assume!(from > to);
        let mut edges: Vec<(JobRef, JobRef)> = (1..n).map(|i| (JobRef::Index(i), JobRef::Index(i + 1))).collect();
        edges.push((JobRef::Index(from + 1), JobRef::Index(to + 1)));
        let jobs = (0..n).map(|i| job(&format!("echo {i}"))).collect();
        let err = Dag::build(pipeline(jobs, edges)).expect_err("cycle");
        let cycle = err.0.iter().find_map(|e| match &e.kind { Kind::Cycle { cycle } => Some(cycle.clone()), _ => None });
        let cycle = cycle.expect("a cycle error");
        prop_assert_eq!(cycle.first(), cycle.last());
        prop_assert_eq!(cycle.len(), from - to + 2);
    }
}

/// Report #3/#4: a repeated derived name of 60+ characters used to loop forever, because
/// truncating `{base}-{n}` cut the suffix off again.
#[test]
fn long_repeated_names_are_numbered_within_63_characters() {
    for len in 60..=63 {
        for repeats in [2, 10, 100] {
            let text = format!("python {}.py", "a".repeat(len));
            let jobs = (0..repeats).map(|_| job(&text)).collect();
            let dag = Dag::build(pipeline(jobs, vec![])).expect("valid");
            let names: Vec<String> = dag.jobs().into_iter().map(|j| j.name).collect();
            let distinct: std::collections::HashSet<&String> = names.iter().collect();
            assert_eq!(distinct.len(), repeats, "{len} × {repeats}");
            assert!(
                names
                    .iter()
                    .all(|n| n.len() <= 63 && !n.ends_with('-') && !n.contains("--")),
                "{names:?}"
            );
        }
    }
}

/// The same for sweep jobs of a long task name, whose values are cut off by the 63 cap.
#[test]
fn long_sweep_job_names_are_numbered_within_63_characters() {
    let mut spec = named(&"t".repeat(63), "echo {v}", &[]);
    spec.command = job("echo {1,2,3,4,5,6,7,8,9,10,11,12}").command;
    spec.axes = job("echo {1,2,3,4,5,6,7,8,9,10,11,12}").axes;
    let dag = Dag::build(pipeline(vec![spec], vec![])).expect("valid");
    let names: Vec<String> = dag.jobs().into_iter().map(|j| j.name).collect();
    let distinct: std::collections::HashSet<&String> = names.iter().collect();
    assert_eq!(distinct.len(), 12);
    assert!(names.iter().all(|n| n.len() <= 63), "{names:?}");
}

/// Report #5-#7: sweep products are counted with checked arithmetic before anything expands,
/// and refused past `MAX_JOBS`, for one task or for the whole pipeline.
#[test]
fn job_counts_are_checked_against_the_cap() {
    let sweep = |values: usize, times: usize| {
        let brace = format!(
            "{{{}}}",
            (0..values)
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        job(&format!("echo{}", format!(" {brace}").repeat(times)))
    };
    for (spec, count) in [
        (sweep(10, 10), Some(10_000_000_000)),
        (sweep(3, 41), None),
        (sweep(2, 64), None),
        (sweep(2, 17), Some(131_072)),
    ] {
        let kinds = errors(pipeline(vec![spec], vec![]));
        assert!(
            matches!(&kinds[..], [Kind::TooManyJobs { job: Some(job), count: c, .. }] if job == "echo" && *c == count),
            "{kinds:?}"
        );
    }
    // Exactly the cap is fine; one more, spread over two tasks, is not.
    let dag = Dag::build(pipeline(vec![sweep(10, 5)], vec![])).expect("100,000 jobs");
    assert_eq!(dag.job_count(), 100_000);
    let kinds = errors(pipeline(vec![sweep(10, 5), job("echo one")], vec![]));
    assert_eq!(
        kinds,
        [Kind::TooManyJobs {
            job: None,
            count: Some(100_001),
            sizes: vec![]
        }]
    );
    assert_eq!(
        kinds[0].to_string(),
        "the pipeline has 100,001 jobs in all; a pipeline may have at most 100,000"
    );
}

#[test]
fn task_job_count_saturates_instead_of_wrapping() {
    let mut task = Dag::build(pipeline(vec![job("echo {a,b}")], vec![]))
        .expect("valid")
        .tasks
        .remove(0);
    task.axes = vec![
        Axis {
            key: "p1".into(),
            values: vec!["a".into(), "b".into()],
        };
        64
    ];
    assert_eq!(task.checked_job_count(), None);
    assert_eq!(task.job_count(), usize::MAX);
}

/// Report #9: a job named `1` made `depends: ["1"]` silently mean the first job. Numbers are
/// positions, always; a job may not be named with one.
#[test]
fn job_names_cannot_be_numbers() {
    let mut c = named("c", "echo c", &[]);
    c.depends = vec![JobRef::Index(1)];
    let err = Dag::build(pipeline(
        vec![
            named("x", "echo x", &[]),
            named("1", "echo one", &[]),
            c,
            named(" 42 ", "echo n", &[]),
        ],
        vec![(JobRef::Index(1), JobRef::Name("c".into()))],
    ))
    .expect_err("numeric names");
    let kinds: Vec<&Kind> = err.0.iter().map(|e| &e.kind).collect();
    assert_eq!(
        kinds,
        [
            &Kind::NumericName { name: "1".into() },
            &Kind::NumericName {
                name: " 42 ".into()
            }
        ]
    );
    // Names with a digit in them are names.
    Dag::build(pipeline(
        vec![named("1a", "echo a", &[]), named("v2", "echo b", &["1a"])],
        vec![],
    ))
    .expect("valid");
}

/// Report #13/#19: unknown time zones (`timezone`, `CRON_TZ=`) and schedules that never fire.
#[test]
fn time_zones_and_schedules_that_never_fire() {
    let mut p = pipeline(vec![job("echo a")], vec![]);
    p.options.timezone = Some("Mars/Olympus".into());
    p.options.timezone_pos = Some(Pos {
        line: 2,
        column: 11,
    });
    p.options.schedule = Some("0 0 30 2 *".into());
    let err = Dag::build(p).expect_err("refused");
    assert_eq!(
        err.0.iter().map(|e| e.kind.clone()).collect::<Vec<_>>(),
        [
            Kind::ScheduleNeverFires {
                schedule: "0 0 30 2 *".into()
            },
            Kind::UnknownTimezone {
                key: "timezone".into(),
                zone: "Mars/Olympus".into(),
                suggestion: None
            },
        ]
    );
    assert_eq!(
        err.0[1].pos,
        Some(Pos {
            line: 2,
            column: 11
        })
    );
    let mut p = pipeline(vec![job("echo a")], vec![]);
    p.options.schedule = Some("CRON_TZ=Europe/Pariss 0 3 * * *".into());
    assert_eq!(
        errors(p),
        [Kind::UnknownTimezone {
            key: "schedule".into(),
            zone: "Europe/Pariss".into(),
            suggestion: Some("Europe/Paris".into())
        }]
    );
}

/// Report #24: `a_b`, `a-b` and `A.B` all become `a-b`. The message names what the user
/// wrote, and `depends: [a-b]` means the job written `a-b` (not "depends on itself").
#[test]
fn name_collisions_speak_of_the_names_written() {
    let mut jobs = vec![
        named("a_b", "echo 1", &[]),
        named("a-b", "echo 2", &[]),
        named("A.B", "echo 3", &["a-b"]),
        named("c", "echo 4", &["a_b"]),
    ];
    for (i, job) in jobs.iter_mut().enumerate() {
        job.pos = Some(Pos {
            line: u32::try_from(i + 2).expect("small"),
            column: 3,
        });
    }
    let err = Dag::build(pipeline(jobs, vec![])).expect_err("collision");
    let first_pos = Some(Pos { line: 2, column: 3 });
    assert_eq!(
        err.0.iter().map(|e| e.kind.clone()).collect::<Vec<_>>(),
        [
            Kind::NameCollision {
                first: "a_b".into(),
                first_pos,
                second: "a-b".into(),
                name: "a-b".into()
            },
            Kind::NameCollision {
                first: "a_b".into(),
                first_pos,
                second: "A.B".into(),
                name: "a-b".into()
            },
        ]
    );
    assert_eq!(
        err.0[0].kind.to_string(),
        "`a_b` (at 2:3) and `a-b` both become the job name `a-b`"
    );
}

/// Issue 11: a command reaches its job as one argument (`sh -c`), which Linux caps at
/// 131,071 bytes and a NUL. `echo ` + the data is the text of an exec-mode job: `exec echo …`.
#[test]
fn a_command_longer_than_one_argument_is_refused_where_it_is_written() {
    let fits = |len: usize| format!("echo {}", "a".repeat(len));
    // `exec echo ` is 10 bytes: the longest that fits, and one more.
    let at_cap = command::MAX_ARGUMENT_BYTES - 10;
    assert!(Dag::build(pipeline(vec![named("big", &fits(at_cap), &[])], vec![])).is_ok());
    let err = Dag::build(pipeline(vec![named("big", &fits(at_cap + 1), &[])], vec![]))
        .expect_err("too long");
    assert_eq!(err.0.len(), 1);
    assert_eq!(err.0[0].pos, Some(Pos { line: 1, column: 1 }));
    assert_eq!(
        err.0[0].kind,
        Kind::CommandTooLong {
            job: "big".into(),
            bytes: 131_072,
            sweep: false
        }
    );
    assert_eq!(
        err.to_string(),
        "workflow.yaml:1:1: job `big`: the command is 131,072 bytes, over the 131,071 bytes Linux takes in one argument (MAX_ARG_STRLEN, 128 KiB)\n  hint: a job's command reaches it as one argument of `/bin/sh -c`, on Argo and locally: put the long data in a file on the shared volume (the working directory is shared with the jobs) and pass its path, e.g. `python train.py --params params.json`"
    );
    // A sweep is measured at its longest value, quoted as the shell gets it: the short
    // template is not what runs.
    let long = "x y".repeat(44_000);
    let sweep = job(&format!("python train.py --tag {{a,'{long}'}}"));
    assert_eq!(
        errors(pipeline(vec![sweep], vec![])),
        [Kind::CommandTooLong {
            job: "train".into(),
            bytes: "exec python train.py --tag ''".len() + long.len(),
            sweep: true
        }]
    );
    let short = job(&format!(
        "python train.py --tag {{a,'{}'}}",
        &long[..100_000]
    ));
    assert!(Dag::build(pipeline(vec![short], vec![])).is_ok());
}
