//! `list`, `get`, `watch`, `stop`, `terminate` and `resubmit` for runs on the
//! cluster (Argo Workflows). Scope: the runs jupyterflow made (by label) unless `--all`;
//! `@latest` is the newest run from this notebook. `logs` lives in `cluster_logs`, `delete` in
//! `cluster_delete`.

use std::time::SystemTime;

use serde_json::{Value, json};

use super::cluster::{self, block_on, connect_cluster};
use crate::argo::ArgoKind;
use crate::argo::labels::{MANAGED_BY, NOTEBOOK_LABEL, label_value};
use crate::argo::resubmit::{newest, resubmission};
use crate::argo::view::{CronView, WorkflowView};
use crate::cli::{GetArgs, HistoryArgs, ListArgs, ResubmitArgs, RunRefArgs};
use crate::cluster::Cluster;
use crate::cluster::submit;
use crate::error::Error;
use crate::output::{self, OutputFormat};
use crate::printer::{Printer, workflows};
use crate::settings::config_file::UserConfig;

/// Runs one cluster command with a connection; prints retry notes with `-v`.
pub(super) fn with_cluster<T>(
    history: &HistoryArgs,
    config: &UserConfig,
    printer: &mut Printer,
    body: impl AsyncFnOnce(&mut Cluster, &mut Printer) -> Result<T, Error>,
) -> Result<T, Error> {
    let target = cluster::target(&history.cluster, None, config)?;
    block_on(async {
        let mut cluster = connect_cluster(&target).await?;
        let result = body(&mut cluster, printer).await;
        cluster::report(&mut cluster, history.verbose, printer);
        result
    })
}

/// The label selector for the runs in scope.
pub(super) fn scope(history: &HistoryArgs) -> String {
    if history.all {
        String::new()
    } else {
        format!("{MANAGED_BY}=jupyterflow")
    }
}

/// A run's name: as given, or `@latest` = the newest jupyterflow run of this notebook pod
/// (of the namespace when we are not in a pod).
pub(super) async fn resolve(cluster: &mut Cluster, name: &str) -> Result<String, Error> {
    if name != "@latest" {
        return Ok(name.to_owned());
    }
    let mut selector = format!("{MANAGED_BY}=jupyterflow");
    if let Some(pod) = &cluster.conn.own_pod {
        selector.push_str(&format!(",{NOTEBOOK_LABEL}={}", label_value(pod)));
    }
    let (items, _) = cluster.list(ArgoKind::Workflow, &selector).await?;
    newest(&items).ok_or_else(|| {
        Error::usage(
            format!(
                "there are no jupyterflow runs in namespace `{}`{}",
                cluster.namespace(),
                cluster
                    .conn
                    .own_pod
                    .as_ref()
                    .map(|p| format!(" from notebook {p}"))
                    .unwrap_or_default()
            ),
            "start one with jupyterflow run -c \"…\", or name a run (jupyterflow list --all)",
        )
    })
}

fn format_of(text: Option<&str>) -> Result<OutputFormat, Error> {
    Ok(text.map_or(Ok(OutputFormat::Table), OutputFormat::parse)?)
}

/// kubectl's shape for several objects.
fn list_object(items: &[Value]) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "items": items})
}

pub fn list(args: &ListArgs, config: &UserConfig, printer: &mut Printer) -> Result<(), Error> {
    let format = format_of(args.output.as_deref())?;
    let selector = scope(&args.history);
    with_cluster(&args.history, config, printer, async |cluster, printer| {
        let kind = if args.cron {
            ArgoKind::CronWorkflow
        } else {
            ArgoKind::Workflow
        };
        let (mut items, _) = cluster.list(kind, &selector).await?;
        if !args.cron {
            items.retain(|o| {
                let finished = WorkflowView::from_json(o).is_finished();
                !(args.running && finished || args.completed && !finished)
            });
        }
        // Newest first, as `argo list` shows them.
        items.sort_by(|a, b| {
            b["metadata"]["creationTimestamp"]
                .as_str()
                .cmp(&a["metadata"]["creationTimestamp"].as_str())
        });
        if let Some(text) = output::structured(&list_object(&items), &format)? {
            printer.data(&text);
            return Ok(());
        }
        if format == OutputFormat::Name {
            printer.data(&items.iter().fold(String::new(), |mut out, o| {
                out.push_str(
                    &kind.resource_name(o["metadata"]["name"].as_str().unwrap_or_default()),
                );
                out.push('\n');
                out
            }));
            return Ok(());
        }
        if items.is_empty() {
            printer.status(&format!(
                "no {}{} in namespace `{}`",
                if args.history.all { "" } else { "jupyterflow " },
                if args.cron {
                    "scheduled pipelines"
                } else {
                    "runs"
                },
                cluster.namespace()
            ));
            return Ok(());
        }
        let now = SystemTime::now();
        let text = if args.cron {
            let views: Vec<CronView> = items.iter().map(CronView::from_json).collect();
            workflows::cron_table(&views, now)
        } else {
            let views: Vec<WorkflowView> = items.iter().map(WorkflowView::from_json).collect();
            workflows::list_table(&views, format == OutputFormat::Wide, now)
        };
        printer.data(&text);
        Ok(())
    })
}

pub fn get(args: &GetArgs, config: &UserConfig, printer: &mut Printer) -> Result<(), Error> {
    let format = format_of(args.output.as_deref())?;
    with_cluster(&args.history, config, printer, async |cluster, printer| {
        let name = resolve(cluster, &args.run).await?;
        let object = cluster.get(ArgoKind::Workflow, &name).await?;
        if let Some(text) = output::structured(&object, &format)? {
            printer.data(&text);
        } else if format == OutputFormat::Name {
            printer.data(&format!("{}\n", ArgoKind::Workflow.resource_name(&name)));
        } else {
            printer.data(&workflows::get_text(
                &WorkflowView::from_json(&object),
                SystemTime::now(),
            ));
        }
        Ok(())
    })
}

pub fn watch(args: &RunRefArgs, config: &UserConfig, printer: &mut Printer) -> Result<u8, Error> {
    with_cluster(&args.history, config, printer, async |cluster, printer| {
        let name = resolve(cluster, &args.run).await?;
        let object = cluster.get(ArgoKind::Workflow, &name).await?;
        super::follow::follow(cluster, &name, object, false, args.history.verbose, printer).await
    })
}

/// `stop` (no new jobs; running ones finish) or `terminate` (kill now), via `spec.shutdown`.
pub fn shutdown(
    args: &RunRefArgs,
    strategy: &str,
    config: &UserConfig,
    printer: &mut Printer,
) -> Result<(), Error> {
    with_cluster(&args.history, config, printer, async |cluster, printer| {
        let name = resolve(cluster, &args.run).await?;
        let object = cluster.get(ArgoKind::Workflow, &name).await?;
        let view = WorkflowView::from_json(&object);
        if view.is_finished() {
            printer.status(&format!(
                "{name} has already finished ({}); nothing to {}",
                view.phase,
                strategy.to_ascii_lowercase()
            ));
            return Ok(());
        }
        let patch = json!({"spec": {"shutdown": strategy}});
        cluster
            .merge_patch(ArgoKind::Workflow, &name, &patch)
            .await?;
        let verb = if strategy == "Stop" {
            "stopped"
        } else {
            "terminated"
        };
        printer.data(&format!(
            "{} {verb}\n",
            ArgoKind::Workflow.resource_name(&name)
        ));
        Ok(())
    })
}

pub fn resubmit(
    args: &ResubmitArgs,
    config: &UserConfig,
    printer: &mut Printer,
) -> Result<u8, Error> {
    let format = match args.output.as_deref() {
        None => OutputFormat::Name,
        Some(text) => OutputFormat::parse(text)?,
    };
    with_cluster(&args.history, config, printer, async |cluster, printer| {
        let name = resolve(cluster, &args.run).await?;
        let old = cluster.get(ArgoKind::Workflow, &name).await?;
        let created =
            submit::submit_object(cluster, ArgoKind::Workflow, &resubmission(&old)).await?;
        match output::structured(&created.object, &format)? {
            Some(text) => printer.data(&text),
            None => printer.data(&format!(
                "{}\n",
                ArgoKind::Workflow.resource_name(&created.name)
            )),
        }
        if args.watch {
            let followed = super::follow::follow(
                cluster,
                &created.name,
                created.object,
                false,
                args.history.verbose,
                printer,
            )
            .await;
            return super::follow::after_submit(&created.name, followed);
        }
        Ok(0)
    })
}

/// Refuses cluster-only verbs on local runs, with the local equivalent. A usage error (exit 2):
/// no cluster was asked, so none refused anything.
pub fn cluster_only(verb: &str) -> Error {
    Error::usage(
        format!("`{verb}` is for runs on the cluster, and no cluster is in use here"),
        "run it inside the notebook pod, or pass -n/--context; local runs: jupyterflow logs -f @latest follows one, Ctrl-C stops it",
    )
}
