//! Following one workflow through the watch API, for `run --watch`, `watch` and `logs -f`:
//! re-watched from the last resourceVersion when the server ends the stream, re-read when that
//! version is too old (410 Gone, as an event or as the response), and re-opened when the
//! connection goes silent. Never polls. Cancel-safe: a caller may drop `next()` in a `select!`.

use std::pin::Pin;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt as _};
use kube::api::{DynamicObject, WatchEvent};
use serde_json::Value;

use super::api::{Cluster, to_json};
use super::error::ClusterError;
use crate::argo::ArgoKind;

/// Longer than the server's own watch timeout (290 s): silence past this means a dead connection.
const IDLE_LIMIT: Duration = Duration::from_secs(320);
/// Watches that end this soon after opening are re-opened only after a pause.
const MIN_WATCH_LIFETIME: Duration = Duration::from_secs(1);

type Events = Pin<Box<dyn Stream<Item = Result<WatchEvent<DynamicObject>, kube::Error>> + Send>>;

/// What changed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Update {
    /// The workflow as it is now.
    Changed(Value),
    /// Someone deleted it.
    Deleted,
}

pub(crate) struct WorkflowWatch {
    name: String,
    version: String,
    events: Option<Events>,
    opened: Option<Instant>,
}

impl WorkflowWatch {
    /// Watches `name` from the state in `object` (its resourceVersion).
    pub(crate) fn from_object(name: &str, object: &Value) -> Self {
        WorkflowWatch {
            name: name.to_owned(),
            version: object["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            events: None,
            opened: None,
        }
    }

    fn seen(&mut self, object: &Value) {
        if let Some(version) = object["metadata"]["resourceVersion"].as_str() {
            version.clone_into(&mut self.version);
        }
    }

    /// Our version is too old for the server: read the object again and go on from there.
    async fn reread(&mut self, cluster: &mut Cluster) -> Result<Update, ClusterError> {
        self.events = None;
        let object = cluster.get(ArgoKind::Workflow, &self.name).await?;
        self.seen(&object);
        Ok(Update::Changed(object))
    }

    /// The next change of the workflow.
    pub(crate) async fn next(&mut self, cluster: &mut Cluster) -> Result<Update, ClusterError> {
        loop {
            let Some(events) = self.events.as_mut() else {
                if self
                    .opened
                    .is_some_and(|at| at.elapsed() < MIN_WATCH_LIFETIME)
                {
                    // A server that ends every watch at once must not make us spin.
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                self.opened = Some(Instant::now());
                match cluster
                    .watch_one(ArgoKind::Workflow, &self.name, &self.version)
                    .await
                {
                    Ok(events) => self.events = Some(Box::pin(events)),
                    Err(ClusterError::Server { code: 410, .. }) => {
                        return self.reread(cluster).await;
                    }
                    Err(e) => return Err(e),
                }
                continue;
            };
            let event = match tokio::time::timeout(IDLE_LIMIT, events.next()).await {
                Err(_) | Ok(None) => {
                    self.events = None;
                    continue;
                }
                Ok(Some(event)) => event,
            };
            match event {
                Ok(WatchEvent::Added(object) | WatchEvent::Modified(object)) => {
                    let object = to_json(&object);
                    self.seen(&object);
                    return Ok(Update::Changed(object));
                }
                Ok(WatchEvent::Bookmark(bookmark)) => {
                    self.version = bookmark.metadata.resource_version;
                }
                Ok(WatchEvent::Deleted(_)) => return Ok(Update::Deleted),
                Ok(WatchEvent::Error(status)) if status.code == 410 => {
                    return self.reread(cluster).await;
                }
                Ok(WatchEvent::Error(status)) => {
                    return Err(ClusterError::WatchFailed {
                        name: self.name.clone(),
                        message: status.message,
                    });
                }
                Err(e) => {
                    cluster
                        .notes
                        .push(format!("watch stream broke ({e}); watching again"));
                    self.events = None;
                }
            }
        }
    }
}

/// The error for a workflow deleted while it was being followed.
pub(crate) fn deleted(name: &str) -> ClusterError {
    ClusterError::Deleted {
        name: name.to_owned(),
    }
}
