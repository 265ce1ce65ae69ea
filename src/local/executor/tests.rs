//! The executor against real processes (`sh`, `sleep`, small scripts in a temp folder), part 1:
//! ordering, overlap, failure policies and retries, plus the helpers `processes` shares.
//! Each test finishes in a few seconds at most.

use std::path::Path;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;
use tempfile::TempDir;
use tokio::sync::{mpsc, watch};

use super::*;
use crate::events::Stream;
use crate::local::plan::tests::plan;
use crate::local::signals::Cancel;

fn options(dir: &TempDir) -> ExecOptions {
    ExecOptions {
        parallelism: 4,
        kill_grace: Duration::from_millis(500),
        backoff: Backoff {
            base: Duration::from_millis(10),
            max: Duration::from_millis(40),
        },
        ..ExecOptions::new(dir.path().to_owned())
    }
}

/// Runs `plan` to the end with a cancel handle that never fires; returns the outcome and every
/// event sent.
async fn run(plan: &Plan, options: &ExecOptions) -> (RunOutcome, Vec<RunEvent>) {
    let (_cancel_tx, cancel) = watch::channel(Cancel::No);
    run_with(plan, options, cancel).await
}

async fn run_with(
    plan: &Plan,
    options: &ExecOptions,
    cancel: watch::Receiver<Cancel>,
) -> (RunOutcome, Vec<RunEvent>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let log_dir = options.workdir.join("logs");
    let outcome = execute(plan, options, &log_dir, tx, cancel)
        .await
        .expect("log folder can be created");
    let mut events = Vec::new();
    while let Ok(event) = rx.try_recv() {
        events.push(event);
    }
    (outcome, events)
}

fn phases(outcome: &RunOutcome) -> Vec<(&str, JobPhase)> {
    outcome
        .jobs
        .iter()
        .map(|j| (j.name.as_str(), j.phase))
        .collect()
}

fn read(dir: &TempDir, file: &str) -> String {
    std::fs::read_to_string(dir.path().join(file)).unwrap_or_default()
}

fn write_script(dir: &TempDir, name: &str, body: &str) {
    std::fs::write(dir.path().join(name), body).expect("script written");
}

fn log(outcome: &RunOutcome, job: &str) -> String {
    let result = outcome.jobs.iter().find(|j| j.name == job).expect("job");
    std::fs::read_to_string(&result.log).expect("log readable")
}

/// Whether `pid` is gone (a zombie would still answer `kill(pid, 0)`, so that counts too).
fn gone(pid: i32) -> bool {
    kill(Pid::from_raw(pid), None) == Err(Errno::ESRCH)
}

fn pids(dir: &TempDir, file: &str) -> Vec<i32> {
    read(dir, file)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_and_diamond_run_in_dependency_order() {
    let dir = TempDir::new().expect("tempdir");
    let p = plan(&[
        ("d", "echo d >> order.txt", &["b", "c"]),
        ("b", "echo b >> order.txt", &["a"]),
        ("c", "echo c >> order.txt", &["a"]),
        ("a", "echo a >> order.txt", &[]),
        ("z", "echo z >> chain.txt", &["y"]),
        ("y", "echo y >> chain.txt", &["x"]),
        ("x", "echo x >> chain.txt", &[]),
    ]);
    let (outcome, events) = run(&p, &options(&dir)).await;
    assert_eq!(outcome.status, RunStatus::Succeeded);
    assert_eq!(read(&dir, "chain.txt"), "x\ny\nz\n");
    let order: Vec<String> = read(&dir, "order.txt").lines().map(str::to_owned).collect();
    assert_eq!(order.len(), 4);
    assert_eq!((order[0].as_str(), order[3].as_str()), ("a", "d"));
    assert!(matches!(events.first(), Some(RunEvent::RunStarted { .. })));
    assert!(matches!(
        events.last(),
        Some(RunEvent::RunFinished {
            status: RunStatus::Succeeded,
            ..
        })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_jobs_really_run_at_the_same_time() {
    let dir = TempDir::new().expect("tempdir");
    // A rendezvous: each job announces itself, then waits for the other one. Both can only
    // succeed if they run at the same time; run one after the other, the first times out.
    let wait_for = |me: &str, other: &str| {
        format!(
            "touch {me}.up; i=0; while [ ! -e {other}.up ] && [ $i -lt 200 ]; do sleep 0.01; i=$((i+1)); done; test -e {other}.up"
        )
    };
    let p = plan(&[
        ("left", &wait_for("left", "right"), &[]),
        ("right", &wait_for("right", "left"), &[]),
    ]);
    let (outcome, _) = run(&p, &options(&dir)).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{:?}", outcome.jobs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallelism_one_runs_jobs_one_after_the_other() {
    let dir = TempDir::new().expect("tempdir");
    let job = |n: &str| {
        format!("echo start $(date +%s%N) >> {n}.t; sleep 0.05; echo end $(date +%s%N) >> {n}.t")
    };
    let p = plan(&[
        ("a", &job("a"), &[]),
        ("b", &job("b"), &[]),
        ("c", &job("c"), &[]),
    ]);
    let opts = ExecOptions {
        parallelism: 1,
        ..options(&dir)
    };
    let (outcome, _) = run(&p, &opts).await;
    assert_eq!(outcome.status, RunStatus::Succeeded);
    let interval = |n: &str| -> (u128, u128) {
        let text = read(&dir, &format!("{n}.t"));
        let stamps: Vec<u128> = text
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
            .collect();
        (stamps[0], stamps[1])
    };
    let (a, b, c) = (interval("a"), interval("b"), interval("c"));
    assert!(
        a.1 <= b.0 && b.1 <= c.0,
        "written order, no overlap: {a:?} {b:?} {c:?}"
    );
}

/// (`exit 3` alone is exec mode: a program named `exit`, as in Argo; hence `sh -c`.)
/// `bad` fails at once while `slow` runs; `after` waits for `bad`; `later` waits for `slow`.
fn failing_plan() -> Plan {
    plan(&[
        ("bad", "sh -c 'exit 3'", &[]),
        ("slow", "sleep 0.3 && touch slow.done", &[]),
        ("after", "touch after.done", &["bad"]),
        ("later", "touch later.done", &["slow"]),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_fast_lets_running_jobs_finish_and_starts_nothing_new() {
    let dir = TempDir::new().expect("tempdir");
    let (outcome, events) = run(&failing_plan(), &options(&dir)).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    assert_eq!(
        phases(&outcome),
        [
            ("bad", JobPhase::Failed),
            ("slow", JobPhase::Succeeded),
            ("after", JobPhase::Skipped),
            ("later", JobPhase::Skipped),
        ]
    );
    assert_eq!(outcome.jobs[0].exit, Some(Exit::Code(3)));
    assert_eq!(outcome.jobs[0].reason.as_deref(), Some("exit code 3"));
    assert!(dir.path().join("slow.done").exists());
    assert!(!dir.path().join("later.done").exists());
    let skipped_reason = events.iter().find_map(|e| match e {
        RunEvent::JobFinished { job, reason, .. } if job == "after" => reason.clone(),
        _ => None,
    });
    assert_eq!(skipped_reason.as_deref(), Some("dependency `bad` failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_going_runs_everything_not_downstream_of_a_failure() {
    let dir = TempDir::new().expect("tempdir");
    let opts = ExecOptions {
        policy: FailurePolicy::KeepGoing,
        ..options(&dir)
    };
    let (outcome, _) = run(&failing_plan(), &opts).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    assert_eq!(
        phases(&outcome),
        [
            ("bad", JobPhase::Failed),
            ("slow", JobPhase::Succeeded),
            ("after", JobPhase::Skipped),
            ("later", JobPhase::Succeeded),
        ]
    );
    assert!(dir.path().join("later.done").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_until_success_with_backoff() {
    let dir = TempDir::new().expect("tempdir");
    write_script(
        &dir,
        "flaky.sh",
        "n=$(cat count 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > count\necho attempt $n\n[ $n -ge 3 ]\n",
    );
    let mut p = plan(&[("flaky", "sh flaky.sh", &[]), ("never", "false", &[])]);
    p.jobs[0].retries = 2;
    p.jobs[1].retries = 1;
    let opts = ExecOptions {
        policy: FailurePolicy::KeepGoing,
        ..options(&dir)
    };
    let (outcome, events) = run(&p, &opts).await;
    assert_eq!(read(&dir, "count"), "3\n");
    assert_eq!(outcome.jobs[0].phase, JobPhase::Succeeded);
    assert_eq!(outcome.jobs[0].attempts, 3);
    assert_eq!(
        (outcome.jobs[1].phase, outcome.jobs[1].attempts),
        (JobPhase::Failed, 2)
    );
    let delays: Vec<Duration> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::JobRetrying { job, delay, .. } if job == "flaky" => Some(*delay),
            _ => None,
        })
        .collect();
    assert_eq!(
        delays,
        [Duration::from_millis(10), Duration::from_millis(20)]
    );
    let text = log(&outcome, "flaky");
    assert!(text.starts_with("attempt 1\n"), "{text}");
    assert!(
        text.contains("--- jupyterflow: attempt 3 of 3 ---\nattempt 3\n"),
        "{text}"
    );
}

#[test]
fn backoff_doubles_and_is_capped() {
    let b = Backoff {
        base: Duration::from_secs(1),
        max: Duration::from_secs(5),
    };
    let delays: Vec<u64> = (1..=5).map(|a| b.delay(a).as_secs()).collect();
    assert_eq!(delays, [1, 2, 4, 5, 5]);
    assert_eq!(b.delay(200), Duration::from_secs(5), "no overflow");
}

mod processes;
