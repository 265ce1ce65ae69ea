//! `jupyterflow run`: pipeline → environment → Argo object, printed with `--dry-run`.

use super::local_run;
use crate::argo::{self, Manifest, RenderOptions};
use crate::cli::RunArgs;
use crate::environment::user_config::{self, Backend, UserConfig};
use crate::environment::{Environment, discover, pod};
use crate::error::Error;
use crate::output::{self, OutputFormat};
use crate::printer::Printer;

/// Which backend runs the pipeline, and why (said on the first line of output).
enum Chosen {
    /// Print or submit an Argo object for this notebook pod (`--pod-file` for now).
    Argo(std::path::PathBuf),
    Local(String),
}

/// Flags first, then the config's `backend`, then what this machine offers.
fn choose_backend(args: &RunArgs, config: &UserConfig) -> Result<Chosen, Error> {
    if args.local {
        if args.pod_file.is_some() {
            return Err(Error::usage(
                "--pod-file is for the Argo backend's dry run; local jobs run in this environment",
                "drop --local to print the Argo Workflow for that pod, or drop --pod-file",
            ));
        }
        return Ok(Chosen::Local("--local".into()));
    }
    if args.argo && !args.dry_run {
        return Err(Error::usage(
            "this version cannot submit to a cluster yet (--argo)",
            "add --dry-run --pod-file POD to print the Argo Workflow, or use --local to run here",
        ));
    }
    if args.argo && args.pod_file.is_none() {
        return Err(Error::usage(
            "--argo --dry-run needs the notebook pod to take the image, volumes and env from",
            "pass --pod-file POD.json (kubectl get pod $HOSTNAME -o json > pod.json)",
        ));
    }
    if let Some(pod_file) = &args.pod_file {
        if !args.dry_run {
            return Err(Error::usage(
                "--pod-file is for --dry-run: submitting uses the live notebook pod",
                "add --dry-run to print the Argo Workflow, or --local to run here",
            ));
        }
        return Ok(Chosen::Argo(pod_file.clone()));
    }
    match config.backend {
        Some(Backend::Local) => Ok(Chosen::Local("backend: local in the config file".into())),
        Some(Backend::Argo) => Err(Error::usage(
            "the config file asks for the argo backend, but this version cannot submit to a cluster yet",
            "use --dry-run --pod-file POD to print the Argo Workflow, or --local to run here",
        )),
        Some(Backend::Auto) | None => Ok(Chosen::Local(if in_cluster() {
            "this version cannot submit to the cluster yet; `--dry-run --pod-file POD` prints the Argo Workflow".into()
        } else {
            "no Kubernetes service account found; `--dry-run --pod-file POD` prints the Argo Workflow".into()
        })),
    }
}

/// A pod with a mounted service account and the API server's address in its env.
fn in_cluster() -> bool {
    let dir = std::env::var_os("JUPYTERFLOW_SERVICEACCOUNT_DIR").map_or_else(
        || std::path::PathBuf::from("/var/run/secrets/kubernetes.io/serviceaccount"),
        std::path::PathBuf::from,
    );
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() && dir.join("token").exists()
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
        Chosen::Argo(pod_file) => pod_file,
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
    let pod_file = &pod_file;
    let pod = discover::read_pod_file(pod_file)?;
    let local = discover::local_context(&loaded.working_dir);
    let pin_image = !args.no_pin_image && config.spec.image.is_none();
    let mut env: Environment = pod::from_pod(&pod, &local, &pod::PodOptions { pin_image })?;
    user_config::apply(&config.spec, &mut env);
    if let Some(path) = config_path {
        env.notes
            .push(format!("applied config from {}", path.display()));
    }
    let options = RenderOptions {
        cron_schedule_field: config.cron_schedule_field.unwrap_or_default(),
    };
    let manifest = argo::render(&loaded.dag, &env, &options)?;
    manifest.check_limits()?;
    for note in &env.notes {
        printer.note(note);
    }
    printer.data(&format_manifest(&manifest, &format)?);
    Ok(0)
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
