//! Process-level behaviour: timeouts and kill escalation, exact argv, environment and working
//! directory, complete output capture, following output, and cancellation without orphans.

use super::*;
use crate::local::signals::Cancel;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_job_fails_and_its_whole_group_is_gone() {
    let dir = TempDir::new().expect("tempdir");
    let mut p = plan(&[
        ("polite", "sleep 30 & echo $! > polite.pid; wait", &[]),
        // Ignores SIGTERM, and so does its background child: only SIGKILL ends them.
        (
            "stubborn",
            "trap '' TERM; sleep 30 & echo $! > stubborn.pid; wait",
            &[],
        ),
    ]);
    for job in &mut p.jobs {
        job.timeout = Some(Duration::from_secs(1));
    }
    let opts = ExecOptions {
        policy: FailurePolicy::KeepGoing,
        kill_grace: Duration::from_millis(300),
        ..options(&dir)
    };
    let start = std::time::Instant::now();
    let (outcome, _) = run(&p, &opts).await;
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "took {:?}",
        start.elapsed()
    );
    for job in &outcome.jobs {
        assert_eq!(job.phase, JobPhase::Failed);
        assert_eq!(job.reason.as_deref(), Some("timed out after 1s"));
    }
    assert_eq!(outcome.jobs[0].exit, Some(Exit::Signal(15)));
    assert_eq!(outcome.jobs[1].exit, Some(Exit::Signal(9)));
    let all: Vec<i32> = [pids(&dir, "polite.pid"), pids(&dir, "stubborn.pid")].concat();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|&pid| gone(pid)), "left running: {all:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_mode_passes_words_and_shell_mode_runs_a_shell() {
    let dir = TempDir::new().expect("tempdir");
    write_script(&dir, "args.sh", "for a in \"$@\"; do echo \"[$a]\"; done\n");
    let p = plan(&[
        ("words", "sh args.sh 'good bye' x", &[]),
        ("literal", "echo $HOME", &[]),
        ("pipe", "printf 'a\\nb\\nc\\n' | wc -l", &[]),
    ]);
    let (outcome, _) = run(&p, &options(&dir)).await;
    assert_eq!(outcome.status, RunStatus::Succeeded);
    assert_eq!(log(&outcome, "words"), "[good bye]\n[x]\n");
    assert_eq!(log(&outcome, "pipe").trim(), "3");
    // `$HOME` is shell syntax, so it ran in a shell and was expanded, as in Argo.
    assert_ne!(log(&outcome, "literal").trim(), "$HOME");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_get_the_environment_the_task_env_and_the_workdir() {
    let dir = TempDir::new().expect("tempdir");
    write_script(
        &dir,
        "env.sh",
        "echo \"$GREETING\"\npwd -P\n[ -n \"$PATH\" ] && echo has-path\n",
    );
    let mut p = plan(&[("env", "sh env.sh", &[])]);
    p.jobs[0].env = vec![("GREETING".to_owned(), "hello there".to_owned())];
    let (outcome, _) = run(&p, &options(&dir)).await;
    let real = dir.path().canonicalize().expect("canonical");
    assert_eq!(
        log(&outcome, "env"),
        format!("hello there\n{}\nhas-path\n", real.display())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_megabytes_of_output_are_logged_completely() {
    let dir = TempDir::new().expect("tempdir");
    // 6 MB of stdout lines and 4 MB of stderr lines at the same time, plus one 1 MB line
    // without any newline: every byte must land in the log, lines unbroken.
    let p = plan(&[
        (
            "loud",
            "yes abcdefghi | head -n 600000 & yes ERR | head -n 1000000 >&2; wait",
            &[],
        ),
        ("oneline", "head -c 1048576 /dev/zero | tr '\\0' x", &[]),
    ]);
    let (outcome, events) = run(&p, &options(&dir)).await;
    assert_eq!(outcome.status, RunStatus::Succeeded);
    let text = log(&outcome, "loud");
    assert_eq!(text.len(), 600_000 * 10 + 1_000_000 * 4);
    let (mut out, mut err) = (0, 0);
    for line in text.lines() {
        match line {
            "abcdefghi" => out += 1,
            "ERR" => err += 1,
            other => panic!("broken line {other:?}"),
        }
    }
    assert_eq!((out, err), (600_000, 1_000_000));
    assert_eq!(log(&outcome, "oneline"), "x".repeat(1_048_576));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, RunEvent::JobOutput { .. })),
        "no output events without follow"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_sends_every_line_and_progress_is_throttled() {
    let dir = TempDir::new().expect("tempdir");
    let p = plan(&[("talk", "seq 1 500; echo oops >&2", &[])]);
    let opts = ExecOptions {
        stream_output: true,
        progress_interval: Duration::from_secs(60),
        ..options(&dir)
    };
    let (outcome, events) = run(&p, &opts).await;
    assert_eq!(outcome.status, RunStatus::Succeeded);
    // Order holds within a stream; across the two pipes it is up to the scheduler.
    let lines = |wanted: Stream| -> Vec<&str> {
        events
            .iter()
            .filter_map(|e| match e {
                RunEvent::JobOutput { line, stream, .. } if *stream == wanted => {
                    Some(line.as_str())
                }
                _ => None,
            })
            .collect()
    };
    let expected: Vec<String> = (1..=500).map(|n| n.to_string()).collect();
    assert_eq!(lines(Stream::Stdout), expected);
    assert_eq!(lines(Stream::Stderr), ["oops"]);
    let progress = events
        .iter()
        .filter(|e| matches!(e, RunEvent::JobProgress { .. }))
        .count();
    // The first line seen, then (after the interval never passed) the last one at the end.
    assert!((1..=2).contains(&progress), "{progress} progress events");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_program_fails_with_a_reason_in_the_log() {
    let dir = TempDir::new().expect("tempdir");
    let p = plan(&[("ghost", "no-such-program-jf --flag", &[])]);
    let (outcome, _) = run(&p, &options(&dir)).await;
    let job = &outcome.jobs[0];
    assert_eq!((job.phase, job.exit), (JobPhase::Failed, None));
    let reason = job.reason.clone().unwrap_or_default();
    assert!(
        reason.starts_with("cannot start `no-such-program-jf`"),
        "{reason}"
    );
    assert!(log(&outcome, "ghost").contains(&reason));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_stops_jobs_and_their_grandchildren() {
    let dir = TempDir::new().expect("tempdir");
    let spawner = |n: &str| {
        format!("sleep 1000 & echo $! >> {n}.pids; sleep 1000 & echo $! >> {n}.pids; wait")
    };
    let stubborn =
        "trap '' TERM; sleep 1000 & echo $! >> c.pids; sleep 1000 & echo $! >> c.pids; wait";
    let p = plan(&[
        ("a", &spawner("a"), &[]),
        ("b", &spawner("b"), &[]),
        ("c", stubborn, &[]),
        ("next", "touch next.done", &["a"]),
    ]);
    let opts = ExecOptions {
        kill_grace: Duration::from_millis(300),
        ..options(&dir)
    };
    let (cancel_tx, cancel) = watch::channel(Cancel::No);
    let watcher = async {
        // Cancel once every job has started both of its children.
        for _ in 0..400 {
            if ["a", "b", "c"]
                .iter()
                .all(|n| pids(&dir, &format!("{n}.pids")).len() == 2)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        cancel_tx
            .send(Cancel::Gracefully)
            .expect("executor listens");
    };
    let ((outcome, events), ()) = tokio::join!(run_with(&p, &opts, cancel), watcher);
    assert_eq!(outcome.status, RunStatus::Cancelled);
    assert_eq!(
        phases(&outcome),
        [
            ("a", JobPhase::Cancelled),
            ("b", JobPhase::Cancelled),
            ("c", JobPhase::Cancelled),
            ("next", JobPhase::Skipped),
        ]
    );
    assert!(!dir.path().join("next.done").exists());
    let all: Vec<i32> = ["a", "b", "c"]
        .iter()
        .flat_map(|n| pids(&dir, &format!("{n}.pids")))
        .collect();
    assert_eq!(all.len(), 6);
    assert!(all.iter().all(|&pid| gone(pid)), "left running: {all:?}");
    assert!(matches!(
        events.last(),
        Some(RunEvent::RunFinished {
            status: RunStatus::Cancelled,
            ..
        })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_before_the_start_runs_nothing() {
    let dir = TempDir::new().expect("tempdir");
    let p = plan(&[("a", "touch a.done", &[])]);
    let (_tx, cancel) = watch::channel(Cancel::Gracefully);
    let (outcome, _) = run_with(&p, &options(&dir), cancel).await;
    assert_eq!(outcome.status, RunStatus::Cancelled);
    assert_eq!(phases(&outcome), [("a", JobPhase::Skipped)]);
    assert!(!Path::new(&dir.path().join("a.done")).exists());
}

/// A full disk (here /dev/full, which answers every write with ENOSPC) must not turn a job
/// into a success with its output lost: the job fails, and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_that_cannot_be_written_fails_the_job() {
    let dir = TempDir::new().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("log folder");
    std::os::unix::fs::symlink("/dev/full", logs.join("loud.log")).expect("symlink");
    let p = plan(&[("loud", "echo small", &[]), ("fine", "echo fine", &[])]);
    let opts = ExecOptions {
        policy: FailurePolicy::KeepGoing,
        ..options(&dir)
    };
    let (outcome, _) = run(&p, &opts).await;
    let loud = &outcome.jobs[0];
    assert_eq!(loud.phase, JobPhase::Failed);
    let reason = loud.reason.as_deref().unwrap_or_default();
    assert!(
        reason.starts_with("its output was lost: cannot write its log")
            && reason.contains("No space left on device"),
        "{reason}"
    );
    assert_eq!(outcome.jobs[1].phase, JobPhase::Succeeded);
    assert_eq!(outcome.status, RunStatus::Failed);
}

/// A second Ctrl-C does not wait out the grace period: jobs that ignore SIGTERM are killed at
/// once, and the view is told both steps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_cancel_kills_at_once() {
    let dir = TempDir::new().expect("tempdir");
    let p = plan(&[(
        "stubborn",
        "trap '' TERM; echo $$ > stubborn.pids; sleep 60 & wait; sleep 60",
        &[],
    )]);
    let opts = ExecOptions {
        kill_grace: Duration::from_secs(60),
        ..options(&dir)
    };
    let (cancel_tx, cancel) = watch::channel(Cancel::No);
    let watcher = async {
        // A loaded machine may take a while to start the job; cancel only once it runs.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while pids(&dir, "stubborn.pids").is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the job never started"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        cancel_tx
            .send(Cancel::Gracefully)
            .expect("executor listens");
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel_tx.send(Cancel::Now).expect("executor listens");
    };
    let start = std::time::Instant::now();
    let ((outcome, events), ()) = tokio::join!(run_with(&p, &opts, cancel), watcher);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "waited out the grace: {:?}",
        start.elapsed()
    );
    assert_eq!(outcome.status, RunStatus::Cancelled);
    assert_eq!(outcome.jobs[0].exit, Some(Exit::Signal(9)));
    let stops: Vec<Option<Duration>> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Stopping { jobs: 1, grace } => Some(*grace),
            _ => None,
        })
        .collect();
    assert_eq!(stops, [Some(Duration::from_secs(60)), None]);
}
