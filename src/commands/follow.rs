//! Following a workflow live (`run --watch`, `watch`): the watch API on that one object (no
//! polling), re-watched from the last resourceVersion when the server ends the stream, each
//! snapshot turned into the same `RunEvent`s the local engine sends, shown by `RunView`.
//! Ctrl-C detaches: the run goes on in the cluster.

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use kube::api::WatchEvent;
use serde_json::Value;

use crate::cluster::api::to_json;
use crate::cluster::progress::Tracker;
use crate::cluster::status::WorkflowView;
use crate::cluster::{ArgoKind, Cluster, ClusterError};
use crate::error::{EXIT_FAILED, Error};
use crate::events::RunStatus;
use crate::printer::Printer;
use crate::printer::run_view::{RunView, ViewMode};

/// Exit code when the user detaches with Ctrl-C (the run itself continues).
pub const EXIT_DETACHED: u8 = 130;

struct Follower<'p> {
    tracker: Tracker,
    view: RunView,
    printer: &'p mut Printer,
    version: String,
}

impl Follower<'_> {
    /// Shows one snapshot; returns the exit code once the workflow has finished.
    fn show(&mut self, object: &Value) -> Option<u8> {
        if let Some(version) = object["metadata"]["resourceVersion"].as_str() {
            version.clone_into(&mut self.version);
        }
        let snapshot = WorkflowView::from_json(object);
        for event in self.tracker.update(&snapshot) {
            self.view.handle(self.printer, &event);
        }
        snapshot.is_finished().then(|| match snapshot.run_status() {
            RunStatus::Succeeded => 0,
            _ => EXIT_FAILED,
        })
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
    let mode = if quiet {
        ViewMode::Quiet
    } else if Printer::stderr_is_terminal() {
        ViewMode::Live
    } else {
        ViewMode::Plain
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut follower = Follower {
        tracker: Tracker::new(),
        view: RunView::new(mode, cwd),
        printer,
        version: String::new(),
    };
    if let Some(code) = follower.show(&initial) {
        return Ok(code);
    }
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let opened = Instant::now();
        let stream = cluster
            .watch_one(ArgoKind::Workflow, name, &follower.version)
            .await;
        super::cluster::report(cluster, verbose, follower.printer);
        let stream = stream?;
        tokio::pin!(stream);
        loop {
            let item = tokio::select! {
                _ = &mut ctrl_c => {
                    follower.printer.note(&format!(
                        "detached: {name} goes on running in the cluster; \
                         re-attach with `jupyterflow watch {name}`"
                    ));
                    return Ok(EXIT_DETACHED);
                }
                item = stream.next() => item,
            };
            match item {
                // The server ends watches now and then: watch again from where we were.
                None => break,
                Some(Ok(WatchEvent::Added(object) | WatchEvent::Modified(object))) => {
                    if let Some(code) = follower.show(&to_json(&object)) {
                        return Ok(code);
                    }
                }
                Some(Ok(WatchEvent::Deleted(_))) => {
                    return Err(ClusterError::Other {
                        message: format!("workflow {name} was deleted while being watched"),
                        hint: "someone ran jupyterflow delete or kubectl delete; resubmit it to run again".into(),
                    }
                    .into());
                }
                Some(Ok(WatchEvent::Bookmark(bookmark))) => {
                    follower.version = bookmark.metadata.resource_version;
                }
                Some(Ok(WatchEvent::Error(status))) if status.code == 410 => {
                    // Our resourceVersion is too old: start again from the current object.
                    let current = cluster.get(ArgoKind::Workflow, name).await?;
                    if let Some(code) = follower.show(&current) {
                        return Ok(code);
                    }
                    break;
                }
                Some(Ok(WatchEvent::Error(status))) => {
                    return Err(ClusterError::Other {
                        message: format!("watching {name} failed: {}", status.message),
                        hint: "try jupyterflow watch again".into(),
                    }
                    .into());
                }
                Some(Err(e)) => {
                    if verbose {
                        follower
                            .printer
                            .note(&format!("watch stream broke ({e}); watching again"));
                    }
                    break;
                }
            }
        }
        // A server that closes every watch at once must not make us spin.
        if opened.elapsed() < Duration::from_secs(1) {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
