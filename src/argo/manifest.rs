//! A rendered Argo object (`Manifest`: a Workflow or a CronWorkflow) and the limits Kubernetes
//! and Argo enforce on it, checked before anything is printed or submitted. Pure.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::status_size;
use super::types::{CronWorkflow, Workflow, WorkflowSpec};
use crate::pipeline::error::thousands;

/// Argo's CRD caps: tasks in one DAG template, templates in one workflow.
pub const MAX_DAG_TASKS: usize = 200;
pub const MAX_TEMPLATES: usize = 200;
/// Argo appends a timestamp to a CronWorkflow's name for each run it starts.
pub const MAX_CRON_NAME: usize = 52;
/// etcd refuses objects over 1.5 MiB; 1 MiB leaves room for the status Argo writes into the
/// same object as the run goes. It is also Argo's own limit on the object with its status
/// (`maxWorkflowSize`): past it, Argo compresses the node status, and errors the run when the
/// object is still over it (see `status_size`).
pub const MAX_MANIFEST_BYTES: usize = 1024 * 1024;
/// Kubernetes appends 5 random characters to `generateName`; Argo names a CronWorkflow's runs
/// `<name>-<unix time>`.
const GENERATED_SUFFIX: usize = 5;
const CRON_RUN_SUFFIX: usize = 11;

/// A rendered object: what `run` submits and `--dry-run` prints.
#[derive(Debug, Clone, PartialEq)]
pub enum Manifest {
    Workflow(Box<Workflow>),
    Cron(Box<CronWorkflow>),
}

impl Serialize for Manifest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Manifest::Workflow(w) => w.serialize(s),
            Manifest::Cron(c) => c.serialize(s),
        }
    }
}

impl Manifest {
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Manifest::Workflow(w) => &w.metadata,
            Manifest::Cron(c) => &c.metadata,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Manifest::Workflow(_) => "Workflow",
            Manifest::Cron(_) => "CronWorkflow",
        }
    }

    fn spec(&self) -> &WorkflowSpec {
        match self {
            Manifest::Workflow(w) => &w.spec,
            Manifest::Cron(c) => &c.spec.workflow_spec,
        }
    }

    /// The object as a submission names it, where that is known before submitting: a
    /// CronWorkflow keeps one plain name (a schedule is one object; Argo caps the name at 52
    /// characters), while a Workflow's `generateName` gets its random suffix only then.
    #[must_use]
    pub fn as_submitted(mut self) -> Manifest {
        if let Manifest::Cron(cron) = &mut self
            && let Some(prefix) = cron.metadata.generate_name.take()
        {
            let mut name: String = prefix.chars().take(MAX_CRON_NAME).collect();
            while name.ends_with(['-', '.']) {
                name.pop();
            }
            cron.metadata.name = Some(name);
        }
        self
    }

    /// The length of the name a run of this object gets: a Workflow's `generateName` plus
    /// Kubernetes' suffix; a CronWorkflow's (at most 52 characters) plus Argo's timestamp.
    fn run_name_len(&self) -> usize {
        let meta = self.metadata();
        let name = meta
            .name
            .as_deref()
            .or(meta.generate_name.as_deref())
            .map_or(0, str::len);
        match self {
            Manifest::Workflow(_) if meta.name.is_some() => name,
            Manifest::Workflow(_) => name + GENERATED_SUFFIX,
            Manifest::Cron(_) => name.min(MAX_CRON_NAME) + CRON_RUN_SUFFIX,
        }
    }

    /// Refuses what Kubernetes or Argo would refuse: too many templates, too big an object,
    /// or an object that outgrows Argo's limit once the status of its nodes is in. When the
    /// count and a size are both over, the size is the one reported (it is what binds a
    /// plain pipeline: ~3,400 chained tasks fill 1 MiB with their status, 39,600 fill the
    /// templates) and the count rides along.
    pub fn check_limits(&self) -> Result<(), RenderError> {
        let spec = self.spec();
        let own = spec
            .templates
            .iter()
            .filter(|t| t.container.is_some() && t.name != SHARED_TEMPLATE)
            .count();
        // Job tasks, wherever nesting put them (a nested part's own task is not one).
        let tasks = spec
            .templates
            .iter()
            .filter_map(|t| t.dag.as_ref())
            .flat_map(|d| &d.tasks)
            .filter(|t| !t.template.starts_with(PART_PREFIX))
            .count();
        let size = json_size(self);
        let limits = Limits {
            kind: self.kind(),
            templates: spec.templates.len(),
            own,
            tasks,
            bytes: size.bytes,
        };
        if limits.bytes > MAX_MANIFEST_BYTES {
            return Err(RenderError::TooLarge(limits));
        }
        // As Argo measures it: Go's JSON of the spec, plus the status the run will add.
        let status = status_size::estimate(spec, self.run_name_len());
        let at_run = size.as_go_writes_it() + status.bytes();
        if at_run > MAX_MANIFEST_BYTES {
            // What does not grow with the jobs, for how many fit: the object less its DAG
            // tasks and the status less its fixed part. Worked out only when refusing.
            let tasks: usize = spec
                .templates
                .iter()
                .filter_map(|t| t.dag.as_ref())
                .flat_map(|d| &d.tasks)
                .map(|t| json_size(t).as_go_writes_it() + 1)
                .sum();
            let fixed = size.as_go_writes_it().saturating_sub(tasks) + status.fixed_bytes();
            return Err(RenderError::TooLargeToRun(RunSize {
                limits,
                jobs: status.pods,
                nodes: status.nodes(),
                bytes: at_run,
                fixed,
            }));
        }
        if limits.templates > MAX_TEMPLATES {
            return Err(RenderError::TooManyTemplates(limits));
        }
        Ok(())
    }
}

/// The size of an object as JSON.
#[derive(Debug, Clone, Copy, Default)]
struct JsonSize {
    bytes: usize,
    /// `<`, `>` and `&`, which Go's `encoding/json` (the API server's and Argo's) writes as
    /// six-byte escapes: every `depends: "a && b"` is 10 bytes longer there.
    escaped: usize,
}

impl JsonSize {
    fn as_go_writes_it(self) -> usize {
        self.bytes + 5 * self.escaped
    }
}

/// The size of `value` as JSON, counted as it is written rather than kept: a workflow near the
/// job cap is tens of MB of JSON, which a lint or a refused run never needs in memory.
fn json_size(value: &impl Serialize) -> JsonSize {
    struct Count(JsonSize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.bytes += buf.len();
            self.0.escaped += buf
                .iter()
                .filter(|&&b| matches!(b, b'<' | b'>' | b'&'))
                .count();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(JsonSize::default());
    // Writing to `Count` cannot fail, and our types always serialize.
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => JsonSize::default(),
    }
}

/// The shared template of plain jobs, and the name prefix of nested DAG parts (see `render`).
pub(crate) const SHARED_TEMPLATE: &str = "job";
pub(crate) const PART_PREFIX: &str = "part-";

/// What a rendered object holds, for the messages of `RenderError`'s size and count limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `Workflow` or `CronWorkflow`.
    pub kind: &'static str,
    pub templates: usize,
    /// Templates of jobs with their own env/resources/node_selector/tolerations/retries/timeout.
    pub own: usize,
    /// Job tasks (one per command; a sweep is one task).
    pub tasks: usize,
    /// The object as JSON.
    pub bytes: usize,
}

/// A workflow that fits as submitted but not once Argo writes its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSize {
    pub limits: Limits,
    /// Jobs: tasks and sweep points (a Pod node each).
    pub jobs: usize,
    /// Nodes of the status: jobs, sweeps' TaskGroups, Retry nodes, DAG nodes.
    pub nodes: usize,
    /// The object with its estimated status, as Argo measures it.
    pub bytes: usize,
    /// The part of `bytes` that does not grow with the jobs (the container spec, metadata,
    /// the status' fixed fields).
    pub fixed: usize,
}

impl RunSize {
    /// How many jobs of this size fit: the room the fixed part leaves, at this object's bytes
    /// per job, to two significant digits, rounded down.
    pub fn jobs_that_fit(&self) -> usize {
        let room = MAX_MANIFEST_BYTES.saturating_sub(self.fixed);
        let fit = self.jobs.saturating_mul(room) / self.bytes.saturating_sub(self.fixed).max(1);
        let unit = 10usize.pow(fit.checked_ilog10().unwrap_or(0).saturating_sub(1));
        fit / unit * unit
    }

    fn bytes_per_job(&self) -> usize {
        self.bytes.saturating_sub(self.fixed) / self.jobs.max(1)
    }
}

impl Limits {
    /// How many tasks fit in `MAX_TEMPLATES` next to `main`, `job` and the own templates:
    /// every `MAX_DAG_TASKS` tasks take one nested part.
    fn tasks_that_fit(&self) -> usize {
        let parts = MAX_TEMPLATES.saturating_sub(2 + self.own);
        (parts * MAX_DAG_TASKS).max(MAX_DAG_TASKS)
    }

    fn template_note(&self) -> String {
        if self.templates > MAX_TEMPLATES {
            format!(
                "; it also needs {} templates, and Argo allows {MAX_TEMPLATES}",
                self.templates
            )
        } else {
            String::new()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(
        "job `{job}`: the command contains `{{{{`, which Argo reads as its own template syntax"
    )]
    TemplateSyntax { job: String },
    #[error("the {} needs {} templates; Argo allows {MAX_TEMPLATES}", .0.kind, .0.templates)]
    TooManyTemplates(Limits),
    #[error(
        "the {kind} is {bytes} bytes as JSON, over the {max} bytes (1 MiB) jupyterflow submits{note}",
        kind = .0.kind,
        bytes = thousands(.0.bytes as u64),
        max = thousands(MAX_MANIFEST_BYTES as u64),
        note = .0.template_note()
    )]
    TooLarge(Limits),
    #[error(
        "the {kind} would grow to about {bytes} bytes once Argo records the status of its {nodes} nodes, over the {max} bytes (1 MiB) Argo keeps in one object: at ~{per_job} bytes a job, about {fit} jobs fit in one workflow (this pipeline has {jobs}){note}",
        kind = .0.limits.kind,
        bytes = thousands(.0.bytes as u64),
        nodes = thousands(.0.nodes as u64),
        max = thousands(MAX_MANIFEST_BYTES as u64),
        per_job = thousands(.0.bytes_per_job() as u64),
        fit = thousands(.0.jobs_that_fit() as u64),
        jobs = thousands(.0.jobs as u64),
        note = .0.limits.template_note()
    )]
    TooLargeToRun(RunSize),
    #[error("labels: `{key}: {value}` {problem}")]
    InvalidLabel {
        key: String,
        value: String,
        problem: &'static str,
    },
}

impl RenderError {
    /// Whether this is about the size of what Argo holds, not about what the pipeline says:
    /// the same pipeline runs locally as it is.
    pub fn is_argo_capacity(&self) -> bool {
        matches!(
            self,
            RenderError::TooManyTemplates(_)
                | RenderError::TooLarge(_)
                | RenderError::TooLargeToRun(_)
        )
    }

    pub fn hint(&self) -> String {
        const LOCAL: &str = "`run --local` runs it as it is";
        match self {
            RenderError::TemplateSyntax { .. } => {
                "move that part of the command into a script file and run the script".to_owned()
            }
            RenderError::TooManyTemplates(limits) => {
                format!("{}; {LOCAL}", templates_hint(limits))
            }
            RenderError::TooLarge(limits) => {
                let mut hint = "everything in it counts (the notebook's container spec once, ~140 bytes a task, ~30 a sweep point), and 1 MiB leaves room in etcd's 1.5 MiB for the status Argo adds: express repeated jobs as a sweep (`matrix` or {a,b} braces), or split the pipeline".to_owned();
                if limits.templates > MAX_TEMPLATES {
                    hint.push_str("; ");
                    hint.push_str(&templates_hint(limits));
                }
                format!("{hint}; {LOCAL}")
            }
            RenderError::TooLargeToRun(size) => {
                let mut hint = format!(
                    "as the run goes, Argo writes every job's status into the same object, compressed, and it errors the run past 1 MiB unless node-status offload is set up: express repeated jobs as a sweep (`matrix` or {{a,b}} braces), ~30 bytes of spec a point where a task takes ~140 (the status is per job either way), or split the pipeline into workflows of at most {} jobs",
                    thousands(size.jobs_that_fit() as u64)
                );
                if size.limits.templates > MAX_TEMPLATES {
                    hint.push_str("; ");
                    hint.push_str(&templates_hint(&size.limits));
                }
                format!("{hint}; {LOCAL}")
            }
            RenderError::InvalidLabel { .. } => {
                "keys are `name` or `prefix/name` and values at most 63 characters of letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit; jupyterflow's own labels cannot be set".to_owned()
            }
        }
    }
}

/// What makes the templates: jobs with their own settings, when there are any, and the
/// nested DAG parts (one per 200 tasks). Only blames what is there.
fn templates_hint(limits: &Limits) -> String {
    let parts = limits.templates.saturating_sub(2 + limits.own);
    if limits.own > 0 {
        let room = MAX_TEMPLATES.saturating_sub(2 + parts);
        format!(
            "{} jobs set their own env/resources/node_selector/tolerations/retries/timeout and get a template each; with {parts} nested DAG templates (one per {MAX_DAG_TASKS} tasks) there is room for {room}: move settings they share to the workflow level (`retries:`, `timeout:`), or split the pipeline",
            limits.own
        )
    } else {
        format!(
            "besides `main` and `job`, every {MAX_DAG_TASKS} tasks take a nested DAG template, so at most {} tasks fit (this pipeline has {}): use sweeps for repeated jobs, or split the pipeline",
            thousands(limits.tasks_that_fit() as u64),
            thousands(limits.tasks as u64)
        )
    }
}
