//! `jupyterflow run` on the cluster: read the notebook's own pod, check that job pods will see
//! the working directory, render, and create the Workflow or CronWorkflow, exactly once.
//! On the happy path that is two requests (three when a claim's access mode must be read).

use super::LoadedPipeline;
use super::cluster::{self, block_on, connect_cluster};
use super::run::{environment, format_manifest, render_checked};
use crate::argo::ArgoKind;
use crate::cli::RunArgs;
use crate::cluster::submit::{self, Submitted};
use crate::cluster::{Cluster, ClusterError};
use crate::environment::Environment;
use crate::environment::workdir::{self, ClaimAccess, Workdir};
use crate::error::Error;
use crate::output::{self, OutputFormat};
use crate::printer::Printer;
use crate::settings::config_file::UserConfig;

/// What `run` resolved before choosing the cluster: flags, pipeline, config, output format.
pub struct Request<'a> {
    pub args: &'a RunArgs,
    pub loaded: &'a LoadedPipeline,
    pub config: &'a UserConfig,
    pub config_path: Option<&'a std::path::Path>,
    pub format: &'a OutputFormat,
}

pub fn run(request: &Request<'_>, printer: &mut Printer) -> Result<u8, Error> {
    let Request { args, config, .. } = *request;
    let target = cluster::target(&args.cluster, args.pod.clone(), config)?;
    block_on(async {
        let mut cluster = connect_cluster(&target).await?;
        let result = submit_from_pod(&mut cluster, request, printer).await;
        cluster::report(&mut cluster, args.follow, printer);
        if args.follow {
            printer.note(&format!("{} API requests", cluster.conn.requests()));
        }
        let Some(submitted) = result? else {
            return Ok(0); // a dry run
        };
        if let Some(url) = &config.argo_ui_url {
            let path = match submitted.kind {
                ArgoKind::Workflow => "workflows",
                ArgoKind::CronWorkflow => "cron-workflows",
            };
            printer.note(&format!(
                "{}/{path}/{}/{}",
                url.trim_end_matches('/'),
                cluster.namespace(),
                submitted.name
            ));
        }
        if !args.watch {
            return Ok(0);
        }
        if submitted.kind == ArgoKind::CronWorkflow {
            printer.note("--watch follows runs; a CronWorkflow starts them on its schedule (jupyterflow list --cron)");
            return Ok(0);
        }
        let followed = super::follow::follow(
            &mut cluster,
            &submitted.name,
            submitted.object,
            args.quiet,
            args.follow,
            printer,
        )
        .await;
        super::follow::after_submit(&submitted.name, followed)
    })
}

async fn submit_from_pod(
    cluster: &mut Cluster,
    request: &Request<'_>,
    printer: &mut Printer,
) -> Result<Option<Submitted>, Error> {
    let Request {
        args,
        loaded,
        config,
        config_path,
        format,
    } = *request;
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
    let pod = match cluster.get_pod(&pod_name).await {
        Err(ClusterError::NotFound { .. }) => {
            return Err(ClusterError::OwnPodNotFound {
                name: pod_name,
                namespace: cluster.namespace().to_owned(),
                in_pod: args.pod.is_none(),
            }
            .into());
        }
        other => other?,
    };
    let mut env = environment(args, loaded, config, config_path, &pod)?;
    check_workdir(cluster, &mut env, args.allow_unshared_workdir).await?;
    let manifest = render_checked(loaded, config, &env)?;
    for note in &env.notes {
        printer.note(note);
    }
    if args.dry_run {
        printer.data(&format_manifest(&manifest, format)?);
        return Ok(None);
    }
    let submitted = submit::submit(cluster, &manifest).await?;
    let text = match output::structured(&submitted.object, format)? {
        Some(text) => text,
        None => format!("{}\n", submitted.kind.resource_name(&submitted.name)),
    };
    printer.data(&text);
    Ok(Some(submitted))
}

/// The pre-flight: refuse a working directory job pods cannot see, and pin job pods to the
/// notebook's node when its claim is ReadWriteOnce.
async fn check_workdir(
    cluster: &mut Cluster,
    env: &mut Environment,
    allow_unshared: bool,
) -> Result<(), Error> {
    let refuse = |reason: String| {
        Error::usage(
            format!("job pods would not see your files: {reason}"),
            "cd into your home or a shared volume (a PersistentVolumeClaim or NFS mount) and run again, \
             or pass --allow-unshared-workdir if the jobs do not need the files",
        )
    };
    match workdir::locate(env) {
        Workdir::Shared { .. } => Ok(()),
        Workdir::Unshared { reason } if allow_unshared => {
            env.notes
                .push(format!("--allow-unshared-workdir: {reason}"));
            Ok(())
        }
        Workdir::Unshared { reason } => Err(refuse(reason)),
        Workdir::Claim { claim, .. } => {
            let pvc = cluster.get_pvc(&claim).await?;
            let modes = pvc
                .status
                .as_ref()
                .and_then(|s| s.access_modes.clone())
                .or_else(|| pvc.spec.as_ref().and_then(|s| s.access_modes.clone()))
                .unwrap_or_default();
            match workdir::claim_access(&modes) {
                ClaimAccess::AnyNode => Ok(()),
                ClaimAccess::NotebookNode => {
                    let note = workdir::pin_to_notebook_node(env, &claim).unwrap_or_else(|| {
                        format!(
                            "claim `{claim}` is ReadWriteOnce but the notebook pod has no node yet; job pods may wait for it"
                        )
                    });
                    env.notes.push(note);
                    Ok(())
                }
                ClaimAccess::NotebookPodOnly if allow_unshared => {
                    env.notes.push(format!(
                        "--allow-unshared-workdir: claim `{claim}` is ReadWriteOncePod, so job pods cannot mount it"
                    ));
                    Ok(())
                }
                ClaimAccess::NotebookPodOnly => Err(refuse(format!(
                    "claim `{claim}` is ReadWriteOncePod: only the notebook pod may mount it"
                ))),
            }
        }
    }
}
