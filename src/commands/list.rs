//! `jupyterflow list`: the runs (or, with `--cron`, the scheduled pipelines) of the backend
//! `Settings` chose, newest first, as a table or in any `-o` format.

use std::time::SystemTime;

use serde_json::json;

use super::argo_session::{scope, with_cluster};
use crate::argo::ArgoKind;
use crate::argo::view::{CronView, WorkflowView, newest_first};
use crate::error::Error;
use crate::events::RunStatus;
use crate::local::record::{self, RunRecord};
use crate::printer::format::{self, OutputFormat};
use crate::printer::{Printer, runs, workflows};
use crate::settings::{Filter, ListSettings, Runs, Session};

pub(super) fn list(list: &ListSettings, printer: &mut Printer) -> Result<(), Error> {
    match &list.runs {
        Runs::Local { runs_dir } => {
            let runs: Vec<_> = record::list(runs_dir)?
                .into_iter()
                .filter(|r| {
                    let running = r
                        .record
                        .as_ref()
                        .is_ok_and(|r| r.status == RunStatus::Running);
                    list.filter.keeps(running)
                })
                .collect();
            let text = match &list.output {
                OutputFormat::Name => runs.iter().map(|r| r.name.clone() + "\n").collect(),
                OutputFormat::Table | OutputFormat::Wide if runs.is_empty() => {
                    let which = match list.filter {
                        Filter::All => "",
                        Filter::Running => "running ",
                        Filter::Completed => "finished ",
                    };
                    printer.status(&format!("no {which}runs in {}", runs_dir.display()));
                    return Ok(());
                }
                OutputFormat::Table | OutputFormat::Wide => {
                    runs::local_list(&runs, list.output == OutputFormat::Wide, SystemTime::now())
                }
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

fn cluster(list: &ListSettings, session: &Session, printer: &mut Printer) -> Result<(), Error> {
    let selector = scope(session);
    with_cluster(session, printer, async |cluster, printer| {
        let kind = if list.cron {
            ArgoKind::CronWorkflow
        } else {
            ArgoKind::Workflow
        };
        let (mut items, _) = cluster.list(kind, &selector).await?;
        if !list.cron {
            items.retain(|o| list.filter.keeps(!WorkflowView::from_json(o).is_finished()));
        }
        newest_first(&mut items);
        // kubectl's shape for several objects.
        let object = json!({"apiVersion": "v1", "kind": "List", "items": items});
        if let Some(text) = format::structured(&object, &list.output)? {
            printer.data(&text);
            return Ok(());
        }
        if list.output == OutputFormat::Name {
            printer.data(&workflows::names(kind, &items));
            return Ok(());
        }
        if items.is_empty() {
            printer.status(&format!(
                "no {}{} in namespace `{}`",
                if session.all { "" } else { "jupyterflow " },
                if list.cron {
                    "scheduled pipelines"
                } else {
                    "runs"
                },
                cluster.namespace()
            ));
            return Ok(());
        }
        let now = SystemTime::now();
        let text = if list.cron {
            let views: Vec<CronView> = items.iter().map(CronView::from_json).collect();
            workflows::cron_table(&views, now)
        } else {
            let views: Vec<WorkflowView> = items.iter().map(WorkflowView::from_json).collect();
            workflows::list_table(&views, list.output == OutputFormat::Wide, now)
        };
        printer.data(&text);
        Ok(())
    })
}
