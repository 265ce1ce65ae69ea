//! The estimate against real statuses: realistic `status.nodes` built the way the Argo
//! controller writes them for what `render` makes, gzipped as Argo does (gzip of the JSON,
//! then base64 in `compressedNodes`).

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;

use serde::Serialize;

use super::*;
use crate::argo::types::Workflow;
use crate::argo::{Manifest, RenderOptions, render};
use crate::environment::Environment;
use crate::pipeline::{Dag, one_liner, workflow_file};

/// A node as Go's `wfv1.NodeStatus` writes it: its fields in the struct's order, empty ones
/// left out (`omitempty`: so an empty `outputs.parameters` is not written at all).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NodeStatus {
    id: String,
    name: String,
    display_name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    template_name: Option<String>,
    template_scope: String,
    phase: &'static str,
    #[serde(rename = "boundaryID", skip_serializing_if = "Option::is_none")]
    boundary_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'static str>,
    started_at: String,
    finished_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    estimated_duration: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    progress: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resources_duration: Option<BTreeMap<&'static str, u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    node_flag: Option<BTreeMap<&'static str, bool>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inputs: Option<Inputs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outputs: Option<BTreeMap<&'static str, String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    children: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    outbound_nodes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_node_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_result_synced: Option<bool>,
}

#[derive(Serialize)]
struct Inputs {
    parameters: Vec<BTreeMap<&'static str, String>>,
}

/// A finished run's `status.nodes` (by id, as Go sorts map keys) and its Pods' ids.
struct Status {
    nodes: BTreeMap<String, NodeStatus>,
    pods: Vec<String>,
}

/// Builds the status the controller writes for a rendered workflow, every job succeeded (a
/// few with a message), one attempt per retried job. Times, resources, hosts and the name's
/// suffix come from a fixed-seed generator.
struct Builder<'a> {
    workflow: String,
    templates: HashMap<&'a str, &'a crate::argo::types::Template>,
    status: Status,
    rng: u64,
    clock: i64,
}

const HOSTS: usize = 8;

impl<'a> Builder<'a> {
    fn run(spec: &'a Workflow, seed: u64) -> (String, Status) {
        let mut b = Builder {
            workflow: String::new(),
            templates: spec
                .spec
                .templates
                .iter()
                .map(|t| (t.name.as_str(), t))
                .collect(),
            status: Status {
                nodes: BTreeMap::new(),
                pods: Vec::new(),
            },
            rng: seed | 1,
            clock: 1_788_000_000,
        };
        // `generateName` + five of the characters Kubernetes uses.
        let prefix = spec.metadata.generate_name.clone().expect("generateName");
        let suffix: String = (0..5)
            .map(|_| {
                let alphabet = b"bcdfghjklmnpqrstvwxz2456789";
                char::from(alphabet[usize::try_from(b.random(27)).expect("small")])
            })
            .collect();
        b.workflow = format!("{prefix}{suffix}");
        let root = b.workflow.clone();
        b.dag(&spec.spec.entrypoint, &root, &root, None);
        (b.workflow, b.status)
    }

    fn random(&mut self, below: u64) -> u64 {
        // xorshift64
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % below
    }

    fn id(&self, name: &str) -> String {
        if name == self.workflow {
            return name.to_owned();
        }
        // FNV-1a, 32 bits, of the node's name.
        let mut hash: u32 = 0x811c_9dc5;
        for b in name.bytes() {
            hash ^= u32::from(b);
            hash = hash.wrapping_mul(0x0100_0193);
        }
        format!("{}-{hash}", self.workflow)
    }

    fn time(seconds: i64) -> String {
        jiff::Timestamp::from_second(seconds)
            .expect("in range")
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    }

    /// A node with the fields every type has; the caller fills in the rest.
    fn node(
        &mut self,
        name: &str,
        display: &str,
        kind: &'static str,
        template: Option<&str>,
        boundary: Option<&str>,
    ) -> String {
        let id = self.id(name);
        self.clock += i64::try_from(self.random(600)).expect("small");
        let started = self.clock;
        let finished = started + 5 + i64::try_from(self.random(3600)).expect("small");
        let node = NodeStatus {
            id: id.clone(),
            name: name.to_owned(),
            display_name: display.to_owned(),
            kind,
            template_name: template.map(str::to_owned),
            template_scope: format!("local/{}", self.workflow),
            phase: "Succeeded",
            boundary_id: boundary.map(str::to_owned),
            message: None,
            started_at: Self::time(started),
            finished_at: Self::time(finished),
            // Scheduled runs get estimates from the runs before them.
            estimated_duration: Some(self.random(4000)),
            progress: Some("1/1".to_owned()),
            resources_duration: None,
            node_flag: None,
            inputs: None,
            outputs: None,
            children: Vec::new(),
            outbound_nodes: Vec::new(),
            host_node_name: None,
            task_result_synced: None,
        };
        self.status.nodes.insert(id.clone(), node);
        id
    }

    fn get(&mut self, id: &str) -> &mut NodeStatus {
        self.status.nodes.get_mut(id).expect("node exists")
    }

    /// A DAG node and everything under it; returns its id and outbound node ids.
    fn dag(
        &mut self,
        template: &str,
        name: &str,
        display: &str,
        boundary: Option<&str>,
    ) -> (String, Vec<String>) {
        let id = self.node(name, display, "DAG", Some(template), boundary);
        let dag = self.templates[template]
            .dag
            .as_ref()
            .expect("a DAG template");
        let mut made: HashMap<&str, (String, Vec<String>)> = HashMap::new();
        for task in &dag.tasks {
            let task_name = format!("{name}.{}", task.name);
            let node = if task.template.starts_with(PART_PREFIX) {
                self.dag(&task.template, &task_name, &task.name, Some(&id))
            } else {
                self.job(task, &task_name, &id)
            };
            made.insert(task.name.as_str(), node);
        }
        let mut waited_for = std::collections::HashSet::new();
        for task in &dag.tasks {
            let task_id = made[task.name.as_str()].0.clone();
            match &task.depends {
                None => self.get(&id).children.push(task_id),
                Some(depends) => {
                    for dependency in depends.split(" && ") {
                        waited_for.insert(dependency);
                        for outbound in made[dependency].1.clone() {
                            self.get(&outbound).children.push(task_id.clone());
                        }
                    }
                }
            }
        }
        let outbound: Vec<String> = dag
            .tasks
            .iter()
            .filter(|t| !waited_for.contains(t.name.as_str()))
            .flat_map(|t| made[t.name.as_str()].1.clone())
            .collect();
        let node = self.get(&id);
        node.outbound_nodes.clone_from(&outbound);
        node.progress = Some(format!("{0}/{0}", dag.tasks.len()));
        (id, outbound)
    }

    fn job(&mut self, task: &DagTask, name: &str, boundary: &str) -> (String, Vec<String>) {
        let retries = self.templates[task.template.as_str()]
            .retry_strategy
            .is_some();
        let command = task.arguments.as_ref().expect("arguments").parameters[0]
            .value
            .clone()
            .expect("cmd");
        if task.with_items.is_empty() {
            return self.leaf(
                name,
                &task.name,
                &task.template,
                &command,
                retries,
                boundary,
            );
        }
        let group = self.node(
            name,
            &task.name,
            "TaskGroup",
            Some(&task.template),
            Some(boundary),
        );
        let mut outbound = Vec::new();
        for (i, item) in task.with_items.iter().enumerate() {
            let values: Vec<String> = item.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            let point = format!("({i}:{})", values.join(","));
            let mut command = command.clone();
            for (k, v) in item {
                command = command.replace(&format!("{{{{item.{k}}}}}"), v);
            }
            let (id, out) = self.leaf(
                &format!("{name}{point}"),
                &format!("{}{point}", task.name),
                &task.template,
                &command,
                retries,
                boundary,
            );
            self.get(&group).children.push(id);
            outbound.extend(out);
        }
        (group, outbound)
    }

    /// A job's Pod, or its Retry node with one attempt.
    fn leaf(
        &mut self,
        name: &str,
        display: &str,
        template: &str,
        command: &str,
        retries: bool,
        boundary: &str,
    ) -> (String, Vec<String>) {
        let inputs = || Inputs {
            parameters: vec![BTreeMap::from([
                ("name", "cmd".to_owned()),
                ("value", command.to_owned()),
            ])],
        };
        let exit = || BTreeMap::from([("exitCode", "0".to_owned())]);
        if !retries {
            let id = self.pod(name, display, template, boundary, inputs(), false);
            return (id.clone(), vec![id]);
        }
        let retry = self.node(name, display, "Retry", Some(template), Some(boundary));
        let attempt = self.pod(
            &format!("{name}(0)"),
            &format!("{display}(0)"),
            template,
            boundary,
            inputs(),
            true,
        );
        let node = self.get(&retry);
        node.progress = None;
        node.inputs = Some(inputs());
        node.outputs = Some(exit());
        node.children.push(attempt.clone());
        (retry, vec![attempt])
    }

    fn pod(
        &mut self,
        name: &str,
        display: &str,
        template: &str,
        boundary: &str,
        inputs: Inputs,
        retried: bool,
    ) -> String {
        let id = self.node(name, display, "Pod", Some(template), Some(boundary));
        let cpu = self.random(20_000);
        let memory = self.random(200_000);
        let host = self.random(HOSTS as u64);
        let message = (self.random(10) == 0).then_some("Error (exit code 1)");
        let node = self.get(&id);
        node.message = message;
        node.resources_duration = Some(BTreeMap::from([("cpu", cpu), ("memory", memory)]));
        node.node_flag = retried.then(|| BTreeMap::from([("retried", true)]));
        node.inputs = Some(inputs);
        node.outputs = Some(BTreeMap::from([("exitCode", "0".to_owned())]));
        node.host_node_name = Some(format!(
            "ip-10-0-{}-{}.eu-west-1.compute.internal",
            16 + host,
            200 - host * 7
        ));
        node.task_result_synced = Some(true);
        self.status.pods.push(id.clone());
        id
    }
}

/// JSON as Go's `encoding/json` writes it: `<`, `>` and `&` escaped in strings.
fn go_json(value: &impl Serialize) -> Vec<u8> {
    let json = serde_json::to_string(value).expect("serializes");
    json.replace('&', "\\u0026")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .into_bytes()
}

fn gzip(bytes: &[u8]) -> usize {
    // Go's `gzip.NewWriter`: the default level, 6.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    encoder.write_all(bytes).expect("in memory");
    encoder.finish().expect("in memory").len()
}

/// What a finished run's status really costs.
struct Measured {
    nodes: usize,
    raw: usize,
    gzip: usize,
    /// `compressedNodes`: base64 of the gzip.
    compressed: usize,
    /// `taskResultsCompletionStatus` entries and their `managedFields` keys.
    pod_keys: usize,
}

fn measure(status: &Status) -> Measured {
    let raw = go_json(&status.nodes);
    let gzip = gzip(&raw);
    let results: BTreeMap<&str, bool> = status.pods.iter().map(|p| (p.as_str(), true)).collect();
    let fields: BTreeMap<String, serde_json::Value> = status
        .pods
        .iter()
        .map(|p| (format!("f:{p}"), serde_json::json!({})))
        .collect();
    Measured {
        nodes: status.nodes.len(),
        raw: raw.len(),
        gzip,
        compressed: gzip.div_ceil(3) * 4,
        // Less the two maps' braces: they exist with one Pod as with many.
        pod_keys: go_json(&results).len() + go_json(&fields).len() - 4,
    }
}

fn environment() -> Environment {
    Environment {
        pod_name: "jupyter-alice".into(),
        image: "quay.io/jupyter/scipy-notebook@sha256:0123456789abcdef".into(),
        working_dir: "/home/jovyan/work".into(),
        ..Environment::default()
    }
}

fn rendered(dag: &Dag) -> Workflow {
    match render(dag, &environment(), &RenderOptions::default()).expect("renders") {
        Manifest::Workflow(w) => *w,
        Manifest::Cron(_) => panic!("expected a Workflow"),
    }
}

fn one_liner(text: &str) -> Workflow {
    rendered(&Dag::build(one_liner::parse(text, None).expect("parses")).expect("valid"))
}

fn file(yaml: &str) -> Workflow {
    let pipeline = workflow_file::parse(yaml, "workflow.yaml".as_ref(), None).expect("parses");
    rendered(&Dag::build(pipeline).expect("valid"))
}

fn chain(n: usize, stage: impl Fn(usize) -> String) -> String {
    (0..n).map(stage).collect::<Vec<_>>().join(" >> ")
}

/// Letters and digits no compressor can predict (a fixed-seed generator).
fn noise(seed: usize, len: usize) -> String {
    let mut x = (seed as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[(x % 36) as usize])
        })
        .collect()
}

/// The realistic pipelines the estimate is held to, by name.
fn cases() -> Vec<(String, Workflow)> {
    let mut cases = Vec::new();
    for n in [1, 200, 1_000, 5_000] {
        cases.push((
            format!("chain of {n}"),
            one_liner(&chain(n, |i| format!("python step.py --part {i}"))),
        ));
    }
    // 63-character job names in a workflow whose name is as long as it gets (56 + 5).
    let long = |i: usize| format!("preprocess-customer-transactions-and-build-the-features-{i:07}");
    let mut yaml = format!(
        "name: {}\njobs:\n",
        "nightly-feature-engineering-for-the-customer-churn-models"
    );
    for i in 0..2_000 {
        yaml.push_str(&format!(
            "- name: {}\n  command: python preprocess.py --input data/transactions/part-{i:05}.parquet --output features/part-{i:05}.parquet\n",
            long(i)
        ));
        if i > 0 {
            yaml.push_str(&format!("  depends: [{}]\n", long(i - 1)));
        }
    }
    cases.push(("2,000 long names".to_owned(), file(&yaml)));
    // 100 jobs a layer, each waiting for two of the layer before.
    let mut yaml = String::from("name: layered\njobs:\n");
    for i in 0..3_000 {
        yaml.push_str(&format!(
            "- name: j{i}\n  command: python step.py --part {i}\n"
        ));
        if i >= 100 {
            let base = (i / 100 - 1) * 100;
            yaml.push_str(&format!(
                "  depends: [j{}, j{}]\n",
                base + i % 100,
                base + (i + 1) % 100
            ));
        }
    }
    cases.push(("3,000 in layers of 100".to_owned(), file(&yaml)));
    for points in [100, 5_000] {
        let values: Vec<String> = (0..points).map(|i| format!("0.{i:05}")).collect();
        cases.push((
            format!("sweep of {points}"),
            one_liner(&format!(
                "python prep.py >> python train.py --lr {{{}}} --epochs 30 >> python eval.py",
                values.join(",")
            )),
        ));
    }
    // A matrix with retries, nested under 200-task parts by the chain around it.
    let mut yaml = String::from("name: tuned\nretries: 2\njobs:\n");
    for i in 0..400 {
        yaml.push_str(&format!("- python prep.py --shard {i}\n"));
    }
    yaml.push_str("- command: python train.py --lr {lr} --act {act}\n  matrix:\n    lr: [0.1, 0.01, 0.001, 0.0001]\n    act: [relu, tanh, gelu]\n");
    cases.push(("retries, matrix, nested".to_owned(), file(&yaml)));
    cases.push((
        "1,000 side by side, retries".to_owned(),
        file(&format!(
            "retries: 3\njobs:\n{}",
            (0..1_000)
                .map(|i| format!("- python step.py --part {i}\n"))
                .collect::<Vec<_>>()
                .concat()
        )),
    ));
    // Commands no compressor can shorten much: ids, long random arguments, long names.
    cases.push((
        "random 36-char ids".to_owned(),
        one_liner(&chain(2_000, |i| {
            format!("python step.py --run {}", noise(i, 36))
        })),
    ));
    cases.push((
        "random 300-char arguments".to_owned(),
        one_liner(&chain(500, |i| {
            format!("python step.py --blob {}", noise(i, 300))
        })),
    ));
    let mut yaml = String::from("jobs:\n");
    for i in 0..1_000 {
        yaml.push_str(&format!(
            "- name: {}\n  command: python step.py\n",
            noise(i, 50)
        ));
    }
    cases.push(("random 50-char names".to_owned(), file(&yaml)));
    // A long inline script swept over 20 points: charged once, as gzip finds it at a sibling.
    let script = (0..100)
        .map(|i| format!("x{i} = load('table_{i}').merge(y, on='key_{}')\\n", i * 7))
        .collect::<Vec<_>>()
        .concat();
    cases.push((
        "sweep of 20, 4 KiB command".to_owned(),
        one_liner(&format!(
            "python -c \"{script}\" --seed {{{}}}",
            (0..20).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
        )),
    ));
    cases
}

/// Ids in `children` and `outboundNodes` lists, as `StatusEstimate::refs` counts them.
fn refs(status: &Status) -> usize {
    status
        .nodes
        .values()
        .map(|n| n.children.len() + n.outbound_nodes.len())
        .sum()
}

#[test]
fn the_estimate_covers_real_statuses_and_stays_under_twice_them() {
    for (name, workflow) in cases() {
        for seed in [7, 1_000_003] {
            let (workflow_name, status) = Builder::run(&workflow, seed);
            let real = measure(&status);
            let estimate = estimate(&workflow.spec, workflow_name.len());
            assert_eq!(estimate.nodes(), real.nodes, "{name}: nodes");
            assert_eq!(estimate.refs, refs(&status), "{name}: ids in lists");
            let (est, got) = (estimate.compressed_bytes(), real.compressed);
            assert!(
                est >= got,
                "{name}: estimated {est} < {got} compressed ({} raw, {} gzip)",
                real.raw,
                real.gzip
            );
            assert!(est < 2 * got, "{name}: estimated {est} ≥ 2 × {got}");
            let (est, got) = (estimate.pod_key_bytes(), real.pod_keys);
            assert!(est >= got, "{name}: estimated {est} < {got} of Pod keys");
            assert!(
                est < got + got / 10 + 64,
                "{name}: estimated {est}, real {got} of Pod keys"
            );
        }
    }
}

/// Nodes and list entries counted by hand, as the controller makes them (see the fixtures
/// in tests/fixtures/argo-status): a sweep is a TaskGroup over one Pod per point; each
/// outbound node of a dependency lists the dependent task's node as a child; the DAG node
/// lists the tasks that wait for nothing and, as outbound, those nothing waits for.
#[test]
fn nodes_are_counted_as_argo_makes_them() {
    let plain = one_liner("python prep.py >> python train.py --lr {0.1,0.01} >> python eval.py");
    let e = estimate(&plain.spec, 18);
    assert_eq!(
        (e.pods, e.retries, e.task_groups, e.dags, e.nodes()),
        (4, 0, 1, 1, 6)
    );
    // The TaskGroup's 2 points; root → prep; prep → train; both points → eval; eval outbound.
    assert_eq!(e.refs, 2 + 1 + 1 + 2 + 1);
    let retried = file(
        "retries: 2\njobs:\n- python prep.py\n- command: python train.py --lr {lr}\n  matrix: {lr: [0.1, 0.01]}\n  depends: [prep]\n",
    );
    let e = estimate(&retried.spec, 18);
    // A Retry node per job, its one attempt a Pod.
    assert_eq!((e.pods, e.retries, e.task_groups, e.dags), (3, 3, 1, 1));
    assert_eq!(e.refs, 2 + 3 + 1 + 1 + 2);
    // 450 chained jobs: three parts of up to 200 under the root, each waiting for the last.
    let nested = one_liner(&chain(450, |i| format!("python step.py {i}")));
    let e = estimate(&nested.spec, 18);
    assert_eq!((e.pods, e.dags, e.nodes()), (450, 4, 454));
    for workflow in [plain, retried, nested] {
        let (name, status) = Builder::run(&workflow, 7);
        let e = estimate(&workflow.spec, name.len());
        assert_eq!((e.nodes(), e.refs), (status.nodes.len(), refs(&status)));
        assert_eq!(e.pods, status.pods.len());
    }
}

/// The figures `status_size`'s constants were chosen from, measured again: bytes per node of
/// each type, raw (Go's JSON, the map key included) and compressed (what removing every node
/// of that type saves from the gzip). Run with `--nocapture` to see them.
#[test]
fn bytes_per_node_type_are_as_measured() {
    #[expect(
        clippy::print_stderr,
        reason = "the measurements, for whoever tunes the constants"
    )]
    fn show(line: &str) {
        eprintln!("{line}");
    }
    let cases = [
        (
            "chain",
            one_liner(&chain(1_000, |i| format!("python step.py --part {i}"))),
        ),
        (
            "sweep",
            one_liner(&format!(
                "python train.py --lr {{{}}}",
                (0..1_000)
                    .map(|i| format!("0.{i:04}"))
                    .collect::<Vec<_>>()
                    .join(",")
            )),
        ),
        (
            "retries",
            file(&format!(
                "retries: 3\njobs:\n{}",
                (0..1_000)
                    .map(|i| match i {
                        0 => "- python step.py --part 0\n".to_owned(),
                        // Job i waits for the one before, at position i (counted from 1).
                        _ => format!("- command: python step.py --part {i}\n  depends: [{i}]\n"),
                    })
                    .collect::<Vec<_>>()
                    .concat()
            )),
        ),
    ];
    for (case, workflow) in &cases {
        let (_, status) = Builder::run(workflow, 7);
        let all = gzip(&go_json(&status.nodes));
        for kind in ["Pod", "Retry", "TaskGroup", "DAG"] {
            let of: Vec<&NodeStatus> = status.nodes.values().filter(|n| n.kind == kind).collect();
            if of.is_empty() {
                continue;
            }
            // `"<id>":` and `,` besides the node itself.
            let raw: usize = of.iter().map(|n| go_json(n).len() + n.id.len() + 4).sum();
            let rest: BTreeMap<&String, &NodeStatus> = status
                .nodes
                .iter()
                .filter(|(_, n)| n.kind != kind)
                .collect();
            let saved = all - gzip(&go_json(&rest));
            let (raw, gz) = (raw / of.len(), saved / of.len());
            show(&format!(
                "{case:<8} {kind:<9} ×{:<5} raw {raw:>6} B/node, gzip {gz:>5} B/node",
                of.len()
            ));
            let (raw_range, gz_range) = match kind {
                "Pod" => (600..=760, 50..=60),
                "Retry" => (450..=560, 42..=52),
                // A DAG node with short lists; a TaskGroup lists every point.
                "DAG" if of.len() > 1 => (400..=520, 60..=85),
                _ => continue,
            };
            assert!(raw_range.contains(&raw), "{case} {kind}: {raw} raw");
            assert!(gz_range.contains(&gz), "{case} {kind}: {gz} gzip");
        }
    }
}
