//! Which job runs next: a pure state machine over the job graph, with no clock and no I/O, so
//! the failure policies and the parallelism cap can be tested exhaustively (see the proptest).
//! The executor asks `start_ready` for work and reports back with `finish`.

use crate::events::JobPhase;

/// What a failure does to the rest of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum FailurePolicy {
    /// Argo's DAG default: after a failure nothing new starts, running jobs finish, every job
    /// that has not started is Skipped.
    #[default]
    FailFast,
    /// `--keep-going`: run everything that does not depend on a failure; only the (transitive)
    /// dependents of failed jobs are Skipped.
    KeepGoing,
}

/// Why a job was skipped, for the `reason` of its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SkipCause {
    /// This dependency (a job index) failed or was skipped itself.
    Dependency(usize),
    /// Fail-fast: another job (this index) failed, so nothing new starts.
    FailFast(usize),
    /// The run was cancelled before the job's turn.
    Cancelled,
}

/// Job states and the rules that move them. Jobs are indices in written order.
#[derive(Debug, Clone)]
pub(crate) struct Scheduler {
    deps: Vec<Vec<usize>>,
    dependents: Vec<Vec<usize>>,
    phase: Vec<JobPhase>,
    policy: FailurePolicy,
    parallelism: usize,
    running: usize,
    /// Set by fail-fast or cancellation: no new starts from then on.
    halted: bool,
}

impl Scheduler {
    /// `deps[i]` are the jobs job `i` waits for; they must form a DAG (the `Dag` guarantees
    /// it). `parallelism` 0 is taken as 1: a run always makes progress.
    pub(crate) fn new(deps: Vec<Vec<usize>>, policy: FailurePolicy, parallelism: usize) -> Self {
        let mut dependents = vec![Vec::new(); deps.len()];
        for (i, d) in deps.iter().enumerate() {
            for &j in d {
                dependents[j].push(i);
            }
        }
        Scheduler {
            phase: vec![JobPhase::Pending; deps.len()],
            deps,
            dependents,
            policy,
            parallelism: parallelism.max(1),
            running: 0,
            halted: false,
        }
    }

    #[cfg(test)]
    pub(crate) fn phase(&self, job: usize) -> JobPhase {
        self.phase[job]
    }

    #[cfg(test)]
    pub(crate) fn phases(&self) -> &[JobPhase] {
        &self.phase
    }

    #[cfg(test)]
    pub(crate) fn running(&self) -> usize {
        self.running
    }

    /// Every job is terminal: the run is over.
    pub(crate) fn is_done(&self) -> bool {
        self.phase.iter().all(|p| p.is_terminal())
    }

    /// Marks a job the run leaves out (`--from`, `--only`, `retry`) as done before anything
    /// starts: it never runs, and what waits for it may start.
    pub(crate) fn settle(&mut self, job: usize) {
        if self.phase[job] == JobPhase::Pending {
            self.phase[job] = JobPhase::Succeeded;
        }
    }

    /// Jobs that may start now, in written order, up to the free parallelism; they are marked
    /// Running, so the caller must start each and later `finish` it.
    pub(crate) fn start_ready(&mut self) -> Vec<usize> {
        let mut started = Vec::new();
        if self.halted {
            return started;
        }
        for job in 0..self.phase.len() {
            if self.running >= self.parallelism {
                break;
            }
            let ready = self.phase[job] == JobPhase::Pending
                && self.deps[job]
                    .iter()
                    .all(|&d| self.phase[d] == JobPhase::Succeeded);
            if ready {
                self.phase[job] = JobPhase::Running;
                self.running += 1;
                started.push(job);
            }
        }
        started
    }

    /// Records the end of a Running job (`phase` must be terminal, and not Skipped) and
    /// returns the jobs that became Skipped because of it, with the cause.
    pub(crate) fn finish(&mut self, job: usize, phase: JobPhase) -> Vec<(usize, SkipCause)> {
        debug_assert_eq!(
            self.phase[job],
            JobPhase::Running,
            "finish of a job not running"
        );
        debug_assert!(phase.is_terminal() && phase != JobPhase::Skipped);
        if self.phase[job] == JobPhase::Running {
            self.running -= 1;
        }
        self.phase[job] = phase;
        match phase {
            JobPhase::Failed | JobPhase::Cancelled if self.policy == FailurePolicy::FailFast => {
                self.halted = true;
                self.skip_pending(SkipCause::FailFast(job))
            }
            JobPhase::Failed | JobPhase::Cancelled => self.skip_dependents(job),
            _ => Vec::new(),
        }
    }

    /// Cancellation: nothing new starts and every Pending job is Skipped. Running jobs stay
    /// Running until the caller stops them and reports them with `finish`.
    pub(crate) fn cancel(&mut self) -> Vec<(usize, SkipCause)> {
        self.halted = true;
        self.skip_pending(SkipCause::Cancelled)
    }

    fn skip_pending(&mut self, cause: SkipCause) -> Vec<(usize, SkipCause)> {
        let mut skipped = Vec::new();
        for job in 0..self.phase.len() {
            if self.phase[job] == JobPhase::Pending {
                self.phase[job] = JobPhase::Skipped;
                // Prefer naming the dependency that blocked it, when there is one: more useful
                // than "another job failed".
                let blocked = self.deps[job]
                    .iter()
                    .copied()
                    .find(|&d| matches!(self.phase[d], JobPhase::Failed | JobPhase::Skipped));
                let cause = match (cause, blocked) {
                    (SkipCause::FailFast(_), Some(d)) => SkipCause::Dependency(d),
                    _ => cause,
                };
                skipped.push((job, cause));
            }
        }
        skipped
    }

    /// Marks every Pending job downstream of `failed` as Skipped, in written order.
    fn skip_dependents(&mut self, failed: usize) -> Vec<(usize, SkipCause)> {
        let mut skipped = Vec::new();
        let mut stack = vec![failed];
        while let Some(job) = stack.pop() {
            for &next in &self.dependents[job] {
                if self.phase[next] == JobPhase::Pending {
                    self.phase[next] = JobPhase::Skipped;
                    skipped.push((next, SkipCause::Dependency(job)));
                    stack.push(next);
                }
            }
        }
        skipped.sort_unstable_by_key(|&(job, _)| job);
        skipped
    }
}

#[cfg(test)]
mod tests;
