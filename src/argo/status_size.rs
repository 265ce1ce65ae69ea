//! How big a Workflow grows once Argo writes its status into it, estimated from the spec alone,
//! so that `manifest::check_limits` refuses before submitting what fits at submission but not
//! once its nodes are recorded. Pure and cheap: counts and lengths, never the status itself.
//!
//! What the controller (v3.5 – v4.1) writes into the same object, and how it is counted here:
//! - `status.nodes`, one entry per node: the root DAG, each nested part's DAG, each job's Pod,
//!   a TaskGroup per sweep task, a Retry node (plus its attempt Pods) per job whose template
//!   has a `retryStrategy`. Once the object passes 1 MiB, Argo gzips the map's JSON and keeps it
//!   base64-encoded in `status.compressedNodes`; without node-status offload, an object still
//!   over 1 MiB makes the run error. Estimated as base64 of gzip: a measured cost per node type
//!   and per node id in a `children`/`outboundNodes` list, plus the names and commands the
//!   nodes repeat, charged as text that compresses no better than random letters and digits.
//! - `status.taskResultsCompletionStatus`: `"<node id>":true` per Pod, outside the compressed
//!   map, and the controller's `managedFields` entry lists each of those keys once more.
//! - a fixed part: the other status fields, and what Argo and the API server add to metadata.
//!
//! The tests build realistic statuses the way the controller writes them, gzip them, and hold
//! the estimate to at least the real size and under twice it.

use std::collections::{HashMap, HashSet};

use super::manifest::PART_PREFIX;
use super::types::{DagTask, DagTemplate, Template, WorkflowSpec};

// Measured with the tests' realistic statuses (Go's JSON as the controller writes it, gzip at
// level 6 as Go's `gzip.NewWriter`; flate2's output was 0.5–2% larger than Go 1.19's on the
// same bytes, so measuring with it errs on the safe side). Per node, raw JSON and what the
// node adds to the gzip: a Pod 660–1,140 B raw, 54–58 B compressed (62 with 63-character
// names, 83 with a random 36-character id in each command); a Retry node ~500–540 B, 46–48 B;
// a nested part's DAG node ~430–790 B, 70–84 B with its short lists; a TaskGroup ~670 B for 12
// points, mostly its list of them. The constants below are those figures less what is
// counted apart (ids in lists at `REF`, names and commands at the text rate), rounded up.
/// A Pod node (one job, or one attempt of a retried job): its id as key and field, its
/// boundary, times, resources, host, exit code, `taskResultSynced`.
const POD: usize = 48;
/// A Retry node: id, times, exit code; its inputs (the command) are charged as text.
const RETRY: usize = 40;
/// A sweep's TaskGroup node; the ids of its points are `REF`s.
const TASK_GROUP: usize = 48;
/// A DAG node: the root, or a nested part; the ids it lists are `REF`s.
const DAG: usize = 64;
/// One node id in a `children` or `outboundNodes` list (ten random digits, mostly): 6–8.
const REF: usize = 8;
/// The gzip header and trailer, and the first time each field name and value is written.
const FIRST: usize = 512;
/// Names and commands, per byte that differs from the task before (see `novel`): random
/// letters and digits cost ~0.75–0.9 of a byte once compressed, so 4/5 with the margin.
const TEXT_NUMERATOR: usize = 4;
const TEXT_DENOMINATOR: usize = 5;
/// A sweep's command template is charged once per task when it is at most this long: each
/// point repeats it, and gzip's 32 KiB window still holds a sibling point's copy (at least
/// three nodes back). Longer ones are charged at every point.
const SHARED_COMMAND: usize = 8 * 1024;
/// What a run may add that the measured statuses lack (longer messages, other controller
/// versions' fields, an attempt's extra fields): 10% on top of the compressed estimate.
/// Failed attempts of retried jobs add whole nodes and are not counted: they are not known
/// in advance.
const MARGIN_PERCENT: usize = 10;
/// Status fields that do not grow with the nodes (phase, times, progress, conditions, artifact
/// repository, total resources) and what Argo and the API server add to metadata (labels,
/// annotations, uid, resourceVersion, the two managers' `managedFields` entries).
const FIXED: usize = 4096;
/// The longest node id: the workflow's name, `-`, and a 32-bit FNV hash in decimal.
const ID_SUFFIX: usize = 11;
/// Per Pod, outside the compressed map: `"<id>":true,` in `taskResultsCompletionStatus` and
/// `"f:<id>":{},` in the controller's `managedFields`.
const POD_KEYS: usize = 8 + 8;

/// What Argo will record for a workflow, counted from its spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatusEstimate {
    /// Pod nodes: one per job (sweep points included), one attempt per retried job.
    pub pods: usize,
    /// Retry nodes: one per job whose template retries.
    pub retries: usize,
    /// TaskGroup nodes: one per sweep task.
    pub task_groups: usize,
    /// DAG nodes: the root and each nested part.
    pub dags: usize,
    /// Node ids in `children` and `outboundNodes` lists beyond each node's own.
    pub refs: usize,
    /// Bytes of names and commands the nodes hold that gzip cannot take from a neighbour.
    /// Counted as what differs from the task before (`novel`): in a chain of `python
    /// step.py --part 7` only the number is new. The map is in node-id order, a shuffle of the
    /// tasks, so the real neighbour differs more: `POD` covers a few digits of it.
    pub text: usize,
    /// The length of the workflow's name (node ids start with it).
    pub name_len: usize,
}

impl StatusEstimate {
    /// Every node of `status.nodes`.
    pub fn nodes(&self) -> usize {
        self.pods + self.retries + self.task_groups + self.dags
    }

    /// `status.compressedNodes`: base64 of the gzipped node map, with the margin.
    pub fn compressed_bytes(&self) -> usize {
        let gzip = FIRST
            + self.pods * POD
            + self.retries * RETRY
            + self.task_groups * TASK_GROUP
            + self.dags * DAG
            + self.refs * REF
            + (self.text * TEXT_NUMERATOR).div_ceil(TEXT_DENOMINATOR);
        let gzip = (gzip * (100 + MARGIN_PERCENT)).div_ceil(100);
        gzip.div_ceil(3) * 4
    }

    /// The per-Pod keys kept outside the compressed map (see `POD_KEYS`).
    pub fn pod_key_bytes(&self) -> usize {
        self.pods * 2 * (self.name_len + ID_SUFFIX) + self.pods * POD_KEYS
    }

    /// The part of `bytes` that does not grow with the nodes.
    pub fn fixed_bytes(&self) -> usize {
        FIXED + (FIRST * (100 + MARGIN_PERCENT)).div_ceil(100).div_ceil(3) * 4
    }

    /// All the status adds to the object, fixed part included.
    pub fn bytes(&self) -> usize {
        FIXED + self.compressed_bytes() + self.pod_key_bytes()
    }
}

/// Counts what the controller will record for `spec`, run as a workflow named with
/// `name_len` characters.
pub fn estimate(spec: &WorkflowSpec, name_len: usize) -> StatusEstimate {
    let mut count = Counter {
        estimate: StatusEstimate {
            name_len,
            ..StatusEstimate::default()
        },
        templates: spec
            .templates
            .iter()
            .map(|t| (t.name.as_str(), t))
            .collect(),
        outbound: HashMap::new(),
        name: "",
        command: "",
    };
    // Nested parts call only parts made before them (`render::nest` builds them level by
    // level), so each part's outbound count is known before a caller needs it; the
    // entrypoint, which calls the top level, comes last.
    for template in &spec.templates {
        if template.name != spec.entrypoint
            && let Some(dag) = &template.dag
        {
            let outbound = count.dag(dag);
            count.outbound.insert(template.name.as_str(), outbound);
        }
    }
    if let Some(dag) = count
        .templates
        .get(spec.entrypoint.as_str())
        .and_then(|t| t.dag.as_ref())
    {
        count.dag(dag);
    }
    count.estimate
}

struct Counter<'a> {
    estimate: StatusEstimate,
    templates: HashMap<&'a str, &'a Template>,
    /// How many outbound nodes each nested part's DAG node has (what its dependents hang on).
    outbound: HashMap<&'a str, usize>,
    /// The last job task's name and command, which the next one is compared with.
    name: &'a str,
    command: &'a str,
}

impl<'a> Counter<'a> {
    /// One DAG node and its tasks' nodes; returns its outbound node count: the outbound
    /// nodes of the tasks nothing in it waits for.
    fn dag(&mut self, dag: &'a DagTemplate) -> usize {
        self.estimate.dags += 1;
        let mut outbound_of: HashMap<&str, usize> = HashMap::with_capacity(dag.tasks.len());
        for task in &dag.tasks {
            let outbound = if task.template.starts_with(PART_PREFIX) {
                // The part's node: its name is charged here, its own tasks where it is made.
                self.estimate.text += task.name.len();
                self.outbound
                    .get(task.template.as_str())
                    .copied()
                    .unwrap_or(1)
            } else {
                self.job(task)
            };
            outbound_of.insert(task.name.as_str(), outbound);
        }
        let mut waited_for: HashSet<&str> = HashSet::new();
        for task in &dag.tasks {
            match &task.depends {
                // Tasks that wait for nothing are the DAG node's children.
                None => self.estimate.refs += 1,
                // Every outbound node of each dependency lists this task's node as a child.
                Some(depends) => {
                    for dependency in depends.split(" && ") {
                        waited_for.insert(dependency);
                        self.estimate.refs += outbound_of.get(dependency).copied().unwrap_or(1);
                    }
                }
            }
        }
        let outbound: usize = dag
            .tasks
            .iter()
            .filter(|t| !waited_for.contains(t.name.as_str()))
            .map(|t| outbound_of.get(t.name.as_str()).copied().unwrap_or(1))
            .sum();
        // The DAG node's `outboundNodes`.
        self.estimate.refs += outbound;
        outbound
    }

    /// The nodes of one job task; returns its outbound node count (one per job).
    fn job(&mut self, task: &'a DagTask) -> usize {
        let retries = self
            .templates
            .get(task.template.as_str())
            .is_some_and(|t| t.retry_strategy.is_some());
        let command = task
            .arguments
            .as_ref()
            .and_then(|a| a.parameters.iter().find(|p| p.name == "cmd"))
            .and_then(|p| p.value.as_deref())
            .unwrap_or("");
        let new_name = novel(&task.name, self.name);
        let new_command = novel(command, self.command);
        (self.name, self.command) = (&task.name, command);
        let e = &mut self.estimate;
        if task.with_items.is_empty() {
            // The Pod (name and display name side by side, the command in its inputs), and
            // the Retry node holding the same name and inputs elsewhere in the map.
            let nodes = 1 + usize::from(retries);
            e.pods += 1;
            e.retries += usize::from(retries);
            e.refs += usize::from(retries);
            e.text += nodes * (new_name + new_command);
            return 1;
        }
        let points = task.with_items.len();
        // Each point's name is the task's plus `(i:key:value,…)`; its command is the
        // template's with the values in.
        let items: usize = task
            .with_items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                digits(i)
                    + 3
                    + item
                        .iter()
                        .map(|(k, v)| k.len() + v.len() + 2)
                        .sum::<usize>()
            })
            .sum();
        let commands = if command.len() <= SHARED_COMMAND {
            new_command
        } else {
            command.len() * points
        };
        let nodes = 1 + usize::from(retries);
        e.task_groups += 1;
        e.pods += points;
        e.retries += points * usize::from(retries);
        // The TaskGroup's children, and each Retry node's attempt.
        e.refs += points + points * usize::from(retries);
        e.text += new_name + nodes * (items + commands);
        points
    }
}

/// How many bytes of `text` differ from `before`: all but their common start and end.
fn novel(text: &str, before: &str) -> usize {
    let (a, b) = (text.as_bytes(), before.as_bytes());
    let start = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let end = a[start..]
        .iter()
        .rev()
        .zip(b[start.min(b.len())..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    a.len() - start - end
}

/// Decimal digits of `n`.
fn digits(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

#[cfg(test)]
mod tests;
