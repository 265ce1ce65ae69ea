//! Tests for rendering: shape, sweeps, own templates, nesting under Argo's caps, size per job.

use super::*;
use crate::argo::manifest::{Limits, MAX_MANIFEST_BYTES};
use crate::pipeline::testing::job;
use crate::pipeline::{JobRef, Pipeline, WorkflowOptions};

fn chain(texts: &[String]) -> Dag {
    let jobs = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut j = job(t);
            if i > 0 {
                j.depends = vec![JobRef::Index(i)];
            }
            j
        })
        .collect();
    Dag::build(Pipeline {
        name: Some("demo".into()),
        source: Source::CommandLine("demo".into()),
        jobs,
        edges: vec![],
        options: WorkflowOptions::default(),
    })
    .expect("valid")
}

fn env() -> Environment {
    Environment {
        pod_name: "jupyter-alice".into(),
        image: "jupyter/base-notebook@sha256:abc".into(),
        working_dir: "/home/jovyan/my project".into(),
        user: Some("alice".into()),
        ..Environment::default()
    }
}

fn workflow(dag: &Dag) -> Workflow {
    match render(dag, &env(), &RenderOptions::default()).expect("renders") {
        Manifest::Workflow(w) => *w,
        Manifest::Cron(_) => panic!("expected a Workflow"),
    }
}

fn cmd(task: &DagTask) -> &str {
    task.arguments.as_ref().expect("arguments").parameters[0]
        .value
        .as_deref()
        .expect("value")
}

#[test]
fn a_chain_uses_one_shared_template() {
    let w = workflow(&chain(&[
        "python prep.py".into(),
        "echo 'good bye'".into(),
        "cat data.csv | wc -l".into(),
    ]));
    assert_eq!(w.metadata.generate_name.as_deref(), Some("demo-"));
    assert_eq!(w.spec.templates.len(), 2);
    let tasks = &w.spec.templates[0].dag.as_ref().expect("dag").tasks;
    assert_eq!(cmd(&tasks[0]), "exec python prep.py");
    assert_eq!(cmd(&tasks[1]), "exec echo 'good bye'");
    assert_eq!(cmd(&tasks[2]), "cat data.csv | wc -l");
    assert_eq!(tasks[1].depends.as_deref(), Some("prep"));
    let container = w.spec.templates[1].container.as_ref().expect("container");
    assert_eq!(
        container.working_dir.as_deref(),
        Some("/home/jovyan/my project")
    );
    let labels = w.metadata.labels.expect("labels");
    assert_eq!(labels[MANAGED_BY], "jupyterflow");
    assert_eq!(labels[NOTEBOOK_LABEL], "jupyter-alice");
    assert_eq!(
        w.spec.pod_metadata.expect("pod metadata").annotations["sidecar.istio.io/inject"],
        "false"
    );
}

#[test]
fn a_sweep_is_one_task_with_items() {
    let w = workflow(&chain(&[
        "python train.py --lr {0.1,0.01} --name {'a b',c}".into(),
    ]));
    let task = &w.spec.templates[0].dag.as_ref().expect("dag").tasks[0];
    // Named after their flags, so the Argo UI shows `train(1:lr:0.1,name:c)`.
    assert_eq!(
        cmd(task),
        "exec python train.py --lr {{item.lr}} --name {{item.name}}"
    );
    assert_eq!(task.with_items.len(), 4);
    assert_eq!(task.with_items[1]["name"], "c");
    assert_eq!(task.with_items[0]["name"], "'a b'");
}

#[test]
fn sweep_items_are_named_after_flags_glued_or_not_and_stay_unique() {
    let w = workflow(&chain(&[
        "python t.py --learning-rate={0.1,0.2} -k {1,2} {x,y} --k {3,4}".into(),
    ]));
    let task = &w.spec.templates[0].dag.as_ref().expect("dag").tasks[0];
    assert_eq!(
        cmd(task),
        "exec python t.py --learning-rate={{item.learning_rate}} -k {{item.k}} {{item.p3}} --k {{item.k_4}}"
    );
    let keys: Vec<&String> = task.with_items[0].keys().collect();
    assert_eq!(keys, ["k", "k_4", "learning_rate", "p3"]);
}

#[test]
fn jobs_with_settings_get_their_own_template() {
    let mut j = job("python train.py");
    j.env = vec![("EPOCHS".into(), "10".into())];
    j.resources.gpu = Some("1".into());
    j.retries = Some(3);
    j.timeout = Some(std::time::Duration::from_secs(7200));
    let dag = Dag::build(Pipeline {
        name: None,
        source: Source::CommandLine("x".into()),
        jobs: vec![j, job("python eval.py")],
        edges: vec![],
        options: WorkflowOptions::default(),
    })
    .expect("valid");
    let w = workflow(&dag);
    assert_eq!(w.metadata.generate_name.as_deref(), Some("jupyter-alice-"));
    let own = w
        .spec
        .templates
        .iter()
        .find(|t| t.name == "job-train")
        .expect("own template");
    let container = own.container.as_ref().expect("container");
    let limits = container
        .resources
        .as_ref()
        .and_then(|r| r.limits.as_ref())
        .expect("limits");
    assert_eq!(limits["nvidia.com/gpu"].0, "1");
    assert_eq!(container.env.as_ref().expect("env")[0].name, "EPOCHS");
    assert_eq!(own.active_deadline_seconds.as_deref(), Some("7200"));
    assert_eq!(own.retry_strategy.as_ref().expect("retry").limit, "3");
}

#[test]
fn big_pipelines_nest_under_the_task_cap_and_keep_order() {
    let texts: Vec<String> = (0..450).map(|i| format!("python step.py {i}")).collect();
    let w = workflow(&chain(&texts));
    let main = w.spec.templates[0].dag.as_ref().expect("dag");
    assert_eq!(main.tasks.len(), 3);
    assert_eq!(main.tasks[1].depends.as_deref(), Some("part-1-1"));
    assert_eq!(main.tasks[2].depends.as_deref(), Some("part-1-2"));
    for t in &w.spec.templates {
        if let Some(dag) = &t.dag {
            assert!(dag.tasks.len() <= MAX_DAG_TASKS);
        }
    }
    let part2 = w
        .spec
        .templates
        .iter()
        .find(|t| t.name == "part-1-2")
        .and_then(|t| t.dag.as_ref())
        .expect("part 2");
    // The first task of a part waits for nothing inside it: the part waits for the previous one.
    assert!(part2.tasks[0].depends.is_none());
    assert_eq!(
        part2.tasks[1].depends.as_deref(),
        Some(part2.tasks[0].name.as_str())
    );
}

#[test]
fn bytes_per_job_stay_small() {
    let base = serde_json::to_vec(&workflow(&chain(&["python step.py 0".into()])))
        .expect("json")
        .len();
    let texts: Vec<String> = (0..5000).map(|i| format!("python step.py {i}")).collect();
    let w = workflow(&chain(&texts));
    let bytes = serde_json::to_vec(&w).expect("json").len();
    assert!(bytes < MAX_MANIFEST_BYTES, "{bytes}");
    assert!(
        (bytes - base) / 4999 <= 200,
        "{} per job",
        (bytes - base) / 4999
    );
    let values: Vec<String> = (0..10_000).map(|i| i.to_string()).collect();
    let sweep = format!("python train.py --seed {{{}}}", values.join(","));
    let w = workflow(&chain(&[sweep]));
    let bytes = serde_json::to_vec(&w).expect("json").len();
    assert!(
        (bytes - base) / 10_000 <= 50,
        "{} per point",
        (bytes - base) / 10_000
    );
    // Its spec fits, but not the status of 10,000 jobs; 4,000 points fit with theirs.
    let err = Manifest::Workflow(Box::new(w))
        .check_limits()
        .expect_err("too large once run");
    assert!(matches!(err, RenderError::TooLargeToRun(_)), "{err}");
    let sweep = format!("python train.py --seed {{{}}}", values[..4_000].join(","));
    Manifest::Workflow(Box::new(workflow(&chain(&[sweep]))))
        .check_limits()
        .expect("fits");
}

#[test]
fn a_schedule_makes_a_cron_workflow() {
    let mut dag = chain(&["python report.py".into()]);
    dag.options.schedule = Some("0 3 * * *".into());
    dag.options.timezone = Some("Europe/Paris".into());
    let Ok(Manifest::Cron(c)) = render(&dag, &env(), &RenderOptions::default()) else {
        panic!("expected a CronWorkflow");
    };
    assert_eq!(c.spec.schedules, ["0 3 * * *"]);
    assert_eq!(c.spec.schedule, None);
    assert_eq!(c.spec.timezone.as_deref(), Some("Europe/Paris"));
    let legacy = RenderOptions {
        cron_schedule_field: CronScheduleField::Schedule,
        instance_id: None,
    };
    let Ok(Manifest::Cron(c)) = render(&dag, &env(), &legacy) else {
        panic!("expected a CronWorkflow");
    };
    assert!(c.spec.schedules.is_empty());
    assert_eq!(c.spec.schedule.as_deref(), Some("0 3 * * *"));
}

#[test]
fn an_instance_id_labels_the_workflow_and_what_a_schedule_starts() {
    let options = RenderOptions {
        instance_id: Some("team-a".into()),
        ..RenderOptions::default()
    };
    let dag = chain(&["python report.py".into()]);
    let Ok(Manifest::Workflow(w)) = render(&dag, &env(), &options) else {
        panic!("expected a Workflow");
    };
    let labels = w.metadata.labels.expect("labels");
    assert_eq!(labels[CONTROLLER_INSTANCE_LABEL], "team-a");
    let mut scheduled = dag.clone();
    scheduled.options.schedule = Some("0 3 * * *".into());
    let Ok(Manifest::Cron(c)) = render(&scheduled, &env(), &options) else {
        panic!("expected a CronWorkflow");
    };
    assert_eq!(
        c.metadata.labels.expect("labels")[CONTROLLER_INSTANCE_LABEL],
        "team-a"
    );
    let started = c.spec.workflow_metadata.expect("workflow metadata");
    assert_eq!(
        started.labels.expect("labels")[CONTROLLER_INSTANCE_LABEL],
        "team-a"
    );
    let plain = workflow(&dag);
    assert!(
        !plain
            .metadata
            .labels
            .expect("labels")
            .contains_key(CONTROLLER_INSTANCE_LABEL)
    );
    // A `labels:` entry cannot set it behind the config's back.
    let mut sneaky = dag;
    sneaky
        .options
        .labels
        .insert(CONTROLLER_INSTANCE_LABEL.into(), "other".into());
    assert!(matches!(
        render(&sneaky, &env(), &options),
        Err(RenderError::InvalidLabel { .. })
    ));
}

/// Drift replay's installs run first in every job, on a line of their own, `$` doubled for the
/// kubelet like every value it expands.
#[test]
fn setup_lines_run_before_every_jobs_command() {
    let mut env = env();
    env.setup = Some("pip install --find-links '/w/$x' a==1 || exit 1".into());
    let dag = chain(&["python a.py".into()]);
    let Ok(Manifest::Workflow(w)) = render(&dag, &env, &RenderOptions::default()) else {
        panic!("expected a Workflow");
    };
    let command = w.spec.templates[1]
        .container
        .as_ref()
        .expect("the shared template")
        .command
        .clone()
        .expect("command");
    assert_eq!(
        command,
        [
            "/bin/sh",
            "-c",
            "pip install --find-links '/w/$$x' a==1 || exit 1\n{{inputs.parameters.cmd}}"
        ]
    );
}

#[test]
fn argo_template_syntax_in_a_command_is_refused() {
    let dag = chain(&["echo '{{workflow.name}}'".into()]);
    assert!(matches!(
        render(&dag, &env(), &RenderOptions::default()),
        Err(RenderError::TemplateSyntax { .. })
    ));
}

#[test]
fn dollars_survive_kubernetes_expansion() {
    // The kubelet turns `$$` into `$` and expands `$(VAR)`: doubled, every `$` arrives as is.
    let w = workflow(&chain(&["echo '$(HOME) $$ $HOME' {$a,b}".into()]));
    let task = &w.spec.templates[0].dag.as_ref().expect("dag").tasks[0];
    assert_eq!(cmd(task), "exec echo '$$(HOME) $$$$ $$HOME' {{item.p1}}");
    assert_eq!(task.with_items[0]["p1"], "'$$a'");
}

#[test]
fn braces_next_to_a_sweep_placeholder_are_refused() {
    // Exec mode quotes the `{` away from the placeholder; shell text keeps it next to it.
    let quoted = chain(&["echo {{a,b}".into()]);
    assert!(render(&quoted, &env(), &RenderOptions::default()).is_ok());
    let dag = chain(&["echo {{a,b} | cat".into()]);
    assert!(matches!(
        render(&dag, &env(), &RenderOptions::default()),
        Err(RenderError::TemplateSyntax { .. })
    ));
}

#[test]
fn bad_user_labels_are_refused() {
    let mut dag = chain(&["echo".into()]);
    for (key, value) in [
        ("team", "data science!"),
        ("Bad Key!", "a"),
        ("app.kubernetes.io/managed-by", "me"),
        ("jupyterflow.io/user", "me"),
    ] {
        let mut dag = dag.clone();
        dag.options.labels.insert(key.into(), value.into());
        assert!(
            matches!(
                render(&dag, &env(), &RenderOptions::default()),
                Err(RenderError::InvalidLabel { .. })
            ),
            "{key}: {value}"
        );
    }
    dag.options
        .labels
        .insert("example.com/team".into(), "ml_1.0".into());
    assert!(render(&dag, &env(), &RenderOptions::default()).is_ok());
}

/// Report #21/#22: the limit messages say the real limit (1 MiB, what counts) and blame
/// templates on what makes them: own-settings jobs only when there are some.
#[test]
fn limit_messages_name_the_real_limit_and_cause() {
    // 10,000 chained tasks: over 1 MiB, 52 templates.
    let texts: Vec<String> = (0..10_000).map(|i| format!("true {i}")).collect();
    let err =
        render_checked(&chain(&texts), &env(), &RenderOptions::default()).expect_err("too large");
    let RenderError::TooLarge(limits) = &err else {
        panic!("{err:?}");
    };
    assert_eq!((limits.own, limits.tasks), (0, 10_000));
    let text = err.to_string();
    assert!(text.starts_with("the Workflow is 1,"), "{text}");
    assert!(text.contains("over the 1,048,576 bytes (1 MiB)"), "{text}");
    assert!(!text.contains("templates"), "{text}");
    assert!(err.hint().contains("~30 a sweep point"), "{}", err.hint());
    assert!(err.is_argo_capacity());

    // 199 jobs with their own env: 201 templates, small.
    let mut dag = chain(&(0..199).map(|i| format!("true {i}")).collect::<Vec<_>>());
    for task in &mut dag.tasks {
        task.env = vec![("A".into(), "1".into())];
    }
    let err = render_checked(&dag, &env(), &RenderOptions::default()).expect_err("templates");
    assert_eq!(
        err.to_string(),
        "the Workflow needs 201 templates; Argo allows 200"
    );
    assert!(
        err.hint().starts_with(
            "199 jobs set their own env/resources/node_selector/tolerations/retries/timeout"
        ),
        "{}",
        err.hint()
    );

    // 40,000 plain tasks: both limits; the hint speaks of nested parts, not own settings.
    let plain = Limits {
        kind: "Workflow",
        templates: 202,
        own: 0,
        tasks: 40_000,
        bytes: 4_000_000,
    };
    let err = RenderError::TooLarge(plain);
    assert!(
        err.to_string()
            .ends_with("; it also needs 202 templates, and Argo allows 200"),
        "{err}"
    );
    assert!(
        err.hint()
            .contains("at most 39,600 tasks fit (this pipeline has 40,000)"),
        "{}",
        err.hint()
    );
    assert!(!err.hint().contains("own env"), "{}", err.hint());
    assert!(!RenderError::TemplateSyntax { job: "a".into() }.is_argo_capacity());
}

fn template<'a>(w: &'a Workflow, name: &str) -> &'a Template {
    w.spec
        .templates
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no template {name}"))
}

fn toleration_of(key: &str) -> Toleration {
    Toleration {
        key: Some(key.into()),
        operator: Some("Exists".into()),
        effect: Some("NoSchedule".into()),
        ..Toleration::default()
    }
}

/// A notebook with one GPU, a node selector and a toleration, and GPU tolerations configured.
fn gpu_env() -> Environment {
    let limits = BTreeMap::from([
        (
            "nvidia.com/gpu".to_owned(),
            k8s_openapi::apimachinery::pkg::api::resource::Quantity("1".into()),
        ),
        (
            "memory".to_owned(),
            k8s_openapi::apimachinery::pkg::api::resource::Quantity("4Gi".into()),
        ),
    ]);
    Environment {
        resources: Some(k8s_openapi::api::core::v1::ResourceRequirements {
            limits: Some(limits),
            ..Default::default()
        }),
        notebook_gpus: 1,
        node_selector: BTreeMap::from([
            ("pool".to_owned(), "user".to_owned()),
            ("zone".to_owned(), "a".to_owned()),
        ]),
        tolerations: vec![toleration_of("hub.jupyter.org/dedicated")],
        gpu_tolerations: vec![toleration_of("nvidia.com/gpu")],
        pod_labels: BTreeMap::from([("component".to_owned(), "singleuser-server".to_owned())]),
        ..env()
    }
}

#[test]
fn node_selectors_and_tolerations_are_written_whole_on_own_templates() {
    let mut train = job("python train.py");
    train.node_selector = BTreeMap::from([("pool".to_owned(), "gpu".to_owned())]);
    train.tolerations = vec![crate::pipeline::TolerationSpec {
        key: Some("dedicated".into()),
        value: Some("ml".into()),
        effect: Some("NoExecute".into()),
        toleration_seconds: Some(60),
        ..Default::default()
    }];
    let mut report = job("python report.py");
    report.resources.gpu = Some("0".into());
    let dag = Dag::build(Pipeline {
        name: None,
        source: Source::CommandLine("x".into()),
        jobs: vec![train, report, job("python eval.py")],
        edges: vec![],
        options: WorkflowOptions::default(),
    })
    .expect("valid");
    let env = gpu_env();
    let w = match render(&dag, &env, &RenderOptions::default()).expect("renders") {
        Manifest::Workflow(w) => *w,
        Manifest::Cron(_) => panic!("a Workflow"),
    };
    // The workflow level: the notebook's.
    assert_eq!(w.spec.node_selector, env.node_selector);
    assert_eq!(w.spec.tolerations, env.tolerations);
    // The shared template asks for the notebook's GPU, so it gets the GPU toleration too.
    let shared = template(&w, SHARED_TEMPLATE);
    assert_eq!(
        shared.tolerations,
        vec![
            toleration_of("hub.jupyter.org/dedicated"),
            toleration_of("nvidia.com/gpu")
        ]
    );
    assert!(shared.node_selector.is_empty(), "the workflow's applies");
    // `train`: the notebook's selector with `pool` replaced; every toleration, written whole.
    let own = template(&w, "job-train");
    assert_eq!(
        own.node_selector,
        BTreeMap::from([
            ("pool".to_owned(), "gpu".to_owned()),
            ("zone".to_owned(), "a".to_owned()),
        ])
    );
    assert_eq!(own.tolerations.len(), 3);
    assert_eq!(own.tolerations[1].toleration_seconds, Some(60));
    assert_eq!(own.tolerations[2], toleration_of("nvidia.com/gpu"));
    // `report` (gpu: 0): no GPU, no GPU toleration (the workflow's tolerations apply).
    let no_gpu = template(&w, "job-report");
    let resources = no_gpu
        .container
        .as_ref()
        .and_then(|c| c.resources.as_ref())
        .expect("memory stays");
    let limits = resources.limits.as_ref().expect("limits");
    assert!(!limits.contains_key("nvidia.com/gpu"), "{limits:?}");
    assert_eq!(limits["memory"].0, "4Gi");
    assert!(
        resources
            .requests
            .as_ref()
            .is_none_or(|r| !r.contains_key("nvidia.com/gpu"))
    );
    assert!(no_gpu.tolerations.is_empty());
    assert!(no_gpu.node_selector.is_empty());
    // `eval` uses the shared template.
    let tasks = &w.spec.templates[0].dag.as_ref().expect("dag").tasks;
    assert_eq!(tasks[2].template, SHARED_TEMPLATE);
    // Job pods carry the notebook's policy labels, and ours.
    let labels = &w.spec.pod_metadata.as_ref().expect("pod metadata").labels;
    assert_eq!(labels["component"], "singleuser-server");
    assert_eq!(labels[MANAGED_BY], "jupyterflow");
}

#[test]
fn without_gpus_no_template_gets_gpu_tolerations() {
    let env = Environment {
        resources: None,
        notebook_gpus: 0,
        ..gpu_env()
    };
    let dag = chain(&["python a.py".into(), "python b.py".into()]);
    let w = match render(&dag, &env, &RenderOptions::default()).expect("renders") {
        Manifest::Workflow(w) => *w,
        Manifest::Cron(_) => panic!("a Workflow"),
    };
    assert!(template(&w, SHARED_TEMPLATE).tolerations.is_empty());
}

/// Issue 11: a chain of 5,000 fits as submitted (~0.75 MiB) but not once Argo records the
/// status of its nodes. The message says how many fit, and that many do.
#[test]
fn a_workflow_that_outgrows_argo_once_run_is_refused_with_what_fits() {
    let texts: Vec<String> = (0..5_000).map(|i| format!("python step.py {i}")).collect();
    let dag = chain(&texts);
    let manifest = render(&dag, &env(), &RenderOptions::default()).expect("renders");
    assert!(serde_json::to_vec(&manifest).expect("json").len() < MAX_MANIFEST_BYTES);
    let err = manifest.check_limits().expect_err("too large once run");
    let RenderError::TooLargeToRun(size) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(
        (size.jobs, size.nodes, size.limits.tasks),
        (5_000, 5_026, 5_000)
    );
    assert!(err.is_argo_capacity());
    let text = err.to_string();
    assert!(
        text.starts_with("the Workflow would grow to about "),
        "{text}"
    );
    assert!(text.contains("status of its 5,026 nodes"), "{text}");
    assert!(
        text.contains("jobs fit in one workflow (this pipeline has 5,000)"),
        "{text}"
    );
    let hint = err.hint();
    assert!(
        hint.contains("a sweep (`matrix` or {a,b} braces), ~30 bytes of spec a point"),
        "{hint}"
    );
    assert!(
        hint.contains("split the pipeline into workflows of at most"),
        "{hint}"
    );
    // The count it gives is true: that many jobs fit, status and all.
    let fit = size.jobs_that_fit();
    assert!((2_000..5_000).contains(&fit), "{fit}");
    render_checked(&chain(&texts[..fit]), &env(), &RenderOptions::default()).expect("fits");
    // A schedule's runs grow the same way.
    let mut scheduled = dag;
    scheduled.options.schedule = Some("0 3 * * *".into());
    let err = render_checked(&scheduled, &env(), &RenderOptions::default()).expect_err("cron");
    assert!(
        err.to_string().starts_with("the CronWorkflow would grow"),
        "{err}"
    );
}

/// The jobs `run` records for a cluster run are those rendered, named as Argo names them:
/// left-out tasks are not there, and a sweep's kept points are numbered among themselves.
#[test]
fn the_recorded_jobs_are_the_rendered_ones() {
    let mut dag = chain(&[
        "python prep.py".into(),
        "python train.py --lr {0.1,0.01,0.001}".into(),
        "python eval.py".into(),
    ]);
    let names = |dag: &Dag| -> Vec<String> { argo_jobs(dag).into_iter().map(|j| j.name).collect() };
    assert_eq!(
        names(&dag),
        [
            "prep",
            "train(0:lr:0.1)",
            "train(1:lr:0.01)",
            "train(2:lr:0.001)",
            "eval"
        ]
    );
    // The second point and eval, as `retry` or `--only` choose them (job indexes in written
    // order: prep 0, the points 1-3, eval 4).
    dag.select(&[2, 4].into_iter().collect());
    assert_eq!(names(&dag), ["train(0:lr:0.01)", "eval"]);
    let rendered = serde_json::to_string(&workflow(&dag)).expect("JSON");
    assert!(rendered.contains(r#""lr":"0.01""#), "{rendered}");
    assert!(!rendered.contains("prep.py"), "{rendered}");
}
