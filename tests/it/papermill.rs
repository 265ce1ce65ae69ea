//! `notebook_engine: papermill` and `run --notebook-engine` through the real binary: where the
//! choice shows (lint, the local plan, the Argo template) and a job that asks for papermill
//! where it is not installed (the test venv has none) failing at once, with no fallback.

use crate::helpers::{jupyterflow, pod, run, temp_home};
use crate::notebooks::{copy_notebook, run_dir, with_jupyter};

const ENGINE_ENV: &str = "JUPYTERFLOW_NOTEBOOK_ENGINE";

#[test]
fn papermill_asked_for_but_not_installed_fails_the_job_at_once() {
    let home = temp_home();
    copy_notebook(home.path(), "with_parameters.ipynb", "train.ipynb");
    let out = run(with_jupyter(home.path()).args([
        "run",
        "--local",
        "--notebook-engine",
        "papermill",
        "-c",
        "train.ipynb -p epochs 2 >> echo after",
    ]));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains(
            "papermill is not installed in this image; pip install papermill, or drop notebook_engine: papermill"
        ),
        "{all}"
    );
    assert!(all.contains("127"), "the driver's exit code: {all}");
    assert!(
        !all.contains("after\n"),
        "what waits for it does not run: {all}"
    );
    // No silent fallback: nothing was executed, so there is no executed copy.
    assert!(
        !run_dir(home.path()).join("notebooks/train.ipynb").exists(),
        "{all}"
    );
}

#[test]
fn the_workflow_file_asks_for_papermill_and_lint_and_the_plan_show_it() {
    let home = temp_home();
    copy_notebook(home.path(), "with_parameters.ipynb", "train.ipynb");
    std::fs::write(
        home.path().join("workflow.yaml"),
        "notebook_engine: papermill\njobs:\n  - train.ipynb -p epochs 2\n  - echo done\n",
    )
    .expect("write");
    let lint = run(jupyterflow(home.path()).args(["lint", "-f", "workflow.yaml"]));
    assert_eq!(lint.code, 0, "{}", lint.stderr);
    assert!(
        lint.stdout.contains("notebook engine: papermill\n"),
        "{}",
        lint.stdout
    );
    let plan =
        run(jupyterflow(home.path()).args(["run", "--dry-run", "--local", "-f", "workflow.yaml"]));
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("notebook engine: papermill\n"),
        "{}",
        plan.stdout
    );
    let json = run(jupyterflow(home.path()).args([
        "run",
        "--dry-run",
        "--local",
        "-o",
        "json",
        "-f",
        "workflow.yaml",
    ]));
    let plan: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let env = |i: usize| plan["jobs"][i]["env"].clone();
    assert_eq!(
        env(0),
        serde_json::json!([{"name": ENGINE_ENV, "value": "papermill"}]),
        "the notebook step"
    );
    assert_eq!(env(1), serde_json::json!([]), "not the command");

    // The flag overrides the file; nbclient, the default, goes unsaid.
    let nbclient = run(jupyterflow(home.path()).args([
        "run",
        "--dry-run",
        "--local",
        "--notebook-engine",
        "nbclient",
        "-f",
        "workflow.yaml",
    ]));
    assert_eq!(nbclient.code, 0, "{}", nbclient.stderr);
    assert!(
        !nbclient.stdout.contains("notebook engine"),
        "{}",
        nbclient.stdout
    );
}

#[test]
fn the_argo_template_carries_the_engine_once_for_all_tasks() {
    let home = temp_home();
    copy_notebook(home.path(), "with_parameters.ipynb", "train.ipynb");
    let manifest = |engine: &str| {
        let out = run(jupyterflow(home.path())
            .args([
                "run",
                "--dry-run",
                "-o",
                "json",
                "--notebook-engine",
                engine,
            ])
            .arg("--pod-file")
            .arg(pod("zero-to-jupyterhub"))
            .args([
                "-c",
                "train.ipynb -p learning_rate {0.5,0.25} >> python eval.py",
            ]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        let path = home.path().join(format!("manifest-{engine}.json"));
        std::fs::write(&path, &out.stdout).expect("write");
        crate::schema::assert_valid(&[path]);
        serde_json::from_str::<serde_json::Value>(&out.stdout).expect("JSON")
    };
    let with = manifest("papermill");
    let text = with.to_string();
    assert_eq!(text.matches(ENGINE_ENV).count(), 1, "{text}");
    let tasks = with["spec"]["templates"][0]["dag"]["tasks"]
        .as_array()
        .expect("tasks");
    for task in tasks {
        let mut bare = task.clone();
        bare.as_object_mut().expect("object").remove("withItems");
        let bytes = serde_json::to_string(&bare).expect("JSON").len();
        assert!(bytes <= 200, "{bytes} bytes: {bare}");
    }
    let without = manifest("nbclient");
    assert!(!without.to_string().contains(ENGINE_ENV), "{without}");
}

#[test]
fn an_unknown_engine_is_refused() {
    let home = temp_home();
    std::fs::write(
        home.path().join("workflow.yaml"),
        "notebook_engine: papermil\njobs: [echo a]\n",
    )
    .expect("write");
    let lint = run(jupyterflow(home.path()).args(["lint", "-f", "workflow.yaml"]));
    assert_eq!(lint.code, 2, "{}\n{}", lint.stdout, lint.stderr);
    assert!(
        lint.stderr.contains("did you mean `papermill`?"),
        "{}",
        lint.stderr
    );
    let flag = run(jupyterflow(home.path()).args([
        "run",
        "--dry-run",
        "--local",
        "--notebook-engine",
        "nbconvert",
        "-c",
        "echo a",
    ]));
    assert_eq!(flag.code, 2, "{}", flag.stderr);
    assert!(flag.stderr.contains("papermill"), "{}", flag.stderr);
}
