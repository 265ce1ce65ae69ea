//! GPUs, checked before anything is submitted. Jobs inherit the notebook's GPUs: the promise is
//! "your job runs as your notebook does", and code written in a GPU notebook may need CUDA.
//! Dropping them silently would break that; asking for too many is visible and fixable
//! (`resources: {gpu: 0}`). So this says when a pipeline may ask for more GPUs at once than the
//! notebook holds, and refuses GPU jobs that must run on the notebook's own node (a
//! ReadWriteOnce claim), where the notebook holds its GPU and they may never be scheduled.
//! Pure.

use k8s_openapi::api::core::v1::Toleration;

use super::Environment;
use super::resources::{gpus, job_resources};
use super::workdir::Placement;
use crate::pipeline::{Dag, Source, Task};

/// The GPUs each job of `task` asks for.
pub(crate) fn task_gpus(task: &Task, env: &Environment) -> u64 {
    gpus(job_resources(env.resources.as_ref(), &task.resources).as_ref())
}

/// The most GPUs the pipeline may ask for at once, and which stage asks for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Peak {
    pub(crate) gpus: u64,
    /// The stage's tasks that ask for GPUs, most GPUs per job first.
    pub(crate) parts: Vec<Part>,
    /// `parallelism`, when it let fewer of the stage's GPU jobs run at once than there are.
    pub(crate) capped_by: Option<u32>,
}

/// One task of the peak stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    pub(crate) task: String,
    /// Its jobs (sweep points) that run at once.
    pub(crate) jobs: u64,
    /// GPUs each of them asks for.
    pub(crate) each: u64,
}

/// The peak GPU demand: the widest stage of tasks that may all run together, sweep points
/// included, times the GPUs each job asks for, capped by the workflow's `parallelism` (which
/// then counts the hungriest jobs first). `None` when no job asks for a GPU.
///
/// A stage is a set of tasks with no path between them, so all may run at once. Two stagings
/// are tried, each task as early as it can start (its depth) and as late as it can (its height
/// below the last tasks), and the heavier stage counts. The widest such set (a maximum weight
/// antichain) can be heavier still in odd shapes, but finding it needs the whole transitive
/// closure; for fan-out/fan-in pipelines and sweeps, the usual shapes, these stages are it.
pub(crate) fn peak_demand(dag: &Dag, env: &Environment) -> Option<Peak> {
    let each: Vec<u64> = dag.tasks.iter().map(|t| task_gpus(t, env)).collect();
    let depth = dag.levels();
    let height = heights(dag);
    let mut best: Option<Peak> = None;
    for staging in [&depth, &height] {
        let stages = staging.iter().copied().max().map_or(0, |m| m + 1);
        for stage in 0..stages {
            let members: Vec<usize> = (0..dag.tasks.len())
                .filter(|&i| staging[i] == stage && each[i] > 0)
                .collect();
            let peak = stage_demand(dag, &members, &each);
            if peak.gpus > best.as_ref().map_or(0, |b| b.gpus) {
                best = Some(peak);
            }
        }
    }
    best
}

/// How far each task is from the end: 0 for tasks nothing waits for, else 1 + the highest of
/// the tasks waiting for it.
fn heights(dag: &Dag) -> Vec<usize> {
    let mut height = vec![0; dag.tasks.len()];
    for &i in dag.topological_order().iter().rev() {
        for &d in &dag.tasks[i].depends {
            height[d] = height[d].max(height[i] + 1);
        }
    }
    height
}

/// The GPUs one stage asks for at once: every job of its GPU tasks, or under `parallelism` the
/// hungriest ones that fit.
fn stage_demand(dag: &Dag, members: &[usize], each: &[u64]) -> Peak {
    let mut order = members.to_vec();
    // Most GPUs per job first; ties in the order written.
    order.sort_by_key(|&i| std::cmp::Reverse(each[i]));
    let mut room = dag.options.parallelism.map(u64::from);
    let mut parts = Vec::new();
    let mut total: u64 = 0;
    let mut capped = false;
    for i in order {
        let jobs = u64::try_from(dag.tasks[i].job_count()).unwrap_or(u64::MAX);
        let running = room.map_or(jobs, |r| r.min(jobs));
        capped |= running < jobs;
        if let Some(r) = &mut room {
            *r -= running;
        }
        if running == 0 {
            continue;
        }
        total = total.saturating_add(running.saturating_mul(each[i]));
        parts.push(Part {
            task: dag.tasks[i].name.clone(),
            jobs: running,
            each: each[i],
        });
    }
    Peak {
        gpus: total,
        parts,
        capped_by: dag.options.parallelism.filter(|_| capped),
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What the user can do about GPUs a job does not need, said the way its input allows.
fn gpu_zero_hint(dag: &Dag) -> &'static str {
    match dag.source {
        Source::File(_) => "set `gpu: 0` (`resources: {gpu: 0}`) on jobs that need none",
        Source::CommandLine(_) => {
            "in a workflow.yaml, set `gpu: 0` (`resources: {gpu: 0}`) on jobs that need none"
        }
    }
}

/// The note shown before submitting (and with `--dry-run`) when the pipeline may ask for more
/// GPUs at once than the notebook holds: "these jobs may ask for up to 4 GPUs at once (stage
/// `train`: 4 jobs × 1 GPU); the notebook holds 1; set `gpu: 0` …".
pub(crate) fn demand_note(dag: &Dag, env: &Environment) -> Option<String> {
    let peak = peak_demand(dag, env)?;
    if peak.gpus <= env.notebook_gpus {
        return None;
    }
    let part = |p: &Part| {
        format!(
            "{} × {}",
            plural(p.jobs, "job", "jobs"),
            plural(p.each, "GPU", "GPUs")
        )
    };
    let stage = match peak.parts.as_slice() {
        [only] => format!("stage `{}`: {}", only.task, part(only)),
        parts => format!(
            "one stage: {}",
            parts
                .iter()
                .map(|p| format!("`{}` {}", p.task, part(p)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let cap = peak
        .capped_by
        .map(|p| format!(", as `parallelism: {p}` allows"))
        .unwrap_or_default();
    let held = match env.notebook_gpus {
        0 => "none".to_owned(),
        n => n.to_string(),
    };
    Some(format!(
        "these jobs may ask for up to {} at once ({stage}{cap}); the notebook holds {held}; {}",
        plural(peak.gpus, "GPU", "GPUs"),
        gpu_zero_hint(dag)
    ))
}

/// The tasks whose jobs ask for GPUs, by name.
fn gpu_tasks(dag: &Dag, env: &Environment) -> Vec<String> {
    dag.tasks
        .iter()
        .filter(|t| task_gpus(t, env) > 0)
        .map(|t| t.name.clone())
        .collect()
}

/// GPU jobs that would have to run on the notebook's node, where the notebook holds its GPUs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{} {} for GPUs, but job pods must run on the notebook's node{} (claim `{claim}` is ReadWriteOnce), where {}: they may wait for a GPU forever",
    jobs_text(.jobs),
    if .jobs.len() == 1 { "asks" } else { "ask" },
    .node.as_ref().map(|n| format!(" {n}")).unwrap_or_default(),
    held_text(*.notebook_gpus)
)]
pub(crate) struct PinnedGpus {
    pub(crate) node: Option<String>,
    pub(crate) claim: String,
    /// The tasks whose jobs ask for GPUs.
    pub(crate) jobs: Vec<String>,
    pub(crate) notebook_gpus: u64,
    /// Whether the pipeline came from a workflow.yaml (where `gpu: 0` can be written).
    pub(crate) from_file: bool,
}

fn jobs_text(jobs: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut names: Vec<String> = jobs.iter().take(SHOWN).map(|j| format!("`{j}`")).collect();
    if jobs.len() > SHOWN {
        names.push(format!("{} more", jobs.len() - SHOWN));
    }
    let word = if jobs.len() == 1 { "job" } else { "jobs" };
    format!("{word} {}", names.join(", "))
}

fn held_text(notebook_gpus: u64) -> String {
    match notebook_gpus {
        0 => "the notebook holds none, and the node may have none".to_owned(),
        n => format!("the notebook itself holds {}", plural(n, "GPU", "GPUs")),
    }
}

impl PinnedGpus {
    pub(crate) fn hint(&self) -> String {
        let zero = if self.from_file {
            "set `gpu: 0` (`resources: {gpu: 0}`) on jobs that need no GPU"
        } else {
            "run the pipeline from a workflow.yaml with `gpu: 0` (`resources: {gpu: 0}`) on jobs that need no GPU"
        };
        format!(
            "{zero}, put the working directory on a ReadWriteMany volume, or pass --allow-gpu-on-notebook-node if the node has more GPUs than the notebook uses"
        )
    }
}

/// The GPU check on where job pods run: GPU jobs pinned to the notebook's node are refused,
/// unless `allow` (`--allow-gpu-on-notebook-node`), which leaves a note. When the claim's access
/// mode is unknown (a pod file), a note says what a submission would do. `Ok(None)`: nothing to
/// say.
pub(crate) fn check_placement(
    dag: &Dag,
    env: &Environment,
    placement: &Placement,
    allow: bool,
) -> Result<Option<String>, PinnedGpus> {
    let (claim, certain) = match placement {
        Placement::Anywhere => return Ok(None),
        Placement::NotebookNode { claim } => (claim, true),
        Placement::MaybeNotebookNode { claim } => (claim, false),
    };
    let jobs = gpu_tasks(dag, env);
    if jobs.is_empty() {
        return Ok(None);
    }
    let refusal = PinnedGpus {
        node: env.node_name.clone(),
        claim: claim.clone(),
        jobs,
        notebook_gpus: env.notebook_gpus,
        from_file: matches!(dag.source, Source::File(_)),
    };
    match (certain, allow) {
        (true, false) => Err(refusal),
        (true, true) => Ok(Some(format!(
            "--allow-gpu-on-notebook-node: {} {} GPUs on the notebook's node{}, where {}",
            jobs_text(&refusal.jobs),
            if refusal.jobs.len() == 1 {
                "asks for"
            } else {
                "ask for"
            },
            refusal
                .node
                .as_ref()
                .map(|n| format!(" {n}"))
                .unwrap_or_default(),
            held_text(refusal.notebook_gpus)
        ))),
        (false, true) => Ok(None),
        (false, false) => Ok(Some(format!(
            "if claim `{claim}` is ReadWriteOnce, a submission would be refused: {refusal}; {}",
            refusal.hint()
        ))),
    }
}

/// The tolerations of a job that asks for `job_gpus` GPUs: `base` plus each of the config's
/// `gpu_tolerations` it does not have yet (an unset operator is `Equal`, as in Kubernetes).
/// A job without GPUs gets `base` as it is.
pub(crate) fn tolerations_for(
    base: &[Toleration],
    job_gpus: u64,
    gpu_tolerations: &[Toleration],
) -> Vec<Toleration> {
    let mut all = base.to_vec();
    if job_gpus == 0 {
        return all;
    }
    for extra in gpu_tolerations {
        if !all.iter().any(|t| same_toleration(t, extra)) {
            all.push(extra.clone());
        }
    }
    all
}

/// Two tolerations that tolerate the same taints the same way.
pub(crate) fn same_toleration(a: &Toleration, b: &Toleration) -> bool {
    let operator = |t: &Toleration| t.operator.clone().unwrap_or_else(|| "Equal".to_owned());
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    text(&a.key) == text(&b.key)
        && operator(a) == operator(b)
        && text(&a.value) == text(&b.value)
        && text(&a.effect) == text(&b.effect)
        && a.toleration_seconds == b.toleration_seconds
}

#[cfg(test)]
mod tests;
