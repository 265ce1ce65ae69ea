//! What a new user meets, through the real binary (issue 9's first-use review and the local
//! findings of the bad-input report): output shown without asking, why a job failed, the run
//! history addressed by folder, flags that mean one thing, and dry runs that show what would
//! be submitted.

use std::path::Path;

use crate::helpers::{Output, jupyterflow, pod, run, temp_home};

/// `jupyterflow run --local …` in `dir`, `-q` giving just the run id.
fn local_run(dir: &Path, args: &[&str]) -> Output {
    run(jupyterflow(dir).args(["run", "--local"]).args(args))
}

#[test]
fn a_user_sees_the_output_of_their_jobs_without_a_flag() {
    let home = temp_home();
    let out = local_run(home.path(), &["-c", "echo hello >> echo world"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("echo-1 | hello\n") && out.stdout.contains("echo-2 | world\n"),
        "{}",
        out.stdout
    );
    // An explicit --local needs no banner; -q keeps stdout to the run's name.
    assert!(!out.stderr.contains("backend:"), "{}", out.stderr);
    let quiet = local_run(home.path(), &["-q", "-c", "echo hello"]);
    assert_eq!(quiet.stdout.lines().count(), 1, "{}", quiet.stdout);
    assert_eq!(quiet.stderr, "");
    let hidden = local_run(home.path(), &["--no-log", "-c", "echo hello"]);
    assert!(!hidden.stdout.contains("hello"), "{}", hidden.stdout);
}

#[test]
fn a_failed_job_shows_why_and_skipped_jobs_say_so_once() {
    let home = temp_home();
    let out = local_run(
        home.path(),
        &[
            "-c",
            "[sh -c 'echo some context; echo boom >&2; exit 3', sleep 0.2] >> echo after",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("--- sh: last 2 lines of ") && out.stderr.contains("\nboom\n"),
        "{}",
        out.stderr
    );
    // Skipped for its failed dependency, or by fail-fast: either way the reason names `sh`.
    assert!(out.stderr.contains("`sh` failed"), "{}", out.stderr);
    assert_eq!(
        out.stderr.matches("echo").count(),
        1,
        "the skipped job is listed once, in the summary: {}",
        out.stderr
    );
    // -q still says what failed, and why.
    let quiet = local_run(home.path(), &["-q", "-c", "sh -c 'echo boom >&2; exit 3'"]);
    assert_eq!(quiet.code, 1);
    assert!(
        quiet.stderr.contains("failed   sh after") && quiet.stderr.contains("boom"),
        "{}",
        quiet.stderr
    );
    assert_eq!(quiet.stdout.lines().count(), 1, "{}", quiet.stdout);
}

#[test]
fn fail_fast_skips_name_the_real_reason() {
    let home = temp_home();
    let out = local_run(
        home.path(),
        &["-p", "1", "-c", "[sh -c 'exit 2', echo independent]"],
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("not started: stopping after `sh` failed (--keep-going runs it)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_copied_run_folder_is_its_own_run_and_a_moved_project_keeps_its_logs() {
    let home = temp_home();
    let project = home.path().join("project");
    std::fs::create_dir_all(&project).expect("project");
    let out = local_run(&project, &["-q", "-c", "echo precious"]);
    let id = out.stdout.trim().to_owned();
    let runs = project.join(".jupyterflow/runs");
    copy_dir(&runs.join(&id), &runs.join("keep-best"));

    let logs = run(jupyterflow(&project).args(["logs", "keep-best"]));
    assert_eq!(logs.stdout, "echo | precious\n", "{}", logs.stderr);
    let got = run(jupyterflow(&project).args(["get", "keep-best"]));
    assert!(
        got.stdout.starts_with("Name:       keep-best\n"),
        "{}",
        got.stdout
    );
    assert!(
        got.stdout.contains(&format!("Copied from:{id}")),
        "{}",
        got.stdout
    );

    let deleted = run(jupyterflow(&project).args(["delete", "keep-best"]));
    assert_eq!(deleted.stdout, "deleted keep-best\n", "{}", deleted.stderr);
    assert!(runs.join(&id).exists(), "the original must stay");
    assert!(!runs.join("keep-best").exists());

    // Renaming the project folder (or opening it through another mount) keeps the logs.
    let moved = home.path().join("renamed");
    std::fs::rename(&project, &moved).expect("move");
    let logs = run(jupyterflow(&moved).args(["logs", "@latest"]));
    assert_eq!(logs.code, 0, "{}", logs.stderr);
    assert_eq!(logs.stdout, "echo | precious\n");
    // A log that is gone is said, and is not success.
    let run_dir = moved.join(".jupyterflow/runs").join(&id);
    std::fs::remove_file(run_dir.join("logs/echo.log")).expect("remove log");
    let logs = run(jupyterflow(&moved).args(["logs", &id]));
    assert_eq!(logs.code, 1);
    assert!(logs.stderr.contains("its log"), "{}", logs.stderr);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn a_damaged_record_is_listed_and_can_be_deleted() {
    let home = temp_home();
    let runs = home.path().join(".jupyterflow/runs/broken");
    std::fs::create_dir_all(&runs).expect("folder");
    std::fs::write(runs.join("run.json"), "{garbage").expect("write");
    let list = run(jupyterflow(home.path()).args(["list"]));
    assert!(
        list.stdout.contains("broken  local    Damaged"),
        "{}",
        list.stdout
    );
    let get = run(jupyterflow(home.path()).args(["get", "broken"]));
    assert_eq!(get.code, 2);
    assert!(
        get.stderr.contains("jupyterflow delete broken"),
        "{}",
        get.stderr
    );
    let deleted = run(jupyterflow(home.path()).args(["delete", "broken"]));
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    assert!(!runs.exists());
}

#[test]
fn run_ids_and_clocks_are_in_the_users_time_zone() {
    let home = temp_home();
    // UTC+14: never the same hour as UTC.
    let out = run(jupyterflow(home.path())
        .env("TZ", "Pacific/Kiritimati")
        .args(["run", "--local", "-q", "-c", "true"]));
    let id = out.stdout.trim();
    let record: serde_json::Value =
        serde_json::from_str(&run(jupyterflow(home.path()).args(["get", id, "-o", "json"])).stdout)
            .expect("json");
    let started: jiff::Timestamp = record["started"]
        .as_str()
        .expect("started")
        .parse()
        .expect("a time");
    let zone = jiff::tz::TimeZone::get("Pacific/Kiritimati").expect("zone");
    let local = started.to_zoned(zone).strftime("%Y%m%d-%H%M").to_string();
    assert!(id.contains(&local), "{id} is not in local time ({local})");
}

#[test]
fn flags_do_not_pick_a_backend_that_cannot_work_here() {
    let home = temp_home();
    // -w never chooses: off the cluster a run is local, and always watched.
    let out = run(jupyterflow(home.path()).args(["run", "-w", "-c", "echo a"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("backend: local (not in a notebook pod)\n"),
        "{}",
        out.stderr
    );
    // -n and --context mean a cluster, and there is none here.
    for flag in [["-n", "team-b"], ["--context", "prod"]] {
        let out = run(jupyterflow(home.path())
            .args(["run"])
            .args(flag)
            .args(["-c", "echo a"]));
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "{} is for a cluster, and none is configured here",
                flag[0]
            )),
            "{}",
            out.stderr
        );
    }
    let out = run(jupyterflow(home.path()).args(["list", "-n", "x"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn every_setting_is_checked_before_anything_runs() {
    let home = temp_home();
    for (args, says) in [
        (
            vec![
                "run",
                "--dry-run",
                "--request-timeout",
                "abc",
                "-c",
                "echo a",
            ],
            "--request-timeout",
        ),
        (
            vec!["run", "--request-timeout", "0s", "-c", "echo a"],
            "--request-timeout must be more than 0",
        ),
        (
            vec!["run", "-o", "wide", "-c", "echo a"],
            "use -o yaml, json, name or jsonpath",
        ),
        (
            vec![
                "run",
                "--dry-run",
                "--local",
                "-o",
                "jsonpath=",
                "-c",
                "echo a",
            ],
            "empty",
        ),
        (
            vec!["get", "@latest", "-o", "wide"],
            "use -o json, yaml, name or jsonpath",
        ),
        (vec!["list", "--cron"], "--cron lists scheduled pipelines"),
    ] {
        let out = run(jupyterflow(home.path()).args(&args));
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{args:?}");
    }
    // lint reads the config as run does.
    let config = home.path().join("bad.yaml");
    std::fs::write(&config, "backend: bogus\n").expect("write");
    let out = run(jupyterflow(home.path())
        .env("JUPYTERFLOW_CONFIG_FILE", &config)
        .args(["lint", "-c", "echo a"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn small_things_read_right() {
    let home = temp_home();
    let plan = run(jupyterflow(home.path()).args([
        "run",
        "--dry-run",
        "--local",
        "-o",
        "name",
        "-c",
        "echo a >> echo b",
    ]));
    assert_eq!(plan.stdout, "echo-1\necho-2\n");
    let one = run(jupyterflow(home.path()).args(["run", "--dry-run", "--local", "-c", "echo a"]));
    assert!(one.stdout.contains("1 job, at most"), "{}", one.stdout);
    let none = run(jupyterflow(home.path()).args(["list", "--running"]));
    assert!(
        none.stderr.starts_with("no running runs in "),
        "{}",
        none.stderr
    );
    let help = run(jupyterflow(home.path()).args(["help", "--help"]));
    assert_eq!(help.code, 0, "{}", help.stderr);
    assert!(
        help.stdout.contains("Usage: jupyterflow"),
        "{}",
        help.stdout
    );
}

#[test]
fn a_runs_folder_that_cannot_be_made_is_bad_input_said_before_anything() {
    let home = temp_home();
    std::fs::write(home.path().join(".jupyterflow"), "a file in the way").expect("write");
    let out = run(jupyterflow(home.path()).args(["run", "-c", "echo a"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("error: cannot create the run folder"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
}

#[test]
fn a_log_dir_under_home_is_under_home() {
    let home = temp_home();
    let config = home.path().join("jf.yaml");
    std::fs::write(&config, "log_dir: ~/jf-logs\n").expect("write");
    let work = home.path().join("work");
    std::fs::create_dir_all(&work).expect("work");
    let out = run(jupyterflow(home.path())
        .current_dir(&work)
        .env("JUPYTERFLOW_CONFIG_FILE", &config)
        .args(["run", "-q", "-c", "true"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(home.path().join("jf-logs").join(out.stdout.trim()).is_dir());
    assert!(!work.join("~").exists(), "no folder named ~");
}

#[test]
fn dry_runs_check_the_namespace_and_the_config_as_a_submission_would() {
    let home = temp_home();
    let dry = |extra: &[&str]| {
        run(jupyterflow(home.path())
            .args(["run", "--dry-run", "--pod-file"])
            .arg(pod("zero-to-jupyterhub"))
            .args(extra)
            .args(["-c", "echo a"]))
    };
    let out = dry(&["-n", "team-b"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("  namespace: team-b\n"),
        "{}",
        out.stdout
    );
    let out = dry(&["-n", "Bad_NS!"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("not a valid Kubernetes namespace"),
        "{}",
        out.stderr
    );

    for (config, says) in [
        (
            "spec:\n  resources: {limits: {memory: lots}}\n",
            "spec.resources.limits.memory",
        ),
        ("spec:\n  runAsUser: -5\n", "spec.runAsUser"),
        (
            "spec:\n  volumeMounts: [{name: nope, mountPath: /x}]\n",
            "mounts volume `nope` at `/x`",
        ),
        (
            "spec:\n  resources: {requests: {cpu: \"1e400\"}}\n",
            "spec.resources.requests.cpu",
        ),
        ("spec:\n  resources: {requests: {cpu: 1e400}}\n", "1e400"),
    ] {
        let path = home.path().join("config.yaml");
        std::fs::write(&path, config).expect("write");
        let out = run(jupyterflow(home.path())
            .env("JUPYTERFLOW_CONFIG_FILE", &path)
            .args(["run", "--dry-run", "--pod-file"])
            .arg(pod("zero-to-jupyterhub"))
            .args(["-c", "echo a"]));
        assert_eq!(out.code, 2, "{config}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{config}: {}", out.stderr);
        assert_eq!(out.stdout, "");
    }
}
