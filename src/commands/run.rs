//! `jupyterflow run`: pipeline → environment → Argo object, printed with `--dry-run`.

use super::local_run;
use k8s_openapi::api::core::v1::Pod;

use super::LoadedPipeline;
use crate::argo::{self, Manifest, RenderOptions};
use crate::cli::RunArgs;
use crate::environment::discover::ProcessEnv;
use crate::environment::{Environment, discover, overrides};
use crate::error::Error;
use crate::output::{self, OutputFormat};
use crate::printer::Printer;
use crate::settings::config_file::{Backend, UserConfig};

/// Which backend runs the pipeline, and why (said on the first line of output).
enum Chosen {
    /// Print the Argo object for a notebook pod saved in a file (`--dry-run --pod-file`).
    PodFile(std::path::PathBuf),
    /// Submit to (or, with `--dry-run`, render for) the cluster, from the live notebook pod.
    Cluster,
    Local(String),
}

/// Flags first, then the config's `backend`, then what this machine offers.
fn choose_backend(args: &RunArgs, config: &UserConfig) -> Result<Chosen, Error> {
    if args.local {
        if args.pod_file.is_some() || args.pod.is_some() || args.watch {
            return Err(Error::usage(
                "--pod-file, --pod and --watch are for the Argo backend; local jobs run in this environment",
                "drop --local to use the cluster, or drop those flags",
            ));
        }
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
        return Ok(Chosen::Cluster);
    }
    match config.backend {
        Some(Backend::Local) => Ok(Chosen::Local("backend: local in the config file".into())),
        Some(Backend::Argo) => Ok(Chosen::Cluster),
        Some(Backend::Auto) | None => {
            if ProcessEnv::from_process().in_pod() {
                Ok(Chosen::Cluster)
            } else {
                Ok(Chosen::Local(
                    "not in a notebook pod; `--pod NAME` submits to the cluster, `--dry-run --pod-file POD` prints the Argo Workflow".into(),
                ))
            }
        }
    }
}

/// `jupyterflow run`: returns the exit code (0, 1 for a failed run, 130/143 when interrupted).
pub fn run(args: &RunArgs, printer: &mut Printer) -> Result<u8, Error> {
    printer.quiet = args.quiet;
    // Check the output format before any work, so a typo costs nothing.
    let format = match &args.output {
        Some(text) => OutputFormat::parse(text)?,
        None if args.dry_run => OutputFormat::Yaml,
        None => OutputFormat::Name,
    };
    if matches!(format, OutputFormat::Wide | OutputFormat::Table) {
        return Err(Error::usage(
            "-o wide is for list and get",
            "use -o yaml, json, name or jsonpath=…",
        ));
    }
    let loaded = super::load(&args.input)?;
    let (config_path, config) = super::config::load_user_config()?;
    let pod_file = match choose_backend(args, &config)? {
        Chosen::PodFile(pod_file) => pod_file,
        Chosen::Cluster => {
            return super::submit::run(
                &super::submit::Request {
                    args,
                    loaded: &loaded,
                    config: &config,
                    config_path: config_path.as_deref(),
                    format: &format,
                },
                printer,
            );
        }
        Chosen::Local(reason) => {
            if args.dry_run {
                printer.note(&format!("local plan ({reason})"));
                let parallelism = local_run::parallelism(args, &loaded);
                // A plan reads best as a table unless a format was asked for.
                let format = if args.output.is_none() {
                    OutputFormat::Table
                } else {
                    format
                };
                local_run::print_plan(&loaded, parallelism, &format, printer)?;
                return Ok(0);
            }
            printer.status(&format!("backend: local ({reason})"));
            return local_run::run(args, &loaded, &config, &format, printer);
        }
    };
    let pod = discover::read_pod_file(&pod_file)?;
    let env = environment(args, &loaded, &config, config_path.as_deref(), &pod)?;
    let manifest = render_checked(&loaded, &config, &env)?;
    for note in &env.notes {
        printer.note(note);
    }
    printer.data(&format_manifest(&manifest, &format)?);
    Ok(0)
}

/// The jobs' environment: the notebook pod, then the config file on top.
pub fn environment(
    args: &RunArgs,
    loaded: &LoadedPipeline,
    config: &UserConfig,
    config_path: Option<&std::path::Path>,
    pod: &Pod,
) -> Result<Environment, Error> {
    let local = discover::local_context(&loaded.working_dir);
    Ok(overrides::resolve(
        pod,
        &local,
        &config.spec,
        !args.no_pin_image,
        config_path,
    )?)
}

/// The Argo object for the config's schedule field, refused if Argo would refuse it.
pub fn render_checked(
    loaded: &LoadedPipeline,
    config: &UserConfig,
    env: &Environment,
) -> Result<Manifest, Error> {
    let options = RenderOptions {
        cron_schedule_field: config.cron_schedule_field.unwrap_or_default(),
    };
    Ok(argo::render_checked(&loaded.dag, env, &options)?)
}

/// The manifest in the chosen `-o` format.
pub fn format_manifest(manifest: &Manifest, format: &OutputFormat) -> Result<String, Error> {
    if let Some(text) = output::structured(manifest, format)? {
        return Ok(text);
    }
    Ok(match format {
        OutputFormat::Name => {
            let meta = manifest.metadata();
            let name = meta
                .name
                .clone()
                .or_else(|| meta.generate_name.clone())
                .unwrap_or_default();
            let resource = match manifest {
                Manifest::Workflow(_) => "workflow.argoproj.io",
                Manifest::Cron(_) => "cronworkflow.argoproj.io",
            };
            format!("{resource}/{name}\n")
        }
        // Refused before rendering (see `run`); structured formats returned above.
        _ => String::new(),
    })
}
