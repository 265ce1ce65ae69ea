//! Workflow params (`params:` in workflow.yaml, `--set NAME=VALUE`) through the binary: the
//! values jobs get on both backends, what the run records and `get` shows, and bad input.

use serde_json::Value;

use crate::helpers::{jupyterflow, pod, run, temp_home};

const WORKFLOW: &str = "params:
  greeting: hello
  lr: 0.10
jobs:
- name: greet
  command: echo {greeting} lr={lr}
- name: env
  command: sh -c 'echo \"$LEARNING_RATE\"'
  env: {LEARNING_RATE: 'lr is {lr}'}
dags:
- greet >> env
";

#[test]
fn a_local_run_takes_params_and_set_overrides_them() {
    let home = temp_home();
    std::fs::write(home.path().join("workflow.yaml"), WORKFLOW).expect("write");
    let out =
        run(jupyterflow(home.path()).args(["run", "-f", "workflow.yaml", "--set", "lr=0.01"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("greet | hello lr=0.01\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("env | lr is 0.01\n"), "{}", out.stdout);
    let id = out.stdout.lines().last().expect("the run id").to_owned();

    let json = run(jupyterflow(home.path()).args(["get", &id, "-o", "json"]));
    assert_eq!(json.code, 0, "{}", json.stderr);
    let record: Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(
        record["params"],
        serde_json::json!({"greeting": "hello", "lr": "0.01"})
    );
    let table = run(jupyterflow(home.path()).args(["get", &id]));
    assert_eq!(table.code, 0, "{}", table.stderr);
    let params = table
        .stdout
        .lines()
        .find(|l| l.starts_with("Params:"))
        .unwrap_or_else(|| panic!("no Params line:\n{}", table.stdout));
    assert!(params.ends_with(" greeting=hello, lr=0.01"), "{params}");

    // Without --set, the file's values, spelt as written.
    let plain = run(jupyterflow(home.path()).args(["run", "-f", "workflow.yaml"]));
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    assert!(
        plain.stdout.contains("greet | hello lr=0.10\n"),
        "{}",
        plain.stdout
    );
}

#[test]
fn set_must_name_a_declared_param_and_nothing_runs_otherwise() {
    let home = temp_home();
    std::fs::write(home.path().join("workflow.yaml"), WORKFLOW).expect("write");
    let out =
        run(jupyterflow(home.path()).args(["run", "-f", "workflow.yaml", "--set", "greting=hi"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("`--set greting=…`: workflow.yaml declares no param `greting`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `greeting`?"),
        "{}",
        out.stderr
    );
    assert!(
        !home.path().join(".jupyterflow").exists(),
        "no run was started"
    );

    let shape = run(jupyterflow(home.path()).args(["lint", "-f", "workflow.yaml", "--set", "lr"]));
    assert_eq!(shape.code, 2, "{}", shape.stderr);
    assert!(
        shape
            .stderr
            .contains("`--set lr` has no `=`: it takes NAME=VALUE"),
        "{}",
        shape.stderr
    );

    let lint =
        run(jupyterflow(home.path()).args(["lint", "-f", "workflow.yaml", "--set", "lr=1e-3"]));
    assert_eq!(lint.code, 0, "{}", lint.stderr);
    assert!(
        lint.stdout.ends_with("params: greeting=hello, lr=1e-3\n"),
        "{}",
        lint.stdout
    );

    let one_liner = run(jupyterflow(home.path()).args(["lint", "-c", "echo a", "--set", "x=1"]));
    assert_eq!(one_liner.code, 2, "{}", one_liner.stderr);
    assert!(
        one_liner.stderr.contains("declares none"),
        "{}",
        one_liner.stderr
    );
}

/// On the cluster, the Workflow's commands carry the values and its annotation the params, and
/// Argo's schema accepts it.
#[test]
fn the_argo_workflow_carries_the_values_and_the_params() {
    let home = temp_home();
    std::fs::write(home.path().join("workflow.yaml"), WORKFLOW).expect("write");
    let pod_file = pod("zero-to-jupyterhub").display().to_string();
    let out = run(jupyterflow(home.path()).args([
        "run",
        "--dry-run",
        "--pod-file",
        &pod_file,
        "-o",
        "json",
        "-f",
        "workflow.yaml",
        "--set",
        "greeting=hi there",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let path = home.path().join("params.json");
    std::fs::write(&path, &out.stdout).expect("write");
    crate::schema::assert_valid(&[path]);
    let workflow: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(
        workflow["metadata"]["annotations"]["jupyterflow.io/params"],
        r#"{"greeting":"hi there","lr":"0.10"}"#
    );
    let text = out.stdout.replace("\\\"", "\"");
    assert!(text.contains("hi there"), "{text}");
    assert!(text.contains("lr is 0.10"), "{text}");
    assert!(!text.contains("{greeting}"), "{text}");
}
