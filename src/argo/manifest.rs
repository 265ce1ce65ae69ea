//! A rendered Argo object (`Manifest`: a Workflow or a CronWorkflow) and the limits Kubernetes
//! and Argo enforce on it, checked before anything is printed or submitted. Pure.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::types::{CronWorkflow, Workflow, WorkflowSpec};
use crate::pipeline::error::thousands;

/// Argo's CRD caps: tasks in one DAG template, templates in one workflow.
pub const MAX_DAG_TASKS: usize = 200;
pub const MAX_TEMPLATES: usize = 200;
/// Argo appends a timestamp to a CronWorkflow's name for each run it starts.
pub const MAX_CRON_NAME: usize = 52;
/// etcd refuses objects over 1.5 MiB; 1 MiB leaves room for the status Argo writes into the
/// same object as the run goes.
pub const MAX_MANIFEST_BYTES: usize = 1024 * 1024;

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

    /// Refuses what Kubernetes or Argo would refuse: too many templates or too big an object.
    /// When both are true, the size is the one reported (it is what binds a plain pipeline:
    /// ~7,000 tasks fill 1 MiB, 39,600 fill the templates) and the count rides along.
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
        let limits = Limits {
            kind: self.kind(),
            templates: spec.templates.len(),
            own,
            tasks,
            bytes: json_size(self),
        };
        if limits.bytes > MAX_MANIFEST_BYTES {
            return Err(RenderError::TooLarge(limits));
        }
        if limits.templates > MAX_TEMPLATES {
            return Err(RenderError::TooManyTemplates(limits));
        }
        Ok(())
    }
}

/// The size of `value` as JSON, counted as it is written rather than kept: a workflow near the
/// job cap is tens of MB of JSON, which a lint or a refused run never needs in memory.
fn json_size(value: &impl Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to `Count` cannot fail, and our types always serialize.
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => 0,
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
            RenderError::TooManyTemplates(_) | RenderError::TooLarge(_)
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
