//! The view of a running pipeline, fed by `RunEvent`s from either backend: the jobs' output as
//! it comes (`job | line`, on stdout), a live view on a terminal (an overall bar and one line
//! per running job), plain timestamped lines elsewhere (notebook cells, CI, pipes: no control
//! characters), and at the end a summary with why each failed job failed. With `-q` only the
//! failures are said. With `--events` it shows nothing itself: each event goes to stdout as a
//! JSON line (`printer::events`), and notes stay on stderr.

mod live;
mod summary;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;

use super::Printer;
use super::events;
use super::table;
use crate::events::{Exit, JobPhase, RunEvent, RunStatus};
use crate::time;
use live::Live;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ViewMode {
    Live,
    Plain,
    Quiet,
}

impl ViewMode {
    /// Nothing but failures with `-q`; the live view on a terminal; plain lines elsewhere.
    pub(crate) fn choose(quiet: bool) -> Self {
        if quiet {
            ViewMode::Quiet
        } else if super::Printer::stderr_is_terminal() {
            ViewMode::Live
        } else {
            ViewMode::Plain
        }
    }
}

/// One finished job, for the summary.
struct Finished {
    job: String,
    phase: JobPhase,
    duration: Duration,
    exit: Option<Exit>,
    reason: Option<String>,
    log: Option<PathBuf>,
}

pub(crate) struct RunView {
    mode: ViewMode,
    live: Option<Live>,
    run_id: Option<String>,
    total: usize,
    /// Job name → position in the pipeline, so the summary lists jobs as written.
    order: HashMap<String, usize>,
    finished: Vec<Finished>,
    /// The last lines of each failed job, shown after the summary table.
    tails: Vec<(String, Vec<String>)>,
    /// Where log paths are shown relative to.
    cwd: PathBuf,
    /// The clock of plain lines is the user's.
    zone: jiff::tz::TimeZone,
    /// `--events`: every event as a JSON line on stdout, and nothing else.
    events: Option<events::Writer>,
}

impl RunView {
    pub(crate) fn new(mode: ViewMode, cwd: PathBuf) -> Self {
        RunView {
            mode,
            live: None,
            run_id: None,
            total: 0,
            order: HashMap::new(),
            finished: Vec::new(),
            tails: Vec::new(),
            cwd,
            zone: time::local_zone(),
            events: None,
        }
    }

    /// The `--events` view: each event as a JSON line on stdout (docs/events.md).
    pub(crate) fn events(context: events::Context) -> Self {
        let writer = events::Writer::new(context);
        let mut view = RunView::new(ViewMode::Quiet, writer.cwd().to_path_buf());
        view.events = Some(writer);
        view
    }

    /// Following a cluster run ended before the run did (Ctrl-C); the caller says so on
    /// stderr. The event stream says it too, as its last line.
    pub(crate) fn detached(&self, printer: &mut Printer, run: &str) {
        if self.events.is_some() {
            printer.data(&events::detached(run, SystemTime::now()));
        }
    }

    /// Shows every event from `events` until the engine drops its sender.
    pub(crate) async fn show_all(
        &mut self,
        printer: &mut Printer,
        mut events: mpsc::UnboundedReceiver<RunEvent>,
    ) {
        while let Some(event) = events.recv().await {
            self.handle(printer, &event);
        }
    }

    fn shown(&self, path: &Path) -> String {
        path.strip_prefix(&self.cwd)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    /// Prints a status line above the live view, or plainly as `HH:MM:SS text` (local time).
    /// Something the user should act on while the run waits, above the live view; `-q` keeps
    /// it off, as it does every note.
    pub(crate) fn warn(&self, printer: &mut Printer, text: &str) {
        if self.events.is_some() {
            printer.note(text);
            return;
        }
        match (&self.live, self.mode) {
            (_, ViewMode::Quiet) => {}
            (Some(live), _) => live.println(&format!("note: {text}")),
            (None, _) => printer.note(text),
        }
    }

    fn line(&self, printer: &mut Printer, text: &str) {
        match (&self.live, self.mode) {
            (Some(live), _) => live.println(text),
            (None, ViewMode::Plain) => {
                printer.status(&format!(
                    "{} {text}",
                    time::clock(SystemTime::now(), &self.zone)
                ));
            }
            _ => {}
        }
    }

    /// A job not announced in `RunStarted` (a sweep point Argo expands while the run goes):
    /// count it, so the bar's total and the summary's order include it.
    fn see(&mut self, job: &str) {
        if self.order.contains_key(job) {
            return;
        }
        self.order.insert(job.to_owned(), self.order.len());
        self.total += 1;
        if let Some(live) = &self.live {
            live.set_total(self.total);
        }
    }

    pub(crate) fn handle(&mut self, printer: &mut Printer, event: &RunEvent) {
        if let Some(writer) = &mut self.events {
            printer.data(&writer.line(event, SystemTime::now()));
            return;
        }
        if let RunEvent::JobStarted { job, .. }
        | RunEvent::JobRetrying { job, .. }
        | RunEvent::JobFinished { job, .. } = event
        {
            self.see(job);
        }
        match event {
            RunEvent::RunStarted { run_id, jobs } => {
                self.run_id.clone_from(run_id);
                self.total = jobs.len();
                self.order = jobs
                    .iter()
                    .enumerate()
                    .map(|(i, j)| (j.clone(), i))
                    .collect();
                let name = run_id.as_deref().unwrap_or("run");
                match self.mode {
                    ViewMode::Live => self.live = Some(Live::new(self.total)),
                    ViewMode::Plain => {
                        self.line(printer, &format!("{name}: {}", jobs_count(self.total)));
                    }
                    ViewMode::Quiet => {}
                }
            }
            RunEvent::JobStarted {
                job,
                attempt,
                max_attempts,
                ..
            } => {
                let attempt_text = if *max_attempts > 1 {
                    format!(" (attempt {attempt}/{max_attempts})")
                } else {
                    String::new()
                };
                if let Some(live) = &mut self.live {
                    live.start_job(job, &attempt_text);
                } else {
                    self.line(printer, &format!("start    {job}{attempt_text}"));
                }
            }
            RunEvent::JobProgress { job, line } => {
                if let Some(live) = &self.live {
                    live.progress(job, line);
                }
            }
            RunEvent::JobOutput { job, line, .. } => {
                let text = format!("{job} | {line}\n");
                match &self.live {
                    Some(live) => live.multi.suspend(|| printer.data(&text)),
                    None => printer.data(&text),
                }
            }
            RunEvent::JobRetrying {
                job, reason, delay, ..
            } => {
                let text = format!("retry    {job} in {} ({reason})", table::duration(*delay));
                self.line(printer, &text);
            }
            RunEvent::JobFinished {
                job,
                phase,
                exit,
                reason,
                duration,
                log,
                ..
            } => self.job_finished(
                printer,
                Finished {
                    job: job.clone(),
                    phase: *phase,
                    duration: *duration,
                    exit: *exit,
                    reason: reason.clone(),
                    log: log.clone(),
                },
            ),
            RunEvent::Stopping { jobs, grace } => self.stopping(printer, *jobs, *grace),
            RunEvent::JobLogTail { job, lines } => {
                self.tails.push((job.clone(), lines.clone()));
            }
            RunEvent::RunFinished { status, duration } => {
                self.run_finished(printer, *status, *duration);
            }
        }
    }

    /// Said even with -q: the user pressed Ctrl-C and is waiting.
    fn stopping(&self, printer: &mut Printer, jobs: usize, grace: Option<Duration>) {
        let jobs = match jobs {
            1 => "1 running job".to_owned(),
            n => format!("{n} running jobs"),
        };
        let text = match grace {
            Some(grace) => format!(
                "stopping {jobs}: SIGTERM now, SIGKILL in {} (Ctrl-C again to kill now)",
                table::duration(grace)
            ),
            None => format!("killing  {jobs} now"),
        };
        if self.mode == ViewMode::Quiet {
            printer.status_always(&text);
        } else {
            self.line(printer, &text);
        }
    }

    fn run_finished(&mut self, printer: &mut Printer, status: RunStatus, duration: Duration) {
        if let Some(live) = self.live.take() {
            live.clear();
        }
        let text = summary::Summary {
            run_id: self.run_id.as_deref().unwrap_or("run"),
            status,
            duration,
            finished: &self.finished,
            order: &self.order,
            tails: &self.tails,
            shown: &|path| self.shown(path),
            quiet: self.mode == ViewMode::Quiet,
        }
        .text();
        if !text.is_empty() {
            // Failures are said even with -q: that is what -q promises.
            printer.status_always(text.trim_end());
        }
    }

    fn job_finished(&mut self, printer: &mut Printer, finished: Finished) {
        let failed = matches!(finished.phase, JobPhase::Failed | JobPhase::Cancelled);
        if let Some(live) = &mut self.live {
            live.finish_job(&finished.job, failed);
        }
        let job = &finished.job;
        let why = finished.reason.as_deref().unwrap_or("");
        let text = match finished.phase {
            JobPhase::Succeeded => Some(format!(
                "ok       {job} {}",
                table::duration(finished.duration)
            )),
            // Skipped jobs are listed once, in the summary, with why.
            JobPhase::Skipped => None,
            phase => {
                let log = finished
                    .log
                    .as_deref()
                    .map(|p| format!("; log: {}", self.shown(p)))
                    .unwrap_or_default();
                Some(format!(
                    "{:<8} {job} after {}: {why}{log}",
                    phase.as_str().to_lowercase(),
                    table::duration(finished.duration)
                ))
            }
        };
        // On a live terminal, successes are counted by the bar; only problems get a line.
        if let Some(text) = text
            && (self.live.is_none() || finished.phase != JobPhase::Succeeded)
        {
            self.line(printer, &text);
        }
        self.finished.push(finished);
    }
}

/// `1 job`, `3 jobs`.
pub(crate) fn jobs_count(n: usize) -> String {
    if n == 1 {
        "1 job".to_owned()
    } else {
        format!("{n} jobs")
    }
}

#[cfg(test)]
mod tests;
