//! `jupyterflow delete`: runs (and their logs), by name, `--completed` or `--older-than`, and
//! scheduled pipelines (`--cron`, cluster only). Every named run is checked before anything is
//! deleted, so a typo, a live run or someone else's workflow deletes nothing.

use std::time::SystemTime;

use serde_json::Value;

use super::argo_session::{resolve, scope, with_cluster};
use super::history::{self, RunSummary, find_local};
use crate::argo::ArgoKind;
use crate::argo::labels::MANAGED_BY;
use crate::argo::view::WorkflowView;
use crate::error::Error;
use crate::events::RunStatus;
use crate::local::record;
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
            let mut ids: Vec<String> = Vec::new();
            for name in &delete.names {
                let run = find_local(runs_dir, name)?;
                if run.status == RunStatus::Running {
                    return Err(record::RecordError::StillRunning {
                        id: run.id,
                        pid: run.pid,
                    }
                    .into());
                }
                ids.push(run.id);
            }
            if delete.completed || delete.older_than.is_some() {
                let runs: Vec<RunSummary> = record::list(runs_dir)?
                    .iter()
                    .map(RunSummary::from_record)
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

fn cluster(delete: &DeleteSettings, session: &Session, printer: &mut Printer) -> Result<(), Error> {
    let selector = scope(session);
    with_cluster(session, printer, async |cluster, printer| {
        let mut names: Vec<String> = Vec::new();
        for run in &delete.names {
            let name = resolve(cluster, run).await?;
            let object = cluster.get(ArgoKind::Workflow, &name).await?;
            refuse(ArgoKind::Workflow, &object, session.all, delete.force)?;
            names.push(name);
        }
        for cron in &delete.cron {
            let object = cluster.get(ArgoKind::CronWorkflow, cron).await?;
            refuse(ArgoKind::CronWorkflow, &object, session.all, delete.force)?;
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

/// Refuses to delete a named object jupyterflow did not make (unless `all`), or a workflow
/// still running (unless `force`). `--completed`/`--older-than` need no such check: they only
/// ever pick finished runs in scope.
fn refuse(kind: ArgoKind, object: &Value, all: bool, force: bool) -> Result<(), Error> {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let what = kind.kind().to_ascii_lowercase();
    let ours = object["metadata"]["labels"][MANAGED_BY] == "jupyterflow";
    if !ours && !all {
        return Err(Error::usage(
            format!("refusing to delete {what} `{name}`: it has no label {MANAGED_BY}=jupyterflow"),
            "not made by jupyterflow; pass --all to delete it anyway",
        ));
    }
    if kind == ArgoKind::Workflow && !force {
        let view = WorkflowView::from_json(object);
        if !view.is_finished() {
            let hint = if view.shutdown.is_some() {
                format!(
                    "it is stopping: wait for it to end (jupyterflow watch {name}) or pass --force"
                )
            } else {
                format!("stop it first (jupyterflow stop {name}) or pass --force")
            };
            return Err(Error::usage(
                format!(
                    "refusing to delete workflow `{name}`: it has not finished ({})",
                    view.status_text()
                ),
                hint,
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn delete_refuses_live_runs_and_other_peoples_objects() {
        let ours = json!({"app.kubernetes.io/managed-by": "jupyterflow"});
        let running =
            json!({"metadata": {"name": "a", "labels": ours}, "status": {"phase": "Running"}});
        let pending = json!({"metadata": {"name": "p", "labels": ours}});
        let stopping = json!({"metadata": {"name": "s", "labels": ours},
            "spec": {"shutdown": "Stop"}, "status": {"phase": "Running"}});
        let done =
            json!({"metadata": {"name": "b", "labels": ours}, "status": {"phase": "Failed"}});
        let theirs = json!({"metadata": {"name": "c"}, "status": {"phase": "Succeeded"}});
        let cron = json!({"metadata": {"name": "n", "labels": ours}});
        let hint = |object: &Value, all: bool, force: bool, kind: ArgoKind| {
            refuse(kind, object, all, force)
                .err()
                .and_then(|e| e.hint())
        };
        let wf = ArgoKind::Workflow;
        assert_eq!(
            hint(&running, false, false, wf).as_deref(),
            Some("stop it first (jupyterflow stop a) or pass --force")
        );
        assert!(
            hint(&pending, false, false, wf).is_some(),
            "pending is not finished"
        );
        assert!(
            hint(&stopping, false, false, wf).is_some_and(|h| h.contains("it is stopping")),
            "a stop already asked for"
        );
        assert!(hint(&running, false, true, wf).is_none());
        assert!(hint(&done, false, false, wf).is_none());
        assert_eq!(
            hint(&theirs, false, false, wf).as_deref(),
            Some("not made by jupyterflow; pass --all to delete it anyway")
        );
        assert!(hint(&theirs, true, false, wf).is_none());
        // A CronWorkflow never "runs": only whose it is matters.
        assert!(hint(&cron, false, false, ArgoKind::CronWorkflow).is_none());
        let theirs_cron = json!({"metadata": {"name": "m"}});
        assert!(hint(&theirs_cron, false, false, ArgoKind::CronWorkflow).is_some());
    }
}
