//! `jupyterflow run`: load the pipeline, then hand it to the backend `Settings` chose: the
//! cluster (`run/argo`), this machine (`run/local`), or, for `--dry-run --pod-file`, print the
//! Argo object a saved notebook pod would submit.

mod argo;
mod drift;
pub(super) mod local;

use super::{LoadedPipeline, load};
use crate::argo::confinement::{self, Policies};
use crate::argo::render_checked;
use crate::environment::pod::LocalContext;
use crate::environment::workdir::Placement;
use crate::environment::{Environment, discover, gpu, overrides, workdir};
use crate::error::Error;
use crate::pipeline::Dag;
use crate::printer::{Printer, format};
use crate::settings::{ArgoRun, RunBackend, RunSettings, Settings};

/// Returns the exit code: 0, 1 for a failed run, 130/143 when interrupted.
pub(super) fn run(
    settings: &Settings,
    run: &RunSettings,
    printer: &mut Printer,
) -> Result<u8, Error> {
    printer.quiet = run.quiet;
    let mut loaded = load(&run.input, &settings.cwd)?;
    if let Some(chosen) = super::choose(&mut loaded, run.pick.as_ref())? {
        printer.note(&chosen);
    }
    // A local dry run shows the steps as written; every other path needs them ready, and
    // only a real run writes them.
    let local_dry_run = run.dry_run && matches!(run.backend, RunBackend::Local(_));
    if !local_dry_run {
        super::prepare_notebooks(&mut loaded, !run.dry_run)?;
    }
    match &run.backend {
        RunBackend::Local(local) if run.dry_run => {
            local::plan(local, &loaded, &run.output, printer)
        }
        RunBackend::Local(local) => local::run(settings, run, local, &loaded, printer),
        RunBackend::Argo { target, argo } => argo::run(
            &argo::Submission {
                settings,
                run,
                target,
                argo,
                loaded: &loaded,
            },
            printer,
        ),
        RunBackend::PodFile {
            path,
            namespace,
            argo,
        } => {
            let pod = discover::read_pod_file(path)?;
            // This machine is not the notebook: its PATH, HOME and user are not the jobs'.
            let local = LocalContext {
                working_dir: loaded.working_dir.display().to_string(),
                ..LocalContext::default()
            };
            let mut env = overrides::resolve(
                &pod,
                &local,
                &settings.config.spec,
                argo.pin_image,
                settings.config_path.as_deref(),
            )?;
            env.gpu_tolerations
                .clone_from(&settings.config.gpu_tolerations);
            env.notes.push(
                "PATH, HOME and NB_USER are left out unless the pod sets them: submitted from \
                 the notebook, they come from its process"
                    .to_owned(),
            );
            if let Some(namespace) = namespace {
                env.namespace = Some(namespace.clone());
            }
            // A dry run shows what a submission would do, refusal included, and goes on.
            let placement = match workdir::preflight(&mut env, None, argo.allow_unshared_workdir) {
                Ok(placement) => placement,
                Err(refusal) => {
                    env.notes.push(format!(
                        "a submission would be refused: {refusal}; {}",
                        refusal.hint()
                    ));
                    Placement::Anywhere
                }
            };
            confinement::confine(&mut env, &pod, Policies::NotAsked);
            check_gpus(&loaded.dag, &mut env, &placement, argo, true)?;
            let manifest = render_checked(&loaded.dag, &env, &argo.render)?.as_submitted();
            for note in &env.notes {
                printer.note(note);
            }
            printer.data(&format::manifest(&manifest, &run.output)?);
            Ok(0)
        }
    }
}

/// The jobs' environment: the notebook pod, then the config file on top.
pub(super) fn environment(
    settings: &Settings,
    argo: &ArgoRun,
    loaded: &LoadedPipeline,
    pod: &k8s_openapi::api::core::v1::Pod,
) -> Result<Environment, Error> {
    let local = discover::local_context(&loaded.working_dir);
    let mut env = overrides::resolve(
        pod,
        &local,
        &settings.config.spec,
        argo.pin_image,
        settings.config_path.as_deref(),
    )?;
    env.gpu_tolerations
        .clone_from(&settings.config.gpu_tolerations);
    Ok(env)
}

/// The GPU checks before anything is submitted: GPU jobs that must run on the notebook's node
/// are refused (a dry run says so and goes on), and a note says when the pipeline may ask for
/// more GPUs at once than the notebook holds.
pub(super) fn check_gpus(
    dag: &Dag,
    env: &mut Environment,
    placement: &Placement,
    argo: &ArgoRun,
    dry_run: bool,
) -> Result<(), Error> {
    match gpu::check_placement(dag, env, placement, argo.allow_gpu_on_notebook_node) {
        Ok(note) => env.notes.extend(note),
        Err(refusal) if dry_run => env.notes.push(format!(
            "a submission would be refused: {refusal}; {}",
            refusal.hint()
        )),
        Err(refusal) => return Err(refusal.into()),
    }
    let demand = gpu::demand_note(dag, env);
    env.notes.extend(demand);
    Ok(())
}
