//! `jupyterflow get RUN`: a run and each of its jobs, from the run record or the Workflow.

use std::time::SystemTime;

use super::argo_session::{resolve, with_cluster};
use super::history::{find_local, readable};
use crate::argo::ArgoKind;
use crate::argo::view::WorkflowView;
use crate::error::Error;
use crate::local::record::notebook_failures;
use crate::printer::format::{self, OutputFormat};
use crate::printer::{Printer, runs, workflows};
use crate::settings::{GetSettings, Runs};

pub(super) fn get(get: &GetSettings, printer: &mut Printer) -> Result<(), Error> {
    match &get.runs {
        Runs::Local { runs_dir } => {
            let (name, dir, run) = readable(find_local(runs_dir, &get.run)?)?;
            let text = match &get.output {
                OutputFormat::Name => format!("{name}\n"),
                OutputFormat::Table | OutputFormat::Wide => {
                    let failures = notebook_failures(&dir, &run, runs::TRACEBACK_LINES);
                    runs::local_details(&name, &run, SystemTime::now())
                        + &runs::notebook_failures(&failures)
                }
                structured => format::structured(&run, structured)?.unwrap_or_default(),
            };
            printer.data(&text);
            Ok(())
        }
        Runs::Argo(session) => with_cluster(session, printer, async |cluster, printer| {
            let name = resolve(cluster, &get.run).await?;
            let object = cluster.get(ArgoKind::Workflow, &name).await?;
            let text = match &get.output {
                OutputFormat::Name => format!("{}\n", ArgoKind::Workflow.resource_name(&name)),
                OutputFormat::Table | OutputFormat::Wide => {
                    workflows::get_text(&WorkflowView::from_json(&object), SystemTime::now())
                }
                structured => format::structured(&object, structured)?.unwrap_or_default(),
            };
            printer.data(&text);
            Ok(())
        }),
    }
}
