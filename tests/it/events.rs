//! `--events` through the real binary: the JSON-lines stream of a local run (snapshot, times
//! and durations normalised), of `logs --events`, and of a cluster run against the fake API
//! server; stdout holds nothing but JSON lines.

use std::time::Duration;

use serde_json::Value;

use crate::cluster_helpers::{NAMESPACE, Notebook, Volume, first_workflow_name};
use crate::helpers::{jupyterflow, run, temp_home};

/// Each stdout line as a JSON object; panics on anything else there.
fn objects(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| match serde_json::from_str(line) {
            Ok(value @ Value::Object(_)) => value,
            _ => panic!("not a JSON object on stdout: {line:?}\n{stdout}"),
        })
        .collect()
}

/// `text` with the value of every `"key":` replaced by `with` (a string value up to its
/// closing quote, a number up to the next `,` or `}`).
fn blank(text: &str, key: &str, with: &str) -> String {
    let needle = format!("\"{key}\":");
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        let (head, tail) = rest.split_at(at + needle.len());
        out.push_str(head);
        out.push_str(with);
        let end = if let Some(quoted) = tail.strip_prefix('"') {
            quoted.find('"').map_or(tail.len(), |i| i + 2)
        } else {
            tail.find([',', '}']).unwrap_or(tail.len())
        };
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The stream with what varies between runs replaced: times, durations and the run id.
/// `job_progress` lines are throttled, so whether one is sent depends on timing: left out.
fn normalised(stdout: &str) -> String {
    let run = objects(stdout)
        .iter()
        .find(|e| e["type"] == "run_started")
        .and_then(|e| e["run"].as_str().map(str::to_owned))
        .expect("a run_started line with the run id");
    stdout
        .lines()
        .filter(|line| !line.starts_with(r#"{"type":"job_progress""#))
        .map(|line| {
            let line = blank(line, "time", "\"[TIME]\"");
            blank(&line, "duration", "\"[DURATION]\"").replace(&run, "[RUN]") + "\n"
        })
        .collect()
}

#[test]
fn a_local_run_writes_its_events_as_json_lines_and_nothing_else() {
    let home = temp_home();
    let out = run(jupyterflow(home.path()).args([
        "run",
        "--local",
        "--events",
        "-c",
        "echo a >> sh -c 'echo oops >&2; exit 3' >> echo c",
    ]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!(normalised(&out.stdout));
    // The human view is not shown: no table, no summary on stderr either.
    assert!(!out.stderr.contains("Succeeded"), "{}", out.stderr);
}

#[test]
fn run_o_events_is_run_events_and_logs_events_gives_job_output_lines() {
    let home = temp_home();
    let out =
        run(jupyterflow(home.path()).args(["run", "--local", "-o", "events", "-c", "echo a"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let events = objects(&out.stdout);
    let last = events.last().expect("events");
    assert_eq!(last["type"], "run_finished", "{}", out.stdout);
    assert_eq!(last["status"], "Succeeded");
    assert_eq!(last["counts"]["Succeeded"], 1);

    // Bytes that are not UTF-8 are replaced in the stream; the log file keeps them.
    let out = run(jupyterflow(home.path()).args(["run", "--local", "-c", r"printf 'x\377y\n'"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = run(jupyterflow(home.path()).args(["logs", "--events", "@latest"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = objects(&out.stdout);
    assert_eq!(lines.len(), 1, "{}", out.stdout);
    assert_eq!(lines[0]["type"], "job_output");
    assert_eq!(lines[0]["version"], 1);
    assert_eq!(lines[0]["stream"], "merged");
    assert_eq!(lines[0]["line"], "x\u{fffd}y");
}

#[test]
fn a_cluster_run_writes_the_same_events_with_its_argo_ui_link() {
    let nb = Notebook::start(Volume::Nfs);
    let config = nb.workdir.join("jupyterflow.yaml");
    std::fs::write(&config, "argo_ui_url: https://argo.example.com/\n").expect("config");
    let api = std::sync::Arc::clone(&nb.api);
    let controller = std::thread::spawn(move || {
        let name = first_workflow_name(&api);
        api.argo_run(NAMESPACE, &name)
            .log("prep", "loading\nprepared 3 rows\n")
            .log("train", "epoch 1\n")
            .run_to_end();
    });
    let out = run(nb
        .in_pod()
        .env("JUPYTERFLOW_CONFIG_FILE", &config)
        .timeout(Duration::from_secs(60))
        .args([
            "run",
            "--watch",
            "--events",
            "-c",
            "python prep.py >> python train.py",
        ]));
    controller.join().expect("controller thread");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let events = objects(&out.stdout);
    let name = nb.workflows()[0]["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    let ui = format!("https://argo.example.com/workflows/{NAMESPACE}/{name}");
    let first = &events[0];
    assert_eq!(first["type"], "run_submitted", "{}", out.stdout);
    assert_eq!(first["backend"], "argo");
    assert_eq!(first["run"], name.as_str());
    assert_eq!(first["ui_url"], ui.as_str());
    let started = &events[1];
    assert_eq!(started["type"], "run_started", "{}", out.stdout);
    assert_eq!(started["ui_url"], ui.as_str());
    assert_eq!(started["namespace"], NAMESPACE);
    for event in &events {
        assert_eq!(event["version"], 1, "{event}");
        let time = event["time"].as_str().expect("time");
        assert!(time.ends_with('Z') && time.len() == 24, "{time}");
    }
    let of_type =
        |kind: &str| -> Vec<&Value> { events.iter().filter(|e| e["type"] == kind).collect() };
    // In order per job; the pods' streams may arrive in either order.
    let output = |job: &str| -> Vec<String> {
        of_type("job_output")
            .iter()
            .filter(|e| e["job"] == job)
            .map(|e| format!("{} {}", e["stream"], e["line"]))
            .collect()
    };
    assert_eq!(
        output("prep"),
        ["\"merged\" \"loading\"", "\"merged\" \"prepared 3 rows\""],
        "{}",
        out.stdout
    );
    assert_eq!(
        output("train"),
        ["\"merged\" \"epoch 1\""],
        "{}",
        out.stdout
    );
    let finished: Vec<String> = of_type("job_finished")
        .iter()
        .map(|e| format!("{} {}", e["job"], e["status"]))
        .collect();
    assert_eq!(
        finished,
        ["\"prep\" \"Succeeded\"", "\"train\" \"Succeeded\""],
        "{}",
        out.stdout
    );
    let last = events.last().expect("events");
    assert_eq!(last["type"], "run_finished", "{}", out.stdout);
    assert_eq!(last["run"], name.as_str());
    assert_eq!(last["status"], "Succeeded");
    assert_eq!(last["counts"]["Succeeded"], 2);
    // The link is said on stderr too, as without --events.
    assert!(out.stderr.contains(&ui), "{}", out.stderr);
}

/// What `%%jupyterflow` does: the workflow on stdin (`-f -`), its jobs in the current
/// directory, errors naming `<stdin>`.
#[test]
fn a_workflow_on_stdin_runs_in_the_current_directory() {
    let home = temp_home();
    let out = run(jupyterflow(home.path())
        .args(["run", "--local", "--events", "-f", "-"])
        .write_stdin("jobs:\n- touch made-here\n- ls made-here\ndags:\n- 1 >> 2\n"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(home.path().join("made-here").exists());
    let last = objects(&out.stdout).pop().expect("events");
    assert_eq!(last["counts"]["Succeeded"], 2, "{}", out.stdout);

    let out = run(jupyterflow(home.path())
        .args(["run", "--local", "-f", "-"])
        .write_stdin("jobs: [\n"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("<stdin>"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}
