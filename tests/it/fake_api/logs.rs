//! Pod logs: the text per pod, and the follow streams that get each append until the pod's
//! container finishes. Knows nothing of pods themselves; `routes.rs` checks the pod exists.

use std::collections::HashMap;

use hyper::body::Bytes;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

#[derive(Default)]
struct PodLog {
    text: String,
    finished: bool,
    followers: Vec<UnboundedSender<Bytes>>,
}

/// What a log request gets: the whole text, or a stream that starts with it.
pub(super) enum LogRead {
    Text(String),
    Follow(UnboundedReceiver<Bytes>),
}

#[derive(Default)]
pub(super) struct Logs {
    pods: HashMap<(String, String), PodLog>,
}

impl Logs {
    pub(super) fn append(&mut self, ns: &str, pod: &str, text: &str) {
        let log = self
            .pods
            .entry((ns.to_owned(), pod.to_owned()))
            .or_default();
        log.text.push_str(text);
        if !text.is_empty() {
            let chunk = Bytes::copy_from_slice(text.as_bytes());
            log.followers.retain(|f| f.send(chunk.clone()).is_ok());
        }
    }

    /// Ends every follow stream of the pod's log, now and later (the container terminated).
    pub(super) fn finish(&mut self, ns: &str, pod: &str) {
        let log = self
            .pods
            .entry((ns.to_owned(), pod.to_owned()))
            .or_default();
        log.finished = true;
        log.followers.clear();
    }

    /// The log text (its last `tail` lines when given), and with `follow` a stream of what is
    /// appended until `finish`.
    pub(super) fn read(
        &mut self,
        ns: &str,
        pod: &str,
        follow: bool,
        tail: Option<usize>,
    ) -> LogRead {
        let log = self
            .pods
            .entry((ns.to_owned(), pod.to_owned()))
            .or_default();
        let text = match tail {
            Some(n) => {
                let lines: Vec<&str> = log.text.split_inclusive('\n').collect();
                lines[lines.len().saturating_sub(n)..].concat()
            }
            None => log.text.clone(),
        };
        if !follow || log.finished {
            return LogRead::Text(text);
        }
        let (tx, rx) = unbounded_channel();
        if !text.is_empty() {
            let _ = tx.send(Bytes::from(text));
        }
        log.followers.push(tx);
        LogRead::Follow(rx)
    }
}
