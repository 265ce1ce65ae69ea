//! A rendered Argo object (`Manifest`: a Workflow or a CronWorkflow) and the limits Kubernetes
//! and Argo enforce on it, checked before anything is printed or submitted. Pure.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::types::{CronWorkflow, Workflow, WorkflowSpec};

/// Argo's CRD caps: tasks in one DAG template, templates in one workflow.
pub const MAX_DAG_TASKS: usize = 200;
pub const MAX_TEMPLATES: usize = 200;
/// Argo appends a timestamp to a CronWorkflow's name for each run it starts.
pub const MAX_CRON_NAME: usize = 52;
/// etcd refuses objects over 1.5 MiB; leave room for the status Argo adds.
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
    pub fn check_limits(&self) -> Result<(), RenderError> {
        let templates = self.spec().templates.len();
        if templates > MAX_TEMPLATES {
            return Err(RenderError::TooManyTemplates { templates });
        }
        let bytes = serde_json::to_vec(self).map_or(0, |v| v.len());
        if bytes > MAX_MANIFEST_BYTES {
            return Err(RenderError::TooLarge { bytes });
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(
        "job `{job}`: the command contains `{{{{`, which Argo reads as its own template syntax"
    )]
    TemplateSyntax { job: String },
    #[error("the workflow needs {templates} templates; Argo allows {MAX_TEMPLATES}")]
    TooManyTemplates { templates: usize },
    #[error("the workflow is {bytes} bytes of JSON; Kubernetes stores objects up to about 1.5 MiB")]
    TooLarge { bytes: usize },
    #[error("labels: `{key}: {value}` {problem}")]
    InvalidLabel {
        key: String,
        value: String,
        problem: &'static str,
    },
}

impl RenderError {
    pub fn hint(&self) -> &'static str {
        match self {
            RenderError::TemplateSyntax { .. } => {
                "move that part of the command into a script file and run the script"
            }
            RenderError::TooManyTemplates { .. } => {
                "fewer jobs with their own env/resources/retries/timeout, or split the pipeline"
            }
            RenderError::TooLarge { .. } => {
                "express repeated jobs as a sweep (`matrix` or {a,b} braces), which costs ~30 bytes a point, or split the pipeline"
            }
            RenderError::InvalidLabel { .. } => {
                "keys are `name` or `prefix/name` and values at most 63 characters of letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit; jupyterflow's own labels cannot be set"
            }
        }
    }
}
