//! Every choice `Settings` makes from the command line, the environment and the config file:
//! which backend, with which reason; which namespace, timeout and runs folder; which output
//! formats a verb prints.
//!
//! Which backend, the rule: `--local` and `--argo` say so; `--pod`, `-n` and `--context` are
//! about a cluster, so they mean the cluster, and are refused (exit 2) where no cluster is
//! configured, rather than sending the user to a connection error; `-w` never chooses (a local
//! run is always watched); otherwise `$JUPYTERFLOW_BACKEND` or the config's `backend`, else the
//! cluster inside a notebook pod and this machine elsewhere.

use std::path::{Path, PathBuf};

use super::config_file::{Backend, ConfigFile, DriftPolicy};
use super::{
    ArgoRun, DeleteSettings, Filter, Generate, GetSettings, Input, InputSource, JobSupervisor,
    ListSettings, LocalRun, LogsSettings, ResubmitSettings, RetrySettings, RunBackend, RunRef,
    RunSettings, Runs, Session, Vars, Verb,
};
use crate::argo::RenderOptions;
use crate::cli::{self, ClusterArgs, Command, HistoryArgs, InputArgs};
use crate::cluster::Target;
use crate::environment::discover::ProcessEnv;
use crate::error::Error;
use crate::local::record::{Backend as RecordBackend, DEFAULT_RUNS_DIR};
use crate::local::{DEFAULT_KILL_GRACE, FailurePolicy};
use crate::pipeline::selection::Pick;
use crate::pipeline::{CommandMode, NotebookEngine};
use crate::printer::format::OutputFormat;
use crate::printer::graph::GraphFormat;
use crate::time;

/// The formats each kind of output can be printed in.
const MANIFEST_FORMATS: &[&str] = &["yaml", "json", "name", "jsonpath"];
const PLAN_FORMATS: &[&str] = &["yaml", "json", "name", "jsonpath"];
const LIST_FORMATS: &[&str] = &["wide", "name", "json", "yaml", "jsonpath"];
const GET_FORMATS: &[&str] = &["json", "yaml", "name", "jsonpath"];
const DOCTOR_FORMATS: &[&str] = &["json", "yaml"];

/// What resolving a verb reads.
pub(super) struct Context<'a> {
    config: &'a ConfigFile,
    process: &'a ProcessEnv,
    cwd: &'a Path,
    vars: &'a Vars,
    /// `$JUPYTERFLOW_BACKEND`, else the config's `backend`.
    backend: Option<Backend>,
}

impl<'a> Context<'a> {
    pub(super) fn new(
        config: &'a ConfigFile,
        process: &'a ProcessEnv,
        cwd: &'a Path,
        vars: &'a Vars,
    ) -> Result<Self, Error> {
        let backend = match vars.backend.as_deref() {
            None => config.backend,
            Some("local") => Some(Backend::Local),
            Some("argo") => Some(Backend::Argo),
            Some("auto") => Some(Backend::Auto),
            Some(other) => {
                return Err(Error::usage(
                    format!("$JUPYTERFLOW_BACKEND is `{other}`, which is not a backend"),
                    "set it to local, argo or auto, or unset it",
                ));
            }
        };
        Ok(Context {
            config,
            process,
            cwd,
            vars,
            backend,
        })
    }

    pub(super) fn verb(&self, command: Command) -> Result<Verb, Error> {
        Ok(match command {
            Command::Run(args) => Verb::Run(Box::new(self.run(args)?)),
            Command::Lint(args) => Verb::Lint(input(args.input), pick(args.pick)),
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
                    path: super::config_file::config_path(
                        self.vars.config_file.as_deref(),
                        self.vars.home.as_deref(),
                    ),
                    force: args.force,
                }),
            },
            Command::List(args) => Verb::List(self.list(&args)?),
            Command::Get(args) => Verb::Get(GetSettings {
                output: output_or(args.output.as_deref(), OutputFormat::Table, GET_FORMATS)?,
                runs: self.runs(&args.history)?,
                run: args.run,
            }),
            Command::Logs(args) => Verb::Logs(self.logs(args)?),
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
            Command::Watch(args) => Verb::Watch {
                run: self.run_ref(args.run)?,
                events: args.events,
            },
            Command::Stop(args) => Verb::Stop(self.run_ref(args)?),
            Command::Terminate(args) => Verb::Terminate(self.run_ref(args)?),
            Command::Doctor(args) => Verb::Doctor {
                target: Box::new(self.target(&args.cluster, args.pod)?),
                output: output_or(args.output.as_deref(), OutputFormat::Table, DOCTOR_FORMATS)?,
            },
            Command::Completions(args) => Verb::Completions(args.shell),
            Command::Man => Verb::Man,
            Command::Version => Verb::Version,
            // `Settings::resolve` takes it before any config is read; the same job here.
            Command::ExecJob(args) => Verb::ExecJob(super::exec_job(args, self.cwd)),
            Command::IpythonExtension(args) => Verb::IpythonExtension(self.cwd.join(args.dir)),
            Command::Retry(args) => Verb::Retry(Box::new(RetrySettings {
                output: output_or(args.output.as_deref(), OutputFormat::Name, MANIFEST_FORMATS)?,
                runs: local_flags_only_locally(
                    self.runs(&args.history)?,
                    args.parallelism.is_some(),
                    args.keep_going,
                )?,
                local: self.local_run(None, args.parallelism, args.keep_going)?,
                run: args.run,
                pick: pick(args.pick),
                watch: args.watch,
                quiet: args.quiet,
                stream_output: !args.quiet && !args.no_log,
                exe: self.vars.exe.as_ref().map(PathBuf::from),
            })),
            Command::Resubmit(args) => Verb::Resubmit(ResubmitSettings {
                exe: self.vars.exe.as_ref().map(PathBuf::from),
                output: output_or(args.output.as_deref(), OutputFormat::Name, MANIFEST_FORMATS)?,
                runs: self.runs(&args.history)?,
                run: args.run,
                watch: args.watch,
            }),
        })
    }

    fn logs(&self, args: cli::LogsArgs) -> Result<LogsSettings, Error> {
        Ok(LogsSettings {
            runs: self.runs(&args.history)?,
            run: args.run,
            job: args.job,
            follow: args.follow,
            events: args.events,
        })
    }

    fn run_ref(&self, args: cli::RunRefArgs) -> Result<RunRef, Error> {
        Ok(RunRef {
            runs: self.runs(&args.history)?,
            run: args.run,
        })
    }

    fn run(&self, args: cli::RunArgs) -> Result<RunSettings, Error> {
        let argo_run = ArgoRun {
            pin_image: !args.no_pin_image,
            allow_unshared_workdir: args.allow_unshared_workdir,
            drift: args
                .drift
                .as_deref()
                .and_then(DriftPolicy::parse)
                .or(self.config.drift)
                .unwrap_or_default(),
            allow_gpu_on_notebook_node: args.allow_gpu_on_notebook_node,
            watch: args.watch,
            render: RenderOptions {
                cron_schedule_field: self.config.cron_schedule_field.unwrap_or_default(),
                instance_id: self.config.argo_instance_id.clone(),
            },
            argo_ui_url: self.config.argo_ui_url.clone(),
            job_supervisor: JobSupervisor {
                enabled: self.config.job_supervisor.unwrap_or(true),
                exe: self.vars.exe.as_ref().map(PathBuf::from),
                mountinfo: PathBuf::from(
                    self.vars
                        .mountinfo
                        .as_deref()
                        .unwrap_or("/proc/self/mountinfo"),
                ),
            },
        };
        let backend = match self.run_backend(&args)? {
            Chosen::PodFile(path) => RunBackend::PodFile {
                path,
                namespace: self.namespace(&args.cluster)?,
                argo: argo_run,
            },
            Chosen::Argo => RunBackend::Argo {
                target: self.target(&args.cluster, args.pod.clone())?,
                argo: argo_run,
            },
            Chosen::Local(reason) => {
                // Checked now, so a typo does not wait for a cluster run to matter.
                Self::request_timeout(&args.cluster)?;
                RunBackend::Local(self.local_run(reason, args.parallelism, args.keep_going)?)
            }
        };
        // The format before anything runs, so a typo costs nothing: a manifest (or, for a
        // local dry run, the plan, best read as a table unless a format is asked for), or the
        // run's name.
        // `-o events` is `--events` (a run's events, not its record), for a run that runs.
        let events = args.events || (!args.dry_run && args.output.as_deref() == Some("events"));
        let output = match (&backend, args.dry_run, &args.output) {
            (_, false, Some(_)) if events => OutputFormat::Name,
            (RunBackend::Local(_), true, None) => OutputFormat::Table,
            (RunBackend::Local(_), true, Some(text)) => {
                OutputFormat::parse_for(text, PLAN_FORMATS)?
            }
            (_, true, None) => OutputFormat::Yaml,
            (_, false, None) => OutputFormat::Name,
            (_, _, Some(text)) => OutputFormat::parse_for(text, MANIFEST_FORMATS)?,
        };
        Ok(RunSettings {
            input: Input {
                // clap allows only the engines' names.
                notebook_engine: args
                    .notebook_engine
                    .as_deref()
                    .and_then(NotebookEngine::parse),
                ..input(args.input)
            },
            pick: pick(args.pick),
            dry_run: args.dry_run,
            output,
            quiet: args.quiet,
            verbose: args.verbose,
            stream_output: !args.quiet && !args.no_log,
            events,
            backend,
        })
    }

    /// How a local run runs: its runs folder, `-p`, `--keep-going`, the kill grace.
    fn local_run(
        &self,
        reason: Option<String>,
        parallelism: Option<u32>,
        keep_going: bool,
    ) -> Result<LocalRun, Error> {
        Ok(LocalRun {
            reason,
            runs_dir: self.runs_dir()?,
            parallelism: parallelism.map(|p| p as usize),
            policy: if keep_going {
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
        })
    }

    /// Flags first, then `$JUPYTERFLOW_BACKEND` or the config's `backend`, then what this
    /// machine offers (see the module doc).
    fn run_backend(&self, args: &cli::RunArgs) -> Result<Chosen, Error> {
        if args.local {
            return Ok(Chosen::Local(None));
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
        if args.argo {
            return Ok(Chosen::Argo);
        }
        if args.pod.is_some() || self.names_a_cluster(&args.cluster)? {
            return Ok(Chosen::Argo);
        }
        Ok(match self.backend {
            Some(Backend::Local) => Chosen::Local(Some(if self.vars.backend.is_some() {
                "$JUPYTERFLOW_BACKEND".to_owned()
            } else {
                "the config's backend".to_owned()
            })),
            Some(Backend::Argo) => Chosen::Argo,
            Some(Backend::Auto) | None if self.process.in_pod() => Chosen::Argo,
            Some(Backend::Auto) | None => Chosen::Local(Some("not in a notebook pod".to_owned())),
        })
    }

    /// Whether `-n`/`--context` were given (they mean the cluster); refused where no cluster
    /// is configured at all.
    fn names_a_cluster(&self, args: &ClusterArgs) -> Result<bool, Error> {
        let flag = match (&args.namespace, &args.context) {
            (Some(_), _) => "-n",
            (None, Some(_)) => "--context",
            (None, None) => return Ok(false),
        };
        if !self.process.has_cluster() {
            return Err(Error::usage(
                format!(
                    "{flag} is for a cluster, and none is configured here: no service-account token at {}, no $KUBECONFIG, no ~/.kube/config",
                    self.process.service_account_dir.display()
                ),
                format!(
                    "drop {flag} to use this machine (local runs), or set KUBECONFIG to reach a cluster"
                ),
            ));
        }
        Ok(true)
    }

    /// Whether `list`/`get`/`logs`/`delete` mean cluster runs: `--local` says no; `-n`,
    /// `--context` or `--all` say yes; then `$JUPYTERFLOW_BACKEND` or `backend`; otherwise yes
    /// inside a notebook pod.
    fn runs(&self, history: &HistoryArgs) -> Result<Runs, Error> {
        let cluster = if history.local {
            false
        } else if self.names_a_cluster(&history.cluster)? || history.all {
            true
        } else {
            match self.backend {
                Some(Backend::Argo) => true,
                Some(Backend::Local) => false,
                Some(Backend::Auto) | None => self.process.in_pod(),
            }
        };
        Ok(if cluster {
            self.cluster_runs(history)?
        } else {
            Self::request_timeout(&history.cluster)?;
            Runs::Local {
                runs_dir: self.runs_dir()?,
            }
        })
    }

    /// `list`: the runs it reads and how it filters and shows them.
    fn list(&self, args: &cli::ListArgs) -> Result<ListSettings, Error> {
        let runs = if args.argo {
            if !self.process.has_cluster() {
                return Err(Error::usage(
                    format!(
                        "--argo is for a cluster, and none is configured here: no service-account token at {}, no $KUBECONFIG, no ~/.kube/config",
                        self.process.service_account_dir.display()
                    ),
                    "drop --argo to list this machine's runs, or set KUBECONFIG to reach a cluster",
                ));
            }
            self.cluster_runs(&args.history)?
        } else {
            self.runs(&args.history)?
        };
        if args.cron && matches!(runs, Runs::Local { .. }) {
            return Err(Error::usage(
                "--cron lists scheduled pipelines (CronWorkflows), which live on the cluster, and no cluster is in use here",
                "run it inside the notebook pod, or pass -n/--context; local runs have no schedules",
            ));
        }
        let only = if args.history.local {
            Some(RecordBackend::Local)
        } else if args.argo {
            Some(RecordBackend::Argo)
        } else {
            None
        };
        Ok(ListSettings {
            only,
            local_runs_dir: self.runs_dir()?,
            filter: if args.running {
                Filter::Running
            } else if args.completed {
                Filter::Completed
            } else {
                Filter::All
            },
            cron: args.cron,
            output: output_or(args.output.as_deref(), OutputFormat::Table, LIST_FORMATS)?,
            runs,
        })
    }

    /// Cluster runs, reached as `history` says (`--argo`, or chosen by [`Self::runs`]).
    fn cluster_runs(&self, history: &HistoryArgs) -> Result<Runs, Error> {
        Ok(Runs::Argo(Box::new(Session {
            target: self.target(&history.cluster, None)?,
            all: history.all,
            verbose: history.verbose,
            run_folders: self.cwd.join(DEFAULT_RUNS_DIR),
        })))
    }

    /// Where local runs are kept: `log_dir` from the config (`~` and `$HOME` expanded;
    /// relative to the current directory), else `.jupyterflow/runs` in the current directory.
    fn runs_dir(&self) -> Result<PathBuf, Error> {
        let Some(dir) = self.config.log_dir.as_deref() else {
            return Ok(self.cwd.join(DEFAULT_RUNS_DIR));
        };
        Ok(self.cwd.join(
            expand_home(dir, self.vars.home.as_deref()).map_err(|message| {
                Error::usage(
                    format!("log_dir `{dir}` in the config file: {message}"),
                    "write the path without ~, or set HOME",
                )
            })?,
        ))
    }

    fn request_timeout(args: &ClusterArgs) -> Result<std::time::Duration, Error> {
        let text = &args.request_timeout;
        match time::parse_duration(text) {
            Ok(d) if !d.is_zero() => Ok(d),
            Ok(_) => Err(Error::usage(
                "--request-timeout must be more than 0",
                "write it like 30s, 2m or 1h",
            )),
            Err(e) => Err(Error::usage(
                format!("--request-timeout: {e}"),
                "write it like 30s, 2m or 1h",
            )),
        }
    }

    /// The namespace asked for: `-n` first, then `$JUPYTERFLOW_NAMESPACE`, then the config's
    /// `namespace` (else the service account's or kubeconfig context's, decided when
    /// connecting). Refused when Kubernetes would refuse it.
    fn namespace(&self, args: &ClusterArgs) -> Result<Option<String>, Error> {
        let asked = [
            (args.namespace.as_ref(), "-n"),
            (self.vars.namespace.as_ref(), "$JUPYTERFLOW_NAMESPACE"),
            (self.config.namespace.as_ref(), "the config's `namespace`"),
        ]
        .into_iter()
        .find_map(|(value, from)| value.map(|v| (v.clone(), from)));
        let Some((namespace, from)) = asked else {
            return Ok(None);
        };
        if !is_dns_label(&namespace) {
            return Err(Error::usage(
                format!(
                    "namespace `{namespace}` (from {from}) is not a valid Kubernetes namespace name"
                ),
                "a namespace is at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit",
            ));
        }
        Ok(Some(namespace))
    }

    /// The connection target: `--context`, the namespace asked for, `--pod`, the request
    /// timeout, and the process environment that decides the rest.
    fn target(&self, args: &ClusterArgs, pod: Option<String>) -> Result<Target, Error> {
        Ok(Target {
            request_timeout: Self::request_timeout(args)?,
            context: args.context.clone(),
            namespace: self.namespace(args)?,
            pod,
            env: self.process.clone(),
        })
    }
}

/// Which backend `run` chose, before its settings are filled in.
enum Chosen {
    PodFile(PathBuf),
    Argo,
    /// Why, when it is worth saying.
    Local(Option<String>),
}

fn pick(args: cli::PickArgs) -> Option<Pick> {
    match (args.from, args.only) {
        (Some(from), _) => Some(Pick::From(from)),
        (None, only) if !only.is_empty() => Some(Pick::Only(only)),
        _ => None,
    }
}

fn input(args: InputArgs) -> Input {
    let source = match (args.input.command, args.input.file) {
        (Some(text), _) => InputSource::OneLiner(text),
        (None, Some(path)) if path.as_os_str() == "-" => InputSource::Stdin,
        // clap requires exactly one of -c and -f.
        (None, path) => InputSource::File(path.unwrap_or_default()),
    };
    Input {
        source,
        mode: args.shell.then_some(CommandMode::Shell),
        sets: args.sets,
        notebook_engine: None,
    }
}

fn output_or(
    text: Option<&str>,
    default: OutputFormat,
    allowed: &'static [&'static str],
) -> Result<OutputFormat, Error> {
    Ok(text.map_or(Ok(default), |t| OutputFormat::parse_for(t, allowed))?)
}

/// A DNS-1123 label, as Kubernetes requires of namespace names.
fn is_dns_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

/// `~/x`, `$HOME/x` and `${HOME}/x` under `home`; anything else as written. A path setting is
/// never taken literally as a folder named `~`.
fn expand_home(path: &str, home: Option<&str>) -> Result<PathBuf, String> {
    let rest = if path == "~" || path == "$HOME" || path == "${HOME}" {
        Some("")
    } else {
        path.strip_prefix("~/")
            .or_else(|| path.strip_prefix("$HOME/"))
            .or_else(|| path.strip_prefix("${HOME}/"))
    };
    match rest {
        None if path.starts_with('~') => {
            Err("`~user` paths are not supported; write the whole path".to_owned())
        }
        None => Ok(PathBuf::from(path)),
        Some(rest) => match home {
            Some(home) => Ok(Path::new(home).join(rest)),
            None => Err("it starts with ~ (or $HOME), and HOME is not set".to_owned()),
        },
    }
}

/// `retry -p N` and `--keep-going` shape a local run; a cluster retry keeps its Workflow's spec
/// (its `parallelism` and fail-fast DAG), so there they are refused rather than ignored.
fn local_flags_only_locally(
    runs: Runs,
    parallelism: bool,
    keep_going: bool,
) -> Result<Runs, Error> {
    if let Runs::Argo(_) = runs
        && (parallelism || keep_going)
    {
        let flag = if parallelism {
            "-p/--parallelism"
        } else {
            "--keep-going"
        };
        return Err(Error::usage(
            format!(
                "{flag} applies to retrying local runs; a cluster retry runs the old Workflow's spec, with its parallelism and failure policy"
            ),
            "leave it out, or retry a local run with --local",
        ));
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_is_expanded_in_paths_and_never_a_folder_named_tilde() {
        let home = Some("/home/jovyan");
        for (written, expanded) in [
            ("~/.jupyterflow/logs", "/home/jovyan/.jupyterflow/logs"),
            ("$HOME/logs", "/home/jovyan/logs"),
            ("${HOME}/logs", "/home/jovyan/logs"),
            ("~", "/home/jovyan"),
            ("logs/runs", "logs/runs"),
            ("/abs/runs", "/abs/runs"),
        ] {
            assert_eq!(
                expand_home(written, home),
                Ok(PathBuf::from(expanded)),
                "{written}"
            );
        }
        assert!(expand_home("~/x", None).is_err());
        assert!(expand_home("~bob/x", home).is_err());
    }

    #[test]
    fn namespaces_are_dns_labels() {
        for good in ["jhub", "team-a", "a", "kubeflow-user-example-com"] {
            assert!(is_dns_label(good), "{good}");
        }
        for bad in ["Bad_NS!", "", "-a", "a-", "UPPER", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
    }
}
