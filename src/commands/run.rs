//! `jupyterflow run`: pipeline → environment → Argo object, printed with `--dry-run`.

use crate::argo::{self, CronScheduleField, Manifest, RenderOptions};
use crate::cli::RunArgs;
use crate::environment::user_config;
use crate::environment::{Environment, discover, pod};
use crate::error::Error;
use crate::output::{self, OutputFormat};
use crate::printer::Printer;

pub fn run(args: &RunArgs, printer: &mut Printer) -> Result<(), Error> {
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
    if !args.dry_run {
        return Err(Error::usage(
            "submitting to a cluster is not available in this build",
            "use --dry-run --pod-file POD to print the Argo Workflow that would be submitted",
        ));
    }
    let Some(pod_file) = &args.pod_file else {
        return Err(Error::usage(
            "--dry-run needs the notebook pod to take the image, volumes and env from",
            "pass --pod-file POD.json (kubectl get pod $HOSTNAME -o json > pod.json)",
        ));
    };
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
        cron_schedule_field: match config.cron_schedule_field {
            Some(user_config::CronScheduleField::Schedule) => CronScheduleField::Schedule,
            _ => CronScheduleField::Schedules,
        },
    };
    let manifest = argo::render(&loaded.dag, &env, &options)?;
    manifest.check_limits()?;
    for note in &env.notes {
        printer.note(note);
    }
    printer.data(&format_manifest(&manifest, &format)?);
    Ok(())
}

/// The manifest in the chosen `-o` format.
pub fn format_manifest(manifest: &Manifest, format: &OutputFormat) -> Result<String, Error> {
    Ok(match format {
        OutputFormat::Yaml => output::to_yaml(manifest)?,
        OutputFormat::Json => output::to_json(manifest)?,
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
        OutputFormat::JsonPath(expr) => {
            let value =
                serde_json::to_value(manifest).map_err(|e| output::OutputError::Serialize {
                    format: "json".into(),
                    message: e.to_string(),
                })?;
            output::jsonpath(&value, expr)? + "\n"
        }
        OutputFormat::Wide | OutputFormat::Table => String::new(),
    })
}
