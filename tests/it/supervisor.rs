//! `jupyterflow exec-job`, the job supervisor, as a job pod runs it: the real binary, real
//! processes, the downward-API variables set by the test as the kubelet would set them. Its
//! stdout and stderr must be the job's, byte for byte; its exit status the job's; signals
//! reach the job; the shared volume gets the log and the job's record; nothing hangs it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::temp_home;

pub(crate) const WORKFLOW: &str = "wf-abc12";

/// `jupyterflow exec-job --workflow WORKFLOW -- /bin/sh -c SCRIPT` in `dir`, as pod `pod` of
/// node `node_name` would run it: exactly the container command `run` renders.
pub(crate) fn exec_job(dir: &Path, node_name: &str, script: &str) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("jupyterflow"));
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", dir)
        .envs(crate::helpers::hermetic_env())
        .env("JUPYTERFLOW_ARGO_NODE", node_name)
        .env("JUPYTERFLOW_POD_NAME", format!("{WORKFLOW}-job-1234"))
        .env("JUPYTERFLOW_K8S_NODE", "gke-pool-1-abcd")
        .current_dir(dir)
        .args([
            "exec-job",
            "--workflow",
            WORKFLOW,
            "--",
            "/bin/sh",
            "-c",
            script,
        ]);
    cmd
}

struct Ran {
    code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn run(cmd: &mut Command) -> Ran {
    let out = cmd.output().expect("exec-job runs");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

fn run_dir(dir: &Path) -> PathBuf {
    dir.join(".jupyterflow/runs").join(WORKFLOW)
}

fn log(dir: &Path, job: &str) -> Vec<u8> {
    std::fs::read(run_dir(dir).join("logs").join(format!("{job}.log"))).expect("the job's log")
}

fn record(dir: &Path, job: &str) -> Value {
    let text = std::fs::read(run_dir(dir).join("jobs").join(format!("{job}.json")))
        .expect("the job's record");
    serde_json::from_slice(&text).expect("JSON")
}

#[test]
fn exits_as_the_job_did_and_records_it() {
    let home = temp_home();
    let dir = home.path();
    for code in [0, 1, 3] {
        let node = format!("{WORKFLOW}.step-{code}");
        let out = run(&mut exec_job(
            dir,
            &node,
            &format!("echo step {code}; exit {code}"),
        ));
        assert_eq!(out.code, code, "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, format!("step {code}\n").as_bytes());
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            log(dir, &format!("step-{code}")),
            format!("step {code}\n").as_bytes()
        );
        let job = record(dir, &format!("step-{code}"));
        assert_eq!(job["job"], format!("step-{code}"));
        assert_eq!(job["task"], format!("step-{code}"));
        assert_eq!(job["attempt"], 1);
        assert_eq!(job["pod"], format!("{WORKFLOW}-job-1234"));
        assert_eq!(job["node"], "gke-pool-1-abcd");
        assert_eq!(job["node_name"], node.as_str());
        assert_eq!(job["exit"]["code"], code);
        assert_eq!(job["log"], format!("logs/step-{code}.log"));
        let started = job["started"].as_str().expect("started");
        let finished = job["finished"].as_str().expect("finished");
        assert!(started <= finished, "{started} {finished}");
    }
}

#[test]
fn the_job_runs_exactly_as_the_container_ran_it() {
    let home = temp_home();
    let dir = std::fs::canonicalize(home.path()).expect("dir");
    // The same working directory, the same argv ($0 and $@ of `sh -c`), the environment
    // without the supervisor's own variables, stdin from /dev/null.
    let out = run(exec_job(
        &dir,
        &format!("{WORKFLOW}.env"),
        "pwd; echo \"$0|$*\"; env | grep -c '^JUPYTERFLOW_\\(ARGO_NODE\\|POD_NAME\\|K8S_NODE\\)=' ; echo \"HOME=$HOME\"; cat; echo end",
    )
    .args(["one", "two words"]));
    assert_eq!(out.code, 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "{}\none|two words\n0\nHOME={}\nend\n",
            dir.display(),
            home.path().display()
        )
    );
}

#[test]
fn output_passes_through_byte_for_byte_and_both_streams_reach_the_log() {
    let home = temp_home();
    let dir = home.path();
    // Invalid UTF-8, a carriage return, a last line without a newline. The pauses keep the
    // streams' order in the log fixed: the pipes are read side by side (and a line one stream
    // leaves open when the other one writes is ended in the log first).
    let out = run(&mut exec_job(
        dir,
        &format!("{WORKFLOW}.bytes"),
        r"printf 'ok\377\376 bytes\r\n'; sleep 0.3; printf 'to stderr\n' >&2; sleep 0.3; printf 'no newline'",
    ));
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, b"ok\xff\xfe bytes\r\nno newline");
    assert_eq!(out.stderr, b"to stderr\n");
    let log = log(dir, "bytes");
    assert!(log.starts_with(b"ok\xff\xfe bytes\r\n"), "{log:?}");
    for part in [&b"to stderr\n"[..], b"no newline"] {
        assert!(log.windows(part.len()).any(|w| w == part), "{log:?}");
    }
    assert_eq!(log.len(), out.stdout.len() + out.stderr.len());
}

#[test]
fn ten_megabytes_are_byte_exact_on_stdout_and_in_the_log() {
    let home = temp_home();
    let dir = home.path();
    // Pseudo-random bytes (newlines and invalid UTF-8 included), from a fixed seed.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let data: Vec<u8> = (0..10_000_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    std::fs::write(dir.join("data.bin"), &data).expect("write data");
    let out = run(&mut exec_job(
        dir,
        &format!("{WORKFLOW}.big"),
        "cat data.bin",
    ));
    assert_eq!(out.code, 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.stdout == data,
        "stdout differs ({} bytes)",
        out.stdout.len()
    );
    assert!(log(dir, "big") == data, "the log differs");
}

fn spawn(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn exec-job")
}

fn wait_exit(child: &mut Child, within: Duration) -> i32 {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "exec-job did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_for_line(path: &Path, line: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(path).is_ok_and(|t| t.lines().any(|l| l == line)) {
        assert!(
            Instant::now() < deadline,
            "{} never said {line}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_reaches_the_job_which_decides_the_exit_status() {
    let home = temp_home();
    let dir = home.path();
    let mut child = spawn(&mut exec_job(
        dir,
        &format!("{WORKFLOW}.trap"),
        "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done",
    ));
    let log_path = run_dir(dir).join("logs/trap.log");
    wait_for_line(&log_path, "ready");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signal");
    assert_eq!(wait_exit(&mut child, Duration::from_secs(20)), 7);
    let out = child.wait_with_output().expect("output");
    assert_eq!(out.stdout, b"ready\ngot TERM\n");
    // The whole group got it: the shell may report its `sleep` as "Terminated" on stderr.
    let log = std::fs::read(&log_path).expect("log");
    assert_eq!(log.len(), out.stdout.len() + out.stderr.len(), "{log:?}");
    // Its "Terminated" and the trap's line come on two pipes at once: in either order.
    assert!(log.windows(9).any(|w| w == b"got TERM\n"), "{log:?}");
    assert_eq!(record(dir, "trap")["exit"]["code"], 7);
}

#[test]
fn a_job_killed_by_a_signal_exits_128_plus_the_signal() {
    let home = temp_home();
    let dir = home.path();
    for (signal, code) in [("KILL", 137), ("TERM", 143), ("INT", 130)] {
        let out = run(&mut exec_job(
            dir,
            &format!("{WORKFLOW}.killed-{signal}"),
            &format!("echo before; kill -{signal} $$; echo never"),
        ));
        assert_eq!(out.code, code, "SIG{signal}");
        assert_eq!(out.stdout, b"before\n");
        let job = record(dir, &format!("killed-{signal}"));
        assert_eq!(job["exit"]["signal"], code - 128, "SIG{signal}");
    }
}

#[test]
fn processes_left_holding_the_output_do_not_hang_it() {
    let home = temp_home();
    let dir = home.path();
    // A background process of the job's own group: ended with the group once the job exits.
    let started = Instant::now();
    let out = run(&mut exec_job(
        dir,
        &format!("{WORKFLOW}.background"),
        "sleep 60 & echo started",
    ));
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, b"started\n");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(log(dir, "background"), b"started\n");

    // One that left the group (setsid) and keeps stdout open: read for a moment, then left.
    let started = Instant::now();
    let out = run(&mut exec_job(
        dir,
        &format!("{WORKFLOW}.escaped"),
        "setsid sh -c 'echo $$ > escaped.pid; exec sleep 60' & \
         while [ ! -s escaped.pid ]; do sleep 0.01; done; echo done",
    ));
    let escaped = std::fs::read_to_string(dir.join("escaped.pid")).expect("pid file");
    let escaped = nix::unistd::Pid::from_raw(escaped.trim().parse().expect("a pid"));
    let _ = nix::sys::signal::kill(escaped, nix::sys::signal::Signal::SIGKILL);
    assert_eq!(out.code, 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"done\n");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(record(dir, "escaped")["exit"]["code"], 0);
}

#[test]
fn retries_and_sweep_points_keep_their_jobs_names() {
    let home = temp_home();
    let dir = home.path();
    let node = format!("{WORKFLOW}.part-1-1.train(0:lr:0.1)");
    assert_eq!(
        run(&mut exec_job(
            dir,
            &format!("{node}(0)"),
            "echo first; exit 1"
        ))
        .code,
        1
    );
    assert_eq!(
        run(&mut exec_job(dir, &format!("{node}(1)"), "echo second")).code,
        0
    );
    assert_eq!(
        String::from_utf8_lossy(&log(dir, "train(0:lr:0.1)")),
        format!("first\n--- jupyterflow: attempt 2 (pod {WORKFLOW}-job-1234) ---\nsecond\n")
    );
    let job = record(dir, "train(0:lr:0.1)");
    assert_eq!(job["task"], "train");
    assert_eq!(job["attempt"], 2);
    assert_eq!(job["exit"]["code"], 0);
}

#[test]
fn a_volume_it_cannot_write_only_costs_the_copy() {
    let home = temp_home();
    let dir = home.path();
    // `.jupyterflow` is a file: no run folder can be made under it.
    std::fs::write(dir.join(".jupyterflow"), "in the way").expect("write");
    let out = run(&mut exec_job(
        dir,
        &format!("{WORKFLOW}.ro"),
        "echo still runs; exit 4",
    ));
    assert_eq!(out.code, 4);
    assert_eq!(out.stdout, b"still runs\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: jupyterflow: cannot write the log")
            && stderr.contains("pod log only"),
        "{stderr}"
    );
}

/// A schedule's run leaves job records but no `run.json` (nobody submitted it from here):
/// `list` shows it, and `get --local`/`delete --local` find it by that name too.
#[test]
fn a_run_folder_without_run_json_can_be_named() {
    let home = temp_home();
    let ran = run(&mut exec_job(
        home.path(),
        &format!("{WORKFLOW}.prep"),
        "echo prepared",
    ));
    assert_eq!(ran.code, 0, "{}", String::from_utf8_lossy(&ran.stderr));
    let cli =
        |args: &[&str]| crate::helpers::run(crate::helpers::jupyterflow(home.path()).args(args));
    // Outside a pod, `list` reads this directory's run folders.
    let list = cli(&["list"]);
    assert!(
        list.stdout
            .contains(&format!("{WORKFLOW}  argo     Succeeded")),
        "{}",
        list.stdout
    );
    let got = cli(&["get", "--local", WORKFLOW, "-o", "json"]);
    assert_eq!(got.code, 0, "{}", got.stderr);
    let shown: Value = serde_json::from_str(&got.stdout).expect("JSON");
    assert_eq!(shown["jobs"][0]["name"], "prep");
    assert_eq!(shown["status"], "Succeeded");
    let deleted = cli(&["delete", "--local", WORKFLOW]);
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    assert!(!run_dir(home.path()).exists());
}

/// A workflow name that is not one plain name would put the run folder outside
/// `.jupyterflow/runs`: refused before anything runs or is written.
#[test]
fn a_workflow_name_that_leaves_the_runs_folder_is_refused() {
    let home = temp_home();
    for bad in ["../escape", "a/b", ".hidden", ""] {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("jupyterflow"));
        cmd.env_clear()
            .envs(crate::helpers::hermetic_env())
            .env("HOME", home.path())
            .current_dir(home.path())
            .args([
                "exec-job",
                "--workflow",
                bad,
                "--",
                "/bin/sh",
                "-c",
                "touch ran",
            ]);
        let ran = run(&mut cmd);
        assert_eq!(ran.code, 2, "{bad}");
        let stderr = String::from_utf8_lossy(&ran.stderr);
        assert!(
            stderr.contains("cannot name a run folder"),
            "{bad}: {stderr}"
        );
    }
    assert!(!home.path().join("ran").exists());
    assert!(!home.path().join(".jupyterflow").exists());
}
