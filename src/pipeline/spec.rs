//! The pipeline as the user wrote it (`Pipeline`, `JobSpec`, `EdgeSpec`, `WorkflowOptions`),
//! before any check: what the `-c` and workflow.yaml parsers produce and `dag` validates.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::Param;
use super::command::CommandTemplate;

/// Where a pipeline came from: shown in errors and kept as an annotation on the workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `jupyterflow run -c "a >> b"`
    CommandLine(String),
    /// `jupyterflow run -f workflow.yaml`
    File(PathBuf),
}

impl Source {
    /// A short label for messages: `-c` or the file path.
    pub fn label(&self) -> String {
        match self {
            Source::CommandLine(_) => "-c".to_owned(),
            Source::File(path) => path.display().to_string(),
        }
    }
}

/// A 1-based line (and column) in the source, when the input has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

/// How a job names the jobs it waits for: by name, or by 1-based position (the original format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobRef {
    Name(String),
    Index(usize),
}

impl std::fmt::Display for JobRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobRef::Name(name) => f.write_str(name),
            JobRef::Index(index) => write!(f, "{index}"),
        }
    }
}

/// One sweep dimension: a key (a matrix key, or `p1`, `p2`… for `-c` braces) and its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Axis {
    pub key: String,
    pub values: Vec<String>,
}

/// The `resources` shorthand of a job: quantities as written, checked by `dag`. `gpu: 0`
/// removes the notebook's GPUs (every `*/gpu` resource) from the job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceSpec {
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub gpu: Option<String>,
}

impl ResourceSpec {
    pub fn is_empty(&self) -> bool {
        self.cpu.is_none() && self.memory.is_none() && self.gpu.is_none()
    }
}

/// A Kubernetes toleration as written in workflow.yaml, already checked by the parser as the
/// API server would check it: `operator` is `Exists` or `Equal` (`None`: Equal), `effect` is
/// `NoSchedule`, `PreferNoSchedule` or `NoExecute` (`None`: every effect).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TolerationSpec {
    pub key: Option<String>,
    pub operator: Option<String>,
    pub value: Option<String>,
    pub effect: Option<String>,
    pub toleration_seconds: Option<i64>,
}

/// A job as written. `command` is already tokenised (see `command`), so quoting, shell syntax
/// and sweep placeholders are settled at parse time, where the text and its position are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    /// Explicit name (workflow.yaml mapping form); otherwise derived from the command.
    pub name: Option<String>,
    /// The command text as the user wrote it (for messages, plans and annotations).
    pub text: String,
    pub command: CommandTemplate,
    /// Sweep dimensions; the job expands to their cartesian product. Empty: one job.
    pub axes: Vec<Axis>,
    pub depends: Vec<JobRef>,
    pub env: Vec<(String, String)>,
    pub resources: ResourceSpec,
    /// Merged over the notebook's node selector (a key here replaces the notebook's).
    pub node_selector: BTreeMap<String, String>,
    /// Appended to the notebook's tolerations.
    pub tolerations: Vec<TolerationSpec>,
    pub retries: Option<u32>,
    pub timeout: Option<Duration>,
    pub pos: Option<Pos>,
}

impl JobSpec {
    /// A plain job: just a command, nothing else.
    pub fn new(text: String, command: CommandTemplate, pos: Option<Pos>) -> Self {
        JobSpec {
            name: None,
            text,
            command,
            axes: Vec::new(),
            depends: Vec::new(),
            env: Vec::new(),
            resources: ResourceSpec::default(),
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            retries: None,
            timeout: None,
            pos,
        }
    }
}

/// An edge from a `dags:` line (`1 >> 2`, `prep >> [a, b] >> eval`): `to` waits for `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeSpec {
    pub from: JobRef,
    pub to: JobRef,
    pub pos: Option<Pos>,
}

/// What Argo does when a scheduled run is due while the previous one still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConcurrencyPolicy {
    Allow,
    Forbid,
    Replace,
}

impl ConcurrencyPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ConcurrencyPolicy::Allow => "Allow",
            ConcurrencyPolicy::Forbid => "Forbid",
            ConcurrencyPolicy::Replace => "Replace",
        }
    }
}

/// What runs a notebook step's injected notebook: `notebook_engine:` in workflow.yaml, or
/// `run --notebook-engine`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NotebookEngine {
    /// nbclient (else `jupyter nbconvert --execute`): what Jupyter itself installs.
    #[default]
    Nbclient,
    /// papermill, which the image must have: the job fails at once without it.
    Papermill,
}

impl NotebookEngine {
    /// The names as written, for messages and did-you-mean.
    pub const NAMES: [&'static str; 2] = ["nbclient", "papermill"];

    pub fn parse(text: &str) -> Option<NotebookEngine> {
        match text.trim().to_ascii_lowercase().as_str() {
            "nbclient" => Some(NotebookEngine::Nbclient),
            "papermill" => Some(NotebookEngine::Papermill),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NotebookEngine::Nbclient => "nbclient",
            NotebookEngine::Papermill => "papermill",
        }
    }
}

/// Workflow-level settings from workflow.yaml (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkflowOptions {
    pub parallelism: Option<u32>,
    /// Default `retries` for jobs that do not set their own.
    pub retries: Option<u32>,
    /// Default `timeout` for jobs that do not set their own.
    pub timeout: Option<Duration>,
    /// Delete a finished run after this long.
    pub ttl: Option<Duration>,
    pub schedule: Option<String>,
    pub schedule_pos: Option<Pos>,
    pub timezone: Option<String>,
    pub timezone_pos: Option<Pos>,
    pub concurrency_policy: Option<ConcurrencyPolicy>,
    pub labels: BTreeMap<String, String>,
    /// `params:` in the order written, with `--set` applied (`Pipeline::set_params`).
    pub params: Vec<Param>,
    /// `notebook_engine:`, or `run --notebook-engine` over it.
    pub notebook_engine: NotebookEngine,
}

/// A pipeline as written, from `-c` or workflow.yaml. Not yet checked: see `dag::Dag::build`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    pub name: Option<String>,
    pub source: Source,
    pub jobs: Vec<JobSpec>,
    pub edges: Vec<EdgeSpec>,
    pub options: WorkflowOptions,
}
