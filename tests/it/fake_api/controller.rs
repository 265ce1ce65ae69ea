//! A simulated Argo controller for tests: moves a Workflow the fake stores through a run, one
//! controller round per `step`, following the DAG of `spec.templates[entrypoint]` (`withItems`
//! sweeps and nested `part-*` DAG templates included). Each round writes the job pods (with
//! their logs) and then `status` in the shape Argo 3.5+ writes, as tests/fixtures/argo-status
//! shows it. Test support only: it decides nothing the API server would.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};

use super::clock::rfc3339;
use super::resources::Res;
use super::{FakeApi, State};

/// How one job (a DAG task, or one point of a `withItems` task) ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobOutcome {
    Succeeded,
    /// Its main container exits with this code: the node fails with "Error (exit code N)".
    Failed(i32),
    /// Never started: the task gets an Omitted node ("omitted: depends condition not met"), as
    /// every task after a failed or omitted dependency does anyway.
    NotReached,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No node yet.
    Waiting,
    Running,
    Succeeded,
    Failed,
    Omitted,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Waiting => "Pending",
            Phase::Running => "Running",
            Phase::Succeeded => "Succeeded",
            Phase::Failed => "Failed",
            Phase::Omitted => "Omitted",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dag,
    TaskGroup,
    Pod,
}

#[derive(Debug)]
struct Node {
    id: String,
    name: String,
    display: String,
    kind: Kind,
    /// The DAG task this node is, or (sweep points) belongs to.
    task: String,
    template: String,
    boundary: Option<String>,
    phase: Phase,
    /// Omitted nodes are written with type Skipped.
    omitted: bool,
    started: Option<String>,
    finished: Option<String>,
    message: Option<String>,
    exit: Option<i32>,
    children: Vec<String>,
    outbound: Vec<String>,
    /// DAG: its task nodes; TaskGroup: its point nodes.
    members: Vec<usize>,
    /// A task node: the task nodes of its dependencies (same DAG).
    deps: Vec<usize>,
    /// A DAG node: `dag.failFast` (default true): no new task starts after one failed.
    fail_fast: bool,
    /// A pod node: its `inputs.parameters`, items substituted.
    inputs: Vec<Value>,
    /// A pod node: the sweep point it runs, for the outcome lookup.
    point: Option<usize>,
}

/// What a round does to the rest of the cluster: pods to write and logs to write, in order.
#[derive(Default)]
struct Effects {
    pods: Vec<usize>,
    logs: Vec<(usize, bool)>,
}

/// A run being played. Made by `FakeApi::argo_run`; configure outcomes and logs, then `step`
/// (or `run_to_end`). Modelled on Argo 3.5+ as tests/fixtures/argo-status shows it: node ids
/// `<workflow>-<FNV-1a of the node name>`; a DAG node's children are its tasks without
/// dependencies, a task hangs under its dependencies' outbound nodes (a sweep's points, a nested
/// DAG's leaf tasks); a failed or omitted dependency omits its dependents (type Skipped, phase
/// Omitted); `dag.failFast` (default true) starts nothing new after a failure; a failed DAG says
/// "child '<id>' failed". Not modelled: retries (Retry nodes), Pending pods, `when`/`depends`
/// expressions, stop/terminate, exit handlers. Times are whole seconds, one second apart per
/// round at least, so a burst of steps may run a few seconds ahead of the wall clock.
pub(crate) struct ArgoRun<'a> {
    api: &'a FakeApi,
    ns: String,
    workflow: String,
    uid: String,
    spec: Value,
    nodes: Vec<Node>,
    outcomes: HashMap<String, JobOutcome>,
    point_outcomes: HashMap<(String, usize), JobOutcome>,
    logs: HashMap<String, String>,
    started: Option<String>,
    finished: Option<String>,
    last_round: Option<SystemTime>,
    pod_names_v1: bool,
}

/// FNV-1a, 32 bits: the hash Argo puts in node ids and pod names.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

/// How Argo prints a `withItems` item in a node name: maps as `k:v,…` with sorted keys
/// (serde_json keeps them sorted), strings bare, anything else as JSON.
fn item_text(item: &Value) -> String {
    match item {
        Value::String(s) => s.clone(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}:{}", item_text(v)))
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

/// `{{item}}` and `{{item.key}}` replaced by the item's values, as Argo expands a sweep task.
fn substitute_item(text: &str, item: Option<&Value>) -> String {
    let Some(item) = item else {
        return text.to_owned();
    };
    let mut out = text.replace("{{item}}", &item_text(item));
    if let Value::Object(map) = item {
        for (k, v) in map {
            out = out.replace(&format!("{{{{item.{k}}}}}"), &item_text(v));
        }
    }
    out
}

impl FakeApi {
    /// Starts playing the Argo controller for the stored Workflow `ns/name` (which must exist):
    /// every job succeeds unless told otherwise. Nothing is written before the first `step`.
    pub(crate) fn argo_run(&self, ns: &str, name: &str) -> ArgoRun<'_> {
        let wf = self
            .state()
            .store
            .get(Res::Workflows, ns, name)
            .unwrap_or_else(|e| panic!("argo_run {ns}/{name}: {}", e.body));
        let mut run = ArgoRun {
            api: self,
            ns: ns.to_owned(),
            workflow: name.to_owned(),
            uid: wf
                .pointer("/metadata/uid")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            spec: wf.get("spec").cloned().unwrap_or(Value::Null),
            nodes: Vec::new(),
            outcomes: HashMap::new(),
            point_outcomes: HashMap::new(),
            logs: HashMap::new(),
            started: None,
            finished: None,
            last_round: None,
            pod_names_v1: wf
                .pointer("/metadata/annotations/workflows.argoproj.io~1pod-name-format")
                .and_then(Value::as_str)
                == Some("v1"),
        };
        let entry = run
            .spec
            .get("entrypoint")
            .and_then(Value::as_str)
            .unwrap_or("main")
            .to_owned();
        run.build_dag(&entry, name, name, None, "", 0);
        run
    }
}

impl ArgoRun<'_> {
    fn template(&self, name: &str) -> Option<&Value> {
        self.spec
            .get("templates")?
            .as_array()?
            .iter()
            .find(|t| t.get("name").and_then(Value::as_str) == Some(name))
    }

    fn node_id(&self, name: &str) -> String {
        format!("{}-{}", self.workflow, fnv1a(name))
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one node's identity, each needed"
    )]
    fn push(
        &mut self,
        id: String,
        name: String,
        display: String,
        kind: Kind,
        task: &str,
        template: &str,
        boundary: Option<String>,
    ) -> usize {
        self.nodes.push(Node {
            id,
            name,
            display,
            kind,
            task: task.to_owned(),
            template: template.to_owned(),
            boundary,
            phase: Phase::Waiting,
            omitted: false,
            started: None,
            finished: None,
            message: None,
            exit: None,
            children: Vec::new(),
            outbound: Vec::new(),
            members: Vec::new(),
            deps: Vec::new(),
            fail_fast: true,
            inputs: Vec::new(),
            point: None,
        });
        self.nodes.len() - 1
    }

    /// The nodes of DAG template `template` (named `name`, id `id`) and of everything it calls.
    fn build_dag(
        &mut self,
        template: &str,
        name: &str,
        id: &str,
        boundary: Option<String>,
        task: &str,
        depth: usize,
    ) -> usize {
        assert!(
            depth < 16,
            "DAG templates nested too deep (a cycle?) at {template}"
        );
        let display = name.rsplit('.').next().unwrap_or(name).to_owned();
        let dag = self.push(
            id.to_owned(),
            name.to_owned(),
            display,
            Kind::Dag,
            task,
            template,
            boundary,
        );
        let spec = self.template(template).cloned().unwrap_or(Value::Null);
        self.nodes[dag].fail_fast =
            spec.pointer("/dag/failFast").and_then(Value::as_bool) != Some(false);
        let tasks = spec
            .pointer("/dag/tasks")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut by_name = HashMap::new();
        for t in &tasks {
            let idx = self.build_task(t, name, id, depth);
            let task_name = t.get("name").and_then(Value::as_str).unwrap_or_default();
            by_name.insert(task_name.to_owned(), idx);
            self.nodes[dag].members.push(idx);
        }
        for t in &tasks {
            let task_name = t.get("name").and_then(Value::as_str).unwrap_or_default();
            // `dependencies: [a, b]`, or its current form `depends: "a && b"` (only plain
            // conjunctions of task names: what jupyterflow writes).
            let listed = t
                .get("dependencies")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str);
            let depends = t
                .get("depends")
                .and_then(Value::as_str)
                .into_iter()
                .flat_map(|d| d.split("&&"))
                .map(str::trim);
            let deps: Vec<usize> = listed
                .chain(depends)
                .filter_map(|d| by_name.get(d).copied())
                .collect();
            if let Some(&idx) = by_name.get(task_name) {
                self.nodes[idx].deps = deps;
            }
        }
        dag
    }

    /// The node of task `t` of the DAG named `dag_name`: a nested DAG, a sweep's TaskGroup and
    /// its points, or a pod.
    fn build_task(&mut self, t: &Value, dag_name: &str, dag_id: &str, depth: usize) -> usize {
        let task_name = t.get("name").and_then(Value::as_str).unwrap_or_default();
        let called = t
            .get("template")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let node_name = format!("{dag_name}.{task_name}");
        let id = self.node_id(&node_name);
        let boundary = Some(dag_id.to_owned());
        if self
            .template(called)
            .is_some_and(|c| c.get("dag").is_some())
        {
            return self.build_dag(called, &node_name, &id, boundary, task_name, depth + 1);
        }
        let Some(items) = t.get("withItems").and_then(Value::as_array) else {
            let display = task_name.to_owned();
            let pod = self.push(
                id,
                node_name,
                display,
                Kind::Pod,
                task_name,
                called,
                boundary,
            );
            self.nodes[pod].inputs = inputs(t, None);
            return pod;
        };
        let group = self.push(
            id,
            node_name,
            task_name.to_owned(),
            Kind::TaskGroup,
            task_name,
            called,
            boundary.clone(),
        );
        for (i, item) in items.iter().enumerate() {
            let display = format!("{task_name}({i}:{})", item_text(item));
            let point_name = format!("{dag_name}.{display}");
            let point_id = self.node_id(&point_name);
            let point = self.push(
                point_id,
                point_name,
                display,
                Kind::Pod,
                task_name,
                called,
                boundary.clone(),
            );
            self.nodes[point].inputs = inputs(t, Some(item));
            self.nodes[point].point = Some(i);
            self.nodes[group].members.push(point);
        }
        group
    }

    /// Every job of `task` (a plain task, or each point of a sweep) ends with `outcome`.
    pub(crate) fn outcome(mut self, task: &str, outcome: JobOutcome) -> Self {
        assert!(
            self.nodes
                .iter()
                .any(|n| n.kind == Kind::Pod && n.task == task),
            "argo_run: the workflow has no job task {task:?}"
        );
        self.outcomes.insert(task.to_owned(), outcome);
        self
    }

    /// Sweep point `index` of `task` ends with `outcome` (before `outcome` for the task).
    pub(crate) fn point_outcome(mut self, task: &str, index: usize, outcome: JobOutcome) -> Self {
        assert!(
            self.nodes
                .iter()
                .any(|n| n.task == task && n.point == Some(index)),
            "argo_run: the workflow has no sweep point {task}[{index}]"
        );
        self.point_outcomes
            .insert((task.to_owned(), index), outcome);
        self
    }

    /// What job `job` (a display name: `prep`, `train(0:lr:0.1)`) writes to its log when it
    /// starts; by default `<job>: <its cmd parameter>` and a newline.
    pub(crate) fn log(mut self, job: &str, text: &str) -> Self {
        assert!(
            self.nodes
                .iter()
                .any(|n| n.kind == Kind::Pod && n.display == job),
            "argo_run: the workflow has no job {job:?}"
        );
        self.logs.insert(job.to_owned(), text.to_owned());
        self
    }

    /// The pod that runs (or would run) job `job`, named as Argo names it.
    pub(crate) fn pod_name(&self, job: &str) -> Option<String> {
        let idx = self
            .nodes
            .iter()
            .position(|n| n.kind == Kind::Pod && n.display == job)?;
        Some(self.pod_of(idx))
    }

    /// Whether the workflow has reached Succeeded or Failed.
    pub(crate) fn is_finished(&self) -> bool {
        self.finished.is_some()
    }

    /// Steps until the workflow has finished.
    pub(crate) fn run_to_end(&mut self) {
        while self.step() {}
    }

    /// One controller round, written to the fake at once (pods and logs first, then the
    /// Workflow, one MODIFIED event): the first round starts the workflow and its ready jobs;
    /// each later one ends the running jobs (pods Succeeded or Failed, logs finished), then
    /// starts what became ready, omits what cannot run, and ends the DAGs (and finally the
    /// workflow) with nothing left running. Returns whether the workflow still runs.
    pub(crate) fn step(&mut self) -> bool {
        if self.finished.is_some() {
            return false;
        }
        let now = self.tick();
        let mut fx = Effects::default();
        if self.started.is_none() {
            self.started = Some(now.clone());
            self.nodes[0].phase = Phase::Running;
            self.nodes[0].started = Some(now.clone());
        } else {
            for idx in 0..self.nodes.len() {
                if self.nodes[idx].kind == Kind::Pod && self.nodes[idx].phase == Phase::Running {
                    let outcome = self.outcome_of(idx);
                    let node = &mut self.nodes[idx];
                    node.finished = Some(now.clone());
                    match outcome {
                        JobOutcome::Failed(code) => {
                            node.phase = Phase::Failed;
                            node.exit = Some(code);
                            node.message = Some(format!("Error (exit code {code})"));
                        }
                        JobOutcome::Succeeded | JobOutcome::NotReached => {
                            node.phase = Phase::Succeeded;
                            node.exit = Some(0);
                        }
                    }
                    fx.pods.push(idx);
                    fx.logs.push((idx, true));
                }
            }
        }
        loop {
            while self.schedule(&now, &mut fx) {}
            if !self.finish_dags(&now) {
                break;
            }
        }
        if self.nodes[0].phase != Phase::Running {
            self.finished = Some(now.clone());
            // Argo marks the workflow's pods completed once it ends.
            for idx in 0..self.nodes.len() {
                if self.nodes[idx].kind == Kind::Pod
                    && self.nodes[idx].started.is_some()
                    && !self.nodes[idx].omitted
                    && !fx.pods.contains(&idx)
                {
                    fx.pods.push(idx);
                }
            }
        }
        self.write(&fx);
        self.finished.is_none()
    }

    /// The time of this round: now, but at least a second after the previous round, as the
    /// controller's rounds are apart. So steps taken in a burst stay ordered (Argo times have
    /// whole seconds), at the price of running up to one second per round ahead of the clock.
    fn tick(&mut self) -> String {
        let now = SystemTime::now();
        let at = match self.last_round {
            Some(last) if last + Duration::from_secs(1) > now => last + Duration::from_secs(1),
            _ => now,
        };
        self.last_round = Some(at);
        rfc3339(at)
    }

    fn outcome_of(&self, idx: usize) -> JobOutcome {
        let node = &self.nodes[idx];
        node.point
            .and_then(|i| self.point_outcomes.get(&(node.task.clone(), i)))
            .or_else(|| self.outcomes.get(&node.task))
            .copied()
            .unwrap_or(JobOutcome::Succeeded)
    }

    /// One pass over the running DAGs and sweeps; true when anything changed.
    fn schedule(&mut self, now: &str, fx: &mut Effects) -> bool {
        let mut changed = false;
        for dag in 0..self.nodes.len() {
            if self.nodes[dag].kind != Kind::Dag || self.nodes[dag].phase != Phase::Running {
                continue;
            }
            let members = self.nodes[dag].members.clone();
            for task in members {
                if self.nodes[task].phase != Phase::Waiting {
                    continue;
                }
                let deps: Vec<Phase> = self.nodes[task]
                    .deps
                    .iter()
                    .map(|d| self.nodes[*d].phase)
                    .collect();
                let failed = self.nodes[dag]
                    .members
                    .iter()
                    .any(|m| self.nodes[*m].phase == Phase::Failed);
                if deps
                    .iter()
                    .any(|p| matches!(p, Phase::Failed | Phase::Omitted))
                {
                    self.omit(task, dag, now);
                    changed = true;
                } else if deps.iter().all(|p| *p == Phase::Succeeded)
                    && !(failed && self.nodes[dag].fail_fast)
                {
                    self.start(task, dag, now, fx);
                    changed = true;
                }
            }
        }
        for group in 0..self.nodes.len() {
            let node = &self.nodes[group];
            if node.kind != Kind::TaskGroup || node.phase != Phase::Running {
                continue;
            }
            let points: Vec<Phase> = node.members.iter().map(|p| self.nodes[*p].phase).collect();
            if points
                .iter()
                .all(|p| matches!(p, Phase::Succeeded | Phase::Failed | Phase::Omitted))
            {
                let node = &mut self.nodes[group];
                node.phase = if points.contains(&Phase::Failed) {
                    Phase::Failed
                } else {
                    Phase::Succeeded
                };
                node.finished = Some(now.to_owned());
                changed = true;
            }
        }
        changed
    }

    /// Ends the running DAGs with nothing running in them; true when any ended.
    fn finish_dags(&mut self, now: &str) -> bool {
        let mut any = false;
        for dag in 0..self.nodes.len() {
            let node = &self.nodes[dag];
            if node.kind != Kind::Dag
                || node.phase != Phase::Running
                || node
                    .members
                    .iter()
                    .any(|m| self.nodes[*m].phase == Phase::Running)
            {
                continue;
            }
            let failed = node
                .members
                .iter()
                .find(|m| self.nodes[**m].phase == Phase::Failed)
                .map(|m| self.nodes[*m].id.clone());
            let outbound = self.outbound(dag);
            let node = &mut self.nodes[dag];
            node.finished = Some(now.to_owned());
            if let Some(child) = failed {
                node.phase = Phase::Failed;
                node.message = Some(format!("child '{child}' failed"));
            } else {
                node.phase = Phase::Succeeded;
                node.outbound = outbound;
            }
            any = true;
        }
        any
    }

    /// The nodes a dependent of `idx` hangs from: a pod or skipped node itself, a sweep's
    /// points, a DAG's leaf tasks' outbound nodes (Argo's `getOutboundNodes`).
    fn outbound(&self, idx: usize) -> Vec<String> {
        let node = &self.nodes[idx];
        if node.omitted {
            return vec![node.id.clone()];
        }
        match node.kind {
            Kind::Pod => vec![node.id.clone()],
            Kind::TaskGroup => node
                .members
                .iter()
                .filter(|p| self.nodes[**p].phase != Phase::Waiting)
                .map(|p| self.nodes[*p].id.clone())
                .collect(),
            Kind::Dag => node
                .members
                .iter()
                .filter(|m| {
                    self.nodes[**m].phase != Phase::Waiting
                        && !node.members.iter().any(|o| self.nodes[*o].deps.contains(m))
                })
                .flat_map(|m| self.outbound(*m))
                .collect(),
        }
    }

    /// Hangs new node `idx` (a task of `dag`) into the graph: under the DAG when it has no
    /// dependencies, else under each dependency's outbound nodes.
    fn connect(&mut self, idx: usize, dag: usize) {
        let id = self.nodes[idx].id.clone();
        if self.nodes[idx].deps.is_empty() {
            self.nodes[dag].children.push(id);
            return;
        }
        let parents: Vec<String> = self.nodes[idx]
            .deps
            .clone()
            .into_iter()
            .flat_map(|d| self.outbound(d))
            .collect();
        for parent in parents {
            if let Some(p) = self.nodes.iter_mut().find(|n| n.id == parent)
                && !p.children.contains(&id)
            {
                p.children.push(id.clone());
            }
        }
    }

    fn omit(&mut self, idx: usize, dag: usize, now: &str) {
        let node = &mut self.nodes[idx];
        node.phase = Phase::Omitted;
        node.omitted = true;
        node.started = Some(now.to_owned());
        node.finished = Some(now.to_owned());
        node.message = Some("omitted: depends condition not met".to_owned());
        self.connect(idx, dag);
    }

    fn start(&mut self, idx: usize, dag: usize, now: &str, fx: &mut Effects) {
        match self.nodes[idx].kind {
            Kind::Pod => {
                if self.outcome_of(idx) == JobOutcome::NotReached {
                    self.omit(idx, dag, now);
                    return;
                }
                self.start_pod(idx, now, fx);
                self.connect(idx, dag);
            }
            Kind::TaskGroup => {
                self.nodes[idx].phase = Phase::Running;
                self.nodes[idx].started = Some(now.to_owned());
                self.connect(idx, dag);
                for point in self.nodes[idx].members.clone() {
                    let id = self.nodes[point].id.clone();
                    self.nodes[idx].children.push(id);
                    if self.outcome_of(point) == JobOutcome::NotReached {
                        let node = &mut self.nodes[point];
                        node.phase = Phase::Omitted;
                        node.omitted = true;
                        node.started = Some(now.to_owned());
                        node.finished = Some(now.to_owned());
                        node.message = Some("omitted: depends condition not met".to_owned());
                    } else {
                        self.start_pod(point, now, fx);
                    }
                }
            }
            Kind::Dag => {
                self.nodes[idx].phase = Phase::Running;
                self.nodes[idx].started = Some(now.to_owned());
                self.connect(idx, dag);
            }
        }
    }

    fn start_pod(&mut self, idx: usize, now: &str, fx: &mut Effects) {
        let node = &mut self.nodes[idx];
        node.phase = Phase::Running;
        node.started = Some(now.to_owned());
        fx.pods.push(idx);
        fx.logs.push((idx, false));
    }

    /// Argo's pod name: the node id (`v1`), or `<workflow>-<template>-<hash>` (`v2`).
    fn pod_of(&self, idx: usize) -> String {
        let node = &self.nodes[idx];
        if self.pod_names_v1 {
            return node.id.clone();
        }
        let mut prefix = format!("{}-{}", self.workflow, node.template);
        if prefix.len() > 242 {
            let mut cut = 242;
            while !prefix.is_char_boundary(cut) {
                cut -= 1;
            }
            prefix.truncate(cut);
        }
        format!("{prefix}-{}", fnv1a(&node.name))
    }

    fn cmd_of(&self, idx: usize) -> String {
        self.nodes[idx]
            .inputs
            .iter()
            .find(|p| p.get("name").and_then(Value::as_str) == Some("cmd"))
            .and_then(|p| p.get("value"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }

    /// The job pod as Argo's controller makes it (init and wait beside main), in its phase.
    fn pod_json(&self, idx: usize) -> Value {
        let node = &self.nodes[idx];
        let template = self
            .template(&node.template)
            .cloned()
            .unwrap_or(Value::Null);
        let mut main = template
            .get("container")
            .cloned()
            .unwrap_or_else(|| json!({"image": "busybox"}));
        main["name"] = "main".into();
        // The container's own text with this node's inputs, as the controller renders it.
        let mut text = main.to_string();
        for p in &node.inputs {
            if let (Some(name), Some(value)) = (
                p.get("name").and_then(Value::as_str),
                p.get("value").and_then(Value::as_str),
            ) {
                let quoted = Value::from(value).to_string();
                text = text.replace(
                    &format!("{{{{inputs.parameters.{name}}}}}"),
                    &quoted[1..quoted.len() - 1],
                );
            }
        }
        let main: Value = serde_json::from_str(&text).unwrap_or(main);
        let executor = json!({"image": "quay.io/argoproj/argoexec:v3.5.5"});
        let mut init = executor.clone();
        init["name"] = "init".into();
        let mut wait = executor;
        wait["name"] = "wait".into();
        let done = self.finished.is_some() || node.finished.is_some();
        let (phase, main_state) = match node.phase {
            Phase::Running => ("Running", json!({"running": {"startedAt": node.started}})),
            Phase::Succeeded => (
                "Succeeded",
                json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": node.started, "finishedAt": node.finished}}),
            ),
            _ => (
                "Failed",
                json!({"terminated": {"exitCode": node.exit.unwrap_or(1), "reason": "Error", "startedAt": node.started, "finishedAt": node.finished}}),
            ),
        };
        let pod_ip = format!("10.244.0.{}", 2 + idx % 250);
        // The workflow's `podMetadata` labels, then Argo's own on top, as the controller does.
        let mut labels = self
            .spec
            .pointer("/podMetadata/labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        labels.insert(
            "workflows.argoproj.io/workflow".into(),
            self.workflow.clone().into(),
        );
        labels.insert(
            "workflows.argoproj.io/completed".into(),
            if self.finished.is_some() {
                "true"
            } else {
                "false"
            }
            .into(),
        );
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": self.pod_of(idx),
                "namespace": self.ns,
                "labels": labels,
                "annotations": {
                    "workflows.argoproj.io/node-name": node.name,
                    "workflows.argoproj.io/node-id": node.id,
                },
                "ownerReferences": [{
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "Workflow",
                    "name": self.workflow,
                    "uid": self.uid,
                    "controller": true,
                    "blockOwnerDeletion": true,
                }],
            },
            "spec": {
                "initContainers": [init],
                "containers": [wait, main],
                "restartPolicy": "Never",
                "nodeName": "fake-node-1",
                "serviceAccountName": self.spec.get("serviceAccountName").and_then(Value::as_str).unwrap_or("default"),
            },
            "status": {
                "phase": phase,
                "podIP": pod_ip,
                "startTime": node.started,
                "containerStatuses": [
                    {"name": "main", "ready": !done, "restartCount": 0, "state": main_state},
                ],
            },
        })
    }

    fn node_json(&self, idx: usize) -> Value {
        let node = &self.nodes[idx];
        let mut n = Map::new();
        n.insert("id".into(), node.id.clone().into());
        n.insert("name".into(), node.name.clone().into());
        n.insert("displayName".into(), node.display.clone().into());
        let ty = match (node.omitted, node.kind) {
            (true, _) => "Skipped",
            (false, Kind::Dag) => "DAG",
            (false, Kind::TaskGroup) => "TaskGroup",
            (false, Kind::Pod) => "Pod",
        };
        n.insert("type".into(), ty.into());
        n.insert("phase".into(), node.phase.as_str().into());
        n.insert(
            "templateScope".into(),
            format!("local/{}", self.workflow).into(),
        );
        n.insert("startedAt".into(), node.started.clone().into());
        // Go writes a zero metav1.Time as null: running nodes carry `"finishedAt": null`.
        n.insert("finishedAt".into(), node.finished.clone().into());
        n.insert("templateName".into(), node.template.clone().into());
        if let Some(b) = &node.boundary {
            n.insert("boundaryID".into(), b.clone().into());
        }
        if let Some(m) = &node.message {
            n.insert("message".into(), m.clone().into());
        }
        if node.kind == Kind::Pod && !node.omitted {
            let done = node.phase == Phase::Succeeded;
            n.insert("progress".into(), if done { "1/1" } else { "0/1" }.into());
            n.insert("inputs".into(), json!({"parameters": node.inputs}));
            n.insert("hostNodeName".into(), "fake-node-1".into());
            if let Some(code) = node.exit {
                n.insert("outputs".into(), json!({"exitCode": code.to_string()}));
                n.insert("resourcesDuration".into(), json!({"cpu": 1, "memory": 10}));
                n.insert("taskResultSynced".into(), true.into());
            }
        } else if !node.omitted {
            let (done, total) = self.progress(idx, &mut Vec::new());
            n.insert("progress".into(), format!("{done}/{total}").into());
        }
        if !node.children.is_empty() {
            n.insert("children".into(), node.children.clone().into());
        }
        if !node.outbound.is_empty() {
            n.insert("outboundNodes".into(), node.outbound.clone().into());
        }
        Value::Object(n)
    }

    /// Argo's `sumProgress`: pods reachable through `children` (dependents included), each
    /// 1/1 when it succeeded and 0/1 otherwise.
    fn progress(&self, idx: usize, visited: &mut Vec<String>) -> (usize, usize) {
        let mut sum = (0, 0);
        for child in &self.nodes[idx].children {
            if visited.contains(child) {
                continue;
            }
            visited.push(child.clone());
            let Some(c) = self.nodes.iter().position(|n| n.id == *child) else {
                continue;
            };
            let (d, t) = self.progress(c, visited);
            sum = (sum.0 + d, sum.1 + t);
            if self.nodes[c].kind == Kind::Pod && !self.nodes[c].omitted {
                sum.1 += 1;
                if self.nodes[c].phase == Phase::Succeeded {
                    sum.0 += 1;
                }
            }
        }
        sum
    }

    /// The Workflow's `status` now.
    fn status_json(&self) -> Value {
        let root = &self.nodes[0];
        let mut nodes = Map::new();
        let mut results = Map::new();
        for (idx, node) in self.nodes.iter().enumerate() {
            if node.phase == Phase::Waiting {
                continue;
            }
            nodes.insert(node.id.clone(), self.node_json(idx));
            if node.kind == Kind::Pod && !node.omitted {
                results.insert(node.id.clone(), node.finished.is_some().into());
            }
        }
        let (done, total) = self.progress(0, &mut Vec::new());
        let running = self.finished.is_none();
        let mut status = json!({
            "phase": if running { "Running" } else { root.phase.as_str() },
            "startedAt": self.started,
            "finishedAt": self.finished,
            "progress": format!("{done}/{total}"),
            "nodes": nodes,
            "artifactRepositoryRef": {"default": true, "artifactRepository": {}},
            "artifactGCStatus": {"notSpecified": true},
            "conditions": if running {
                json!([{"type": "PodRunning", "status": "True"}])
            } else {
                json!([{"type": "PodRunning", "status": "False"}, {"type": "Completed", "status": "True"}])
            },
            "taskResultsCompletionStatus": results,
        });
        if let Some(m) = &root.message {
            status["message"] = m.clone().into();
        }
        status
    }

    /// Writes one round: pods (created or updated) and their logs, then the Workflow's status
    /// and its phase labels, as one update under the current resourceVersion.
    fn write(&self, fx: &Effects) {
        let mut guard = self.api.state();
        let st: &mut State = &mut guard;
        for &idx in &fx.pods {
            st.store.upsert(Res::Pods, &self.ns, self.pod_json(idx));
        }
        for &(idx, finish) in &fx.logs {
            let pod = self.pod_of(idx);
            if finish {
                st.logs.finish(&self.ns, &pod);
            } else {
                let display = &self.nodes[idx].display;
                let text = self
                    .logs
                    .get(display)
                    .cloned()
                    .unwrap_or_else(|| format!("{display}: {}\n", self.cmd_of(idx)));
                st.logs.append(&self.ns, &pod, &text, SystemTime::now());
            }
        }
        let mut wf = st
            .store
            .get(Res::Workflows, &self.ns, &self.workflow)
            .unwrap_or_else(|e| panic!("argo_run: the workflow went away: {}", e.body));
        wf["status"] = self.status_json();
        let phase = wf["status"]["phase"].clone();
        let labels = wf
            .pointer_mut("/metadata")
            .and_then(Value::as_object_mut)
            .map(|m| m.entry("labels").or_insert_with(|| json!({})));
        if let Some(Value::Object(labels)) = labels {
            labels.insert("workflows.argoproj.io/phase".into(), phase);
            labels.insert(
                "workflows.argoproj.io/completed".into(),
                self.finished.is_some().to_string().into(),
            );
        }
        if let Err(e) = st
            .store
            .replace(Res::Workflows, &self.ns, &self.workflow, wf)
        {
            panic!("argo_run: writing the status failed: {}", e.body);
        }
    }
}

/// A task's `arguments.parameters` with the sweep item substituted: the node's inputs.
fn inputs(task: &Value, item: Option<&Value>) -> Vec<Value> {
    task.pointer("/arguments/parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let mut p = p.clone();
            if let Some(v) = p.get("value").and_then(Value::as_str) {
                p["value"] = substitute_item(v, item).into();
            }
            p
        })
        .collect()
}
