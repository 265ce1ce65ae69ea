//! Command-line arguments: clap types only. Their doc comments are the `--help` text, and
//! conflicts between flags are declared here so clap refuses them. `settings` turns them into
//! what the commands use; nothing else reads these types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::pipeline::ParamSet;

/// Run a notebook's code as a pipeline: on Kubernetes with Argo Workflows, in the notebook's own
/// image, volumes and working directory — or locally, as processes.
#[derive(Debug, Parser)]
#[command(name = "jupyterflow", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where `run` runs, said once here so `--help` answers it.
const RUN_AFTER_HELP: &str = "Where it runs: --local or --argo when given; --pod, -n and --context mean the cluster \
(refused where none is configured); otherwise $JUPYTERFLOW_BACKEND or the config's `backend`, \
else the cluster inside a notebook pod and this machine elsewhere. \
`--dry-run --pod-file POD.json` prints the Argo Workflow a notebook pod would submit, from anywhere.";

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a pipeline: on the cluster from a notebook pod (an Argo Workflow), else locally
    #[command(after_help = RUN_AFTER_HELP)]
    Run(RunArgs),
    /// Check a pipeline without rendering or running it
    Lint(LintArgs),
    /// Draw a pipeline's jobs and dependencies
    Graph(GraphArgs),
    /// Show the effective configuration, or write a commented template
    Config(ConfigArgs),
    /// List runs (the cluster's from a notebook pod, else local runs of this directory)
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Show a run and each of its jobs
    Get(GetArgs),
    /// Follow a cluster run live until it ends
    Watch(WatchArgs),
    /// Print a run's job logs, each line prefixed with the job name
    Logs(LogsArgs),
    /// Stop a cluster run: no new jobs start, running ones finish (exit handlers run)
    Stop(RunRefArgs),
    /// Terminate a cluster run now: running jobs are killed
    Terminate(RunRefArgs),
    /// Start a new cluster run from an earlier run's spec
    Resubmit(ResubmitArgs),
    /// Run again what did not succeed in a run (and what depends on it), on the same backend
    Retry(RetryArgs),
    /// Delete runs (and their logs)
    #[command(visible_alias = "rm")]
    Delete(DeleteArgs),
    /// Check that `run` will work here (in a notebook terminal), and say what to change if not
    Doctor(DoctorArgs),
    /// Print a shell completion script: `source <(jupyterflow completions bash)`
    Completions(CompletionsArgs),
    /// Print the man page (roff): `jupyterflow man > jupyterflow.1`
    Man,
    /// Print jupyterflow's version
    Version,
    /// Run one cluster job's command as its container would, keeping its output on the shared
    /// volume too (what job pods run; not for users)
    #[command(hide = true)]
    ExecJob(ExecJobArgs),
    /// Write the IPython extension (`%load_ext jupyterflow`) into DIR, where the wheel did not:
    /// `jupyterflow ipython-extension "$(python3 -m site --user-site)"`
    IpythonExtension(IpythonExtensionArgs),
}

#[derive(Debug, Args)]
pub(crate) struct IpythonExtensionArgs {
    /// A folder on the notebook kernel's Python path (its user site-packages, for one)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// `exec-job --workflow NAME -- COMMAND…`: the job's identity comes from the downward-API
/// variables the job template sets (`argo::supervisor`).
#[derive(Debug, Args)]
pub(crate) struct ExecJobArgs {
    /// The workflow (Argo substitutes `{{workflow.name}}`): names the run folder
    #[arg(long, value_name = "NAME", value_parser = parse_folder_name)]
    pub workflow: String,
    /// The job's command, exactly as the container ran it before: `/bin/sh -c SCRIPT`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// A run folder's name: one plain path component, so the run folder stays under
/// `.jupyterflow/runs` (Argo's workflow names always are).
fn parse_folder_name(text: &str) -> Result<String, String> {
    if text.is_empty() || text.starts_with('.') || text.contains(['/', '\\', '\0']) {
        return Err(format!(
            "`{text}` cannot name a run folder: a workflow name has no `/` and does not start with `.`"
        ));
    }
    Ok(text.to_owned())
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The notebook pod to check (default: this pod, $HOSTNAME)
    #[arg(long, value_name = "NAME")]
    pub pod: Option<String>,
    /// Output format: json (default: a table, then what to fix)
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Where the pipeline comes from: exactly one of `-c` and `-f`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct Input {
    /// The pipeline as a one-liner: `"python prep.py >> [python a.py, python b.py] >> python eval.py"`;
    /// `{0.1,0.01}` sweeps a value
    #[arg(short = 'c', long = "command", value_name = "PIPELINE")]
    pub command: Option<String>,
    /// A workflow.yaml: jobs, dependencies, sweeps, schedule (`-f -` reads it from stdin; its
    /// jobs then run in the current directory)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// Which jobs run (default: all of them).
#[derive(Debug, Args, Default)]
pub(crate) struct PickArgs {
    /// Run this job (a task name means all its sweep points) and everything downstream of it;
    /// what it waits for counts as done
    #[arg(long, value_name = "JOB", conflicts_with = "only")]
    pub from: Option<String>,
    /// Run just these jobs or tasks (comma-separated or repeated); what they wait for counts as
    /// done
    #[arg(long, value_name = "JOB[,JOB]", value_delimiter = ',')]
    pub only: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct LintArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub pick: PickArgs,
}

#[derive(Debug, Args)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "command-line switches are bools"
)]
pub(crate) struct RetryArgs {
    #[command(flatten)]
    pub history: HistoryArgs,
    /// The run to continue (`@latest` for the newest)
    pub run: String,
    #[command(flatten)]
    pub pick: PickArgs,
    /// Stay attached until the new run ends (cluster runs; local runs always stay attached)
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Most jobs running at once (local runs)
    #[arg(short = 'p', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub parallelism: Option<u32>,
    /// After a failure, keep running every job that does not depend on it (local runs)
    #[arg(long)]
    pub keep_going: bool,
    /// Do not show the jobs' output as it comes
    #[arg(long)]
    pub no_log: bool,
    /// Print only the new run's name, and what failed
    #[arg(short = 'q', long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Output format: name, yaml, json or jsonpath=EXPR
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct InputArgs {
    #[command(flatten)]
    pub input: Input,
    /// Run every command with /bin/sh -c (default: only commands that use shell syntax)
    #[arg(long)]
    pub shell: bool,
    /// Give the workflow file's param NAME this value for this run (repeatable): `--set lr=0.01`
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
    pub sets: Vec<ParamSet>,
}

/// `--set NAME=VALUE`, refused by clap (with the usage line) when it is not that shape.
fn parse_set(text: &str) -> Result<ParamSet, String> {
    ParamSet::parse(text).map_err(|bad| format!("{bad}; {}", bad.hint()))
}

#[derive(Debug, Args)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "command-line switches are bools"
)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub pick: PickArgs,
    /// Print what would be submitted instead of submitting it
    #[arg(long)]
    pub dry_run: bool,
    /// Run notebook steps with papermill (which the image must have) or nbclient [default:
    /// the workflow's `notebook_engine`, else nbclient]
    #[arg(long, value_name = "ENGINE", value_parser = ["papermill", "nbclient"])]
    pub notebook_engine: Option<String>,
    /// Take the notebook environment from this Pod (JSON or YAML) instead of the live pod
    #[arg(long, value_name = "FILE")]
    pub pod_file: Option<PathBuf>,
    /// The notebook pod whose image, volumes and env jobs reuse (default: this pod, $HOSTNAME)
    #[arg(long, value_name = "NAME", conflicts_with = "pod_file")]
    pub pod: Option<String>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Stay attached, showing the jobs' output and progress, until the workflow ends (exit 0 if
    /// it succeeded); local runs always stay attached
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Submit even though the working directory is not on a volume job pods can mount
    #[arg(long)]
    pub allow_unshared_workdir: bool,
    /// Submit jobs that ask for GPUs even though they must run on the notebook's node (its
    /// working directory is a ReadWriteOnce claim), where the notebook holds GPUs itself: for a
    /// node with more GPUs than the notebook uses
    #[arg(long)]
    pub allow_gpu_on_notebook_node: bool,
    /// Keep the notebook image's tag instead of pinning jobs to the running digest
    #[arg(long)]
    pub no_pin_image: bool,
    /// Packages pip/conda installed in the notebook after it started, which job pods lack:
    /// warn, refuse, replay (each job installs them first) or ignore [default: the config's
    /// `drift`, else warn]
    #[arg(long, value_name = "POLICY", value_parser = ["warn", "refuse", "replay", "ignore"])]
    pub drift: Option<String>,
    /// Output format: yaml, json, name, events (as --events), or jsonpath=EXPR
    /// (`{.metadata.name}` or `metadata.name`)
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<String>,
    /// Run the jobs on this machine, as processes (the default where no cluster is configured)
    #[arg(long, conflicts_with_all = ["argo", "pod_file", "pod"])]
    pub local: bool,
    /// Use the Argo backend (the default in a notebook pod)
    #[arg(long)]
    pub argo: bool,
    /// Most jobs running at once (default: the number of CPUs; the workflow's `parallelism` caps it)
    #[arg(short = 'p', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub parallelism: Option<u32>,
    /// After a failure, keep running every job that does not depend on it (default: fail fast)
    #[arg(long)]
    pub keep_going: bool,
    /// Do not show the jobs' output as it comes (it is in their logs either way)
    #[arg(long)]
    pub no_log: bool,
    /// Say more: API requests and retries
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Print only the run's name, and what failed: no output, progress or summary
    #[arg(short = 'q', long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Write the run's events to stdout as JSON lines (docs/events.md), and nothing else there;
    /// a cluster run without --watch writes one `run_submitted` line. Also `-o events`
    #[arg(long, conflicts_with_all = ["output", "dry_run", "quiet"])]
    pub events: bool,
}

/// Which cluster and namespace: the notebook pod's service account, else the kubeconfig.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct ClusterArgs {
    /// Namespace (default: the config's `namespace`, else the service account's or context's)
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// The kubeconfig context to use (outside a notebook pod)
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Time limit for each API request, e.g. 30s or 2m
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub request_timeout: String,
}

/// Which runs: the cluster's Argo runs (in a notebook pod, with `-n`/`--context`, or
/// `backend: argo`), else the local runs kept under `.jupyterflow/runs` of the working directory.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct HistoryArgs {
    /// Use the local run history even where a cluster is configured
    #[arg(long)]
    pub local: bool,
    /// Cluster runs not made by jupyterflow too (default: only jupyterflow's, by label)
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Report API retries
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RunRefArgs {
    #[command(flatten)]
    pub history: HistoryArgs,
    /// The run (`@latest` for the newest from this notebook)
    pub run: String,
}

#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    #[command(flatten)]
    pub run: RunRefArgs,
    /// Write the run's events to stdout as JSON lines (docs/events.md) instead of the live view
    #[arg(long)]
    pub events: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ResubmitArgs {
    #[command(flatten)]
    pub history: HistoryArgs,
    /// The run to start again (`@latest` for the newest from this notebook)
    pub run: String,
    /// Stay attached and show progress until the new run ends
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Output format: name, yaml, json or jsonpath=EXPR
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<String>,
}

#[derive(Debug, Args)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "command-line switches are bools"
)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Only runs still running
    #[arg(long, conflicts_with = "completed")]
    pub running: bool,
    /// Only finished runs
    #[arg(long)]
    pub completed: bool,
    /// Scheduled pipelines (CronWorkflows) instead of runs
    #[arg(long, conflicts_with_all = ["running", "completed"])]
    pub cron: bool,
    /// Only cluster runs (default in a notebook: cluster runs and this directory's local runs)
    #[arg(long, conflicts_with = "local")]
    pub argo: bool,
    /// Output format: wide, name, json or yaml (default: a table)
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    #[command(flatten)]
    pub history: HistoryArgs,
    /// The run (`@latest` for the newest)
    pub run: String,
    /// Output format: json or yaml (default: a summary and a table of jobs)
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    #[command(flatten)]
    pub history: HistoryArgs,
    /// The run (`@latest` for the newest)
    pub run: String,
    /// Only this job (a job name, or a task name for all its sweep points)
    pub job: Option<String>,
    /// Keep printing new lines until the run ends
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Write each line as a `job_output` event, a JSON line (docs/events.md)
    #[arg(long)]
    pub events: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    #[command(flatten)]
    pub history: HistoryArgs,
    /// The runs to delete (`@latest` for the newest)
    #[arg(required_unless_present_any = ["completed", "older_than", "cron"])]
    pub runs: Vec<String>,
    /// Delete every finished run
    #[arg(long)]
    pub completed: bool,
    /// Only finished runs older than this, e.g. 7d, 12h (with --completed or alone)
    #[arg(long, value_name = "AGE")]
    pub older_than: Option<String>,
    /// Delete this scheduled pipeline (CronWorkflow); its past runs stay
    #[arg(long, value_name = "NAME")]
    pub cron: Vec<String>,
    /// Delete named cluster runs even while they run (Argo kills their jobs); with --local, a cluster run's folder that still says Running; default: refuse
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum GraphFormat {
    /// Text, one stage per block
    Ascii,
    /// Mermaid flowchart (paste into Markdown or a notebook)
    Mermaid,
    /// Graphviz dot
    Dot,
}

#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Drawing format
    #[arg(long, value_enum, default_value_t = GraphFormat::Ascii)]
    pub format: GraphFormat,
}

#[derive(Debug, Args)]
pub(crate) struct ConfigArgs {
    /// Write a commented template to the config file path ($JUPYTERFLOW_CONFIG_FILE or ~/.jupyterflow.yaml)
    #[arg(long)]
    pub generate_config: bool,
    /// With --generate-config: overwrite an existing file
    #[arg(long, requires = "generate_config")]
    pub force: bool,
}
