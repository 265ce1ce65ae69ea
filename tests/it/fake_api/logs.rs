//! Pod logs as the kubelet keeps and serves them: records (one line, or a partial line the
//! runtime flushed) each with the time it was written, read with `tailLines`, `sinceTime` /
//! `sinceSeconds`, `timestamps` and `limitBytes`, and follow streams that get each append until
//! the pod's container finishes. Knows nothing of pods themselves; `routes.rs` checks the pod
//! exists and validates the options.

use std::collections::HashMap;
use std::time::SystemTime;

use hyper::body::Bytes;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::clock;

/// One CRI log record: a line with its newline, or a partial line (the runtime's `P` tag).
struct Record {
    at: SystemTime,
    text: String,
}

/// How a log request reads (the kubelet's `LogOptions`).
#[derive(Debug, Clone, Default)]
pub(super) struct LogOptions {
    pub(super) follow: bool,
    /// The last N records, counted from the end before `since` filters.
    pub(super) tail: Option<usize>,
    /// Records written at or after this time (the kubelet skips `timestamp.Before(since)`).
    pub(super) since: Option<SystemTime>,
    /// Each record prefixed with its time (RFC 3339, nine fraction digits) and a space.
    pub(super) timestamps: bool,
    /// Stop after this many bytes of output, prefixes included, cutting a record if need be.
    pub(super) limit_bytes: Option<usize>,
}

struct Follower {
    tx: UnboundedSender<Bytes>,
    opts: LogOptions,
    /// Bytes the limit still allows.
    left: usize,
}

impl Follower {
    /// Sends what `opts` makes of `rec`; false when the stream is over (limit reached, or the
    /// client went away).
    fn send(&mut self, rec: &Record) -> bool {
        let Some(out) = render(rec, &self.opts, &mut self.left) else {
            return !self.tx.is_closed();
        };
        self.tx.send(Bytes::from(out)).is_ok() && self.left > 0
    }
}

#[derive(Default)]
struct PodLog {
    records: Vec<Record>,
    finished: bool,
    followers: Vec<Follower>,
}

/// What a log request gets: the whole text, or a stream that starts with it.
pub(super) enum LogRead {
    Text(String),
    Follow(UnboundedReceiver<Bytes>),
}

/// `rec` as `opts` shows it, within `left` bytes (which it uses up); `None` when filtered out
/// or nothing is left.
fn render(rec: &Record, opts: &LogOptions, left: &mut usize) -> Option<String> {
    if opts.since.is_some_and(|since| rec.at < since) || *left == 0 {
        return None;
    }
    let mut out = if opts.timestamps {
        format!("{} {}", clock::rfc3339_nano(rec.at), rec.text)
    } else {
        rec.text.clone()
    };
    if out.len() > *left {
        let mut cut = *left;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    *left -= out.len();
    Some(out)
}

#[derive(Default)]
pub(super) struct Logs {
    pods: HashMap<(String, String), PodLog>,
}

impl Logs {
    fn pod(&mut self, ns: &str, pod: &str) -> &mut PodLog {
        self.pods
            .entry((ns.to_owned(), pod.to_owned()))
            .or_default()
    }

    /// Appends `text` written at `at`: one record per line, and one for a trailing partial line.
    pub(super) fn append(&mut self, ns: &str, pod: &str, text: &str, at: SystemTime) {
        let log = self.pod(ns, pod);
        for line in text.split_inclusive('\n') {
            let rec = Record {
                at,
                text: line.to_owned(),
            };
            log.followers.retain_mut(|f| f.send(&rec));
            log.records.push(rec);
        }
    }

    /// Ends every follow stream of the pod's log, now and later (the container terminated).
    pub(super) fn finish(&mut self, ns: &str, pod: &str) {
        let log = self.pod(ns, pod);
        log.finished = true;
        log.followers.clear();
    }

    /// The log as `opts` selects it; with `follow` (and the container still running, and the
    /// limit not reached) a stream that goes on with what is appended until `finish`.
    pub(super) fn read(&mut self, ns: &str, pod: &str, opts: LogOptions) -> LogRead {
        let log = self.pod(ns, pod);
        let from = opts.tail.map_or(0, |n| log.records.len().saturating_sub(n));
        let mut left = opts.limit_bytes.unwrap_or(usize::MAX);
        let text: String = log.records[from..]
            .iter()
            .filter_map(|r| render(r, &opts, &mut left))
            .collect();
        if !opts.follow || log.finished || left == 0 {
            return LogRead::Text(text);
        }
        let (tx, rx) = unbounded_channel();
        if !text.is_empty() {
            let _ = tx.send(Bytes::from(text));
        }
        log.followers.push(Follower { tx, opts, left });
        LogRead::Follow(rx)
    }
}
