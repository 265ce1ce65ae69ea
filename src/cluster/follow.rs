//! Following a workflow live (`run --watch`, `watch`): the watch API on that one object (no
//! polling, see `watch`), each snapshot turned by `argo::tracker` into the same `RunEvent`s the
//! local engine sends. Hands events and the client's notes to its caller; never prints. The
//! caller's `detach` future (Ctrl-C) ends the following, not the run.

use std::future::Future;

use serde_json::Value;

use super::api::Cluster;
use super::error::ClusterError;
use super::watch::{self, Update, WorkflowWatch};
use crate::argo::tracker::Tracker;
use crate::argo::view::WorkflowView;
use crate::events::{RunEvent, RunStatus};

/// What following hands out, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Progress {
    Event(RunEvent),
    /// What the client did behind the scenes since the last look (retries), for `-v`.
    Notes(Vec<String>),
}

/// How following ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Followed {
    /// The workflow finished with this status.
    Finished(RunStatus),
    /// `detach` fired first: the run goes on in the cluster.
    Detached,
}

/// Follows workflow `name` from `initial` until it ends or `detach` completes.
pub(crate) async fn follow(
    cluster: &mut Cluster,
    name: &str,
    initial: Value,
    detach: impl Future<Output = ()>,
    mut show: impl FnMut(Progress),
) -> Result<Followed, ClusterError> {
    let mut tracker = Tracker::new();
    let mut step = |object: &Value, show: &mut dyn FnMut(Progress)| {
        let snapshot = WorkflowView::from_json(object);
        for event in tracker.update(&snapshot) {
            show(Progress::Event(event));
        }
        snapshot
            .is_finished()
            .then(|| Followed::Finished(snapshot.run_status()))
    };
    if let Some(end) = step(&initial, &mut show) {
        return Ok(end);
    }
    let mut watch = WorkflowWatch::from_object(name, &initial);
    let mut detach = std::pin::pin!(detach);
    loop {
        let update = tokio::select! {
            () = &mut detach => return Ok(Followed::Detached),
            update = watch.next(cluster) => update,
        };
        let notes = std::mem::take(&mut cluster.notes);
        if !notes.is_empty() {
            show(Progress::Notes(notes));
        }
        match update? {
            Update::Changed(object) => {
                if let Some(end) = step(&object, &mut show) {
                    return Ok(end);
                }
            }
            Update::Deleted => return Err(watch::deleted(name)),
        }
    }
}
