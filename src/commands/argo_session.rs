//! What the cluster verbs share: one connection per command (retry notes shown with `-v`), the
//! label scope of "our" runs, `@latest`, and following a run live with the same view local
//! runs use. Ctrl-C while following detaches: the run goes on in the cluster.

use std::path::Path;

use serde_json::Value;
use tokio::signal::unix::{SignalKind, signal};

use super::history::{self, RunSummary};
use crate::argo::ArgoKind;
use crate::argo::labels::{MANAGED_BY, NOTEBOOK_LABEL, label_value};
use crate::cluster::follow::{Followed, Progress};
use crate::cluster::{Cluster, ClusterError, connect, follow as following};
use crate::error::{self, Error};
use crate::printer::Printer;
use crate::printer::run_view::{RunView, ViewMode};
use crate::settings::Session;

/// Runs one cluster command with a connection; prints retry notes with `-v`.
pub(super) fn with_cluster<T>(
    session: &Session,
    printer: &mut Printer,
    body: impl AsyncFnOnce(&mut Cluster, &mut Printer) -> Result<T, Error>,
) -> Result<T, Error> {
    super::block_on(async {
        let mut cluster = Cluster::new(connect::connect(&session.target).await?);
        let result = body(&mut cluster, printer).await;
        report(&mut cluster, session.verbose, printer);
        result
    })
}

/// Prints what the client did behind the scenes (retries), with `-v`.
pub(super) fn report(cluster: &mut Cluster, verbose: bool, printer: &mut Printer) {
    let notes = std::mem::take(&mut cluster.notes);
    if verbose {
        for note in notes {
            printer.note(&note);
        }
    }
}

/// The label selector for the runs in scope: jupyterflow's, or every run with `--all`.
pub(super) fn scope(session: &Session) -> String {
    if session.all {
        String::new()
    } else {
        format!("{MANAGED_BY}=jupyterflow")
    }
}

/// A run's name: as given, or `@latest` = the newest jupyterflow run of this notebook pod
/// (of the namespace when we are not in a pod).
pub(super) async fn resolve(cluster: &mut Cluster, name: &str) -> Result<String, Error> {
    if name != history::LATEST {
        return Ok(name.to_owned());
    }
    let mut selector = format!("{MANAGED_BY}=jupyterflow");
    if let Some(pod) = &cluster.conn.own_pod {
        selector.push_str(&format!(",{NOTEBOOK_LABEL}={}", label_value(pod)));
    }
    let (items, _) = cluster.list(ArgoKind::Workflow, &selector).await?;
    let runs: Vec<RunSummary> = items.iter().map(RunSummary::from_workflow).collect();
    history::newest(&runs)
        .map(|run| run.name.clone())
        .ok_or_else(|| {
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

/// Follows workflow `name` from `initial` until it ends, in the live view (plain lines off a
/// terminal, nothing with `quiet`). Returns 0 if it succeeded, 1 if it failed, 130 when the
/// user detached with Ctrl-C.
pub(super) async fn follow(
    cluster: &mut Cluster,
    name: &str,
    initial: Value,
    quiet: bool,
    verbose: bool,
    cwd: &Path,
    printer: &mut Printer,
) -> Result<u8, Error> {
    // Registered before anything else is awaited, so an early Ctrl-C detaches too.
    let mut interrupt = signal(SignalKind::interrupt()).map_err(Error::Signals)?;
    let mut view = RunView::new(ViewMode::choose(quiet), cwd.to_path_buf());
    let followed = following::follow(
        cluster,
        name,
        initial,
        async move {
            interrupt.recv().await;
        },
        |progress| match progress {
            Progress::Event(event) => view.handle(printer, &event),
            Progress::Notes(notes) if verbose => notes.iter().for_each(|n| printer.note(n)),
            Progress::Notes(_) => {}
            Progress::Warning(text) => view.warn(printer, &text),
        },
    )
    .await?;
    Ok(match followed {
        Followed::Finished(status) => error::exit_for_run(status),
        Followed::Detached => {
            printer.note(&format!(
                "detached: {name} goes on running in the cluster; \
                 re-attach with `jupyterflow watch {name}`"
            ));
            error::EXIT_DETACHED
        }
    })
}

/// After a submission, a failure to follow is not a failure to submit: say the run goes on,
/// and exit 4 (not 3, which promises nothing was submitted).
pub(super) fn after_submit(name: &str, result: Result<u8, Error>) -> Result<u8, Error> {
    result.map_err(|e| {
        ClusterError::AfterSubmit {
            name: name.to_owned(),
            cause: e.to_string(),
        }
        .into()
    })
}

/// Refuses cluster-only verbs on local runs, with the local equivalent. A usage error (exit 2):
/// no cluster was asked, so none refused anything.
pub(super) fn cluster_only(verb: &str) -> Error {
    Error::usage(
        format!("`{verb}` is for runs on the cluster, and no cluster is in use here"),
        "run it inside the notebook pod, or pass -n/--context; local runs: jupyterflow logs -f @latest follows one, Ctrl-C stops it",
    )
}
