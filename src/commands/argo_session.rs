//! What the cluster verbs share: one connection per command (retry notes shown with `-v`), the
//! label scope of "our" runs, `@latest`, and following a run live with the same view local
//! runs use. Ctrl-C while following detaches: the run goes on in the cluster.

use std::cell::RefCell;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tokio::signal::unix::{SignalKind, signal};

use super::history::{self, RunSummary};
use super::volume;
use crate::argo::ArgoKind;
use crate::argo::labels::{MANAGED_BY, NOTEBOOK_LABEL, label_value};
use crate::cluster::follow::{Followed, Progress};
use crate::cluster::logs::{self, LogPiece, Selection};
use crate::cluster::{Cluster, ClusterError, connect, follow as following};
use crate::error::{self, Error};
use crate::events::{RunEvent, Stream};
use crate::printer::run_view::{RunView, ViewMode};
use crate::printer::{Printer, events};
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
    newest_workflow(cluster)
        .await?
        .ok_or_else(|| no_runs(cluster))
}

/// [`resolve`], for the verbs that read a run folder on the shared volume too (`get`, `logs`):
/// with no Workflow of ours left on the cluster, `@latest` is the newest cluster run folder of
/// this directory, and a status line says so.
pub(super) async fn resolve_or_volume(
    cluster: &mut Cluster,
    session: &Session,
    name: &str,
    printer: &mut Printer,
) -> Result<String, Error> {
    if name != history::LATEST {
        return Ok(name.to_owned());
    }
    if let Some(newest) = newest_workflow(cluster).await? {
        return Ok(newest);
    }
    let Some(newest) = volume::newest(&session.run_folders, cluster.namespace()) else {
        return Err(no_runs(cluster));
    };
    printer.status(&format!(
        "({} is {newest}, the newest run folder on the shared volume: no Workflow of this notebook is left on the cluster)",
        history::LATEST
    ));
    Ok(newest)
}

/// The newest jupyterflow Workflow of this notebook pod (of the namespace outside a pod).
async fn newest_workflow(cluster: &mut Cluster) -> Result<Option<String>, Error> {
    let mut selector = format!("{MANAGED_BY}=jupyterflow");
    if let Some(pod) = &cluster.conn.own_pod {
        selector.push_str(&format!(",{NOTEBOOK_LABEL}={}", label_value(pod)));
    }
    let (items, _) = cluster.list(ArgoKind::Workflow, &selector).await?;
    let runs: Vec<RunSummary> = items.iter().map(RunSummary::from_workflow).collect();
    Ok(history::newest(&runs).map(|run| run.name.clone()))
}

fn no_runs(cluster: &Cluster) -> Error {
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
}

/// How a followed run is shown.
#[derive(Debug, Clone, Copy, Default)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent switches of how one run is shown"
)]
pub(super) struct Shown<'a> {
    /// Nothing but failures (`-q`).
    pub quiet: bool,
    /// Retries and re-watches as notes (`-v`).
    pub verbose: bool,
    /// The job pods' output as it comes, `job | line`, as a local run shows it (`run --watch`
    /// without `--no-log`).
    pub output: bool,
    /// `--events`: JSON lines on stdout instead of the view.
    pub events: bool,
    /// The config's `argo_ui_url`, for the run's link in the event stream.
    pub argo_ui_url: Option<&'a str>,
}

impl Shown<'_> {
    /// The view of run `name` in `namespace`.
    fn view(&self, name: &str, namespace: &str, cwd: &Path) -> RunView {
        if self.events {
            let ui = self
                .argo_ui_url
                .map(|base| ArgoKind::Workflow.ui_link(base, namespace, name));
            RunView::events(events::Context::argo(cwd, namespace, ui))
        } else {
            RunView::new(ViewMode::choose(self.quiet), cwd.to_path_buf())
        }
    }
}

/// After the workflow ends, how long its pods' last output may take to arrive.
const OUTPUT_DRAIN: Duration = Duration::from_secs(30);

/// Follows workflow `name` from `initial` until it ends, in the live view (plain lines off a
/// terminal, nothing with `quiet`), with the jobs' output when `shown.output`. Returns 0 if it
/// succeeded, 1 if it failed, 130 when the user detached with Ctrl-C.
pub(super) async fn follow(
    cluster: &mut Cluster,
    name: &str,
    initial: Value,
    shown: Shown<'_>,
    cwd: &Path,
    printer: &mut Printer,
) -> Result<u8, Error> {
    // Registered before anything else is awaited, so an early Ctrl-C detaches too.
    let mut interrupt = signal(SignalKind::interrupt()).map_err(Error::Signals)?;
    // The run's events and its output arrive on two streams into one view: each closure
    // borrows it only while it handles one piece (never across an await).
    let screen = RefCell::new((shown.view(name, cluster.namespace(), cwd), printer));
    // The summary waits for the last output when output is shown.
    let held_end: RefCell<Option<RunEvent>> = RefCell::new(None);
    // The output has a connection of its own (the same credentials), so the two streams
    // never wait on each other.
    let mut log_cluster = shown.output.then(|| Cluster::new(cluster.conn.clone()));
    let events = following::follow(
        cluster,
        name,
        initial.clone(),
        async move {
            interrupt.recv().await;
        },
        |progress| {
            let (view, printer) = &mut *screen.borrow_mut();
            match progress {
                Progress::Event(event @ RunEvent::RunFinished { .. }) if shown.output => {
                    *held_end.borrow_mut() = Some(event);
                }
                Progress::Event(event) => view.handle(printer, &event),
                Progress::Notes(notes) if shown.verbose => {
                    for note in &notes {
                        printer.note(note);
                    }
                }
                Progress::Notes(_) => {}
                Progress::Warning(text) => view.warn(printer, &text),
            }
        },
    );
    let followed = if let Some(log_cluster) = &mut log_cluster {
        let output = logs::follow(log_cluster, name, initial, Selection(None), |piece| {
            let (view, printer) = &mut *screen.borrow_mut();
            show_output(view, printer, piece, shown.verbose);
        });
        let followed = with_output(events, output, &screen).await?;
        if let Some(end) = held_end.borrow_mut().take() {
            let (view, printer) = &mut *screen.borrow_mut();
            view.handle(printer, &end);
        }
        followed
    } else {
        events.await?
    };
    let (view, printer) = screen.into_inner();
    Ok(match followed {
        Followed::Finished(status) => error::exit_for_run(status),
        Followed::Detached => {
            view.detached(printer, name);
            printer.note(&format!(
                "detached: {name} goes on running in the cluster; \
                 re-attach with `jupyterflow watch {name}`"
            ));
            error::EXIT_DETACHED
        }
    })
}

/// Runs the event follower and the output follower together. The events decide: a detach ends
/// both at once; the run's end waits (up to `OUTPUT_DRAIN`) for the output still on its way.
/// Output that cannot be followed is a note, never the command's failure.
async fn with_output(
    events: impl Future<Output = Result<Followed, ClusterError>>,
    output: impl Future<Output = Result<logs::Followed, ClusterError>>,
    screen: &RefCell<(RunView, &mut Printer)>,
) -> Result<Followed, ClusterError> {
    let note = |text: String| screen.borrow_mut().1.note(&text);
    let lost = |e: ClusterError| {
        note(format!(
            "cannot show the jobs' output: {e} (jupyterflow logs shows it after the run)"
        ));
    };
    let mut events = std::pin::pin!(events);
    let mut output = std::pin::pin!(output);
    let mut output_done = false;
    let followed = loop {
        tokio::select! {
            followed = &mut events => break followed?,
            result = &mut output, if !output_done => {
                output_done = true;
                if let Err(e) = result {
                    lost(e);
                }
            }
        }
    };
    if let Followed::Finished(_) = followed
        && !output_done
    {
        match tokio::time::timeout(OUTPUT_DRAIN, output).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => lost(e),
            Err(_) => note(format!(
                "some output did not arrive within {}s of the run's end; jupyterflow logs shows it",
                OUTPUT_DRAIN.as_secs()
            )),
        }
    }
    Ok(followed)
}

/// One piece of a job pod's output, in the view as a local job's output is.
fn show_output(view: &mut RunView, printer: &mut Printer, piece: LogPiece, verbose: bool) {
    match piece {
        LogPiece::Output { job, text } => {
            for line in text.lines() {
                view.handle(
                    printer,
                    &RunEvent::JobOutput {
                        job: job.clone(),
                        stream: Stream::Merged,
                        line: line.to_owned(),
                    },
                );
            }
        }
        LogPiece::Lost(why) => printer.note(&why),
        LogPiece::Notes(notes) if verbose => {
            for note in &notes {
                printer.note(note);
            }
        }
        // The view already says the jobs are pending; retries are for -v.
        LogPiece::NoPodsYet(_) | LogPiece::Notes(_) => {}
    }
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
