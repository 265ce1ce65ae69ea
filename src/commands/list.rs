//! `jupyterflow list`: the runs (or, with `--cron`, the scheduled pipelines) of the backend
//! `Settings` chose, newest first, as a table or in any `-o` format. In a notebook, cluster
//! runs and this directory's local runs are listed together, each with its backend; a cluster
//! run whose Workflow is gone is still listed from its run folder on the shared volume.

use std::collections::HashSet;
use std::path::Path;
use std::time::SystemTime;

use serde_json::json;

use super::argo_session::{scope, with_cluster};
use crate::argo::ArgoKind;
use crate::argo::view::{CronView, WorkflowView, newest_first};
use crate::error::Error;
use crate::events::RunStatus;
use crate::local::record::{self, Backend, RunRecord, StoredRun};
use crate::local::run_folder;
use crate::printer::format::{self, OutputFormat};
use crate::printer::runs::{self, RunRow};
use crate::printer::{Printer, workflows};
use crate::settings::{Filter, ListSettings, Runs, Session};

pub(super) fn list(list: &ListSettings, printer: &mut Printer) -> Result<(), Error> {
    match &list.runs {
        Runs::Local { runs_dir } => {
            let runs = stored(runs_dir, list, list.only)?;
            let text = match &list.output {
                OutputFormat::Name => runs.iter().map(|r| r.name.clone() + "\n").collect(),
                OutputFormat::Table | OutputFormat::Wide if runs.is_empty() => {
                    printer.status(&format!(
                        "no {}runs in {}",
                        which(list.filter),
                        runs_dir.display()
                    ));
                    return Ok(());
                }
                OutputFormat::Table | OutputFormat::Wide => runs::run_list(
                    &runs::stored_rows(&runs, SystemTime::now()),
                    list.output == OutputFormat::Wide,
                ),
                structured => {
                    let records: Vec<&RunRecord> =
                        runs.iter().filter_map(|r| r.record.as_ref().ok()).collect();
                    format::structured(&records, structured)?.unwrap_or_default()
                }
            };
            printer.data(&text);
            Ok(())
        }
        Runs::Argo(session) => cluster(list, session, printer),
    }
}

fn which(filter: Filter) -> &'static str {
    match filter {
        Filter::All => "",
        Filter::Running => "running ",
        Filter::Completed => "finished ",
    }
}

/// The run folders under `dir` that `list`'s filters keep: of backend `only` when given.
fn stored(dir: &Path, list: &ListSettings, only: Option<Backend>) -> Result<Vec<StoredRun>, Error> {
    Ok(record::list(dir)?
        .into_iter()
        .filter(|r| match &r.record {
            Ok(record) => {
                only.is_none_or(|b| record.backend == b)
                    && list.filter.keeps(record.status == RunStatus::Running)
            }
            // A damaged record is listed (so it can be deleted) wherever local runs are.
            Err(_) => only != Some(Backend::Argo) && list.filter.keeps(false),
        })
        .collect())
}

/// The rows beside the cluster's Workflows: cluster runs of this directory whose Workflow is
/// gone (as their run folder tells them), and, unless `--argo`, this directory's local runs.
fn from_folders(
    list: &ListSettings,
    session: &Session,
    namespace: &str,
    on_cluster: &HashSet<String>,
) -> Result<Vec<RunRow>, Error> {
    let now = SystemTime::now();
    let mut rows = Vec::new();
    // Before the filter: whether it runs depends on whether its Workflow is gone.
    for stored in record::list(&session.run_folders)? {
        let Ok(mut run) = stored.record else { continue };
        let here = run
            .argo
            .as_ref()
            .and_then(|a| a.namespace.as_deref())
            .is_none_or(|n| n == namespace);
        if run.backend != Backend::Argo || on_cluster.contains(&stored.name) || !here {
            continue;
        }
        run_folder::workflow_gone(&mut run);
        if list.filter.keeps(run.status == RunStatus::Running) {
            let mut row = runs::record_row(&stored.name, &run, now);
            row.message = Some(
                row.message.map_or_else(String::new, |m| format!("{m}; "))
                    + "Workflow gone: from the run folder on the shared volume",
            );
            rows.push(row);
        }
    }
    if list.only.is_none() {
        let local = stored(&list.local_runs_dir, list, Some(Backend::Local))?;
        rows.extend(runs::stored_rows(&local, now));
    }
    Ok(rows)
}

fn cluster(list: &ListSettings, session: &Session, printer: &mut Printer) -> Result<(), Error> {
    let selector = scope(session);
    with_cluster(session, printer, async |cluster, printer| {
        let kind = if list.cron {
            ArgoKind::CronWorkflow
        } else {
            ArgoKind::Workflow
        };
        let (mut items, _) = cluster.list(kind, &selector).await?;
        // Every Workflow on the cluster, before the filter: a run folder whose Workflow is
        // there but filtered out is not a run whose Workflow is gone.
        let on_cluster: HashSet<String> = items
            .iter()
            .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_owned))
            .collect();
        if !list.cron {
            items.retain(|o| list.filter.keeps(!WorkflowView::from_json(o).is_finished()));
        }
        newest_first(&mut items);
        // kubectl's shape for several objects: the cluster's own (`--local -o json` gives the
        // local run records).
        let object = json!({"apiVersion": "v1", "kind": "List", "items": items});
        if let Some(text) = format::structured(&object, &list.output)? {
            printer.data(&text);
            return Ok(());
        }
        let now = SystemTime::now();
        if list.cron {
            if list.output == OutputFormat::Name {
                printer.data(&workflows::names(kind, &items));
            } else if items.is_empty() {
                printer.status(&format!(
                    "no {}scheduled pipelines in namespace `{}`",
                    if session.all { "" } else { "jupyterflow " },
                    cluster.namespace()
                ));
            } else {
                let views: Vec<CronView> = items.iter().map(CronView::from_json).collect();
                printer.data(&workflows::cron_table(&views, now));
            }
            return Ok(());
        }
        let views: Vec<WorkflowView> = items.iter().map(WorkflowView::from_json).collect();
        let others = from_folders(list, session, cluster.namespace(), &on_cluster)?;
        if list.output == OutputFormat::Name {
            let mut text = workflows::names(kind, &items);
            text.extend(others.iter().map(|r| r.name.clone() + "\n"));
            printer.data(&text);
            return Ok(());
        }
        if views.is_empty() && others.is_empty() {
            printer.status(&format!(
                "no {}{}runs in namespace `{}`{}",
                which(list.filter),
                if session.all { "" } else { "jupyterflow " },
                cluster.namespace(),
                if list.only.is_none() {
                    format!(", nor in {}", list.local_runs_dir.display())
                } else {
                    String::new()
                }
            ));
            return Ok(());
        }
        let mut rows = workflows::list_rows(&views, now);
        rows.extend(others);
        // Newest first, whichever backend ran them; undated (damaged) ones last.
        rows.sort_by_key(|r| (r.age.is_none(), r.age));
        printer.data(&runs::run_list(&rows, list.output == OutputFormat::Wide));
        Ok(())
    })
}
