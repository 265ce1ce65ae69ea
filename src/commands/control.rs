//! `watch`, `stop`, `terminate` and `resubmit`: verbs for runs on the cluster only (a local run
//! shows its progress where it was started, and Ctrl-C stops it).

use std::path::Path;

use serde_json::{Value, json};

use super::argo_session::{Shown, after_submit, cluster_only, follow, resolve, with_cluster};
use super::{job_binary, volume};
use crate::argo::ArgoKind;
use crate::argo::resubmit::resubmission;
use crate::argo::view::{Shutdown, WorkflowView};
use crate::cluster::Cluster;
use crate::cluster::submit::{self, Submitted};
use crate::error::Error;
use crate::printer::{Printer, format};
use crate::settings::{ResubmitSettings, RunRef, Runs, Session, Settings};

/// `watch`: follows a run until it ends (with `events`, as JSON lines). Returns 0 if it
/// succeeded, 1 if not, 130 detached.
pub(super) fn watch(
    settings: &Settings,
    run: &RunRef,
    events: bool,
    printer: &mut Printer,
) -> Result<u8, Error> {
    let Runs::Argo(session) = &run.runs else {
        return Err(cluster_only("watch"));
    };
    with_cluster(session, printer, async |cluster, printer| {
        let name = resolve(cluster, &run.run).await?;
        let object = cluster.get(ArgoKind::Workflow, &name).await?;
        let shown = Shown {
            verbose: session.verbose,
            events,
            argo_ui_url: settings.config.argo_ui_url.as_deref(),
            ..Shown::default()
        };
        follow(cluster, &name, object, shown, &settings.cwd, printer).await
    })
}

/// `stop` / `terminate` via `spec.shutdown`.
pub(super) fn shutdown(run: &RunRef, how: Shutdown, printer: &mut Printer) -> Result<(), Error> {
    let Runs::Argo(session) = &run.runs else {
        return Err(cluster_only(how.verb()));
    };
    with_cluster(session, printer, async |cluster, printer| {
        let name = resolve(cluster, &run.run).await?;
        let object = cluster.get(ArgoKind::Workflow, &name).await?;
        let view = WorkflowView::from_json(&object);
        if view.is_finished() {
            printer.status(&format!(
                "{name} has already finished ({}); nothing to {}",
                view.phase,
                how.verb()
            ));
            return Ok(());
        }
        let patch = json!({"spec": {"shutdown": how.strategy()}});
        cluster
            .merge_patch(ArgoKind::Workflow, &name, &patch)
            .await?;
        printer.data(&format!(
            "{} {}\n",
            ArgoKind::Workflow.resource_name(&name),
            how.done()
        ));
        Ok(())
    })
}

/// What a new Workflow made from an old run's spec (`resubmit`, `retry`) is made from.
pub(super) struct Again<'a> {
    /// The old run's name.
    pub old: &'a str,
    /// `$JUPYTERFLOW_EXE`, the stand-in for this binary.
    pub exe: Option<&'a Path>,
    /// A retry: its jobs, from the old run's recorded ones.
    pub retried: Option<&'a volume::Retried<'a>>,
}

/// Creates `new`, made from the spec of `again.old`: first the job binary the spec names is
/// made sure of, then the Workflow is created, then its run folder begun.
pub(super) async fn submit_again(
    cluster: &mut Cluster,
    session: &Session,
    again: &Again<'_>,
    new: &Value,
    printer: &mut Printer,
) -> Result<Submitted, Error> {
    job_binary::ensure(new, again.exe, printer)?;
    let created = submit::submit_object(cluster, ArgoKind::Workflow, new).await?;
    volume::start_again(
        &session.run_folders,
        again.old,
        &created.name,
        cluster.namespace(),
        again.retried,
        printer,
    );
    Ok(created)
}

/// `resubmit`: a new run from an earlier run's spec.
pub(super) fn resubmit(
    resubmit: &ResubmitSettings,
    cwd: &Path,
    printer: &mut Printer,
) -> Result<u8, Error> {
    let Runs::Argo(session) = &resubmit.runs else {
        return Err(cluster_only("resubmit"));
    };
    with_cluster(session, printer, async |cluster, printer| {
        let name = resolve(cluster, &resubmit.run).await?;
        let old = cluster.get(ArgoKind::Workflow, &name).await?;
        let again = Again {
            old: &name,
            exe: resubmit.exe.as_deref(),
            retried: None,
        };
        let created = submit_again(cluster, session, &again, &resubmission(&old), printer).await?;
        match format::structured(&created.object, &resubmit.output)? {
            Some(text) => printer.data(&text),
            None => printer.data(&format!(
                "{}\n",
                ArgoKind::Workflow.resource_name(&created.name)
            )),
        }
        if resubmit.watch {
            let shown = Shown {
                verbose: session.verbose,
                ..Shown::default()
            };
            let followed =
                follow(cluster, &created.name, created.object, shown, cwd, printer).await;
            return after_submit(&created.name, followed);
        }
        Ok(0)
    })
}
