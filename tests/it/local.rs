//! The local backend end to end: the real binary running real processes, its exit codes,
//! run history (`list`/`get`/`logs`/`delete`), signals, and a kill -9 of the tool itself.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{jupyterflow, run, temp_home};

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("jupyterflow"))
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", dir)
        .envs(crate::helpers::hermetic_env())
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jupyterflow")
}

/// Waits (bounded) until `path` exists with content.
fn wait_for(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Gone, or a zombie nobody will run again.
fn process_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

fn wait_exit(child: &mut Child) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "jupyterflow did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    nix::sys::signal::kill(pid, sig).expect("signal");
}

#[test]
fn a_chain_runs_in_order_and_is_kept_in_the_history() {
    let home = temp_home();
    let dir = home.path();
    let out = run(jupyterflow(dir).args([
        "run",
        "-c",
        "sh -c 'echo one >> order.txt' >> sh -c 'echo two >> order.txt' >> [sh -c 'echo three >> order.txt', sh -c 'echo four >> order.txt']",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let order = std::fs::read_to_string(dir.join("order.txt")).expect("order");
    let lines: Vec<&str> = order.lines().collect();
    assert_eq!(&lines[..2], ["one", "two"]);
    assert_eq!(lines.len(), 4);
    assert!(out.stderr.starts_with("backend: local ("), "{}", out.stderr);
    assert!(
        !out.stderr.contains('\u{1b}'),
        "control characters off a terminal"
    );
    let id = out.stdout.trim().to_owned();

    let listed = run(jupyterflow(dir).args(["list", "-o", "name"]));
    assert_eq!(listed.stdout, format!("{id}\n"));
    let table = run(jupyterflow(dir).arg("list"));
    assert!(table.stdout.starts_with("NAME"), "{}", table.stdout);
    assert!(table.stdout.contains("Succeeded  4/4"), "{}", table.stdout);

    let got = run(jupyterflow(dir).args(["get", "@latest", "-o", "json"]));
    let record: serde_json::Value = serde_json::from_str(&got.stdout).expect("json");
    assert_eq!(record["status"], "Succeeded");
    assert_eq!(record["jobs"].as_array().map(Vec::len), Some(4));

    let logs = run(jupyterflow(dir).args(["logs", &id]));
    assert_eq!(logs.code, 0, "{}", logs.stderr);
    let missing = run(jupyterflow(dir).args(["logs", &id, "nope"]));
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("its jobs are: sh-1"),
        "{}",
        missing.stderr
    );

    let deleted = run(jupyterflow(dir).args(["delete", &id]));
    assert_eq!(deleted.stdout, format!("deleted {id}\n"));
    let empty = run(jupyterflow(dir).args(["list", "-o", "name"]));
    assert_eq!(empty.stdout, "");
}

#[test]
fn output_is_logged_completely_and_followed_with_prefixes() {
    let home = temp_home();
    let dir = home.path();
    // A user sees their jobs' output without asking, prefixed with the job.
    let out =
        run(jupyterflow(dir).args(["run", "-c", "head -c 10000000 /dev/zero >> echo 'good bye'"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("echo | good bye\n"),
        "{}",
        &out.stdout[out.stdout.len().saturating_sub(200)..]
    );
    let id = out.stdout.lines().last().expect("id").to_owned();
    let log = dir.join(format!(".jupyterflow/runs/{id}/logs/head.log"));
    assert_eq!(std::fs::metadata(log).expect("log").len(), 10_000_000);

    // With --no-log the output is not shown, and still in the log: both streams, every byte.
    let out = run(jupyterflow(dir).args([
        "run",
        "--no-log",
        "-c",
        "head -c 10000000 /dev/zero >> sh -c 'echo out; echo err >&2'",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = out.stdout.trim();
    let logs = dir.join(format!(".jupyterflow/runs/{id}/logs"));
    assert_eq!(
        std::fs::metadata(logs.join("head.log")).expect("log").len(),
        10_000_000
    );
    assert_eq!(
        std::fs::read_to_string(logs.join("sh.log")).expect("log"),
        "out\nerr\n"
    );
}

#[test]
fn fail_fast_and_keep_going() {
    let home = temp_home();
    let dir = home.path();
    std::fs::write(
        dir.join("wf.yaml"),
        "jobs:\n- sh -c 'exit 3'\n- sh -c 'sleep 0.5'\n- touch independent.txt\ndags: ['2 >> 3']\n",
    )
    .expect("write");
    let out = run(jupyterflow(dir).args(["run", "-p", "2", "-f", "wf.yaml"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        !dir.join("independent.txt").exists(),
        "fail-fast started a new job"
    );
    assert!(out.stderr.contains("Skipped"), "{}", out.stderr);
    let out = run(jupyterflow(dir).args(["run", "-p", "2", "--keep-going", "-f", "wf.yaml"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        dir.join("independent.txt").exists(),
        "keep-going skipped an independent job"
    );
}

fn interrupted_run_leaves_nothing(sig: nix::sys::signal::Signal, expected: i32) {
    let home = temp_home();
    let dir = home.path();
    let mut child = spawn(
        dir,
        &[
            "run",
            "-c",
            "sh -c 'sleep 1000 & echo $! > grandchild.pid; wait'",
        ],
    );
    let grandchild: i32 = wait_for(&dir.join("grandchild.pid"))
        .trim()
        .parse()
        .expect("pid");
    signal(&child, sig);
    let code = wait_exit(&mut child);
    assert_eq!(code, expected);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !process_gone(grandchild) {
        assert!(
            Instant::now() < deadline,
            "grandchild {grandchild} survived"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let got = run(jupyterflow(dir).args(["get", "@latest", "-o", "json"]));
    let record: serde_json::Value = serde_json::from_str(&got.stdout).expect("json");
    assert_eq!(record["status"], "Cancelled");
    assert_eq!(record["jobs"][0]["phase"], "Cancelled");
}

#[test]
fn ctrl_c_stops_jobs_and_their_children() {
    interrupted_run_leaves_nothing(nix::sys::signal::Signal::SIGINT, 130);
}

#[test]
fn sigterm_stops_jobs_with_143() {
    interrupted_run_leaves_nothing(nix::sys::signal::Signal::SIGTERM, 143);
}

#[test]
fn a_closed_terminal_stops_jobs_with_129() {
    interrupted_run_leaves_nothing(nix::sys::signal::Signal::SIGHUP, 129);
}

#[test]
fn delete_resolves_every_name_before_deleting_any() {
    let home = temp_home();
    let dir = home.path();
    let first = run(jupyterflow(dir).args(["run", "-q", "-c", "true"]));
    let id = first.stdout.trim().to_owned();
    let out = run(jupyterflow(dir).args(["delete", &id, "no-such-run"]));
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "");
    let listed = run(jupyterflow(dir).args(["list", "-o", "name"]));
    assert_eq!(listed.stdout, format!("{id}\n"), "nothing may be deleted");
    let out = run(jupyterflow(dir).args(["delete", &id, "--completed"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, format!("deleted {id}\n"));
}

/// Rewrites a run's record as if it had ended long ago (the run folder name is the id).
fn age_run(dir: &Path, id: &str, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join(".jupyterflow/runs").join(id).join("run.json");
    let text = std::fs::read_to_string(&path).expect("run record");
    let mut record: serde_json::Value = serde_json::from_str(&text).expect("json record");
    edit(&mut record);
    std::fs::write(&path, record.to_string()).expect("write run record");
}

fn run_ids(dir: &Path) -> Vec<String> {
    let listed = run(jupyterflow(dir).args(["list", "-o", "name"]));
    let mut ids: Vec<String> = listed.stdout.lines().map(str::to_owned).collect();
    ids.sort();
    ids
}

#[test]
fn delete_older_than_picks_finished_runs_by_their_finish_time() {
    let home = temp_home();
    let dir = home.path();
    let mut ids = Vec::new();
    for _ in 0..4 {
        let out = run(jupyterflow(dir).args(["run", "-q", "-c", "true"]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        ids.push(out.stdout.trim().to_owned());
    }
    let [old, interrupted, fresh, named] = ids.as_slice() else {
        unreachable!()
    };
    age_run(dir, old, |r| {
        r["started"] = "2000-01-01T00:00:00Z".into();
        r["finished"] = "2000-01-01T00:01:00Z".into();
    });
    // A run whose process died has no finish time: its last job's is what counts. This pid
    // is this test's, recorded with another start time, so it reads as gone.
    age_run(dir, interrupted, |r| {
        r["status"] = "Running".into();
        r["pid"] = std::process::id().into();
        r["pid_started"] = 1.into();
        r["finished"] = serde_json::Value::Null;
        r["started"] = "2000-01-01T00:00:00Z".into();
        r["jobs"][0]["started"] = "2000-01-01T00:00:00Z".into();
        r["jobs"][0]["finished"] = "2000-01-02T00:00:00Z".into();
    });

    let out = run(jupyterflow(dir).args(["delete", "--older-than", "30x"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--older-than: "), "{}", out.stderr);
    assert!(out.stderr.contains("7d, 12h or 30m"), "{}", out.stderr);
    assert_eq!(run_ids(dir).len(), 4, "nothing deleted");

    let out = run(jupyterflow(dir).args(["delete", "--older-than", "30d"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut deleted: Vec<&str> = out.stdout.lines().collect();
    deleted.sort_unstable();
    let mut expected = vec![format!("deleted {old}"), format!("deleted {interrupted}")];
    expected.sort();
    assert_eq!(deleted, expected);
    let mut left = vec![fresh.clone(), named.clone()];
    left.sort();
    assert_eq!(run_ids(dir), left, "runs that finished just now stay");

    // Nothing else is that old; with --completed the age still applies; names add to it.
    let out = run(jupyterflow(dir).args(["delete", "--completed", "--older-than", "30d"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("nothing deleted"), "{}", out.stderr);
    let out = run(jupyterflow(dir).args(["delete", named, "--older-than", "30d"]));
    assert_eq!(out.stdout, format!("deleted {named}\n"));
    assert_eq!(run_ids(dir), std::slice::from_ref(fresh));
}

#[test]
fn delete_refuses_a_live_run_before_deleting_any() {
    let home = temp_home();
    let dir = home.path();
    let done = run(jupyterflow(dir).args(["run", "-q", "-c", "true"]));
    let done = done.stdout.trim().to_owned();
    let mut child = spawn(
        dir,
        &[
            "run",
            "-q",
            "-c",
            "sh -c 'echo $$ > job.pid; exec sleep 1000'",
        ],
    );
    wait_for(&dir.join("job.pid"));
    let live = run_ids(dir)
        .into_iter()
        .find(|id| *id != done)
        .expect("the live run is listed");
    let out = run(jupyterflow(dir).args(["delete", &done, &live]));
    signal(&child, nix::sys::signal::Signal::SIGTERM);
    let _ = wait_exit(&mut child);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("run `{live}` is still running")),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
    assert!(run_ids(dir).contains(&done), "nothing deleted");
}

#[test]
fn delete_cron_on_local_runs_is_a_usage_error() {
    let home = temp_home();
    let dir = home.path();
    let out = run(jupyterflow(dir).args(["run", "-q", "-c", "true"]));
    let id = out.stdout.trim().to_owned();
    let out = run(jupyterflow(dir).args(["delete", &id, "--cron", "nightly"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("scheduled pipelines (CronWorkflows) live on the cluster"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("-n/--context"), "{}", out.stderr);
    assert_eq!(run_ids(dir), [id], "nothing deleted");
}

#[test]
fn plan_stages_follow_dependencies_written_backwards() {
    let home = temp_home();
    let dir = home.path();
    std::fs::write(
        dir.join("wf.yaml"),
        "jobs:\n- {name: last, command: echo 3, depends: [mid]}\n- {name: mid, command: echo 2, depends: [first]}\n- {name: first, command: echo 1}\n",
    )
    .expect("write");
    let out = run(jupyterflow(dir).args(["run", "--dry-run", "--local", "-f", "wf.yaml"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let stages: Vec<&str> = out
        .stdout
        .lines()
        .skip(1)
        .take(3)
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    // By stage, so the plan reads top to bottom in the order things happen.
    assert_eq!(stages, ["1", "2", "3"], "{}", out.stdout);
}

#[test]
fn the_record_survives_a_kill_9_of_the_tool() {
    let home = temp_home();
    let dir = home.path();
    let mut child = spawn(
        dir,
        &[
            "run",
            "-c",
            "echo first >> sh -c 'echo $$ > job.pid; exec sleep 1000'",
        ],
    );
    let job: i32 = wait_for(&dir.join("job.pid")).trim().parse().expect("pid");
    // Let the record catch up with the running job (it is saved at most every 250 ms).
    std::thread::sleep(Duration::from_millis(600));
    signal(&child, nix::sys::signal::Signal::SIGKILL);
    let _ = wait_exit(&mut child);
    // The job dies with the tool (PR_SET_PDEATHSIG), instead of running on as an orphan.
    let job = nix::unistd::Pid::from_raw(job);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while nix::sys::signal::kill(job, None).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the job outlived a kill -9 of jupyterflow"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let got = run(jupyterflow(dir).args(["get", "@latest", "-o", "json"]));
    assert_eq!(got.code, 0, "{}", got.stderr);
    let record: serde_json::Value = serde_json::from_str(&got.stdout).expect("readable json");
    assert_eq!(record["status"], "Interrupted");
    assert_eq!(record["jobs"][0]["phase"], "Succeeded");
    assert_eq!(record["jobs"][1]["phase"], "Interrupted");
}

#[test]
fn dry_run_local_prints_the_plan() {
    let home = temp_home();
    let out = run(jupyterflow(home.path()).args([
        "run",
        "--dry-run",
        "--local",
        "-p",
        "3",
        "-c",
        "python prep.py >> python train.py --lr {0.1,0.01} >> python eval.py",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(
        "local-plan",
        crate::helpers::scrub(&out.stdout, home.path())
    );
}

/// Report #8: `>>` glued to a word is the command's own redirection (the command runs in a
/// shell), and only a `>>` standing alone separates stages.
#[test]
fn glued_redirections_stay_with_their_command() {
    let home = temp_home();
    let dir = home.path();
    let out = run(jupyterflow(dir).args([
        "run",
        "--local",
        "-q",
        "-c",
        "echo out >>log.txt 2>>err.log >> sh -c 'echo again' >>log.txt >> cat log.txt",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.join("log.txt")).expect("log.txt"),
        "out\nagain\n"
    );
    let plan = run(jupyterflow(dir).args([
        "run",
        "--dry-run",
        "--local",
        "-c",
        "python3 train.py 2>>err.log >> echo done",
    ]));
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let lines: Vec<&str> = plan.stdout.lines().collect();
    assert!(
        lines[1].contains("/bin/sh -c 'python3 train.py 2>>err.log'"),
        "{}",
        plan.stdout
    );
    assert!(lines[2].contains("echo done"), "{}", plan.stdout);
}
