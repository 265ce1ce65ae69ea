//! The summary at the end of a run, pure: a table of the jobs (all of them for small runs, the
//! ones that did not succeed for big ones; long runs of skipped jobs folded), the last lines of
//! each failed job, the totals, and where to look next. With `-q`, only the failures.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use super::Finished;
use crate::events::{JobPhase, RunStatus};
use crate::printer::table;

/// More jobs than this and the table lists only the ones that did not succeed.
const ALL_UP_TO: usize = 30;
/// More skipped jobs than this and the rest are counted in one line.
const SKIPPED_SHOWN: usize = 10;

pub(super) struct Summary<'a> {
    pub(super) run_id: &'a str,
    pub(super) status: RunStatus,
    pub(super) duration: Duration,
    pub(super) finished: &'a [Finished],
    pub(super) order: &'a HashMap<String, usize>,
    pub(super) tails: &'a [(String, Vec<String>)],
    pub(super) shown: &'a dyn Fn(&Path) -> String,
    pub(super) quiet: bool,
}

impl Summary<'_> {
    pub(super) fn text(&self) -> String {
        let mut finished: Vec<&Finished> = self.finished.iter().collect();
        finished.sort_by_key(|f| self.order.get(&f.job).copied().unwrap_or(usize::MAX));
        let mut text = String::new();
        if self.quiet {
            for f in finished
                .iter()
                .filter(|f| matches!(f.phase, JobPhase::Failed | JobPhase::Cancelled))
            {
                text.push_str(&format!(
                    "{:<8} {} after {}: {}{}\n",
                    f.phase.as_str().to_lowercase(),
                    f.job,
                    table::duration(f.duration),
                    f.reason.as_deref().unwrap_or(""),
                    f.log
                        .as_deref()
                        .map(|p| format!("; log: {}", (self.shown)(p)))
                        .unwrap_or_default()
                ));
            }
            self.tails(&mut text);
            if self.status != RunStatus::Succeeded && !text.is_empty() {
                self.next_steps(&mut text);
            }
            return text;
        }
        self.table(&finished, &mut text);
        self.tails(&mut text);
        text.push_str(&format!(
            "{}: {} in {} ({}: {})\n",
            self.run_id,
            self.status,
            table::duration(self.duration),
            super::jobs_count(self.finished.len()),
            self.counts()
        ));
        if self.status != RunStatus::Succeeded {
            self.next_steps(&mut text);
        }
        text
    }

    fn table(&self, finished: &[&Finished], text: &mut String) {
        let show_all = finished.len() <= ALL_UP_TO;
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut skipped = 0;
        for f in finished {
            if !show_all && f.phase == JobPhase::Succeeded {
                continue;
            }
            if f.phase == JobPhase::Skipped {
                skipped += 1;
                if skipped > SKIPPED_SHOWN {
                    continue;
                }
            }
            rows.push(vec![
                f.job.clone(),
                f.phase.as_str().to_owned(),
                if f.phase == JobPhase::Skipped {
                    "-".to_owned()
                } else {
                    table::duration(f.duration)
                },
                table::exit(f.exit),
                match (&f.log, f.phase) {
                    (_, JobPhase::Skipped) => f.reason.clone().unwrap_or_default(),
                    (Some(log), _) => (self.shown)(log),
                    (None, _) => String::new(),
                },
            ]);
        }
        if !rows.is_empty() {
            text.push_str(&table::render(
                &["JOB", "STATUS", "DURATION", "EXIT", "LOG"],
                &rows,
            ));
        }
        if skipped > SKIPPED_SHOWN {
            text.push_str(&format!(
                "… and {} more jobs skipped\n",
                skipped - SKIPPED_SHOWN
            ));
        }
        let succeeded_hidden = if show_all {
            0
        } else {
            finished
                .iter()
                .filter(|f| f.phase == JobPhase::Succeeded)
                .count()
        };
        if succeeded_hidden > 0 {
            text.push_str(&format!("… and {succeeded_hidden} more jobs succeeded\n"));
        }
    }

    /// The last lines of each failed job: why it failed, without opening the log.
    fn tails(&self, text: &mut String) {
        for (job, lines) in self.tails {
            let log = self
                .finished
                .iter()
                .find(|f| &f.job == job)
                .and_then(|f| f.log.as_deref())
                .map(|p| format!(" of {}", (self.shown)(p)))
                .unwrap_or_default();
            text.push_str(&format!("--- {job}: last {} lines{log} ---\n", lines.len()));
            for line in lines {
                text.push_str(line);
                text.push('\n');
            }
        }
    }

    /// `3 succeeded, 1 failed`, in the order the phases first appear.
    fn counts(&self) -> String {
        let mut counts: Vec<(JobPhase, usize)> = Vec::new();
        for f in self.finished {
            match counts.iter_mut().find(|(p, _)| *p == f.phase) {
                Some((_, n)) => *n += 1,
                None => counts.push((f.phase, 1)),
            }
        }
        counts
            .iter()
            .map(|(p, n)| format!("{n} {}", p.as_str().to_lowercase()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn next_steps(&self, text: &mut String) {
        let id = self.run_id;
        text.push_str(&format!(
            "details: jupyterflow get {id}; logs: jupyterflow logs {id} [JOB]\n"
        ));
    }
}
