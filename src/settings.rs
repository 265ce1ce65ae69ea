//! One resolved `Settings` per invocation: the command line, the process environment and the
//! config file read once, and every choice made here (`settings/choose.rs`), so the commands
//! only act on it. Nothing below `commands` reads the clap types.
//!
//! Precedence, highest first: command-line flags > environment variables
//! (`$JUPYTERFLOW_NAMESPACE`, `$JUPYTERFLOW_BACKEND`, `$JUPYTERFLOW_CONFIG_FILE`, `$KUBECONFIG`)
//! > the config file > the notebook pod (read later, by the Argo backend) > defaults.

mod choose;
pub(crate) mod config_file;

use std::path::PathBuf;
use std::time::Duration;

use crate::argo::RenderOptions;
use crate::cli::{self, Command};
use crate::cluster::Target;
use crate::environment::discover::ProcessEnv;
use crate::environment::drift::DriftPolicy;
use crate::error::Error;
use crate::local::FailurePolicy;
use crate::local::record::Backend as RecordBackend;
use crate::pipeline::selection::Pick;
use crate::pipeline::{CommandMode, NotebookEngine, ParamSet};
use crate::printer::format::OutputFormat;
use crate::printer::graph::GraphFormat;
use config_file::ConfigFile;

/// Everything a command needs, resolved.
pub(crate) struct Settings {
    /// The config file that was read, for notes (`None`: defaults apply).
    pub config_path: Option<PathBuf>,
    pub config: ConfigFile,
    /// The directory jupyterflow was started in.
    pub cwd: PathBuf,
    pub verb: Verb,
}

/// The verb, with its own resolved settings.
pub(crate) enum Verb {
    Run(Box<RunSettings>),
    Lint(Input, Option<Pick>),
    Graph(Input, GraphFormat),
    Config {
        generate: Option<Generate>,
    },
    List(ListSettings),
    Get(GetSettings),
    Logs(LogsSettings),
    Delete(DeleteSettings),
    /// `watch`; `events`: JSON lines instead of the live view.
    Watch {
        run: RunRef,
        events: bool,
    },
    Stop(RunRef),
    Terminate(RunRef),
    Resubmit(ResubmitSettings),
    Retry(Box<RetrySettings>),
    Doctor {
        target: Box<Target>,
        output: OutputFormat,
    },
    Completions(clap_complete::Shell),
    Man,
    Version,
    /// `exec-job`: one cluster job under its supervisor.
    ExecJob(crate::local::supervisor::JobSpec),
    /// `ipython-extension DIR`: the Python package goes to `DIR/jupyterflow`.
    IpythonExtension(PathBuf),
}

/// The pipeline: where it comes from, how its commands run, and the params `--set` gives.
pub(crate) struct Input {
    pub source: InputSource,
    /// `--shell`: every command under `/bin/sh -c`.
    pub mode: Option<CommandMode>,
    /// `--set NAME=VALUE`, in the order given.
    pub sets: Vec<ParamSet>,
    /// `run --notebook-engine`, over the workflow's `notebook_engine`.
    pub notebook_engine: Option<NotebookEngine>,
}

/// Where the pipeline comes from.
pub(crate) enum InputSource {
    /// `-c TEXT`
    OneLiner(String),
    /// `-f FILE`
    File(PathBuf),
    /// `-f -`: a workflow.yaml on stdin, whose jobs run in the current directory.
    Stdin,
}

/// `config --generate-config`: where to write, and whether to overwrite.
pub(crate) struct Generate {
    pub path: Option<PathBuf>,
    pub force: bool,
}

#[expect(
    clippy::struct_excessive_bools,
    reason = "independent switches of one run"
)]
pub(crate) struct RunSettings {
    pub input: Input,
    /// `--from`/`--only`: the jobs that run (default: all).
    pub pick: Option<Pick>,
    pub dry_run: bool,
    pub output: OutputFormat,
    /// `-q`: the run's name and what failed only.
    pub quiet: bool,
    /// `-v`: API requests and retries reported.
    pub verbose: bool,
    /// The jobs' output shown as it comes (not with `-q` or `--no-log`).
    pub stream_output: bool,
    /// `--events`: the run's events as JSON lines on stdout instead of the view.
    pub events: bool,
    pub backend: RunBackend,
}

/// Where `run` runs the pipeline, chosen once.
#[expect(
    clippy::large_enum_variant,
    reason = "made once per process; boxing would only add noise"
)]
pub(crate) enum RunBackend {
    /// `--dry-run --pod-file`: the Argo object for a pod saved in a file; nothing is submitted.
    /// `namespace`: the one a submission would use when not the pod's (`-n`, the config).
    PodFile {
        path: PathBuf,
        namespace: Option<String>,
        argo: ArgoRun,
    },
    /// The cluster, from the live notebook pod.
    Argo {
        target: Target,
        argo: ArgoRun,
    },
    Local(LocalRun),
}

/// How the Argo object is made and followed.
#[expect(
    clippy::struct_excessive_bools,
    reason = "command-line switches are bools"
)]
pub(crate) struct ArgoRun {
    pub pin_image: bool,
    pub allow_unshared_workdir: bool,
    /// What to do about packages installed after the notebook started (`--drift`, `drift:`).
    pub drift: DriftPolicy,
    /// `--allow-gpu-on-notebook-node`: GPU jobs pinned to the notebook's node are submitted.
    pub allow_gpu_on_notebook_node: bool,
    pub watch: bool,
    pub render: RenderOptions,
    pub argo_ui_url: Option<String>,
    pub job_supervisor: JobSupervisor,
}

/// The job supervisor (`exec-job`, which keeps each job's log on the shared volume).
pub(crate) struct JobSupervisor {
    /// The config's `job_supervisor` (default true).
    pub enabled: bool,
    /// `$JUPYTERFLOW_EXE`: the binary to give job pods instead of this one (tests).
    pub exe: Option<PathBuf>,
    /// `$JUPYTERFLOW_MOUNTINFO_FILE`, else `/proc/self/mountinfo`: how the working directory
    /// is mounted here.
    pub mountinfo: PathBuf,
}

pub(crate) struct LocalRun {
    /// Why the pipeline runs here, when that is not obvious (said on the first line); `None`
    /// after `--local`.
    pub reason: Option<String>,
    pub runs_dir: PathBuf,
    /// `-p`; the CPUs when not given (either capped by the workflow's `parallelism`).
    pub parallelism: Option<usize>,
    pub policy: FailurePolicy,
    pub kill_grace: Duration,
}

/// Which runs `list`, `get`, `logs` and `delete` mean.
pub(crate) enum Runs {
    /// The run records under this folder.
    Local {
        runs_dir: PathBuf,
    },
    Argo(Box<Session>),
}

/// A connection to make, and how much to show of what happens on it.
pub(crate) struct Session {
    pub target: Target,
    /// Runs not made by jupyterflow too (`--all`).
    pub all: bool,
    /// `-v`: report API retries.
    pub verbose: bool,
    /// This directory's run folders (`.jupyterflow/runs`), where the job supervisors of
    /// cluster runs submitted from here keep logs and records: read when the pods or the
    /// Workflow are gone.
    pub run_folders: PathBuf,
}

/// `list --running` / `--completed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Filter {
    All,
    Running,
    Completed,
}

impl Filter {
    pub(crate) fn keeps(self, running: bool) -> bool {
        match self {
            Filter::All => true,
            Filter::Running => running,
            Filter::Completed => !running,
        }
    }
}

pub(crate) struct ListSettings {
    pub runs: Runs,
    /// `--local` / `--argo`: runs of that backend only. Without either, cluster runs and this
    /// directory's local runs are listed together.
    pub only: Option<RecordBackend>,
    /// Where this directory's local runs are kept (listed beside cluster runs).
    pub local_runs_dir: PathBuf,
    pub filter: Filter,
    pub cron: bool,
    pub output: OutputFormat,
}

pub(crate) struct GetSettings {
    pub runs: Runs,
    pub run: String,
    pub output: OutputFormat,
}

pub(crate) struct LogsSettings {
    pub runs: Runs,
    pub run: String,
    pub job: Option<String>,
    pub follow: bool,
    /// `--events`: each line as a `job_output` JSON line.
    pub events: bool,
}

pub(crate) struct DeleteSettings {
    pub runs: Runs,
    pub names: Vec<String>,
    pub completed: bool,
    pub older_than: Option<Duration>,
    pub cron: Vec<String>,
    pub force: bool,
}

/// `watch`, `stop`, `terminate`: one run.
pub(crate) struct RunRef {
    pub runs: Runs,
    pub run: String,
}

/// `retry`: what did not succeed in a run, and what depends on it.
pub(crate) struct RetrySettings {
    pub runs: Runs,
    pub run: String,
    pub pick: Option<Pick>,
    pub watch: bool,
    pub quiet: bool,
    pub stream_output: bool,
    pub output: OutputFormat,
    /// How a local retry runs (its runs folder, parallelism, failure policy).
    pub local: LocalRun,
    /// `$JUPYTERFLOW_EXE`: the binary to copy again when the old run's copy is gone.
    pub exe: Option<PathBuf>,
}

pub(crate) struct ResubmitSettings {
    pub runs: Runs,
    pub run: String,
    pub watch: bool,
    /// `$JUPYTERFLOW_EXE`: the binary to copy again when the old run's copy is gone.
    pub exe: Option<PathBuf>,
    pub output: OutputFormat,
}

/// The environment variables settings read (besides those `ProcessEnv` holds).
struct Vars {
    config_file: Option<String>,
    home: Option<String>,
    namespace: Option<String>,
    backend: Option<String>,
    exe: Option<String>,
    mountinfo: Option<String>,
}

impl Vars {
    fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Vars {
            config_file: std::env::var("JUPYTERFLOW_CONFIG_FILE").ok(),
            home: var("HOME"),
            namespace: var("JUPYTERFLOW_NAMESPACE"),
            backend: var("JUPYTERFLOW_BACKEND"),
            exe: var("JUPYTERFLOW_EXE"),
            mountinfo: var("JUPYTERFLOW_MOUNTINFO_FILE"),
        }
    }
}

impl Settings {
    /// Reads the config file and the process environment once, and resolves `command`.
    pub(crate) fn resolve(command: Command) -> Result<Settings, Error> {
        let vars = Vars::from_process();
        let cwd = std::env::current_dir().map_err(|source| Error::ReadInput {
            path: PathBuf::from("."),
            source,
        })?;
        // A job's supervisor reads no config file and checks no variable: nothing the
        // notebook's user set may keep a job from running as it would without it.
        if let Command::ExecJob(args) = command {
            return Ok(Settings {
                config_path: None,
                config: ConfigFile::default(),
                verb: Verb::ExecJob(exec_job(args, &cwd)),
                cwd,
            });
        }
        let process = ProcessEnv::from_process();
        // Writing a fresh template must work even when the file in place is broken.
        let (config_path, config) = match &command {
            // Nothing in them depends on the config.
            Command::Config(cli::ConfigArgs {
                generate_config: true,
                ..
            })
            | Command::Completions(_)
            | Command::Man
            | Command::Version
            | Command::IpythonExtension(_) => (None, ConfigFile::default()),
            _ => match config_file::load(vars.config_file.as_deref(), vars.home.as_deref())? {
                Some((path, config)) => (Some(path), config),
                None => (None, ConfigFile::default()),
            },
        };
        let verb = choose::Context::new(&config, &process, &cwd, &vars)?.verb(command)?;
        Ok(Settings {
            config_path,
            config,
            cwd,
            verb,
        })
    }
}

/// The job `exec-job` supervises: its command line, and which node, pod and Kubernetes node
/// it is, from the variables the job template sets through the downward API.
fn exec_job(args: cli::ExecJobArgs, cwd: &std::path::Path) -> crate::local::supervisor::JobSpec {
    use crate::argo::supervisor::{HOST_VAR, NODE_VAR, POD_VAR};
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    crate::local::supervisor::JobSpec {
        workflow: args.workflow,
        argv: args.command,
        workdir: cwd.to_path_buf(),
        node_name: var(NODE_VAR),
        pod: var(POD_VAR),
        host: var(HOST_VAR),
    }
}
