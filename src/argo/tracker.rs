//! Successive snapshots of one Argo workflow → the `RunEvent`s the local engine sends, so the
//! same `RunView` draws an Argo run live. A watch repeats snapshots and may replay older ones
//! after a reconnect, so every event stands for a transition that only moves forward (an
//! attempt started, an attempt failed, a job's first terminal phase, the run's end) and is sent
//! once: an older snapshot cannot take back what a newer one reported. Pure: no clock, no I/O.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use super::view::{JobView, WorkflowView};
use crate::events::{JobPhase, RunEvent};

/// Remembers what has been reported about one workflow.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    started: bool,
    finished: bool,
    jobs: HashMap<String, Reported>,
    /// Job names in the order first reported, to close leftovers in that order.
    order: Vec<String>,
}

#[derive(Debug, Default)]
struct Reported {
    /// The highest attempt a `JobStarted` was sent for.
    started: u32,
    /// The highest failed attempt a `JobRetrying` was sent for.
    retried: u32,
    finished: bool,
}

impl Tracker {
    pub(crate) fn new() -> Self {
        Tracker::default()
    }

    /// True once `RunFinished` was sent; later snapshots are ignored.
    #[cfg(test)]
    pub(crate) fn is_finished(&self) -> bool {
        self.finished
    }

    /// The events `view` adds to what earlier snapshots reported.
    pub(crate) fn update(&mut self, view: &WorkflowView) -> Vec<RunEvent> {
        let mut events = Vec::new();
        if self.finished {
            return events;
        }
        if !self.started {
            self.started = true;
            // Plain tasks the controller has not reached yet will be jobs named like the task:
            // announcing them now gives the view its full count from the start. Sweep points
            // are named only when the controller expands them; the view grows then.
            let mut names: Vec<String> = view.jobs.iter().map(|j| j.name.clone()).collect();
            names.extend(
                view.unstarted_tasks()
                    .filter(|t| t.points.is_none())
                    .map(|t| t.name.clone()),
            );
            for name in &names {
                self.entry(name);
            }
            events.push(RunEvent::RunStarted {
                run_id: Some(view.name.clone()),
                jobs: names,
            });
        }
        for job in &view.jobs {
            self.job_events(job, &mut events);
        }
        if view.is_finished() {
            self.close(view, &mut events);
        }
        events
    }

    fn entry(&mut self, name: &str) -> &mut Reported {
        if !self.jobs.contains_key(name) {
            self.order.push(name.to_owned());
        }
        self.jobs.entry(name.to_owned()).or_default()
    }

    fn job_events(&mut self, job: &JobView, events: &mut Vec<RunEvent>) {
        let reported = self.entry(&job.name);
        if reported.finished {
            return;
        }
        let count = u32::try_from(job.attempts.len()).unwrap_or(u32::MAX);
        let mut began = 0;
        for (k, attempt) in (1..).zip(&job.attempts) {
            // A pod still Pending has not started; attempts run one after another.
            if attempt.phase == JobPhase::Pending {
                break;
            }
            began = k;
            if k > reported.started {
                reported.started = k;
                events.push(RunEvent::JobStarted {
                    job: job.name.clone(),
                    attempt: k,
                    max_attempts: job.max_attempts.unwrap_or(k).max(k),
                    log: None,
                });
            }
            let failed = matches!(attempt.phase, JobPhase::Failed | JobPhase::Cancelled);
            // Another attempt follows when one exists, or while the job waits in backoff.
            let another =
                k < count || (!job.phase.is_terminal() && job.max_attempts.is_none_or(|m| k < m));
            if failed && another && k > reported.retried {
                reported.retried = k;
                events.push(RunEvent::JobRetrying {
                    job: job.name.clone(),
                    attempt: k,
                    exit: attempt.exit,
                    reason: attempt
                        .message
                        .clone()
                        .or_else(|| attempt.exit.map(|e| e.to_string()))
                        .unwrap_or_else(|| "the attempt failed".to_owned()),
                    delay: job.retry_delay(k),
                });
            }
        }
        if job.phase.is_terminal() {
            reported.finished = true;
            events.push(RunEvent::JobFinished {
                job: job.name.clone(),
                phase: job.phase,
                attempts: began,
                exit: job.exit,
                reason: job.reason(),
                duration: span(job.started_at, job.finished_at),
                log: None,
            });
        }
    }

    /// The run ended: whatever was announced or seen and did not finish never will, then the
    /// run itself. Sweeps the controller never expanded get one line under the task's name.
    fn close(&mut self, view: &WorkflowView, events: &mut Vec<RunEvent>) {
        for name in &self.order {
            let Some(reported) = self.jobs.get_mut(name) else {
                continue;
            };
            if reported.finished {
                continue;
            }
            reported.finished = true;
            let (phase, reason) = if reported.started > 0 {
                (JobPhase::Cancelled, "still running when the workflow ended")
            } else {
                (JobPhase::Skipped, "not started before the workflow ended")
            };
            events.push(skipped(name, phase, reported.started, reason.to_owned()));
        }
        for task in view.unstarted_tasks() {
            if let Some(points) = task.points
                && !self.jobs.contains_key(&task.name)
            {
                self.order.push(task.name.clone());
                self.jobs.insert(
                    task.name.clone(),
                    Reported {
                        finished: true,
                        ..Reported::default()
                    },
                );
                let reason = format!("not started before the workflow ended ({points} points)");
                events.push(skipped(&task.name, JobPhase::Skipped, 0, reason));
            }
        }
        self.finished = true;
        events.push(RunEvent::RunFinished {
            status: view.run_status(),
            duration: span(view.started_at, view.finished_at),
        });
    }
}

fn skipped(job: &str, phase: JobPhase, attempts: u32, reason: String) -> RunEvent {
    RunEvent::JobFinished {
        job: job.to_owned(),
        phase,
        attempts,
        exit: None,
        reason: Some(reason),
        duration: Duration::ZERO,
        log: None,
    }
}

/// The time between two recorded instants; zero when one is missing (never the clock: a
/// replayed snapshot must give the same events).
fn span(start: Option<SystemTime>, end: Option<SystemTime>) -> Duration {
    match (start, end) {
        (Some(start), Some(end)) => end.duration_since(start).unwrap_or_default(),
        _ => Duration::ZERO,
    }
}

#[cfg(test)]
mod tests;
