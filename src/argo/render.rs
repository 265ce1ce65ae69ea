//! `Dag` + `Environment` → Argo `Workflow`/`CronWorkflow`. Pure: no client, no I/O.
//!
//! Shape, and why: the notebook's container spec is written once, in a shared template `job`
//! whose command comes in as the parameter `cmd` (run by `/bin/sh -c`; exec-mode commands are
//! `exec` + their quoted argv, so the process and its argv are exactly the local ones). A DAG
//! task then costs ~100 bytes and a sweep point ~30 (one task with `withItems`). Jobs that set
//! their own env/resources/node selector/tolerations/retries/timeout get a template of their
//! own; a template's `nodeSelector` and `tolerations` replace the workflow's (Argo does not
//! merge them), so they are written whole. Argo's CRD allows 200 tasks per DAG, so bigger
//! pipelines are cut, in dependency order, into nested DAG templates.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Container, EnvVar, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::labels::{
    CONTROLLER_INSTANCE_LABEL, MANAGED_BY, NOTEBOOK_LABEL, PARAMS_ANNOTATION, SOURCE_ANNOTATION,
    USER_LABEL, is_label_key, is_label_value, label_value,
};
use super::manifest::{MAX_DAG_TASKS, Manifest, PART_PREFIX, RenderError, SHARED_TEMPLATE};
use super::supervisor;
use super::types::CronScheduleField;
use super::types::{
    API_VERSION, Arguments, Backoff, CronWorkflow, CronWorkflowSpec, DagTask, DagTemplate, Inputs,
    Parameter, PodMetadata, RetryStrategy, Template, TtlStrategy, Workflow, WorkflowSpec,
};
use crate::environment::Environment;
use crate::environment::gpu::{task_gpus, tolerations_for};
use crate::environment::resources::{gpus, job_resources};
use crate::pipeline::names::dns_label;
use crate::pipeline::{
    CommandTemplate, Dag, Param, ParamMap, Segment, Source, Task, TolerationSpec,
};

const ENTRYPOINT: &str = "main";

#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    pub cron_schedule_field: CronScheduleField,
    /// The `instanceID` of the Argo controller that should run it (config `argo_instance_id`):
    /// such a controller ignores workflows without it.
    pub instance_id: Option<String>,
}

/// The Argo object, refused here if Argo or Kubernetes would refuse it (see
/// [`Manifest::check_limits`]): what `run` submits and `--dry-run` prints.
pub fn render_checked(
    dag: &Dag,
    env: &Environment,
    options: &RenderOptions,
) -> Result<Manifest, RenderError> {
    let manifest = render(dag, env, options)?;
    manifest.check_limits()?;
    Ok(manifest)
}

/// Every check Argo's side makes that does not depend on the notebook pod (template syntax in
/// commands, labels, task and size caps), for `lint`: a stand-in environment renders as the
/// real one would, give or take a few bytes of image name.
pub fn check(dag: &Dag, working_dir: &str) -> Result<(), RenderError> {
    let stand_in = Environment {
        image: "image".into(),
        working_dir: working_dir.to_owned(),
        // Counted in the size limits, as a submission would usually render it.
        supervisor: Some(format!(
            "{working_dir}/.jupyterflow/bin/jupyterflow-0.0.0-0123456789abcdef"
        )),
        ..Environment::default()
    };
    render_checked(dag, &stand_in, &RenderOptions::default()).map(|_| ())
}

/// Renders the Argo object for `dag` in `env`.
pub fn render(
    dag: &Dag,
    env: &Environment,
    options: &RenderOptions,
) -> Result<Manifest, RenderError> {
    for task in &dag.tasks {
        if has_template_syntax(task) {
            return Err(RenderError::TemplateSyntax {
                job: task.name.clone(),
            });
        }
    }
    let mut labels = BTreeMap::from([(MANAGED_BY.to_owned(), "jupyterflow".to_owned())]);
    if !env.pod_name.is_empty() {
        labels.insert(NOTEBOOK_LABEL.to_owned(), label_value(&env.pod_name));
    }
    if let Some(user) = &env.user {
        labels.insert(USER_LABEL.to_owned(), label_value(user));
    }
    if let Some(id) = &options.instance_id {
        labels.insert(CONTROLLER_INSTANCE_LABEL.to_owned(), id.clone());
    }
    for (key, value) in &dag.options.labels {
        let problem = if key == MANAGED_BY
            || key == CONTROLLER_INSTANCE_LABEL
            || key.starts_with("jupyterflow.io/")
        {
            Some(
                "is set by jupyterflow itself (it finds its runs by it; for Argo's instance id, set `argo_instance_id` in the config)",
            )
        } else if !is_label_key(key) {
            Some("has an invalid key")
        } else if !is_label_value(value) {
            Some("has an invalid value")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(RenderError::InvalidLabel {
                key: key.clone(),
                value: value.clone(),
                problem,
            });
        }
        labels.insert(key.clone(), value.clone());
    }
    let source = match &dag.source {
        Source::CommandLine(text) => text.clone(),
        Source::File(path) => path.display().to_string(),
    };
    let base_name = dag
        .name
        .clone()
        .unwrap_or_else(|| dns_label(&env.pod_name, "jupyterflow"));
    let mut base_name: String = base_name.chars().take(56).collect();
    while base_name.ends_with('-') {
        base_name.pop();
    }
    let metadata = ObjectMeta {
        generate_name: Some(format!("{base_name}-")),
        namespace: env.namespace.clone(),
        labels: Some(labels.clone()),
        annotations: Some(notebook::annotate(
            dag,
            annotations(source, &dag.options.params),
        )),
        ..ObjectMeta::default()
    };
    let spec = workflow_spec(dag, env);
    if let Some(schedule) = &dag.options.schedule {
        let (schedules, schedule) = match options.cron_schedule_field {
            CronScheduleField::Schedules => (vec![schedule.clone()], None),
            CronScheduleField::Schedule => (Vec::new(), Some(schedule.clone())),
        };
        return Ok(Manifest::Cron(Box::new(CronWorkflow {
            api_version: API_VERSION.to_owned(),
            kind: "CronWorkflow".to_owned(),
            metadata,
            spec: CronWorkflowSpec {
                schedules,
                schedule,
                timezone: dag.options.timezone.clone(),
                concurrency_policy: dag
                    .options
                    .concurrency_policy
                    .map(|p| p.as_str().to_owned()),
                workflow_spec: spec,
                workflow_metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..ObjectMeta::default()
                }),
            },
        })));
    }
    Ok(Manifest::Workflow(Box::new(Workflow {
        api_version: API_VERSION.to_owned(),
        kind: "Workflow".to_owned(),
        metadata,
        spec,
        status: None,
    })))
}

/// Would Argo see `{{` that is not ours? Checked on the rendered text with a marker standing
/// for each placeholder: a `{` right before one would merge with its `{{…}}` (a `}` after one
/// is harmless: Argo's tag ends at the first `}}`).
fn has_template_syntax(task: &Task) -> bool {
    let text = task.command.shell_text(&|_| "\u{1}".to_owned());
    text.contains("{{")
        || text.contains("{\u{1}")
        || task
            .axes
            .iter()
            .any(|a| a.values.iter().any(|v| v.contains("{{")))
}

fn workflow_spec(dag: &Dag, env: &Environment) -> WorkflowSpec {
    let mut container = base_container(env);
    notebook::add_run_dir(dag, &mut container);
    let job_names = notebook::job_names(dag);
    let mut templates = vec![Template::default()]; // the entrypoint, filled in below
    templates.push(Template {
        name: SHARED_TEMPLATE.to_owned(),
        inputs: Some(cmd_input()),
        container: Some(container.clone()),
        retry_strategy: dag.options.retries.map(retry_strategy),
        active_deadline_seconds: dag.options.timeout.map(|t| t.as_secs().to_string()),
        tolerations: own_tolerations(
            env,
            tolerations_for(
                &env.tolerations,
                gpus(env.resources.as_ref()),
                &env.gpu_tolerations,
            ),
        ),
        ..Template::default()
    });
    let mut nodes = Vec::with_capacity(dag.tasks.len());
    // Tasks `--from`/`--only`/`retry` left out are not rendered; what waits for one counts
    // it as done, so the edge goes too.
    let order: Vec<usize> = dag
        .topological_order()
        .into_iter()
        .filter(|&i| dag.tasks[i].runs())
        .collect();
    let mut position = vec![usize::MAX; dag.tasks.len()];
    for (p, &i) in order.iter().enumerate() {
        position[i] = p;
    }
    for &i in &order {
        let task = &dag.tasks[i];
        let template = if needs_own_template(task, dag, env) {
            let name = format!("{SHARED_TEMPLATE}-{}", task.name);
            templates.push(own_template(&name, task, &container, env));
            name
        } else {
            SHARED_TEMPLATE.to_owned()
        };
        let (cmd, items) = task_arguments(task, &job_names[i]);
        nodes.push(Node {
            task: DagTask {
                name: task.name.clone(),
                template,
                arguments: Some(Arguments {
                    parameters: vec![Parameter {
                        name: "cmd".to_owned(),
                        value: Some(escape_kubernetes(&cmd)),
                    }],
                }),
                with_items: items,
                ..DagTask::default()
            },
            depends: task
                .depends
                .iter()
                .map(|&d| position[d])
                .filter(|&p| p != usize::MAX)
                .collect(),
        });
    }
    let tasks = nest(nodes, &mut templates);
    templates[0] = Template {
        name: ENTRYPOINT.to_owned(),
        dag: Some(DagTemplate { tasks }),
        ..Template::default()
    };
    WorkflowSpec {
        entrypoint: ENTRYPOINT.to_owned(),
        templates,
        service_account_name: env.service_account_name.clone(),
        volumes: env.volumes.clone(),
        image_pull_secrets: env.image_pull_secrets.clone(),
        node_selector: env.node_selector.clone(),
        tolerations: env.tolerations.clone(),
        affinity: env.affinity.clone(),
        security_context: env.security_context.clone(),
        pod_metadata: Some(PodMetadata {
            // The notebook's labels its NetworkPolicies select it by (see `confinement`), and
            // ours, which `confinement` never takes from the notebook.
            labels: env
                .pod_labels
                .clone()
                .into_iter()
                .chain([(MANAGED_BY.to_owned(), "jupyterflow".to_owned())])
                .collect(),
            // Kubeflow injects an Istio sidecar that never exits, so the job pod would never
            // finish: keep it out of job pods.
            annotations: BTreeMap::from([(
                "sidecar.istio.io/inject".to_owned(),
                "false".to_owned(),
            )]),
        }),
        parallelism: dag.options.parallelism,
        ttl_strategy: dag.options.ttl.map(|t| TtlStrategy {
            seconds_after_completion: Some(i64::try_from(t.as_secs()).unwrap_or(i64::MAX)),
        }),
        shutdown: None,
    }
}

/// A task's `cmd` and its sweep items (`jobs`: its job names, for a notebook step).
fn task_arguments(task: &Task, jobs: &[String]) -> (String, Vec<BTreeMap<String, String>>) {
    let keys = item_keys(task);
    let items = sweep_items(task, &keys);
    match &task.notebook {
        Some(prepared) => notebook::task_arguments(task, prepared, jobs, items),
        None => (
            task.command
                .shell_text(&|n| format!("{{{{item.{}}}}}", keys[n])),
            items,
        ),
    }
}

/// A DAG task plus the positions (in the current list) of the tasks it waits for.
struct Node {
    task: DagTask,
    depends: Vec<usize>,
}

/// Fits `nodes` (in dependency order) under Argo's 200-tasks-per-DAG cap: while there are too
/// many, consecutive runs of 200 become DAG templates of their own and the list is replaced by
/// one task per run. A run waits for every run holding one of its tasks' dependencies, which
/// keeps every dependency (a little more waiting at run boundaries, never less).
fn nest(mut nodes: Vec<Node>, templates: &mut Vec<Template>) -> Vec<DagTask> {
    let mut level = 0;
    while nodes.len() > MAX_DAG_TASKS {
        level += 1;
        let chunk_of = |p: usize| p / MAX_DAG_TASKS;
        let chunks = nodes.len().div_ceil(MAX_DAG_TASKS);
        let mut next: Vec<Node> = Vec::with_capacity(chunks);
        let mut names = vec![String::new(); nodes.len()];
        for (p, node) in nodes.iter().enumerate() {
            names[p].clone_from(&node.task.name);
        }
        let mut iter = nodes.into_iter().enumerate().peekable();
        for c in 0..chunks {
            let name = format!("{PART_PREFIX}{level}-{}", c + 1);
            let mut tasks = Vec::with_capacity(MAX_DAG_TASKS);
            let mut outer: BTreeSet<usize> = BTreeSet::new();
            while let Some((_, mut node)) = iter.next_if(|(p, _)| chunk_of(*p) == c) {
                let mut inner = Vec::new();
                for &d in &node.depends {
                    if chunk_of(d) == c {
                        inner.push(names[d].clone());
                    } else {
                        outer.insert(chunk_of(d));
                    }
                }
                node.task.depends = depends(&inner);
                tasks.push(node.task);
            }
            templates.push(Template {
                name: name.clone(),
                dag: Some(DagTemplate { tasks }),
                ..Template::default()
            });
            next.push(Node {
                task: DagTask {
                    name: name.clone(),
                    template: name,
                    ..DagTask::default()
                },
                depends: outer.into_iter().collect(),
            });
        }
        nodes = next;
    }
    let names: Vec<String> = nodes.iter().map(|n| n.task.name.clone()).collect();
    nodes
        .into_iter()
        .map(|mut node| {
            let waits: Vec<String> = node.depends.iter().map(|&d| names[d].clone()).collect();
            node.task.depends = depends(&waits);
            node.task
        })
        .collect()
}

/// Argo's `depends` for "after all of these": `a && b`. A bare task name means what
/// `dependencies: [a]` meant (succeeded, skipped or daemoned), so this is the current form of
/// the same edge.
fn depends(names: &[String]) -> Option<String> {
    (!names.is_empty()).then(|| names.join(" && "))
}

fn cmd_input() -> Inputs {
    Inputs {
        parameters: vec![Parameter {
            name: "cmd".to_owned(),
            value: None,
        }],
    }
}

fn base_container(env: &Environment) -> Container {
    // What every job runs first (drift replay's installs), on lines of its own before the
    // command; `$` doubled like every value the kubelet expands.
    let script = match &env.setup {
        Some(setup) => format!(
            "{}\n{{{{inputs.parameters.cmd}}}}",
            escape_kubernetes(setup)
        ),
        None => "{{inputs.parameters.cmd}}".to_owned(),
    };
    // With the supervisor, the container runs `jupyterflow exec-job … -- /bin/sh -c SCRIPT`:
    // the same argv as before, as its child, plus the variables saying which pod this is.
    let (command, vars) = match &env.supervisor {
        Some(binary) => {
            let mut vars = env.env.clone();
            vars.retain(|v| !supervisor::VARS.contains(&v.name.as_str()));
            vars.extend(supervisor::env());
            (supervisor::command(binary, script), vars)
        }
        None => (
            vec!["/bin/sh".to_owned(), "-c".to_owned(), script],
            env.env.clone(),
        ),
    };
    Container {
        name: "main".to_owned(),
        image: Some(env.image.clone()),
        image_pull_policy: env.image_pull_policy.clone(),
        command: Some(command),
        working_dir: Some(env.working_dir.clone()),
        env: (!vars.is_empty()).then_some(vars),
        env_from: (!env.env_from.is_empty()).then(|| env.env_from.clone()),
        resources: env.resources.clone(),
        volume_mounts: (!env.volume_mounts.is_empty()).then(|| env.volume_mounts.clone()),
        security_context: env.container_security_context.clone(),
        ..Container::default()
    }
}

/// Whether a job's settings make its pod differ from the shared template's. `gpu: 0` in a
/// notebook without GPUs changes nothing, so it costs no template.
fn needs_own_template(task: &Task, dag: &Dag, env: &Environment) -> bool {
    !task.env.is_empty()
        || (!task.resources.is_empty()
            && job_resources(env.resources.as_ref(), &task.resources) != env.resources)
        || !task.node_selector.is_empty()
        || !task.tolerations.is_empty()
        || task.retries != dag.options.retries
        || task.timeout != dag.options.timeout
}

fn own_template(name: &str, task: &Task, base: &Container, env: &Environment) -> Template {
    let mut container = base.clone();
    if !task.env.is_empty() {
        let mut vars = container.env.take().unwrap_or_default();
        for (key, value) in &task.env {
            vars.retain(|e| &e.name != key);
            vars.push(EnvVar {
                name: key.clone(),
                value: Some(escape_kubernetes(value)),
                value_from: None,
            });
        }
        container.env = Some(vars);
    }
    if !task.resources.is_empty() {
        container.resources = job_resources(base.resources.as_ref(), &task.resources);
    }
    let node_selector = if task.node_selector.is_empty() {
        BTreeMap::new()
    } else {
        let mut merged = env.node_selector.clone();
        merged.extend(task.node_selector.clone());
        merged
    };
    let mut tolerations = env.tolerations.clone();
    tolerations.extend(task.tolerations.iter().map(toleration));
    let tolerations = tolerations_for(&tolerations, task_gpus(task, env), &env.gpu_tolerations);
    Template {
        name: name.to_owned(),
        inputs: Some(cmd_input()),
        container: Some(container),
        retry_strategy: task.retries.map(retry_strategy),
        active_deadline_seconds: task.timeout.map(|t| t.as_secs().to_string()),
        node_selector,
        tolerations: own_tolerations(env, tolerations),
        ..Template::default()
    }
}

/// A template's tolerations when they differ from the workflow's, else none (the template then
/// takes the workflow's). They never need to be fewer: they are the notebook's plus others.
fn own_tolerations(env: &Environment, tolerations: Vec<Toleration>) -> Vec<Toleration> {
    if tolerations == env.tolerations {
        Vec::new()
    } else {
        tolerations
    }
}

/// A workflow.yaml toleration as Kubernetes takes it.
fn toleration(spec: &TolerationSpec) -> Toleration {
    Toleration {
        key: spec.key.clone(),
        operator: spec.operator.clone(),
        value: spec.value.clone(),
        effect: spec.effect.clone(),
        toleration_seconds: spec.toleration_seconds,
    }
}

fn retry_strategy(limit: u32) -> RetryStrategy {
    RetryStrategy {
        limit: limit.to_string(),
        // Retry errors (evicted pod, lost node) as well as non-zero exits, like the local engine.
        retry_policy: Some("Always".to_owned()),
        backoff: Some(Backoff {
            duration: "10s".to_owned(),
            factor: "2".to_owned(),
        }),
    }
}

/// A job a rendered workflow will have, as Argo names it (the node's display name, which
/// `get` and `logs` show): for the run record `run` writes on the shared volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArgoJob {
    /// `prep`, or `train(0:lr:0.1)` for a sweep point.
    pub name: String,
    pub task: String,
    /// What its container's shell runs: `/bin/sh -c TEXT`, sweep values filled in.
    pub argv: Vec<String>,
}

/// Every job of `dag` once rendered, in written order, sweep points expanded; jobs left out
/// (`--from`, `--only`) are not rendered, so not here either. A point's name is Argo's: the
/// task, then `(index:key:value,…)` (the index among the rendered points) with the item's
/// `key:value` strings sorted (as the controller sorts them), values exactly as the
/// `withItems` item holds them.
pub(crate) fn argo_jobs(dag: &Dag) -> Vec<ArgoJob> {
    let job_names = notebook::job_names(dag);
    let mut jobs = Vec::with_capacity(dag.tasks.len());
    for (i, task) in dag.tasks.iter().enumerate().filter(|(_, t)| t.runs()) {
        let shell = |text: String| vec!["/bin/sh".to_owned(), "-c".to_owned(), text];
        // The same `cmd` and items the manifest holds (a notebook step's included).
        let (cmd, items) = task_arguments(task, &job_names[i]);
        if task.axes.is_empty() {
            jobs.push(ArgoJob {
                name: task.name.clone(),
                task: task.name.clone(),
                argv: shell(cmd),
            });
            continue;
        }
        for (index, item) in items.into_iter().enumerate() {
            let mut values: Vec<String> = item.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            values.sort();
            let mut text = cmd.clone();
            for (key, value) in &item {
                text = text.replace(&format!("{{{{item.{key}}}}}"), &value.replace("$$", "$"));
            }
            jobs.push(ArgoJob {
                name: format!("{}({index}:{})", task.name, values.join(",")),
                task: task.name.clone(),
                argv: shell(text),
            });
        }
    }
    jobs
}

/// One item per sweep point, values shell-quoted as the `sh -c` text needs them.
fn sweep_items(task: &Task, keys: &[String]) -> Vec<BTreeMap<String, String>> {
    if task.axes.is_empty() {
        return Vec::new();
    }
    task.points()
        .enumerate()
        .filter(|(k, _)| task.runs_point(*k))
        .map(|(_, point)| {
            point
                .iter()
                .enumerate()
                .map(|(n, &v)| {
                    (
                        keys[n].clone(),
                        escape_kubernetes(&crate::pipeline::command::quote(
                            &task.axes[n].values[v],
                        )),
                    )
                })
                .collect()
        })
        .collect()
}

/// The name of each sweep axis in Argo's `withItems` (`{{item.lr}}`), so the Argo UI shows
/// `train(0:act:relu,lr:0.1)`: a matrix key as written; for `-c` braces, the flag right before
/// them (`--lr {0.1,0.01}` and `--lr={…}` are `lr`), else `p0`, `p1`… Keys are letters, digits
/// and `_` (what Argo's template tags take), unique within the task.
fn item_keys(task: &Task) -> Vec<String> {
    let mut keys: Vec<String> = Vec::with_capacity(task.axes.len());
    for (n, axis) in task.axes.iter().enumerate() {
        let brace = axis.key.starts_with('p') && axis.key[1..].bytes().all(|b| b.is_ascii_digit());
        let named = if brace {
            flag_before(&task.command, n)
        } else {
            Some(axis.key.clone())
        };
        let mut key = named
            .map(|k| item_key(&k))
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| axis.key.clone());
        if keys.contains(&key) {
            key = format!("{key}_{}", n + 1);
        }
        keys.push(key);
    }
    keys
}

/// The flag a placeholder belongs to: `--lr` in `--lr {…}` (the word before) or `--lr={…}`.
fn flag_before(command: &CommandTemplate, axis: usize) -> Option<String> {
    let flag = |text: &str| -> Option<String> {
        let name = text.trim_start_matches('-');
        (text.starts_with('-') && !name.is_empty()).then(|| name.to_owned())
    };
    match command {
        CommandTemplate::Exec(words) => {
            let at = words
                .iter()
                .position(|w| w.0.contains(&Segment::Param(axis)))?;
            match words[at].0.first() {
                Some(Segment::Text(t)) => flag(t.strip_suffix('=')?),
                _ => match words.get(at.checked_sub(1)?)?.0.as_slice() {
                    // A notebook parameter, `-p lr {…}`: the parameter's name.
                    [Segment::Text(name)]
                        if at >= 2
                            && matches!(words[at - 2].0.as_slice(),
                                [Segment::Text(p)] if p == "-p" || p == "--parameters") =>
                    {
                        Some(name.clone())
                    }
                    [Segment::Text(t)] => flag(t),
                    _ => None,
                },
            }
        }
        CommandTemplate::Shell(segments) => {
            let at = segments.iter().position(|s| *s == Segment::Param(axis))?;
            let Segment::Text(before) = segments.get(at.checked_sub(1)?)? else {
                return None;
            };
            let before = before.strip_suffix('=').map_or_else(
                || before.trim_end().rsplit(char::is_whitespace).next(),
                |glued| glued.rsplit(char::is_whitespace).next(),
            )?;
            flag(before)
        }
    }
}

/// Letters, digits and `_` (a `-` becomes `_`), not starting with a digit.
fn item_key(text: &str) -> String {
    let key: String = text
        .chars()
        .map(|c| if c == '-' { '_' } else { c })
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if key.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{key}")
    } else {
        key
    }
}

/// Kubernetes expands `$(VAR)` in a container's command, args and env values, and turns `$$`
/// into `$`. Our values are literal (the local engine runs them as is), so every `$` is
/// doubled to reach the container unchanged.
pub fn escape_kubernetes(text: &str) -> String {
    text.replace('$', "$$")
}

mod notebook;
/// The source, and the params when there are any: `get` shows both.
fn annotations(source: String, params: &[Param]) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::from([(SOURCE_ANNOTATION.to_owned(), source)]);
    if !params.is_empty() {
        let json = serde_json::to_string(&ParamMap::of(params))
            .expect("a map of strings always serialises");
        annotations.insert(PARAMS_ANNOTATION.to_owned(), json);
    }
    annotations
}

#[cfg(test)]
mod tests;
