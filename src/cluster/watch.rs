//! Following one workflow through the watch API, for `run --watch`, `watch` and `logs -f`:
//! re-watched from the last resourceVersion when the server ends the stream, re-read when that
//! version is too old (410 Gone, as an event or as the response), and re-opened when the
//! connection goes silent. Each re-watch is a note (`-v`); streams that keep closing right
//! after opening are re-opened with growing pauses, and given up after `MAX_QUICK_CLOSES` in a
//! row. Never polls. Cancel-safe: a caller may drop `next()` in a `select!`.

use std::pin::Pin;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt as _};
use kube::api::{DynamicObject, WatchEvent};
use serde_json::Value;

use super::api::{Cluster, to_json};
use super::error::{ClusterError, chain_text, readable};
use crate::argo::ArgoKind;

/// Longer than the server's own watch timeout (290 s): silence past this means a dead connection.
const IDLE_LIMIT: Duration = Duration::from_secs(320);
/// Watches that end this soon after opening, with no event, are re-opened only after a pause.
const MIN_WATCH_LIFETIME: Duration = Duration::from_secs(1);
/// After this many such watches in a row, the server is not going to serve one: give up.
const MAX_QUICK_CLOSES: u32 = 10;
/// The pause after the first quick close, doubled after each next one, up to the cap.
const QUICK_CLOSE_PAUSE: Duration = Duration::from_millis(200);
const QUICK_CLOSE_PAUSE_CAP: Duration = Duration::from_secs(2);

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
    /// Whether the open stream has delivered anything.
    delivered: bool,
    /// Streams in a row that ended right after opening, with no event.
    quick_closes: u32,
    /// No new watch request before this (kept here so a dropped `next()` keeps the pause).
    reopen_at: Option<Instant>,
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
            delivered: false,
            quick_closes: 0,
            reopen_at: None,
        }
    }

    /// The open stream ended (`why`, for the note): decide when to watch again, or give up.
    fn ended(&mut self, cluster: &mut Cluster, why: &str) -> Result<(), ClusterError> {
        self.events = None;
        let lived = self.opened.map_or(Duration::ZERO, |at| at.elapsed());
        if lived < MIN_WATCH_LIFETIME && !self.delivered {
            self.quick_closes += 1;
        } else {
            self.quick_closes = 0;
        }
        if self.quick_closes >= MAX_QUICK_CLOSES {
            return Err(ClusterError::WatchFailed {
                name: self.name.clone(),
                message: format!(
                    "the API server ended {MAX_QUICK_CLOSES} watches in a row right after opening them ({why})"
                ),
            });
        }
        let pause = match self.quick_closes {
            0 => Duration::ZERO,
            n => QUICK_CLOSE_PAUSE
                .saturating_mul(1 << (n - 1).min(16))
                .min(QUICK_CLOSE_PAUSE_CAP),
        };
        self.reopen_at = Some(Instant::now() + pause);
        cluster.notes.push(format!(
            "the watch of {} {why} after {} ms; watching again{}",
            self.name,
            lived.as_millis(),
            if pause.is_zero() {
                String::new()
            } else {
                format!(
                    " in {} ms ({} in a row ended at once)",
                    pause.as_millis(),
                    self.quick_closes
                )
            }
        ));
        Ok(())
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
                // A server that ends every watch at once must not make us spin.
                if let Some(at) = self.reopen_at {
                    tokio::time::sleep_until(at.into()).await;
                }
                self.opened = Some(Instant::now());
                self.delivered = false;
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
                Err(_) => {
                    self.ended(cluster, "went silent")?;
                    continue;
                }
                Ok(None) => {
                    self.ended(cluster, "ended")?;
                    continue;
                }
                Ok(Some(event)) => event,
            };
            if event.is_ok() {
                self.delivered = true;
            }
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
                    let why = format!("broke ({})", readable(&chain_text(&e)));
                    self.ended(cluster, &why)?;
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
