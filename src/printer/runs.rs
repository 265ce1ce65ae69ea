//! The run list (`list`) and a run's details (`get`), one layout for local and Argo runs: each
//! backend's runs are turned into these rows (local run records here, Argo workflows in
//! `workflows`), so both look the same. Pure: rows in, text out; `now` is the caller's.

use std::time::{Duration, SystemTime};

use super::table;
use crate::events::{Exit, JobPhase, RunStatus};
use crate::local::record::{Backend, RunRecord, StoredRun};
use crate::time;

/// One line of `list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunRow {
    pub name: String,
    /// `argo` or `local`.
    pub backend: &'static str,
    pub status: String,
    /// Jobs done (terminal) and jobs in all.
    pub done: usize,
    pub total: usize,
    pub age: Option<Duration>,
    pub duration: Option<Duration>,
    /// Why it is in this state, when there is something to say (wide only).
    pub message: Option<String>,
    /// The `-c` text or workflow file (wide only).
    pub source: Option<String>,
}

/// One line of the jobs table of `get`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobRow {
    pub name: String,
    pub phase: JobPhase,
    pub started: Option<SystemTime>,
    pub duration: Option<Duration>,
    pub exit: Option<Exit>,
    /// Why it ended as it did; without one, a failing exit speaks for itself.
    pub reason: Option<String>,
}

/// NAME, BACKEND, STATUS, PROGRESS, AGE, DURATION; wide adds MESSAGE and SOURCE. Rows are
/// shown as given.
pub(crate) fn run_list(rows: &[RunRow], wide: bool) -> String {
    let mut header = vec!["NAME", "BACKEND", "STATUS", "PROGRESS", "AGE", "DURATION"];
    if wide {
        header.extend(["MESSAGE", "SOURCE"]);
    }
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut row = vec![
                r.name.clone(),
                r.backend.to_owned(),
                r.status.clone(),
                format!("{}/{}", r.done, r.total),
                r.age.map_or_else(dash, table::age),
                r.duration.map_or_else(dash, table::duration),
            ];
            if wide {
                row.push(r.message.clone().unwrap_or_else(dash));
                row.push(r.source.clone().unwrap_or_else(dash));
            }
            row
        })
        .collect();
    table::render(&header, &rows)
}

/// `Key:` lines (values aligned), a blank line, then JOB, STATUS, STARTED, DURATION, EXIT,
/// MESSAGE.
pub(crate) fn run_details(fields: &[(&str, String)], jobs: &[JobRow]) -> String {
    let mut text = String::new();
    for (key, value) in fields {
        let key = format!("{key}:");
        text.push_str(&format!("{key:<12}{value}\n"));
    }
    text.push('\n');
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            // A job waiting or skipped has no run time to show, whatever its node recorded.
            let ran = !matches!(j.phase, JobPhase::Pending | JobPhase::Skipped);
            let message = match (&j.reason, j.exit) {
                (Some(reason), _) => reason.clone(),
                (None, Some(exit)) if !exit.success() => exit.to_string(),
                (None, _) => String::new(),
            };
            vec![
                j.name.clone(),
                j.phase.as_str().to_owned(),
                j.started.filter(|_| ran).map_or_else(dash, time::format),
                j.duration
                    .filter(|_| ran)
                    .map_or_else(dash, table::duration),
                table::exit(j.exit),
                message,
            ]
        })
        .collect();
    text.push_str(&table::render(
        &["JOB", "STATUS", "STARTED", "DURATION", "EXIT", "MESSAGE"],
        &rows,
    ));
    text
}

/// The MESSAGE of a run that had failures: the first failed job and why, and how many more
/// failed. `failed` yields (job, why) in the order the run lists its jobs.
pub(crate) fn failure_summary(
    mut failed: impl Iterator<Item = (String, String)>,
) -> Option<String> {
    let (job, why) = failed.next()?;
    Some(match failed.count() {
        0 => format!("{job}: {why}"),
        more => format!("{job}: {why} (and {more} more)"),
    })
}

/// The `list` rows of run folders (local runs, and cluster runs their supervisors recorded):
/// each by its folder's name; one whose record cannot be read is listed as Damaged, with why.
pub(crate) fn stored_rows(runs: &[StoredRun], now: SystemTime) -> Vec<RunRow> {
    runs.iter()
        .map(|stored| match &stored.record {
            Ok(r) => record_row(&stored.name, r, now),
            Err(e) => RunRow {
                name: stored.name.clone(),
                backend: Backend::Local.as_str(),
                status: "Damaged".to_owned(),
                done: 0,
                total: 0,
                age: None,
                duration: None,
                message: Some(e.to_string()),
                source: None,
            },
        })
        .collect()
}

/// The `list` row of a run record named `name`.
pub(crate) fn record_row(name: &str, r: &RunRecord, now: SystemTime) -> RunRow {
    RunRow {
        name: name.to_owned(),
        backend: r.backend.as_str(),
        status: r.status.as_str().to_owned(),
        // Like Argo's progress: jobs that succeeded, of all.
        done: r
            .jobs
            .iter()
            .filter(|j| j.phase == JobPhase::Succeeded)
            .count(),
        total: r.jobs.len(),
        age: since(&r.started, now),
        duration: between(Some(&r.started), r.finished.as_deref(), now),
        message: local_message(r),
        source: Some(r.source.text()),
    }
}

/// How many lines of a failed notebook cell's traceback `get` shows.
pub(crate) const TRACEBACK_LINES: usize = 8;

/// After `get`'s table: each failed notebook step's cell, its traceback's last lines, and
/// where the executed notebook is.
pub(crate) fn notebook_failures(
    failures: &[(
        String,
        std::path::PathBuf,
        crate::pipeline::notebook::CellError,
    )],
) -> String {
    let mut text = String::new();
    for (job, path, error) in failures {
        text.push_str(&format!("\n{job}: {}\n", error.headline()));
        for line in &error.traceback {
            text.push_str(&format!("  {line}\n"));
        }
        text.push_str(&format!("  executed notebook: {}\n", path.display()));
    }
    text
}

/// `get` of a local run.
pub(crate) fn local_details(name: &str, run: &RunRecord, now: SystemTime) -> String {
    let mut fields = vec![
        ("Name", name.to_owned()),
        ("Status", run.status.as_str().to_owned()),
        ("Source", run.source.text()),
        ("Workdir", run.workdir.display().to_string()),
        ("Started", run.started.clone()),
        (
            "Duration",
            between(Some(&run.started), run.finished.as_deref(), now)
                .map_or_else(dash, table::duration),
        ),
    ];
    if !run.params.is_empty() {
        fields.insert(3, ("Params", run.params.to_string()));
    }
    if let Some(old) = &run.retry_of {
        fields.push(("Retry of", old.clone()));
    }
    if run.id != name {
        // A copied run folder: its record still names the original.
        fields.push(("Copied from", run.id.clone()));
    }
    if let Some(message) = local_message(run) {
        fields.push(("Message", message));
    }
    let jobs: Vec<JobRow> = run
        .jobs
        .iter()
        .map(|j| JobRow {
            name: j.name.clone(),
            phase: j.phase,
            started: j.started.as_deref().and_then(time::parse),
            duration: between(j.started.as_deref(), j.finished.as_deref(), now),
            exit: j.exit,
            reason: j.reason.clone(),
        })
        .collect();
    run_details(&fields, &jobs)
}

/// What went wrong, for the MESSAGE column and `get`: the first job that failed or was
/// cancelled, or why an interrupted run stopped. Nothing to say about other runs.
fn local_message(run: &RunRecord) -> Option<String> {
    if run.status == RunStatus::Interrupted {
        return Some(
            match run.backend {
                Backend::Local => "the process running it is gone",
                Backend::Argo => "it had not ended when its Workflow went",
            }
            .to_owned(),
        );
    }
    failure_summary(
        run.jobs
            .iter()
            .filter(|j| matches!(j.phase, JobPhase::Failed | JobPhase::Cancelled))
            .map(|j| {
                let why = j.reason.clone().or_else(|| j.exit.map(|e| e.to_string()));
                (
                    j.name.clone(),
                    why.unwrap_or_else(|| j.phase.as_str().to_lowercase()),
                )
            }),
    )
}

fn since(rfc: &str, now: SystemTime) -> Option<Duration> {
    now.duration_since(time::parse(rfc)?).ok()
}

fn between(start: Option<&str>, end: Option<&str>, now: SystemTime) -> Option<Duration> {
    let start = time::parse(start?)?;
    let end = end.map_or(Some(now), time::parse)?;
    end.duration_since(start).ok()
}

fn dash() -> String {
    "-".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_adds_message_and_source_and_blanks_read_as_dashes() {
        let row = RunRow {
            name: "a".into(),
            backend: "local",
            status: "Running".into(),
            done: 1,
            total: 3,
            age: Some(Duration::from_secs(90)),
            duration: None,
            message: None,
            source: Some("x >> y".into()),
        };
        assert_eq!(
            run_list(std::slice::from_ref(&row), false),
            "NAME  BACKEND  STATUS   PROGRESS  AGE  DURATION\na     local    Running  1/3       1m   -\n"
        );
        let wide = run_list(&[row], true);
        assert!(
            wide.starts_with("NAME  BACKEND  STATUS   PROGRESS  AGE  DURATION  MESSAGE  SOURCE\n")
        );
        assert!(wide.ends_with("-         -        x >> y\n"), "{wide}");
    }

    #[test]
    fn details_align_keys_and_explain_failures() {
        let jobs = [
            JobRow {
                name: "prep".into(),
                phase: JobPhase::Failed,
                started: Some(SystemTime::UNIX_EPOCH),
                duration: Some(Duration::from_secs(3)),
                exit: Some(Exit::Code(2)),
                reason: None,
            },
            JobRow {
                name: "eval".into(),
                phase: JobPhase::Pending,
                started: None,
                duration: Some(Duration::from_secs(3)),
                exit: None,
                reason: None,
            },
        ];
        let text = run_details(&[("Name", "r".into()), ("Duration", "3.0s".into())], &jobs);
        assert_eq!(
            text,
            "Name:       r\nDuration:   3.0s\n\n\
             JOB   STATUS   STARTED                   DURATION  EXIT  MESSAGE\n\
             prep  Failed   1970-01-01T00:00:00.000Z  3.0s      2     exit code 2\n\
             eval  Pending  -                         -         -\n"
        );
    }

    #[test]
    fn failures_are_summed_up_by_the_first() {
        let failed = |n: usize| (0..n).map(|i| (format!("j{i}"), "exit code 2".to_owned()));
        assert_eq!(failure_summary(failed(0)), None);
        assert_eq!(
            failure_summary(failed(1)).as_deref(),
            Some("j0: exit code 2")
        );
        assert_eq!(
            failure_summary(failed(3)).as_deref(),
            Some("j0: exit code 2 (and 2 more)")
        );
    }
}
