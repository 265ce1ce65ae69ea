//! `jupyterflow delete`: runs (and their logs), by name, `--completed` or `--older-than`, and
//! scheduled pipelines (`--cron`, cluster only). Every named run is checked before anything is
//! deleted, so a typo, a live run or someone else's workflow deletes nothing.

use std::time::SystemTime;

use super::argo_session::{resolve, scope, with_cluster};
use super::history::{self, RunSummary, find_local};
use crate::argo::ArgoKind;
use crate::argo::deletion::deletable;
use crate::error::Error;
use crate::events::RunStatus;
use crate::local::record::{self, Backend, RunRecord};
use crate::printer::Printer;
use crate::settings::{DeleteSettings, Runs, Session};

pub(super) fn delete(delete: &DeleteSettings, printer: &mut Printer) -> Result<(), Error> {
    match &delete.runs {
        Runs::Local { runs_dir } => {
            // Refuse before deleting anything: `--cron` next to run names must not half-happen.
            if let Some(cron) = delete.cron.first() {
                return Err(Error::usage(
                    format!(
                        "--cron {cron}: scheduled pipelines (CronWorkflows) live on the cluster, and no cluster is in use here"
                    ),
                    "run it inside the notebook pod, or pass -n/--context; local runs have no schedules",
                ));
            }
            // Runs are named by their folders; a damaged record can still be deleted.
            let mut ids: Vec<String> = Vec::new();
            for name in &delete.names {
                let run = find_local(runs_dir, name)?;
                if let Ok(record) = &run.record
                    && record.status == RunStatus::Running
                {
                    if record.backend == Backend::Argo {
                        if !delete.force {
                            return Err(cluster_run_running(&run.name, record));
                        }
                    } else {
                        return Err(record::RecordError::StillRunning {
                            id: run.name,
                            pid: record.pid,
                        }
                        .into());
                    }
                }
                ids.push(run.name);
            }
            if delete.completed || delete.older_than.is_some() {
                let runs: Vec<RunSummary> = record::list(runs_dir)?
                    .iter()
                    .filter_map(RunSummary::from_stored)
                    .collect();
                ids.extend(history::finished_to_delete(
                    &runs,
                    delete.older_than,
                    SystemTime::now(),
                ));
            }
            history::dedupe(&mut ids);
            if ids.is_empty() {
                printer.status("no runs matched; nothing deleted");
            }
            for id in ids {
                record::delete(runs_dir, &id)?;
                printer.data(&format!("deleted {id}\n"));
            }
            Ok(())
        }
        Runs::Argo(session) => cluster(delete, session, printer),
    }
}

/// Why the run folder of a cluster run that still looks running is kept: only the cluster
/// knows whether its Workflow is still going (its job pods write in this folder), and this
/// command, with `--local`, does not ask it.
fn cluster_run_running(name: &str, record: &RunRecord) -> Error {
    let namespace = record
        .argo
        .as_ref()
        .and_then(|argo| argo.namespace.as_deref())
        .map(|ns| format!(" in namespace `{ns}`"))
        .unwrap_or_default();
    Error::usage(
        format!(
            "run `{name}` is a cluster run (Workflow {name}{namespace}), and its run folder on the shared volume says it is still running: its job pods may still be writing there"
        ),
        format!(
            "in the notebook pod, `jupyterflow delete {name}` deletes its Workflow (`jupyterflow get {name}` shows how it goes); once the Workflow has ended or is gone, `jupyterflow delete --local --force {name}` removes the folder"
        ),
    )
}

fn cluster(delete: &DeleteSettings, session: &Session, printer: &mut Printer) -> Result<(), Error> {
    let selector = scope(session);
    with_cluster(session, printer, async |cluster, printer| {
        let mut names: Vec<String> = Vec::new();
        for run in &delete.names {
            let name = resolve(cluster, run).await?;
            let object = cluster.get(ArgoKind::Workflow, &name).await?;
            deletable(ArgoKind::Workflow, &object, session.all, delete.force)?;
            names.push(name);
        }
        for cron in &delete.cron {
            let object = cluster.get(ArgoKind::CronWorkflow, cron).await?;
            deletable(ArgoKind::CronWorkflow, &object, session.all, delete.force)?;
        }
        if delete.completed || delete.older_than.is_some() {
            let (items, _) = cluster.list(ArgoKind::Workflow, &selector).await?;
            let runs: Vec<RunSummary> = items.iter().map(RunSummary::from_workflow).collect();
            names.extend(history::finished_to_delete(
                &runs,
                delete.older_than,
                SystemTime::now(),
            ));
        }
        history::dedupe(&mut names);
        for name in &names {
            cluster.delete(ArgoKind::Workflow, name).await?;
            printer.data(&format!(
                "{} deleted\n",
                ArgoKind::Workflow.resource_name(name)
            ));
        }
        for cron in &delete.cron {
            cluster.delete(ArgoKind::CronWorkflow, cron).await?;
            printer.data(&format!(
                "{} deleted\n",
                ArgoKind::CronWorkflow.resource_name(cron)
            ));
        }
        if names.is_empty() && delete.cron.is_empty() {
            printer.status("no runs matched; nothing deleted");
        }
        Ok(())
    })
}
