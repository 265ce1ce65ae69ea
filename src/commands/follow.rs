//! Following a workflow live (`run --watch`, `watch`): the watch API on that one object (no
//! polling), re-watched from the last resourceVersion when the server ends the stream, each
//! snapshot turned into the same `RunEvent`s the local engine sends, shown by `RunView`
//! (the watching itself is `cluster::watch`).
//! Ctrl-C detaches: the run goes on in the cluster.

use serde_json::Value;
use tokio::signal::unix::{SignalKind, signal};

use crate::argo::tracker::Tracker;
use crate::argo::view::WorkflowView;
use crate::cluster::watch::{self, Update, WorkflowWatch};
use crate::cluster::{Cluster, ClusterError};
use crate::error::Error;
use crate::printer::Printer;
use crate::printer::run_view::{RunView, ViewMode};

/// Exit code when the user detaches with Ctrl-C (the run itself continues).
pub const EXIT_DETACHED: u8 = 130;

struct Follower<'p> {
    tracker: Tracker,
    view: RunView,
    printer: &'p mut Printer,
}

impl Follower<'_> {
    /// Shows one snapshot; returns the exit code once the workflow has finished.
    fn show(&mut self, object: &Value) -> Option<u8> {
        let snapshot = WorkflowView::from_json(object);
        for event in self.tracker.update(&snapshot) {
            self.view.handle(self.printer, &event);
        }
        snapshot.is_finished().then(|| snapshot.exit_code())
    }
}

/// Follows workflow `name` from `initial` until it ends. Returns 0 if it succeeded, 1 if it
/// failed, 130 when detached.
pub async fn follow(
    cluster: &mut Cluster,
    name: &str,
    initial: Value,
    quiet: bool,
    verbose: bool,
    printer: &mut Printer,
) -> Result<u8, Error> {
    // Registered before anything else is awaited, so an early Ctrl-C detaches too.
    let mut interrupt = signal(SignalKind::interrupt())
        .map_err(|e| Error::Runtime(format!("cannot watch for Ctrl-C: {e}")))?;
    let mode = ViewMode::choose(quiet);
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut follower = Follower {
        tracker: Tracker::new(),
        view: RunView::new(mode, cwd),
        printer,
    };
    if let Some(code) = follower.show(&initial) {
        return Ok(code);
    }
    let mut watch = WorkflowWatch::from_object(name, &initial);
    loop {
        let update = tokio::select! {
            _ = interrupt.recv() => {
                follower.printer.note(&format!(
                    "detached: {name} goes on running in the cluster; \
                     re-attach with `jupyterflow watch {name}`"
                ));
                return Ok(EXIT_DETACHED);
            }
            update = watch.next(cluster) => update,
        };
        super::cluster::report(cluster, verbose, follower.printer);
        match update? {
            Update::Changed(object) => {
                if let Some(code) = follower.show(&object) {
                    return Ok(code);
                }
            }
            Update::Deleted => return Err(watch::deleted(name).into()),
        }
    }
}

/// After a submission, a failure to follow is not a failure to submit: say the run goes on,
/// and exit 4 (not 3, which promises nothing was submitted).
pub fn after_submit(name: &str, result: Result<u8, Error>) -> Result<u8, Error> {
    result.map_err(|e| {
        ClusterError::AfterSubmit {
            name: name.to_owned(),
            cause: e.to_string(),
        }
        .into()
    })
}
