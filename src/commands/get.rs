//! `jupyterflow get RUN`: a run and each of its jobs, from the run record or the Workflow; a
//! cluster run whose Workflow is gone, from its run folder on the shared volume.

use std::path::Path;
use std::time::SystemTime;

use super::argo_session::{resolve_or_volume, with_cluster};
use super::history::{find_local, readable};
use super::volume::{self, Gone};
use crate::argo::view::WorkflowView;
use crate::argo::{ArgoKind, notebooks};
use crate::cluster::ClusterError;
use crate::environment::discover::notebooks::cell_failures;
use crate::error::Error;
use crate::local::record::{RunRecord, failed_notebooks};
use crate::printer::format::{self, OutputFormat};
use crate::printer::{Printer, runs, workflows};
use crate::settings::{GetSettings, Runs};

pub(super) fn get(get: &GetSettings, printer: &mut Printer) -> Result<(), Error> {
    match &get.runs {
        Runs::Local { runs_dir } => {
            let (name, dir, run) = readable(find_local(runs_dir, &get.run)?)?;
            show_record(&name, &dir, &run, &get.output, printer)
        }
        Runs::Argo(session) => with_cluster(session, printer, async |cluster, printer| {
            let name = resolve_or_volume(cluster, session, &get.run, printer).await?;
            let object = match cluster.get(ArgoKind::Workflow, &name).await {
                Ok(object) => object,
                Err(e @ ClusterError::NotFound { .. }) => {
                    let Some((dir, run)) =
                        volume::find(&session.run_folders, &name, Gone::Workflow)?
                    else {
                        return Err(e.into());
                    };
                    printer.status(Gone::Workflow.source_line());
                    return show_record(&name, &dir, &run, &get.output, printer);
                }
                Err(e) => return Err(e.into()),
            };
            let text = match &get.output {
                OutputFormat::Name => format!("{}\n", ArgoKind::Workflow.resource_name(&name)),
                OutputFormat::Table | OutputFormat::Wide => {
                    let view = WorkflowView::from_json(&object);
                    // Readable where the shared volume is mounted as in the jobs (the notebook).
                    let failures = cell_failures(
                        notebooks::failed_notebooks(&object, &view),
                        runs::TRACEBACK_LINES,
                    );
                    workflows::get_text(&view, SystemTime::now())
                        + &runs::notebook_failures(&failures)
                }
                structured => format::structured(&object, structured)?.unwrap_or_default(),
            };
            printer.data(&text);
            Ok(())
        }),
    }
}

/// A run record (a local run's, or a cluster run's from the volume) as `-o` asks; a table
/// ends with each failed notebook step's cell, read from the run folder `dir`.
fn show_record(
    name: &str,
    dir: &Path,
    run: &RunRecord,
    output: &OutputFormat,
    printer: &mut Printer,
) -> Result<(), Error> {
    let text = match output {
        OutputFormat::Name => format!("{name}\n"),
        OutputFormat::Table | OutputFormat::Wide => {
            let failures = cell_failures(failed_notebooks(dir, run), runs::TRACEBACK_LINES);
            runs::local_details(name, run, SystemTime::now()) + &runs::notebook_failures(&failures)
        }
        structured => format::structured(run, structured)?.unwrap_or_default(),
    };
    printer.data(&text);
    Ok(())
}
