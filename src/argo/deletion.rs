//! Whether `delete` may remove a named Argo object, pure: jupyterflow's own objects only
//! (unless `--all`), and no workflow still running (unless `--force`).

use serde_json::Value;

use super::ArgoKind;
use super::labels::MANAGED_BY;
use super::view::WorkflowView;

/// Why a named object may not be deleted, and how to delete it anyway.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct Refusal {
    pub(crate) message: String,
    pub(crate) hint: String,
}

/// Refuses to delete a named object jupyterflow did not make (unless `all`), or a workflow
/// still running (unless `force`). `--completed`/`--older-than` need no such check: they only
/// ever pick finished runs in scope.
pub(crate) fn deletable(
    kind: ArgoKind,
    object: &Value,
    all: bool,
    force: bool,
) -> Result<(), Refusal> {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let what = kind.kind().to_ascii_lowercase();
    let ours = object["metadata"]["labels"][MANAGED_BY] == "jupyterflow";
    if !ours && !all {
        return Err(Refusal {
            message: format!(
                "refusing to delete {what} `{name}`: it has no label {MANAGED_BY}=jupyterflow"
            ),
            hint: "not made by jupyterflow; pass --all to delete it anyway".to_owned(),
        });
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
            return Err(Refusal {
                message: format!(
                    "refusing to delete workflow `{name}`: it has not finished ({})",
                    view.status_text()
                ),
                hint,
            });
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
            deletable(kind, object, all, force).err().map(|e| e.hint)
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
