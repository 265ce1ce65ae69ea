//! `jupyterflow get RUN`: a run and each of its jobs, from the run record or the Workflow; a
//! cluster run whose Workflow is gone, from its run folder on the shared volume.

use std::time::SystemTime;

use super::argo_session::{resolve_or_volume, with_cluster};
use super::history::{find_local, readable};
use super::volume::{self, Gone};
use crate::argo::ArgoKind;
use crate::argo::view::WorkflowView;
use crate::cluster::ClusterError;
use crate::error::Error;
use crate::local::record::RunRecord;
use crate::printer::format::{self, OutputFormat};
use crate::printer::{Printer, runs, workflows};
use crate::settings::{GetSettings, Runs};

pub(super) fn get(get: &GetSettings, printer: &mut Printer) -> Result<(), Error> {
    match &get.runs {
        Runs::Local { runs_dir } => {
            let (name, _, run) = readable(find_local(runs_dir, &get.run)?)?;
            show_record(&name, &run, &get.output, printer)
        }
        Runs::Argo(session) => with_cluster(session, printer, async |cluster, printer| {
            let name = resolve_or_volume(cluster, session, &get.run, printer).await?;
            let object = match cluster.get(ArgoKind::Workflow, &name).await {
                Ok(object) => object,
                Err(e @ ClusterError::NotFound { .. }) => {
                    let Some((_, run)) = volume::find(&session.run_folders, &name, Gone::Workflow)?
                    else {
                        return Err(e.into());
                    };
                    printer.status(Gone::Workflow.source_line());
                    return show_record(&name, &run, &get.output, printer);
                }
                Err(e) => return Err(e.into()),
            };
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

/// A run record (a local run's, or a cluster run's from the volume) as `-o` asks.
fn show_record(
    name: &str,
    run: &RunRecord,
    output: &OutputFormat,
    printer: &mut Printer,
) -> Result<(), Error> {
    let text = match output {
        OutputFormat::Name => format!("{name}\n"),
        OutputFormat::Table | OutputFormat::Wide => {
            runs::local_details(name, run, SystemTime::now())
        }
        structured => format::structured(run, structured)?.unwrap_or_default(),
    };
    printer.data(&text);
    Ok(())
}
