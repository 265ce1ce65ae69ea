//! `delete` for runs on the cluster: every named object is checked first (it exists, jupyterflow
//! made it unless `--all`, it has finished unless `--force`), so a typo, a live run or someone
//! else's workflow deletes nothing; `--completed`/`--older-than` pick finished runs in scope.

use std::time::SystemTime;

use serde_json::Value;

use super::cluster_runs::{resolve, scope, with_cluster};
use crate::argo::ArgoKind;
use crate::argo::labels::MANAGED_BY;
use crate::argo::view::WorkflowView;
use crate::cli::DeleteArgs;
use crate::error::Error;
use crate::printer::Printer;
use crate::settings::config_file::UserConfig;
use crate::time;

/// `delete --older-than AGE`, parsed; shared with local runs so both say the same thing.
pub(super) fn older_than(args: &DeleteArgs) -> Result<Option<std::time::Duration>, Error> {
    args.older_than
        .as_deref()
        .map(|text| {
            time::parse_duration(text).map_err(|e| {
                Error::usage(format!("--older-than: {e}"), "write it like 7d, 12h or 30m")
            })
        })
        .transpose()
}

pub fn delete(args: &DeleteArgs, config: &UserConfig, printer: &mut Printer) -> Result<(), Error> {
    let older_than = older_than(args)?;
    let selector = scope(&args.history);
    with_cluster(&args.history, config, printer, async |cluster, printer| {
        // Resolve and check every name first, so a typo, a live run or someone else's object
        // deletes nothing.
        let mut names: Vec<String> = Vec::new();
        for run in &args.runs {
            let name = resolve(cluster, run).await?;
            let object = cluster.get(ArgoKind::Workflow, &name).await?;
            if let Some(refused) = refuse_delete(ArgoKind::Workflow, &object, args) {
                return Err(refused);
            }
            names.push(name);
        }
        for cron in &args.cron {
            let object = cluster.get(ArgoKind::CronWorkflow, cron).await?;
            if let Some(refused) = refuse_delete(ArgoKind::CronWorkflow, &object, args) {
                return Err(refused);
            }
        }
        if args.completed || older_than.is_some() {
            let now = SystemTime::now();
            let (items, _) = cluster.list(ArgoKind::Workflow, &selector).await?;
            for object in &items {
                let view = WorkflowView::from_json(object);
                let old_enough = older_than.is_none_or(|age| {
                    view.finished_at
                        .and_then(|at| now.duration_since(at).ok())
                        .is_some_and(|finished| finished >= age)
                });
                if view.is_finished() && old_enough {
                    names.push(view.name.clone());
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        names.retain(|n| seen.insert(n.clone()));
        for name in &names {
            cluster.delete(ArgoKind::Workflow, name).await?;
            printer.data(&format!(
                "{} deleted\n",
                ArgoKind::Workflow.resource_name(name)
            ));
        }
        for cron in &args.cron {
            cluster.delete(ArgoKind::CronWorkflow, cron).await?;
            printer.data(&format!(
                "{} deleted\n",
                ArgoKind::CronWorkflow.resource_name(cron)
            ));
        }
        if names.is_empty() && args.cron.is_empty() {
            printer.status("no runs matched; nothing deleted");
        }
        Ok(())
    })
}

/// Why a named object may not be deleted: jupyterflow did not make it (unless `--all`), or it
/// is a workflow still running (unless `--force`). `--completed`/`--older-than` need no such
/// check: they only ever pick finished runs in scope.
fn refuse_delete(kind: ArgoKind, object: &Value, args: &DeleteArgs) -> Option<Error> {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let what = kind.kind().to_ascii_lowercase();
    let ours = object["metadata"]["labels"][MANAGED_BY] == "jupyterflow";
    if !ours && !args.history.all {
        return Some(Error::usage(
            format!("refusing to delete {what} `{name}`: it has no label {MANAGED_BY}=jupyterflow"),
            "not made by jupyterflow; pass --all to delete it anyway",
        ));
    }
    if kind == ArgoKind::Workflow && !args.force {
        let view = WorkflowView::from_json(object);
        if !view.is_finished() {
            let hint = if view.shutdown.is_some() {
                format!(
                    "it is stopping: wait for it to end (jupyterflow watch {name}) or pass --force"
                )
            } else {
                format!("stop it first (jupyterflow stop {name}) or pass --force")
            };
            return Some(Error::usage(
                format!(
                    "refusing to delete workflow `{name}`: it has not finished ({})",
                    view.status_text()
                ),
                hint,
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cli::HistoryArgs;

    fn delete_args(all: bool, force: bool) -> DeleteArgs {
        DeleteArgs {
            history: HistoryArgs {
                all,
                ..HistoryArgs::default()
            },
            runs: vec!["x".into()],
            completed: false,
            older_than: None,
            cron: Vec::new(),
            force,
        }
    }

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
            refuse_delete(kind, object, &delete_args(all, force)).and_then(|e| e.hint())
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
