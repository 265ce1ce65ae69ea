//! One resolved `Settings` per invocation: the command line, the process environment and the
//! config file read once, and every choice made here, so the commands only act on it.
//!
//! Precedence, highest first: command-line flags > environment variables
//! (`$JUPYTERFLOW_CONFIG_FILE`, `$KUBECONFIG`, …) > the config file > the notebook pod (read
//! later, by the Argo backend) > defaults. The backend is chosen once, here, with the reason
//! the user is told. Nothing below `commands` reads the clap types.

pub(crate) mod config_file;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::argo::RenderOptions;
use crate::cli::{self, ClusterArgs, Command, HistoryArgs, InputArgs};
use crate::cluster::Target;
use crate::environment::discover::ProcessEnv;
use crate::error::Error;
use crate::local::record::DEFAULT_RUNS_DIR;
use crate::local::{DEFAULT_KILL_GRACE, FailurePolicy};
use crate::pipeline::CommandMode;
use crate::printer::format::OutputFormat;
use crate::printer::graph::GraphFormat;
use crate::time;
use config_file::{Backend, ConfigFile};

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
    Lint(Input),
    Graph(Input, GraphFormat),
    Config { generate: Option<Generate> },
    List(ListSettings),
    Get(GetSettings),
    Logs(LogsSettings),
    Delete(DeleteSettings),
    Watch(RunRef),
    Stop(RunRef),
    Terminate(RunRef),
    Resubmit(ResubmitSettings),
}

/// Where the pipeline comes from.
pub(crate) enum Input {
    /// `-c TEXT`
    OneLiner {
        text: String,
        mode: Option<CommandMode>,
    },
    /// `-f FILE`
    File {
        path: PathBuf,
        mode: Option<CommandMode>,
    },
}

/// `config --generate-config`: where to write, and whether to overwrite.
pub(crate) struct Generate {
    pub path: Option<PathBuf>,
    pub force: bool,
}

pub(crate) struct RunSettings {
    pub input: Input,
    pub dry_run: bool,
    pub output: OutputFormat,
    /// `-q`: the run's name and errors only.
    pub quiet: bool,
    /// `-v`: job output streamed (local), API retries reported (cluster).
    pub verbose: bool,
    pub backend: RunBackend,
}

/// Where `run` runs the pipeline, chosen once.
pub(crate) enum RunBackend {
    /// `--dry-run --pod-file`: the Argo object for a pod saved in a file; nothing is submitted.
    PodFile {
        path: PathBuf,
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
pub(crate) struct ArgoRun {
    pub pin_image: bool,
    pub allow_unshared_workdir: bool,
    pub watch: bool,
    pub render: RenderOptions,
    pub argo_ui_url: Option<String>,
}

pub(crate) struct LocalRun {
    /// Why the pipeline runs here (said on the first line).
    pub reason: String,
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

pub(crate) struct ResubmitSettings {
    pub runs: Runs,
    pub run: String,
    pub watch: bool,
    pub output: OutputFormat,
}

/// The environment variables settings read (besides those `ProcessEnv` holds).
struct Vars {
    config_file: Option<String>,
    home: Option<String>,
}

impl Vars {
    fn from_process() -> Self {
        Vars {
            config_file: std::env::var("JUPYTERFLOW_CONFIG_FILE").ok(),
            home: std::env::var("HOME").ok(),
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
        let process = ProcessEnv::from_process();
        // Writing a fresh template must work even when the file in place is broken.
        let (config_path, config) = match &command {
            Command::Config(args) if args.generate_config => (None, ConfigFile::default()),
            _ => match config_file::load(vars.config_file.as_deref(), vars.home.as_deref())? {
                Some((path, config)) => (Some(path), config),
                None => (None, ConfigFile::default()),
            },
        };
        let context = Context {
            config: &config,
            process: &process,
            cwd: &cwd,
        };
        let verb = context.verb(command, &vars)?;
        Ok(Settings {
            config_path,
            config,
            cwd,
            verb,
        })
    }
}

/// What resolving a verb reads.
struct Context<'a> {
    config: &'a ConfigFile,
    process: &'a ProcessEnv,
    cwd: &'a Path,
}

impl Context<'_> {
    fn verb(&self, command: Command, vars: &Vars) -> Result<Verb, Error> {
        Ok(match command {
            Command::Run(args) => Verb::Run(Box::new(self.run(args)?)),
            Command::Lint(args) => Verb::Lint(input(args)),
            Command::Graph(args) => {
                let format = match args.format {
                    cli::GraphFormat::Ascii => GraphFormat::Ascii,
                    cli::GraphFormat::Mermaid => GraphFormat::Mermaid,
                    cli::GraphFormat::Dot => GraphFormat::Dot,
                };
                Verb::Graph(input(args.input), format)
            }
            Command::Config(args) => Verb::Config {
                generate: args.generate_config.then(|| Generate {
                    path: config_file::config_path(
                        vars.config_file.as_deref(),
                        vars.home.as_deref(),
                    ),
                    force: args.force,
                }),
            },
            Command::List(args) => Verb::List(ListSettings {
                filter: if args.running {
                    Filter::Running
                } else if args.completed {
                    Filter::Completed
                } else {
                    Filter::All
                },
                cron: args.cron,
                output: output_or(args.output.as_deref(), OutputFormat::Table)?,
                runs: self.runs(&args.history)?,
            }),
            Command::Get(args) => Verb::Get(GetSettings {
                output: output_or(args.output.as_deref(), OutputFormat::Table)?,
                runs: self.runs(&args.history)?,
                run: args.run,
            }),
            Command::Logs(args) => Verb::Logs(LogsSettings {
                runs: self.runs(&args.history)?,
                run: args.run,
                job: args.job,
                follow: args.follow,
            }),
            Command::Delete(args) => Verb::Delete(DeleteSettings {
                older_than: args
                    .older_than
                    .as_deref()
                    .map(|text| {
                        time::parse_duration(text).map_err(|e| {
                            Error::usage(
                                format!("--older-than: {e}"),
                                "write it like 7d, 12h or 30m",
                            )
                        })
                    })
                    .transpose()?,
                runs: self.runs(&args.history)?,
                names: args.runs,
                completed: args.completed,
                cron: args.cron,
                force: args.force,
            }),
            Command::Watch(args) => Verb::Watch(self.run_ref(args)?),
            Command::Stop(args) => Verb::Stop(self.run_ref(args)?),
            Command::Terminate(args) => Verb::Terminate(self.run_ref(args)?),
            Command::Resubmit(args) => Verb::Resubmit(ResubmitSettings {
                output: output_or(args.output.as_deref(), OutputFormat::Name)?,
                runs: self.runs(&args.history)?,
                run: args.run,
                watch: args.watch,
            }),
        })
    }

    fn run_ref(&self, args: cli::RunRefArgs) -> Result<RunRef, Error> {
        Ok(RunRef {
            runs: self.runs(&args.history)?,
            run: args.run,
        })
    }

    fn run(&self, args: cli::RunArgs) -> Result<RunSettings, Error> {
        // The format first, so a typo costs nothing.
        let output = match &args.output {
            Some(text) => OutputFormat::parse(text)?,
            None if args.dry_run => OutputFormat::Yaml,
            None => OutputFormat::Name,
        };
        if matches!(output, OutputFormat::Wide | OutputFormat::Table) {
            return Err(Error::usage(
                "-o wide is for list and get",
                "use -o yaml, json, name or jsonpath=…",
            ));
        }
        let argo_run = ArgoRun {
            pin_image: !args.no_pin_image,
            allow_unshared_workdir: args.allow_unshared_workdir,
            watch: args.watch,
            render: RenderOptions {
                cron_schedule_field: self.config.cron_schedule_field.unwrap_or_default(),
            },
            argo_ui_url: self.config.argo_ui_url.clone(),
        };
        let backend = match self.run_backend(&args)? {
            Chosen::PodFile(path) => RunBackend::PodFile {
                path,
                argo: argo_run,
            },
            Chosen::Argo => RunBackend::Argo {
                target: self.target(&args.cluster, args.pod.clone())?,
                argo: argo_run,
            },
            Chosen::Local(reason) => RunBackend::Local(LocalRun {
                reason,
                runs_dir: self.runs_dir(),
                parallelism: args.parallelism.map(|p| p as usize),
                policy: if args.keep_going {
                    FailurePolicy::KeepGoing
                } else {
                    FailurePolicy::FailFast
                },
                // Checked when the config was read.
                kill_grace: self
                    .config
                    .kill_grace_period
                    .as_deref()
                    .and_then(|grace| time::parse_duration(grace).ok())
                    .unwrap_or(DEFAULT_KILL_GRACE),
            }),
        };
        // A local plan reads best as a table unless a format was asked for.
        let output = match (&backend, args.dry_run, &args.output) {
            (RunBackend::Local(_), true, None) => OutputFormat::Table,
            _ => output,
        };
        Ok(RunSettings {
            input: input(args.input),
            dry_run: args.dry_run,
            output,
            quiet: args.quiet,
            verbose: args.verbose,
            backend,
        })
    }

    /// Flags first, then the config's `backend`, then what this machine offers.
    fn run_backend(&self, args: &cli::RunArgs) -> Result<Chosen, Error> {
        if args.local {
            return Ok(Chosen::Local("--local".into()));
        }
        if let Some(pod_file) = &args.pod_file {
            if !args.dry_run {
                return Err(Error::usage(
                    "--pod-file is for --dry-run: submitting uses the live notebook pod",
                    "add --dry-run to print the Argo Workflow, or drop --pod-file to submit",
                ));
            }
            return Ok(Chosen::PodFile(pod_file.clone()));
        }
        if args.argo
            || args.pod.is_some()
            || args.watch
            || args.cluster.namespace.is_some()
            || args.cluster.context.is_some()
        {
            return Ok(Chosen::Argo);
        }
        Ok(match self.config.backend {
            Some(Backend::Local) => Chosen::Local("backend: local in the config file".into()),
            Some(Backend::Argo) => Chosen::Argo,
            Some(Backend::Auto) | None if self.process.in_pod() => Chosen::Argo,
            Some(Backend::Auto) | None => Chosen::Local(
                "not in a notebook pod; `--pod NAME` submits to the cluster, `--dry-run --pod-file POD` prints the Argo Workflow".into(),
            ),
        })
    }

    /// Whether `list`/`get`/`logs`/`delete` mean cluster runs: `--local` says no; `-n`,
    /// `--context`, `--all` or `backend: argo` say yes; otherwise yes inside a notebook pod.
    fn runs(&self, history: &HistoryArgs) -> Result<Runs, Error> {
        let cluster = if history.local {
            false
        } else if history.cluster.namespace.is_some()
            || history.cluster.context.is_some()
            || history.all
        {
            true
        } else {
            match self.config.backend {
                Some(Backend::Argo) => true,
                Some(Backend::Local) => false,
                Some(Backend::Auto) | None => self.process.in_pod(),
            }
        };
        Ok(if cluster {
            Runs::Argo(Box::new(Session {
                target: self.target(&history.cluster, None)?,
                all: history.all,
                verbose: history.verbose,
            }))
        } else {
            Runs::Local {
                runs_dir: self.runs_dir(),
            }
        })
    }

    /// Where local runs are kept: `log_dir` from the config (relative to the current
    /// directory), else `.jupyterflow/runs` in the current directory.
    fn runs_dir(&self) -> PathBuf {
        self.cwd
            .join(self.config.log_dir.as_deref().unwrap_or(DEFAULT_RUNS_DIR))
    }

    /// The connection target: flags first, then the config's `namespace`, then the service
    /// account's or kubeconfig context's namespace (decided when connecting).
    fn target(&self, args: &ClusterArgs, pod: Option<String>) -> Result<Target, Error> {
        let request_timeout = time::parse_duration(&args.request_timeout)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                Error::usage(
                    format!(
                        "--request-timeout `{}` is not a duration",
                        args.request_timeout
                    ),
                    "write it like 30s, 2m or 1h",
                )
            })?;
        Ok(Target {
            context: args.context.clone(),
            namespace: args
                .namespace
                .clone()
                .or_else(|| self.config.namespace.clone()),
            pod,
            request_timeout,
            env: self.process.clone(),
        })
    }
}

/// Which backend `run` chose, before its settings are filled in.
enum Chosen {
    PodFile(PathBuf),
    Argo,
    Local(String),
}

fn input(args: InputArgs) -> Input {
    let mode = args.shell.then_some(CommandMode::Shell);
    match (args.input.command, args.input.file) {
        (Some(text), _) => Input::OneLiner { text, mode },
        // clap requires exactly one of -c and -f.
        (None, path) => Input::File {
            path: path.unwrap_or_default(),
            mode,
        },
    }
}

fn output_or(text: Option<&str>, default: OutputFormat) -> Result<OutputFormat, Error> {
    Ok(text.map_or(Ok(default), OutputFormat::parse)?)
}
