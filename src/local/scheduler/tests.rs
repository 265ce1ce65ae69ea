//! Scheduler rules on small hand-written graphs, and a proptest over random DAGs and failures.

use super::*;
use proptest::prelude::*;

fn diamond() -> Vec<Vec<usize>> {
    // 0 → {1, 2} → 3
    vec![vec![], vec![0], vec![0], vec![1, 2]]
}

#[test]
fn chain_of_dependencies_runs_in_order() {
    let mut s = Scheduler::new(diamond(), FailurePolicy::FailFast, 8);
    assert_eq!(s.start_ready(), [0]);
    assert!(s.start_ready().is_empty(), "1 and 2 wait for 0");
    assert!(s.finish(0, JobPhase::Succeeded).is_empty());
    assert_eq!(s.start_ready(), [1, 2]);
    s.finish(2, JobPhase::Succeeded);
    assert!(s.start_ready().is_empty(), "3 waits for 1 too");
    s.finish(1, JobPhase::Succeeded);
    assert_eq!(s.start_ready(), [3]);
    s.finish(3, JobPhase::Succeeded);
    assert!(s.is_done());
}

#[test]
fn parallelism_caps_running_jobs_in_written_order() {
    let mut s = Scheduler::new(vec![vec![]; 5], FailurePolicy::FailFast, 2);
    assert_eq!(s.start_ready(), [0, 1]);
    assert!(s.start_ready().is_empty());
    s.finish(1, JobPhase::Succeeded);
    assert_eq!(s.start_ready(), [2]);
    assert_eq!(s.running(), 2);
}

#[test]
fn zero_parallelism_still_makes_progress() {
    let mut s = Scheduler::new(vec![vec![]; 2], FailurePolicy::FailFast, 0);
    assert_eq!(s.start_ready(), [0]);
}

#[test]
fn fail_fast_skips_everything_not_started_and_lets_running_jobs_finish() {
    // 0 and 1 independent; 2 after 0; 3 independent but not started (parallelism 2).
    let deps = vec![vec![], vec![], vec![0], vec![]];
    let mut s = Scheduler::new(deps, FailurePolicy::FailFast, 2);
    assert_eq!(s.start_ready(), [0, 1]);
    let skipped = s.finish(0, JobPhase::Failed);
    assert_eq!(
        skipped,
        [(2, SkipCause::Dependency(0)), (3, SkipCause::FailFast(0))]
    );
    assert_eq!(
        s.phase(1),
        JobPhase::Running,
        "running jobs are not touched"
    );
    assert!(s.start_ready().is_empty());
    s.finish(1, JobPhase::Succeeded);
    assert!(s.is_done());
    assert_eq!(
        s.phases(),
        [
            JobPhase::Failed,
            JobPhase::Succeeded,
            JobPhase::Skipped,
            JobPhase::Skipped
        ]
    );
}

#[test]
fn keep_going_skips_only_dependents_of_the_failure() {
    // 0 → 1 → 2, and 3 independent.
    let deps = vec![vec![], vec![0], vec![1], vec![]];
    let mut s = Scheduler::new(deps, FailurePolicy::KeepGoing, 1);
    assert_eq!(s.start_ready(), [0]);
    let skipped = s.finish(0, JobPhase::Failed);
    assert_eq!(
        skipped,
        [(1, SkipCause::Dependency(0)), (2, SkipCause::Dependency(1))]
    );
    assert_eq!(s.start_ready(), [3]);
    s.finish(3, JobPhase::Succeeded);
    assert!(s.is_done());
}

#[test]
fn cancel_skips_pending_jobs_and_starts_nothing() {
    let mut s = Scheduler::new(diamond(), FailurePolicy::KeepGoing, 4);
    assert_eq!(s.start_ready(), [0]);
    let skipped = s.cancel();
    assert_eq!(skipped.len(), 3);
    assert!(skipped.iter().all(|&(_, c)| c == SkipCause::Cancelled));
    s.finish(0, JobPhase::Cancelled);
    assert!(s.start_ready().is_empty());
    assert!(s.is_done());
}

/// A random DAG: each job may depend on any earlier one (so it is acyclic by construction).
fn dag_strategy() -> impl Strategy<Value = Vec<Vec<usize>>> {
    (1usize..14).prop_flat_map(|n| {
        let rows: Vec<_> = (0..n)
            .map(|i| proptest::collection::vec(any::<bool>(), i))
            .collect();
        rows.prop_map(|rows| {
            rows.into_iter()
                .map(|row| {
                    row.into_iter()
                        .enumerate()
                        .filter_map(|(j, dep)| dep.then_some(j))
                        .collect()
                })
                .collect()
        })
    })
}

proptest! {
    #[test]
    fn every_job_ends_once_and_never_before_its_dependencies(
        deps in dag_strategy(),
        fails in proptest::collection::vec(any::<bool>(), 14),
        picks in proptest::collection::vec(any::<usize>(), 64),
        parallelism in 1usize..4,
        keep_going in any::<bool>(),
    ) {
        let n = deps.len();
        let policy = if keep_going { FailurePolicy::KeepGoing } else { FailurePolicy::FailFast };
        let mut s = Scheduler::new(deps.clone(), policy, parallelism);
        let mut running: Vec<usize> = Vec::new();
        let mut starts = vec![0u32; n];
        let mut ends = vec![0u32; n];
        let mut failure_seen = false;
        let mut step = 0;
        loop {
            for job in s.start_ready() {
                prop_assert!(!(failure_seen && policy == FailurePolicy::FailFast),
                    "fail-fast started {job} after a failure");
                for &d in &deps[job] {
                    prop_assert_eq!(s.phase(d), JobPhase::Succeeded, "{} started before {}", job, d);
                }
                starts[job] += 1;
                running.push(job);
            }
            prop_assert!(running.len() <= parallelism);
            prop_assert_eq!(running.len(), s.running());
            if running.is_empty() {
                break;
            }
            // Finish a "random" running job: completion order is up to the processes.
            let job = running.remove(picks[step % picks.len()] % running.len());
            step += 1;
            let phase = if fails[job] { JobPhase::Failed } else { JobPhase::Succeeded };
            failure_seen |= fails[job];
            ends[job] += 1;
            for (skipped, _) in s.finish(job, phase) {
                ends[skipped] += 1;
                prop_assert_eq!(starts[skipped], 0);
            }
        }
        prop_assert!(s.is_done(), "stalled with {:?}", s.phases());
        for job in 0..n {
            prop_assert_eq!(ends[job], 1, "job {} ended {} times", job, ends[job]);
            prop_assert!(starts[job] <= 1);
            let deps_ok = deps[job].iter().all(|&d| s.phase(d) == JobPhase::Succeeded);
            if policy == FailurePolicy::KeepGoing {
                // Keep-going runs exactly the jobs whose dependencies all succeeded.
                prop_assert_eq!(starts[job] == 1, deps_ok);
            }
            if !deps_ok {
                prop_assert_eq!(s.phase(job), JobPhase::Skipped);
            }
        }
    }
}
