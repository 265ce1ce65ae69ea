//! Tracker tests: exact event lists per snapshot sequence, no duplicates under replay and
//! reordering (proptest), and the fixtures.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;

use super::*;
use crate::argo::view::{Attempt, Backoff, PlannedTask, fixture};
use crate::events::{Exit, RunStatus};

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_788_000_000 + secs)
}

fn attempt(phase: JobPhase, start: u64) -> Attempt {
    let ended = phase.is_terminal();
    Attempt {
        node_id: String::new(),
        node_name: String::new(),
        template: Some("job".into()),
        phase,
        started_at: Some(t(start)),
        finished_at: ended.then(|| t(start + 5)),
        exit: match phase {
            JobPhase::Succeeded => Some(Exit::Code(0)),
            JobPhase::Failed => Some(Exit::Code(1)),
            _ => None,
        },
        message: (phase == JobPhase::Failed).then(|| "Error (exit code 1)".to_owned()),
    }
}

/// A job whose attempts started 10 s apart from `start`.
fn job(name: &str, phase: JobPhase, attempts: &[JobPhase], max: u32, start: u64) -> JobView {
    let attempts: Vec<Attempt> = (0..)
        .zip(attempts)
        .map(|(i, &p)| attempt(p, start + 10 * i))
        .collect();
    JobView {
        name: name.to_owned(),
        task: name.split('(').next().unwrap_or(name).to_owned(),
        phase,
        started_at: Some(t(start)),
        finished_at: phase
            .is_terminal()
            .then(|| t(start + 10 * attempts.len() as u64)),
        exit: attempts.last().and_then(|a| a.exit),
        message: attempts.last().and_then(|a| a.message.clone()),
        node_id: String::new(),
        node_name: String::new(),
        template: Some("job".into()),
        attempts,
        max_attempts: Some(max),
        backoff: Some(Backoff {
            duration: Duration::from_secs(10),
            factor: 2,
            max: None,
        }),
    }
}

fn workflow(phase: &str, tasks: &[&str], jobs: Vec<JobView>) -> WorkflowView {
    let finished = matches!(phase, "Succeeded" | "Failed" | "Error");
    WorkflowView {
        name: "wf".into(),
        phase: phase.into(),
        started_at: Some(t(0)),
        finished_at: finished.then(|| t(100)),
        tasks: tasks
            .iter()
            .map(|&name| PlannedTask {
                name: name.into(),
                points: None,
            })
            .collect(),
        jobs,
        ..WorkflowView::default()
    }
}

const CHAIN: [&str; 3] = ["prep", "train", "eval"];

/// pending → prep running → prep done, train running → train attempt 1 failed (backoff) →
/// attempt 2 running → train failed, run failed (eval never created).
fn story() -> Vec<WorkflowView> {
    use JobPhase::{Failed, Running, Succeeded};
    let prep_running = job("prep", Running, &[Running], 1, 0);
    let prep_done = job("prep", Succeeded, &[Succeeded], 1, 0);
    vec![
        workflow("Pending", &CHAIN, vec![]),
        workflow("Running", &CHAIN, vec![prep_running]),
        workflow(
            "Running",
            &CHAIN,
            vec![prep_done.clone(), job("train", Running, &[Running], 2, 20)],
        ),
        workflow(
            "Running",
            &CHAIN,
            vec![prep_done.clone(), job("train", Running, &[Failed], 2, 20)],
        ),
        workflow(
            "Running",
            &CHAIN,
            vec![
                prep_done.clone(),
                job("train", Running, &[Failed, Running], 2, 20),
            ],
        ),
        workflow(
            "Failed",
            &CHAIN,
            vec![prep_done, job("train", Failed, &[Failed, Failed], 2, 20)],
        ),
    ]
}

fn started(job: &str, attempt: u32, max_attempts: u32) -> RunEvent {
    RunEvent::JobStarted {
        job: job.into(),
        attempt,
        max_attempts,
        log: None,
    }
}

fn finished(job: &str, phase: JobPhase, attempts: u32, exit: Option<i32>) -> RunEvent {
    RunEvent::JobFinished {
        job: job.into(),
        phase,
        attempts,
        exit: exit.map(Exit::Code),
        reason: (phase == JobPhase::Failed).then(|| "Error (exit code 1)".to_owned()),
        duration: Duration::from_secs(10 * u64::from(attempts)),
        log: None,
    }
}

fn expected_story() -> Vec<Vec<RunEvent>> {
    vec![
        vec![RunEvent::RunStarted {
            run_id: Some("wf".into()),
            jobs: CHAIN.iter().map(|&j| j.to_owned()).collect(),
        }],
        vec![started("prep", 1, 1)],
        vec![
            finished("prep", JobPhase::Succeeded, 1, Some(0)),
            started("train", 1, 2),
        ],
        vec![RunEvent::JobRetrying {
            job: "train".into(),
            attempt: 1,
            exit: Some(Exit::Code(1)),
            reason: "Error (exit code 1)".into(),
            delay: Duration::from_secs(10),
        }],
        vec![started("train", 2, 2)],
        vec![
            finished("train", JobPhase::Failed, 2, Some(1)),
            RunEvent::JobFinished {
                job: "eval".into(),
                phase: JobPhase::Skipped,
                attempts: 0,
                exit: None,
                reason: Some("not started before the workflow ended".into()),
                duration: Duration::ZERO,
                log: None,
            },
            RunEvent::RunFinished {
                status: RunStatus::Failed,
                duration: Duration::from_secs(100),
            },
        ],
    ]
}

#[test]
fn each_snapshot_adds_exactly_its_transitions() {
    let mut tracker = Tracker::new();
    for (i, (view, expected)) in story().iter().zip(expected_story()).enumerate() {
        assert_eq!(tracker.update(view), expected, "snapshot {i}");
    }
    assert!(tracker.is_finished());
}

#[test]
fn repeated_and_replayed_snapshots_add_nothing() {
    let story = story();
    let mut tracker = Tracker::new();
    let mut all = Vec::new();
    for i in [0, 0, 2, 1, 2, 3, 0, 3, 2, 4, 4, 1, 5, 5, 3, 4] {
        all.extend(tracker.update(&story[i]));
    }
    // Snapshot 2 before 1: prep's start arrives with its end, and nothing is repeated.
    let expected: Vec<RunEvent> = expected_story().into_iter().flatten().collect();
    assert_eq!(all, expected);
}

#[test]
fn the_last_snapshot_alone_tells_the_whole_story() {
    let story = story();
    let mut tracker = Tracker::new();
    let expected: Vec<RunEvent> = expected_story().into_iter().flatten().collect();
    assert_eq!(tracker.update(&story[5]), expected);
    assert!(tracker.update(&story[5]).is_empty());
}

#[test]
fn fixtures_running_and_sweep() {
    let view = WorkflowView::from_json(&fixture("running-chain.json"));
    let events = Tracker::new().update(&view);
    let kinds: Vec<String> = events.iter().map(|e| format!("{e:?}")).collect();
    assert!(
        matches!(&events[0], RunEvent::RunStarted { jobs, .. } if jobs == &["prep", "train", "eval"])
    );
    assert_eq!(events.len(), 4, "{kinds:#?}");
    assert_eq!(events[1], started("prep", 1, 1));
    assert!(
        matches!(&events[2], RunEvent::JobFinished { job, phase: JobPhase::Succeeded, duration, .. }
        if job == "prep" && *duration == Duration::from_secs(41))
    );
    assert_eq!(events[3], started("train", 1, 1));

    // Points the controller expanded are announced; the pending one has not started.
    let sweep = WorkflowView::from_json(&fixture("sweep.json"));
    let events = Tracker::new().update(&sweep);
    let RunEvent::RunStarted { jobs, .. } = &events[0] else {
        panic!("RunStarted first: {events:?}");
    };
    assert_eq!(jobs.len(), 6);
    assert_eq!(jobs[5], "eval");
    let starts = events
        .iter()
        .filter(|e| matches!(e, RunEvent::JobStarted { .. }))
        .count();
    assert_eq!(starts, 4);
}

#[test]
fn sweeps_never_expanded_close_under_the_task_name() {
    let mut view = workflow(
        "Failed",
        &["prep"],
        vec![job("prep", JobPhase::Failed, &[JobPhase::Failed], 1, 0)],
    );
    view.tasks.push(PlannedTask {
        name: "train".into(),
        points: Some(4),
    });
    let events = Tracker::new().update(&view);
    assert!(events.contains(&RunEvent::JobFinished {
        job: "train".into(),
        phase: JobPhase::Skipped,
        attempts: 0,
        exit: None,
        reason: Some("not started before the workflow ended (4 points)".into()),
        duration: Duration::ZERO,
        log: None,
    }));
    assert!(matches!(events.last(), Some(RunEvent::RunFinished { .. })));
}

/// One job's life, step by step: attempts until it succeeds, or fails `retries + 1` times.
#[derive(Debug, Clone)]
struct Life {
    retries: u32,
    failures: u32,
    attempts: Vec<JobPhase>,
    done: bool,
}

impl Life {
    fn advance(&mut self) {
        use JobPhase::{Failed, Pending, Running, Succeeded};
        let failed_so_far = self.attempts.iter().filter(|p| **p == Failed).count();
        match self.attempts.last().copied() {
            _ if self.done => {}
            None => self.attempts.push(Pending),
            Some(Pending) => *self.attempts.last_mut().expect("an attempt") = Running,
            Some(Running) => {
                let fail = u32::try_from(failed_so_far).unwrap_or(u32::MAX) < self.failures;
                *self.attempts.last_mut().expect("an attempt") =
                    if fail { Failed } else { Succeeded };
                self.done = !fail;
            }
            Some(Failed) if self.attempts.len() <= self.retries as usize => {
                self.attempts.push(Pending);
            }
            Some(_) => self.done = true,
        }
    }

    fn view(&self, name: &str, start: u64) -> Option<JobView> {
        if self.attempts.is_empty() {
            return None;
        }
        let phase = match (self.done, self.attempts.as_slice()) {
            (true, [.., last]) => *last,
            (false, [JobPhase::Pending]) => JobPhase::Pending,
            _ => JobPhase::Running,
        };
        Some(job(name, phase, &self.attempts, self.retries + 1, start))
    }
}

/// Snapshots of a run whose jobs advance in the order `steps` picks; jobs never picked are
/// never created (as after a fail-fast stop), the others run to their end.
fn snapshots(lives: &[(u32, u32)], steps: &[usize]) -> Vec<WorkflowView> {
    let names: Vec<String> = (0..lives.len()).map(|i| format!("job{i}")).collect();
    let tasks: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut lives: Vec<Life> = lives
        .iter()
        .map(|&(retries, failures)| Life {
            retries,
            failures: failures.min(retries + 1),
            attempts: Vec::new(),
            done: false,
        })
        .collect();
    let snapshot = |lives: &[Life], phase: &str| {
        let jobs = lives
            .iter()
            .zip(&names)
            .enumerate()
            .filter_map(|(i, (life, name))| life.view(name, 10 * i as u64))
            .collect();
        workflow(phase, &tasks, jobs)
    };
    let mut out = vec![snapshot(&lives, "Pending")];
    for &step in steps {
        let n = lives.len();
        lives[step % n].advance();
        out.push(snapshot(&lives, "Running"));
    }
    for life in lives.iter_mut().filter(|l| !l.attempts.is_empty()) {
        while !life.done {
            life.advance();
        }
    }
    let failed = lives
        .iter()
        .any(|l| l.attempts.last() == Some(&JobPhase::Failed));
    out.push(snapshot(
        &lives,
        if failed { "Failed" } else { "Succeeded" },
    ));
    out
}

proptest! {
    #[test]
    fn any_delivery_order_reports_each_transition_once(
        lives in prop::collection::vec((0u32..3, 0u32..4), 1..5),
        steps in prop::collection::vec(0usize..5, 0..30),
        order in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
        final_at in any::<prop::sample::Index>(),
    ) {
        let snaps = snapshots(&lives, &steps);
        let last = snaps.len() - 1;
        // Any repetition and reordering, with the final snapshot delivered somewhere.
        let mut delivery: Vec<usize> = order.iter().map(|i| i.index(snaps.len())).collect();
        delivery.insert(final_at.index(delivery.len() + 1), last);

        let mut tracker = Tracker::new();
        let events: Vec<RunEvent> = delivery.iter().flat_map(|&i| tracker.update(&snaps[i])).collect();

        let first_is_start = matches!(events.first(), Some(RunEvent::RunStarted { .. }));
        let last_is_end = matches!(events.last(), Some(RunEvent::RunFinished { .. }));
        prop_assert!(first_is_start, "RunStarted first: {:?}", events.first());
        prop_assert!(last_is_end, "RunFinished last: {:?}", events.last());
        let runs = events.iter().filter(|e| matches!(e, RunEvent::RunStarted { .. } | RunEvent::RunFinished { .. })).count();
        prop_assert_eq!(runs, 2);

        let mut finished: HashSet<&str> = HashSet::new();
        let mut last_start: HashMap<&str, u32> = HashMap::new();
        for event in &events {
            let Some(name) = event.job() else { continue };
            prop_assert!(!finished.contains(name), "event after {name} finished: {event:?}");
            match event {
                RunEvent::JobStarted { attempt, .. } => {
                    let before = last_start.insert(name, *attempt).unwrap_or(0);
                    prop_assert_eq!(*attempt, before + 1, "attempts start in order, once");
                }
                RunEvent::JobFinished { .. } => { finished.insert(name); }
                _ => {}
            }
        }
        // Every job of the spec finished exactly once (the set would hide a second one, the
        // check above forbids it).
        prop_assert_eq!(finished.len(), lives.len());
    }
}
