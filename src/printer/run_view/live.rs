//! The live view on a terminal: an overall bar (jobs done, running, failed) and one spinner per
//! running job with its elapsed time and last line of output. Drawn by indicatif on stderr;
//! lines printed meanwhile go above the bars.

use std::collections::HashMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub(super) struct Live {
    pub(super) multi: MultiProgress,
    overall: ProgressBar,
    jobs: HashMap<String, ProgressBar>,
    failed: usize,
}

impl Live {
    pub(super) fn new(total: usize) -> Self {
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
        let live = Live {
            multi,
            overall,
            jobs: HashMap::new(),
            failed: 0,
        };
        live.count();
        live
    }

    pub(super) fn set_total(&self, total: usize) {
        self.overall.set_length(total as u64);
    }

    /// Prints `text` above the bars.
    pub(super) fn println(&self, text: &str) {
        let _ = self.multi.println(text);
    }

    pub(super) fn start_job(&mut self, job: &str, attempt: &str) {
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
        self.count();
    }

    /// The job's last line of output, beside its spinner.
    pub(super) fn progress(&self, job: &str, line: &str) {
        if let Some(bar) = self.jobs.get(job) {
            bar.set_message(line.to_owned());
        }
    }

    pub(super) fn finish_job(&mut self, job: &str, failed: bool) {
        if let Some(bar) = self.jobs.remove(job) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        self.failed += usize::from(failed);
        self.overall.inc(1);
        self.count();
    }

    /// `(2 running, 1 failed)`: recounted whenever a job starts or ends.
    fn count(&self) {
        let mut msg = format!("({} running", self.jobs.len());
        if self.failed > 0 {
            msg.push_str(&format!(", {} failed", self.failed));
        }
        msg.push(')');
        self.overall.set_message(msg);
    }

    pub(super) fn clear(self) {
        self.overall.finish_and_clear();
        let _ = self.multi.clear();
    }
}
