//! The IPython extension (python/jupyterflow) as a notebook runs it, without a browser: an
//! IPython InteractiveShell from the test venv (`$JUPYTERFLOW_TEST_JUPYTER_BIN`) loads it from
//! the repo, runs a magic against the built binary on the local backend, and
//! tests/magic/drive.py records every display call. The table must end right, and be one output
//! updated in place.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cluster_helpers::{NAMESPACE, Notebook, Volume, first_workflow_name};
use crate::helpers::{hermetic_env, jupyterflow, root, run, temp_home};

/// The test venv's Python: scripts/test makes it; without it the test fails and says how.
fn python() -> PathBuf {
    let bin = std::env::var_os("JUPYTERFLOW_TEST_JUPYTER_BIN").unwrap_or_else(|| {
        panic!(
            "JUPYTERFLOW_TEST_JUPYTER_BIN is not set: run the tests with ./scripts/test, which \
             makes target/venv-jupyter (IPython) and sets it"
        )
    });
    let python = PathBuf::from(bin).join("python");
    assert!(
        python.exists(),
        "{} is missing: rerun ./scripts/test to create the venv",
        python.display()
    );
    python
}

/// What one magic showed: every display call, and the exception it raised, if any.
struct Shown {
    calls: Vec<Value>,
    error: Option<String>,
    /// What the magic printed (commands that show no run).
    stdout: String,
}

impl Shown {
    fn last(&self, mime: &str) -> &str {
        self.calls
            .last()
            .and_then(|c| c["data"][mime].as_str())
            .unwrap_or_else(|| panic!("no {mime} display: {:?}", self.calls))
    }

    /// One output, updated in place: the first call creates it, every later one updates it.
    fn assert_one_output_updated_in_place(&self) {
        assert!(
            self.calls.len() >= 2,
            "created, then updated: {:?}",
            self.calls
        );
        let id = &self.calls[0]["transient"]["display_id"];
        assert!(id.is_string(), "{:?}", self.calls[0]);
        for (i, call) in self.calls.iter().enumerate() {
            assert_eq!(&call["transient"]["display_id"], id, "call {i}: {call}");
            assert_eq!(call["update"], i > 0, "call {i}: {call}");
        }
    }

    /// The plain-text table's row of `job`, split into its columns.
    fn row(&self, job: &str) -> Vec<String> {
        let text = self.last("text/plain");
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{job} ")))
            .unwrap_or_else(|| panic!("no row for {job}:\n{text}"));
        line.split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// Runs `%jupyterflow LINE` (or `%%jupyterflow LINE` with `cell`) in `dir`, with HOME, PATH
/// and IPYTHONDIR of the test's own; `interrupt_after` sends the shell SIGINT after a delay.
fn magic(dir: &Path, line: &str, cell: Option<&str>, interrupt_after: Option<f64>) -> Shown {
    let binary = assert_cmd::cargo::cargo_bin("jupyterflow");
    let envs = [("JUPYTERFLOW_BIN".to_owned(), binary.display().to_string())];
    drive(
        &envs,
        dir,
        &root().join("python"),
        line,
        cell,
        interrupt_after,
    )
}

/// Runs drive.py in `dir` with a clean environment of the test's own, then `envs` over it,
/// loading the package from `python_dir`.
fn drive(
    envs: &[(String, String)],
    dir: &Path,
    python_dir: &Path,
    line: &str,
    cell: Option<&str>,
    interrupt_after: Option<f64>,
) -> Shown {
    let mut cmd = Command::new(python());
    let out = dir.join("shown.json");
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", dir)
        .env("IPYTHONDIR", dir.join(".ipython"))
        // No __pycache__ in the checkout's python/ (the wheel is built from it).
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .envs(hermetic_env())
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .current_dir(dir)
        .arg(root().join("tests/magic/drive.py"))
        .arg(&out)
        .arg(python_dir)
        .arg(if cell.is_some() { "cell" } else { "line" })
        .arg(line);
    if let Some(body) = cell {
        cmd.arg(body);
    }
    if let Some(seconds) = interrupt_after {
        cmd.env("DRIVE_INTERRUPT_AFTER", seconds.to_string());
    }
    let status = cmd.output().expect("python runs");
    assert!(
        status.status.success(),
        "drive.py failed: {}{}",
        String::from_utf8_lossy(&status.stdout),
        String::from_utf8_lossy(&status.stderr)
    );
    let shown: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("shown.json")).expect("json");
    Shown {
        calls: shown["calls"].as_array().expect("calls").clone(),
        error: shown["error"].as_str().map(str::to_owned),
        stdout: String::from_utf8_lossy(&status.stdout).into_owned(),
    }
}

#[test]
fn the_line_magic_shows_a_live_table_that_ends_with_the_summary() {
    let home = temp_home();
    let shown = magic(home.path(), r#"run -c "echo a >> echo b""#, None, None);
    assert_eq!(shown.error, None);
    shown.assert_one_output_updated_in_place();
    let text = shown.last("text/plain");
    assert!(
        text.lines()
            .next()
            .is_some_and(|l| l.contains(": Succeeded in ") && l.contains("(2 succeeded)")),
        "{text}"
    );
    let first = shown.row("echo-1");
    assert_eq!(first[1], "Succeeded", "{text}");
    assert_eq!(first[3], "a", "{text}");
    assert!(
        first[4].starts_with(".jupyterflow/runs/run-") && first[4].ends_with("/logs/echo-1.log")
    );
    assert!(home.path().join(&first[4]).exists(), "{text}");
    let second = shown.row("echo-2");
    assert_eq!(second[1], "Succeeded", "{text}");
    assert_eq!(second[3], "b", "{text}");
    // The HTML has the same rows, with the log as a link the notebook's file browser opens.
    let html = shown.last("text/html");
    assert!(
        html.contains(&format!(
            r#"<a href="{}" target="_blank">log</a>"#,
            first[4]
        )),
        "{html}"
    );
    assert!(
        !html.contains("Argo"),
        "no Argo UI without a configured one: {html}"
    );

    // A command that shows no run prints what it prints, and makes no table.
    let logs = magic(home.path(), "logs @latest", None, None);
    assert_eq!(logs.error, None);
    assert!(logs.calls.is_empty(), "{:?}", logs.calls);
    assert!(
        logs.stdout.contains("echo-1 | a\necho-2 | b\n"),
        "{}",
        logs.stdout
    );
}

#[test]
fn the_cell_magic_runs_its_body_as_a_workflow_in_the_working_directory() {
    let home = temp_home();
    let workflow = "jobs:\n- touch made-here\n- ls made-here\ndags:\n- 1 >> 2\n";
    let shown = magic(home.path(), "--local", Some(workflow), None);
    assert_eq!(shown.error, None);
    shown.assert_one_output_updated_in_place();
    let text = shown.last("text/plain");
    assert_eq!(shown.row("touch")[1], "Succeeded", "{text}");
    assert_eq!(shown.row("ls")[1], "Succeeded", "{text}");
    assert_eq!(shown.row("ls")[3], "made-here", "{text}");
    assert!(home.path().join("made-here").exists());
}

#[test]
fn a_failed_job_and_a_bad_pipeline_show_their_exit_clearly() {
    let home = temp_home();
    let shown = magic(
        home.path(),
        r#"run -c "sh -c 'echo boom; exit 4' >> echo never""#,
        None,
        None,
    );
    assert_eq!(shown.error, None);
    let text = shown.last("text/plain");
    assert_eq!(shown.row("sh")[1], "Failed", "{text}");
    assert_eq!(shown.row("sh")[3], "boom", "{text}");
    assert_eq!(shown.row("echo")[1], "Skipped", "{text}");
    assert!(text.contains("; failed: sh"), "{text}");
    assert!(text.contains("jupyterflow exited with code 1"), "{text}");
    assert!(
        shown
            .last("text/html")
            .contains("color:#c62828;font-weight:bold")
    );

    // Refused before anything ran: the error is in the table.
    let shown = magic(home.path(), r#"run -c "echo a >>""#, None, None);
    let text = shown.last("text/plain");
    assert!(text.contains("jupyterflow exited with code 2"), "{text}");
    assert!(text.contains("error"), "{text}");
}

#[test]
fn interrupting_the_cell_stops_the_run_and_its_jobs() {
    let home = temp_home();
    let started = Instant::now();
    let shown = magic(
        home.path(),
        r#"run -c "sh -c 'echo going; exec sleep 60'""#,
        None,
        Some(1.5),
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(shown.error.as_deref(), Some("KeyboardInterrupt: "));
    let text = shown.last("text/plain");
    assert_eq!(shown.row("sh")[1], "Cancelled", "{text}");
    assert!(text.contains("jupyterflow exited with code 130"), "{text}");
}

/// Without the wheel: `jupyterflow ipython-extension DIR` writes the package, which then runs
/// the binary that wrote it, with no $JUPYTERFLOW_BIN and no jupyterflow on PATH.
#[test]
fn the_extension_written_by_the_binary_runs_that_binary() {
    let home = temp_home();
    let site = home.path().join("site");
    let install = || run(jupyterflow(home.path()).args(["ipython-extension", "site"]));
    let out = install();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("%load_ext jupyterflow"),
        "{}",
        out.stderr
    );
    for name in ["__init__.py", "_magic.py", "_table.py"] {
        assert_eq!(
            std::fs::read(site.join("jupyterflow").join(name)).expect("written"),
            std::fs::read(root().join("python/jupyterflow").join(name)).expect("repo file"),
            "{name}"
        );
    }
    let shown = drive(&[], home.path(), &site, r#"run -c "echo a""#, None, None);
    assert_eq!(shown.error, None);
    assert_eq!(
        shown.row("echo")[1],
        "Succeeded",
        "{}",
        shown.last("text/plain")
    );

    // Again is fine (an update); over pip's own copy (no record of a binary) it is refused.
    assert_eq!(install().code, 0);
    std::fs::remove_file(site.join("jupyterflow/_binary.txt")).expect("remove");
    let refused = install();
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("was not written by"),
        "{}",
        refused.stderr
    );
}

/// The notebook pod's environment, the binary, and a config file when given.
fn pod_env(nb: &Notebook, config: Option<&Path>) -> Vec<(String, String)> {
    let mut envs = nb.pod_env();
    let binary = assert_cmd::cargo::cargo_bin("jupyterflow");
    envs.push(("JUPYTERFLOW_BIN".into(), binary.display().to_string()));
    if let Some(config) = config {
        envs.push((
            "JUPYTERFLOW_CONFIG_FILE".into(),
            config.display().to_string(),
        ));
    }
    envs
}

/// A cluster run followed from a notebook (the fake API server and controller): the rows link
/// to the run in the Argo UI, and to a job's log where one is on the shared volume.
#[test]
fn a_cluster_run_links_each_job_to_the_argo_ui_and_its_log_on_the_volume() {
    let nb = Notebook::start(Volume::Nfs);
    let config = nb.workdir.join("jupyterflow.yaml");
    std::fs::write(&config, "argo_ui_url: https://argo.example.com\n").expect("config");
    let api = std::sync::Arc::clone(&nb.api);
    let workdir = nb.workdir.clone();
    let controller = std::thread::spawn(move || {
        let name = first_workflow_name(&api);
        // As a job that keeps its log on the shared volume would leave it.
        let logs = workdir.join(format!(".jupyterflow/runs/{name}/logs"));
        std::fs::create_dir_all(&logs).expect("logs dir");
        std::fs::write(logs.join("prep.log"), "prepared 3 rows\n").expect("log");
        api.argo_run(NAMESPACE, &name)
            .log("prep", "loading\nprepared 3 rows\n")
            .log("train", "epoch 1\n")
            .run_to_end();
        name
    });
    let envs = pod_env(&nb, Some(&config));
    let shown = drive(
        &envs,
        &nb.workdir,
        &root().join("python"),
        r#"run --watch -c "python prep.py >> python train.py""#,
        None,
        None,
    );
    let name = controller.join().expect("controller thread");
    assert_eq!(shown.error, None);
    shown.assert_one_output_updated_in_place();
    let text = shown.last("text/plain");
    let prep = shown.row("prep");
    assert_eq!(
        prep[1..4],
        ["Succeeded", "1.0s", "prepared 3 rows"],
        "{text}"
    );
    assert_eq!(
        prep[4],
        format!(".jupyterflow/runs/{name}/logs/prep.log"),
        "{text}"
    );
    assert_eq!(
        shown.row("train")[1..],
        ["Succeeded", "1.0s", "epoch 1"],
        "{text}"
    );
    let ui = format!("https://argo.example.com/workflows/{NAMESPACE}/{name}");
    assert!(text.contains(&format!("Argo UI: {ui}")), "{text}");
    let html = shown.last("text/html");
    assert_eq!(
        html.matches(&format!(r#"<a href="{ui}" target="_blank">Argo</a>"#))
            .count(),
        2,
        "{html}"
    );
}

/// `run` on the cluster without `--watch` only submits: the table says how to follow it.
#[test]
fn a_cluster_run_that_is_only_submitted_says_how_to_follow_it() {
    let nb = Notebook::start(Volume::Nfs);
    let envs = pod_env(&nb, None);
    let shown = drive(
        &envs,
        &nb.workdir,
        &root().join("python"),
        r#"run -c "echo a""#,
        None,
        None,
    );
    assert_eq!(shown.error, None);
    let name = nb.workflows()[0]["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    let text = shown.last("text/plain");
    assert!(
        text.starts_with(&format!(
            "{name} (argo): submitted; `%jupyterflow watch {name}` follows it"
        )),
        "{text}"
    );
}
