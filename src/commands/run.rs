//! `jupyterflow run`: load the pipeline, then hand it to the backend `Settings` chose: the
//! cluster (`run/argo`), this machine (`run/local`), or, for `--dry-run --pod-file`, print the
//! Argo object a saved notebook pod would submit.

mod argo;
mod drift;
pub(super) mod local;

use std::path::Path;

use super::{LoadedPipeline, load};
use crate::argo::confinement::{self, Policies};
use crate::argo::render_checked;
use crate::environment::discover::binary;
use crate::environment::pod::LocalContext;
use crate::environment::supervisor::{self, Choice, Conditions};
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
            if let Some(warning) = job_supervisor(&mut env, argo, Supervising::PodFile) {
                printer.warning(&warning, None);
            }
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

/// Where the job supervisor's choice is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Supervising {
    /// Submitting from the notebook: a copy of this binary is made when job pods need one.
    Submit,
    /// A dry run in the notebook: the same choice, nothing copied.
    DryRun,
    /// `--dry-run --pod-file`: this machine is not the notebook, so neither its binary nor its
    /// mounts say anything; the manifest shows where a submission would copy this binary.
    PodFile,
}

/// Makes job containers start `jupyterflow exec-job` (which keeps their logs on the shared
/// volume) from a binary job pods can run, or leaves them running their command directly and
/// says why (see `environment::supervisor`). Never fails a submission: whatever goes wrong
/// here only costs the volume's copy of the logs. Returns the warning to print when jobs fall
/// back to running their command directly for any reason but the config's choice.
pub(super) fn job_supervisor(
    env: &mut Environment,
    argo: &ArgoRun,
    mode: Supervising,
) -> Option<String> {
    let settings = &argo.job_supervisor;
    let arch = std::env::consts::ARCH;
    let binary = match binary::this_binary(settings.exe.as_deref()) {
        Ok(binary) => binary,
        Err(e) => {
            return Some(format!(
                "cannot find this jupyterflow binary ({e}): jobs run their command directly, and their logs stay in their pods only"
            ));
        }
    };
    let mount = (mode != Supervising::PodFile)
        .then(|| binary::mount_of(&settings.mountinfo, Path::new(&env.working_dir)))
        .flatten();
    let on = Conditions {
        enabled: settings.enabled,
        allow_unshared: argo.allow_unshared_workdir,
        workdir_mount: mount.as_ref(),
    };
    let choice = if mode == Supervising::PodFile {
        match supervisor::why_off(env, &on) {
            Some(why) => Choice::Off(why),
            None => Choice::Copy {
                dir: supervisor::copy_dir(env),
                arch: supervisor::kubernetes_arch(arch).map(str::to_owned),
            },
        }
    } else {
        supervisor::choose(env, &binary, &on, arch)
    };
    match choice {
        // The config's own choice needs no warning.
        Choice::Off(why) if !settings.enabled => env.notes.push(why),
        Choice::Off(why) => return Some(why),
        Choice::InPlace { path, arch } => {
            if mode != Supervising::Submit {
                env.notes.push(format!(
                    "job containers start jupyterflow's job supervisor from {}, which job pods see as it is; it keeps each job's log in .jupyterflow/runs/<run> of the working directory",
                    path.display()
                ));
            }
            supervisor::apply(env, &path, arch.as_deref());
        }
        Choice::Copy { dir, arch } => {
            let target = match binary::copy_path(&binary.path, &dir) {
                Ok(target) => target,
                Err(e) => {
                    return Some(format!(
                        "cannot read this jupyterflow binary {} ({e}): jobs run their command directly, and their logs stay in their pods only",
                        binary.path.display()
                    ));
                }
            };
            let pinned = arch
                .as_deref()
                .map(|a| format!("; job pods are pinned to {a} nodes, the CPU it was built for"))
                .unwrap_or_default();
            match mode {
                Supervising::PodFile => env.notes.push(format!(
                    "--pod-file: job containers start jupyterflow's job supervisor from {}, where a submission copies its jupyterflow when the notebook's own is neither in its image nor on a shared volume (then that one is used, as is){pinned}",
                    target.display()
                )),
                Supervising::DryRun => env.notes.push(format!(
                    "a submission copies this jupyterflow ({}) to {} on the shared volume, where job pods start it as their job supervisor{pinned}",
                    binary.path.display(),
                    target.display()
                )),
                Supervising::Submit => match binary::install_copy(&binary.path, &target) {
                    Ok(true) => env.notes.push(format!(
                        "copied this jupyterflow to {}: job pods run it from the shared volume as their job supervisor, which keeps their logs there{pinned}",
                        target.display()
                    )),
                    Ok(false) => {}
                    Err(e) => {
                        return Some(format!(
                            "cannot copy this jupyterflow to {} ({e}): jobs run their command directly, and their logs stay in their pods only",
                            target.display()
                        ));
                    }
                },
            }
            supervisor::apply(env, &target, arch.as_deref());
        }
    }
    None
}
