//! Command-line arguments: clap types only. Their doc comments are the `--help` text.
//! `settings` turns them into what the commands use; nothing else reads these types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Run a notebook's code as a pipeline: on Kubernetes with Argo Workflows, in the notebook's own
/// image, volumes and working directory — or locally, as processes.
#[derive(Debug, Parser)]
#[command(name = "jupyterflow", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline (locally where no cluster is configured; `--dry-run --pod-file` prints its Argo Workflow)
    Run(RunArgs),
    /// Check a pipeline without rendering or running it
    Lint(InputArgs),
    /// Draw a pipeline's jobs and dependencies
    Graph(GraphArgs),
    /// Show the effective configuration, or write a commented template
    Config(ConfigArgs),
    /// List runs (local runs of this directory)
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Show a run and each of its jobs
    Get(GetArgs),
    /// Print a run's job logs, each line prefixed with the job name
    Logs(LogsArgs),
    /// Delete runs and their logs
    #[command(visible_alias = "rm")]
    Delete(DeleteArgs),
}

/// Where the pipeline comes from: exactly one of `-c` and `-f`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Input {
    /// The pipeline as a one-liner: `"python prep.py >> [python a.py, python b.py] >> python eval.py"`;
    /// `{0.1,0.01}` sweeps a value
    #[arg(short = 'c', long = "command", value_name = "PIPELINE")]
    pub command: Option<String>,
    /// A workflow.yaml: jobs, dependencies, sweeps, schedule
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InputArgs {
    #[command(flatten)]
    pub input: Input,
    /// Run every command with /bin/sh -c (default: only commands that use shell syntax)
    #[arg(long)]
    pub shell: bool,
}

#[derive(Debug, Args)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "command-line switches are bools"
)]
pub struct RunArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Print what would be submitted instead of submitting it
    #[arg(long)]
    pub dry_run: bool,
    /// Take the notebook environment from this Pod (JSON or YAML) instead of the live pod
    #[arg(long, value_name = "FILE")]
    pub pod_file: Option<PathBuf>,
    /// Keep the notebook image's tag instead of pinning jobs to the running digest
    #[arg(long)]
    pub no_pin_image: bool,
    /// Output format: yaml, json, name, or jsonpath=EXPR (`{.metadata.name}` or `metadata.name`)
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<String>,
    /// Run the jobs on this machine, as processes (the default where no cluster is configured)
    #[arg(long, conflicts_with = "argo")]
    pub local: bool,
    /// Use the Argo backend: with --dry-run --pod-file, print the Workflow for that pod
    #[arg(long)]
    pub argo: bool,
    /// Most jobs running at once (default: the number of CPUs; the workflow's `parallelism` caps it)
    #[arg(short = 'p', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub parallelism: Option<u32>,
    /// After a failure, keep running every job that does not depend on it (default: fail fast)
    #[arg(long)]
    pub keep_going: bool,
    /// Also stream every job's output to the terminal, each line prefixed with the job name
    #[arg(long, short = 'v', visible_alias = "verbose")]
    pub follow: bool,
    /// Print only the run's name and errors: no progress, no summary
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// Which runs: local runs are kept under `.jupyterflow/runs` of the working directory
/// (`log_dir` in the config).
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Use the local run history (the only one in this version; accepted for scripts)
    #[arg(long)]
    pub local: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Only runs still running
    #[arg(long, conflicts_with = "completed")]
    pub running: bool,
    /// Only finished runs
    #[arg(long)]
    pub completed: bool,
    /// Output format: wide, name, json or yaml (default: a table)
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<String>,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    #[command(flatten)]
    pub history: HistoryArgs,
    /// The run (`@latest` for the newest)
    pub run: String,
    /// Output format: json or yaml (default: a summary and a table of jobs)
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub history: HistoryArgs,
    /// The run (`@latest` for the newest)
    pub run: String,
    /// Only this job (a job name, or a task name for all its sweep points)
    pub job: Option<String>,
    /// Keep printing new lines until the run ends
    #[arg(short = 'f', long)]
    pub follow: bool,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub history: HistoryArgs,
    /// The runs to delete (`@latest` for the newest)
    #[arg(required_unless_present = "completed")]
    pub runs: Vec<String>,
    /// Delete every finished run
    #[arg(long)]
    pub completed: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum GraphFormat {
    /// Text, one stage per block
    Ascii,
    /// Mermaid flowchart (paste into Markdown or a notebook)
    Mermaid,
    /// Graphviz dot
    Dot,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Drawing format
    #[arg(long, value_enum, default_value_t = GraphFormat::Ascii)]
    pub format: GraphFormat,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Write a commented template to the config file path ($JUPYTERFLOW_CONFIG_FILE or ~/.jupyterflow.yaml)
    #[arg(long)]
    pub generate_config: bool,
    /// With --generate-config: overwrite an existing file
    #[arg(long, requires = "generate_config")]
    pub force: bool,
}
