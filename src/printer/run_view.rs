//! The view of a running pipeline, fed by `RunEvent`s: a live view on a terminal (overall bar,
//! one line per running job with its elapsed time and last output line), plain timestamped
//! lines elsewhere (CI, pipes: no control characters), nothing with `-q`. The summary table at
//! the end is the same in every mode but quiet.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;

use super::Printer;
use super::table;
use crate::events::{Exit, JobPhase, RunEvent, RunStatus};

/// More jobs than this and the summary lists only the ones that did not succeed.
const SUMMARY_ALL_UP_TO: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ViewMode {
    Live,
    Plain,
    Quiet,
}

impl ViewMode {
    /// Nothing with `-q`; the live view on a terminal; plain lines elsewhere (CI, pipes).
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

struct Live {
    multi: MultiProgress,
    overall: ProgressBar,
    jobs: HashMap<String, ProgressBar>,
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
    failed: usize,
    /// The last lines of each failed job, shown after the summary table.
    tails: Vec<(String, Vec<String>)>,
    /// Where log paths are shown relative to.
    cwd: PathBuf,
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
            failed: 0,
            tails: Vec::new(),
            cwd,
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

    /// A plain-mode line: `HH:MM:SS text` (UTC, the same clock as the run record).
    fn plain(printer: &mut Printer, text: &str) {
        let now = crate::time::format(SystemTime::now());
        let clock = now.get(11..19).unwrap_or("");
        printer.status(&format!("{clock} {text}"));
    }

    /// Prints above the live view (or plainly) without tearing the bars.
    fn line(&mut self, printer: &mut Printer, text: &str) {
        match (&self.live, self.mode) {
            (Some(live), _) => {
                let _ = live.multi.println(text);
            }
            (None, ViewMode::Plain) => Self::plain(printer, text),
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
            live.overall.set_length(self.total as u64);
        }
    }

    pub(crate) fn handle(&mut self, printer: &mut Printer, event: &RunEvent) {
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
                        Self::plain(printer, &format!("{name}: {} jobs", self.total));
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
                } else if self.mode == ViewMode::Plain {
                    Self::plain(printer, &format!("start    {job}{attempt_text}"));
                }
            }
            RunEvent::JobProgress { job, line } => {
                if let Some(bar) = self.live.as_ref().and_then(|l| l.jobs.get(job)) {
                    bar.set_message(line.clone());
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
                job,
                *phase,
                *exit,
                reason.clone(),
                *duration,
                log.as_deref(),
            ),
            RunEvent::JobLogTail { job, lines } => {
                self.tails.push((job.clone(), lines.clone()));
            }
            RunEvent::RunFinished { status, duration } => {
                if let Some(live) = self.live.take() {
                    live.overall.finish_and_clear();
                    let _ = live.multi.clear();
                }
                self.summary(printer, *status, *duration);
            }
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the fields of one JobFinished event"
    )]
    fn job_finished(
        &mut self,
        printer: &mut Printer,
        job: &str,
        phase: JobPhase,
        exit: Option<Exit>,
        reason: Option<String>,
        duration: Duration,
        log: Option<&Path>,
    ) {
        if matches!(phase, JobPhase::Failed | JobPhase::Cancelled) {
            self.failed += 1;
        }
        let why = reason.as_deref().unwrap_or("");
        let text = match phase {
            JobPhase::Succeeded => format!("ok       {job} {}", table::duration(duration)),
            JobPhase::Skipped => format!("skipped  {job}: {why}"),
            _ => {
                let log = log
                    .map(|p| format!("; log: {}", self.shown(p)))
                    .unwrap_or_default();
                format!(
                    "{:<8} {job} after {}: {why}{log}",
                    phase.as_str().to_lowercase(),
                    table::duration(duration)
                )
            }
        };
        if let Some(live) = &mut self.live {
            live.finish_job(job, self.failed);
        }
        // On a live terminal, successes are counted by the bar; only problems get a line.
        if self.live.is_none() || phase != JobPhase::Succeeded {
            self.line(printer, &text);
        }
        self.finished.push(Finished {
            job: job.to_owned(),
            phase,
            duration,
            exit,
            reason,
            log: log.map(Path::to_path_buf),
        });
    }

    fn summary(&self, printer: &mut Printer, status: RunStatus, duration: Duration) {
        if self.mode == ViewMode::Quiet {
            return;
        }
        let mut counts: Vec<(JobPhase, usize)> = Vec::new();
        for f in &self.finished {
            match counts.iter_mut().find(|(p, _)| *p == f.phase) {
                Some((_, n)) => *n += 1,
                None => counts.push((f.phase, 1)),
            }
        }
        let counts: Vec<String> = counts
            .iter()
            .map(|(p, n)| format!("{n} {}", p.as_str().to_lowercase()))
            .collect();
        let show_all = self.finished.len() <= SUMMARY_ALL_UP_TO;
        let mut finished: Vec<&Finished> = self.finished.iter().collect();
        finished.sort_by_key(|f| self.order.get(&f.job).copied().unwrap_or(usize::MAX));
        let rows: Vec<Vec<String>> = finished
            .into_iter()
            .filter(|f| show_all || f.phase != JobPhase::Succeeded)
            .map(|f| {
                vec![
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
                        (Some(log), _) => self.shown(log),
                        (None, _) => String::new(),
                    },
                ]
            })
            .collect();
        let mut text = String::new();
        if !rows.is_empty() {
            text.push_str(&table::render(
                &["JOB", "STATUS", "DURATION", "EXIT", "LOG"],
                &rows,
            ));
        }
        for (job, lines) in &self.tails {
            text.push_str(&format!("--- last {} lines of {job} ---\n", lines.len()));
            for line in lines {
                text.push_str(line);
                text.push('\n');
            }
        }
        let hidden = self.finished.len() - rows.len();
        if hidden > 0 {
            text.push_str(&format!("… and {hidden} more jobs succeeded\n"));
        }
        let id = self.run_id.as_deref().unwrap_or("run");
        text.push_str(&format!(
            "{id}: {status} in {} ({} jobs: {})\n",
            table::duration(duration),
            self.finished.len(),
            counts.join(", ")
        ));
        if status != RunStatus::Succeeded {
            text.push_str(&format!(
                "details: jupyterflow get {id}; logs: jupyterflow logs {id} [JOB]\n"
            ));
        }
        printer.status(text.trim_end());
    }
}

impl Live {
    fn new(total: usize) -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(total as u64));
        overall.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30.cyan/blue}] {pos}/{len} jobs {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        overall.enable_steady_tick(Duration::from_millis(200));
        Live {
            multi,
            overall,
            jobs: HashMap::new(),
        }
    }

    fn start_job(&mut self, job: &str, attempt: &str) {
        if let Some(bar) = self.jobs.get(job) {
            bar.set_prefix(format!("{job}{attempt}"));
            return;
        }
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("  {spinner} {prefix:24!} {elapsed:>4} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(format!("{job}{attempt}"));
        bar.enable_steady_tick(Duration::from_millis(120));
        self.jobs.insert(job.to_owned(), bar);
    }

    fn finish_job(&mut self, job: &str, failed: usize) {
        if let Some(bar) = self.jobs.remove(job) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        self.overall.inc(1);
        let running = self.jobs.len();
        let mut msg = format!("({running} running");
        if failed > 0 {
            msg.push_str(&format!(", {failed} failed"));
        }
        msg.push(')');
        self.overall.set_message(msg);
    }
}

#[cfg(test)]
mod tests {
    use std::io::{self, Write};
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A writer the test can read back after the printer is done with it.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn done(job: &str) -> RunEvent {
        RunEvent::JobFinished {
            job: job.into(),
            phase: JobPhase::Succeeded,
            attempts: 1,
            exit: Some(Exit::Code(0)),
            reason: None,
            duration: Duration::from_secs(2),
            log: None,
        }
    }

    #[test]
    fn jobs_not_announced_at_the_start_are_counted_in_order() {
        let err = Shared::default();
        let mut printer = Printer::new(Box::new(io::sink()), Box::new(err.clone()));
        let mut view = RunView::new(ViewMode::Plain, PathBuf::from("/"));
        let point = "train(0:p0:0.1)";
        for event in [
            RunEvent::RunStarted {
                run_id: Some("wf".into()),
                jobs: vec!["eval".into()],
            },
            RunEvent::JobStarted {
                job: point.into(),
                attempt: 1,
                max_attempts: 1,
                log: None,
            },
            done(point),
            done("eval"),
            RunEvent::RunFinished {
                status: RunStatus::Succeeded,
                duration: Duration::from_secs(5),
            },
        ] {
            view.handle(&mut printer, &event);
        }
        assert_eq!(view.total, 2);
        let text = String::from_utf8(err.0.lock().expect("lock").clone()).expect("UTF-8");
        assert!(
            text.contains("wf: Succeeded in 5.0s (2 jobs: 2 succeeded)"),
            "{text}"
        );
        let eval = text.find("\neval ").expect("eval in the summary");
        let train = text
            .find("\ntrain(0:p0:0.1) ")
            .expect("the point in the summary");
        assert!(
            eval < train,
            "announced jobs first, then in order seen: {text}"
        );
    }
}
