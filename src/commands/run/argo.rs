//! `run` on the cluster: read the notebook's own pod, check that job pods will see the working
//! directory, read the namespace's NetworkPolicies (job pods carry the labels they select the
//! notebook by), check GPUs, render, and create the Workflow or CronWorkflow exactly once;
//! with `--watch`, follow it. On the happy path that is three requests (four when a claim's
//! access mode must be read).

use std::path::Path;
use std::time::SystemTime;

use k8s_openapi::api::core::v1::Pod;

use super::{LoadedPipeline, Supervising, check_gpus, drift, environment, job_supervisor};
use crate::argo::confinement::{self, Policies};
use crate::argo::render::argo_jobs;
use crate::argo::{ArgoKind, RenderOptions, render_checked};
use crate::cluster::cron_field::{self, Answer};
use crate::cluster::own_pod::{self, Found};
use crate::cluster::submit::{self, Submitted};
use crate::cluster::{Cluster, ClusterError, Target, connect};
use crate::environment::Environment;
use crate::environment::drift::DriftPolicy;
use crate::environment::workdir::{self, Placement};
use crate::error::Error;
use crate::local::record::RecordError;
use crate::pipeline::ParamMap;
use crate::printer::{Printer, events, format};
use crate::settings::{ArgoRun, RunSettings, Settings};

use super::super::argo_session::{Shown, after_submit, follow, report};
use super::super::volume;

/// What one submission is made from.
pub(super) struct Submission<'a> {
    pub(super) settings: &'a Settings,
    pub(super) run: &'a RunSettings,
    pub(super) target: &'a Target,
    pub(super) argo: &'a ArgoRun,
    pub(super) loaded: &'a LoadedPipeline,
}

pub(super) fn run(submission: &Submission<'_>, printer: &mut Printer) -> Result<u8, Error> {
    let Submission {
        settings,
        run,
        target,
        argo,
        ..
    } = *submission;
    super::super::block_on(async {
        let mut cluster = Cluster::new(connect::connect(target).await?);
        let result = submit_from_pod(&mut cluster, submission, printer).await;
        report(&mut cluster, run.verbose, printer);
        if run.verbose {
            printer.note(&format!("{} API requests", cluster.conn.requests()));
        }
        let Some(submitted) = result? else {
            return Ok(0); // a dry run
        };
        let ui = argo.argo_ui_url.as_deref().map(|base| {
            submitted
                .kind
                .ui_link(base, cluster.namespace(), &submitted.name)
        });
        if run.events {
            let context = events::Context::argo(&settings.cwd, cluster.namespace(), ui.clone());
            printer.data(&events::Writer::new(context).submitted(
                &submitted.name,
                submitted.kind.kind(),
                SystemTime::now(),
            ));
        } else {
            let text = match format::structured(&submitted.object, &run.output)? {
                Some(text) => text,
                None => format!("{}\n", submitted.kind.resource_name(&submitted.name)),
            };
            printer.data(&text);
        }
        if let Some(ui) = &ui {
            printer.note(ui);
        }
        if !argo.watch {
            return Ok(0);
        }
        if submitted.kind == ArgoKind::CronWorkflow {
            printer.note("--watch follows runs; a CronWorkflow starts them on its schedule (jupyterflow list --cron)");
            return Ok(0);
        }
        let shown = Shown {
            quiet: run.quiet,
            verbose: run.verbose,
            output: run.stream_output,
            events: run.events,
            argo_ui_url: argo.argo_ui_url.as_deref(),
        };
        let followed = follow(
            &mut cluster,
            &submitted.name,
            submitted.object,
            shown,
            &settings.cwd,
            printer,
        )
        .await;
        after_submit(&submitted.name, followed)
    })
}

/// How to render: for a schedule, the field this cluster's CronWorkflows take, asked anew
/// (one dry run) unless the config's `cron_schedule_field` says; a refusal to answer leaves the
/// default and the real create speaks for itself.
async fn render_options(
    cluster: &mut Cluster,
    settings: &Settings,
    argo: &ArgoRun,
    loaded: &LoadedPipeline,
    env: &mut Environment,
) -> RenderOptions {
    let mut render = argo.render.clone();
    if loaded.dag.options.schedule.is_none() || settings.config.cron_schedule_field.is_some() {
        return render;
    }
    match cron_field::detect(cluster).await {
        Ok(Answer::Field(field)) => render.cron_schedule_field = field,
        Ok(Answer::Unknown) => env.notes.push(
            "this cluster's CronWorkflow CRD does not say which schedule field it reads (minimal CRDs): writing `schedules`, which Argo 3.6 and later read; for Argo 3.5 or older set `cron_schedule_field: schedule` in the config".to_owned(),
        ),
        Err(e) => cluster
            .notes
            .push(format!("could not ask which CronWorkflow schedule field the cluster takes: {e}")),
    }
    render
}

/// The notebook's own pod: `--pod`, else `$HOSTNAME`, which may be a cut name: then this
/// container's IP finds it.
async fn notebook_pod(cluster: &mut Cluster, target: &Target) -> Result<Pod, Error> {
    let pod_name = cluster
        .conn
        .own_pod
        .clone()
        .ok_or_else(|| ClusterError::NoOwnPod {
            reason: format!(
                "not inside a pod ({}), and no --pod given",
                cluster.conn.origin.describe()
            ),
        })?;
    // Inside the pod, without --pod, the name came from $HOSTNAME, which may be a cut name:
    // then this container's IP finds the pod.
    let ip = if target.pod.is_none() {
        target.env.pod_ip()
    } else {
        None
    };
    match own_pod::find(cluster, &pod_name, ip.as_deref()).await {
        Ok((pod, Found::ByName)) => Ok(pod),
        Ok((pod, Found::ByIp { ip, name })) => {
            cluster.notes.push(format!(
                "no pod is named `{pod_name}` ($HOSTNAME); pod `{name}` has this container's IP {ip}, so it is the notebook"
            ));
            Ok(pod)
        }
        Err(ClusterError::NotFound { .. }) => Err(ClusterError::OwnPodNotFound {
            name: pod_name,
            namespace: cluster.namespace().to_owned(),
            // Without --pod, the name came from $HOSTNAME.
            in_pod: target.pod.is_none(),
        }
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// Reads the pod, renders, and submits (or, with `--dry-run`, prints): `None` for a dry run.
async fn submit_from_pod(
    cluster: &mut Cluster,
    submission: &Submission<'_>,
    printer: &mut Printer,
) -> Result<Option<Submitted>, Error> {
    let Submission {
        settings,
        run,
        target,
        argo,
        loaded,
    } = *submission;
    let pod = notebook_pod(cluster, target).await?;
    // Names the service account in the RoleBinding a later 403 prints.
    cluster.conn.learn_service_account(&pod);
    let mut env = environment(settings, argo, loaded, &pod)?;
    let claim_modes = match workdir::claim_to_read(&env) {
        Some(claim) => cluster.claim_access_modes(&claim).await?,
        None => Vec::new(),
    };
    let placement =
        match workdir::preflight(&mut env, Some(&claim_modes), argo.allow_unshared_workdir) {
            Ok(placement) => placement,
            // A dry run shows what would happen, refusal included, and goes on.
            Err(refusal) if run.dry_run => {
                env.notes.push(format!(
                    "a submission would be refused: {refusal}; {}",
                    refusal.hint()
                ));
                Placement::Anywhere
            }
            Err(refusal) => return Err(refusal.into()),
        };
    match cluster.list_network_policies().await {
        Ok(policies) => confinement::confine(&mut env, &pod, Policies::Listed(&policies)),
        Err(ClusterError::Forbidden { request, .. }) => {
            let missing = format!("{} {} in {}", request.verb, request.resource, request.group);
            confinement::confine(&mut env, &pod, Policies::Forbidden { missing: &missing });
        }
        Err(e) => return Err(e.into()),
    }
    check_gpus(&loaded.dag, &mut env, &placement, argo, run.dry_run)?;
    // This container is the notebook only when no --pod named another one.
    if target.pod.is_none() {
        drift::guard(
            argo.drift,
            &loaded.dag,
            &mut env,
            target.env.home.as_deref(),
            run.dry_run,
            printer,
            &mut cluster.notes,
        )?;
    } else if argo.drift != DriftPolicy::Ignore {
        cluster.notes.push(
            "drift: packages installed after the notebook started are looked for only when run inside the notebook (no --pod)".to_owned(),
        );
    }
    let supervising = if run.dry_run {
        Supervising::DryRun
    } else {
        Supervising::Submit
    };
    if let Some(warning) = job_supervisor(&mut env, argo, supervising) {
        printer.warning(
            &warning,
            Some(
                "set job_supervisor: false in the config to run jobs directly without this warning",
            ),
        );
    }
    let render = render_options(cluster, settings, argo, loaded, &mut env).await;
    let manifest = render_checked(&loaded.dag, &env, &render)?;
    for note in &env.notes {
        printer.note(note);
    }
    if run.dry_run {
        printer.data(&format::manifest(&manifest.as_submitted(), &run.output)?);
        return Ok(None);
    }
    let submitted = submit::submit(cluster, &manifest).await?;
    if env.supervisor.is_some() && submitted.kind == ArgoKind::Workflow {
        start_run_folder(&submitted.name, cluster.namespace(), loaded, &env, printer);
    }
    Ok(Some(submitted))
}

/// Writes `run.json` in the run folder `<workdir>/.jupyterflow/runs/<name>` of a submitted
/// Workflow: backend `argo`, status Running, every job (named as Argo names it) Pending. The
/// job supervisors fill the folder in. The run is submitted whatever happens here: a failure
/// is a warning.
fn start_run_folder(
    name: &str,
    namespace: &str,
    loaded: &LoadedPipeline,
    env: &Environment,
    printer: &mut Printer,
) {
    if let Err(e) = write_run_json(name, namespace, loaded, env) {
        printer.warning(
            &format!(
                "{e}; once its Workflow is gone, `jupyterflow get {name}` shows only the jobs that started"
            ),
            None,
        );
    }
}

fn write_run_json(
    name: &str,
    namespace: &str,
    loaded: &LoadedPipeline,
    env: &Environment,
) -> Result<(), RecordError> {
    volume::start(volume::Started {
        name,
        namespace,
        workdir: Path::new(&env.working_dir),
        source: &loaded.dag.source,
        jobs: argo_jobs(&loaded.dag)
            .into_iter()
            .map(|j| (j.name, j.task, j.argv))
            .collect(),
        params: ParamMap::of(&loaded.dag.options.params),
        retry_of: None,
        notebooks: loaded
            .dag
            .tasks
            .iter()
            .filter_map(|t| Some((t.name.clone(), t.notebook.as_ref()?.notebook.clone())))
            .collect(),
    })
}
