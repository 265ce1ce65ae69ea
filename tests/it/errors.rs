//! Bad input: every error class gives a clear message (what, where, how to fix), exit code 2,
//! and nothing on stdout.

use crate::helpers::{fixture, jupyterflow, pod, run, scrub, temp_home};

const ERROR_FILES: [&str; 14] = [
    "unknown-key",
    "bad-type",
    "empty",
    "unclosed-quote",
    "unknown-ref",
    "index-zero",
    "out-of-range",
    "duplicate-name",
    "self-dep",
    "cycle",
    "bad-cron",
    "bad-quantity",
    "matrix-no-values",
    "matrix-unused-key",
];

#[test]
fn every_error_class_in_workflow_files() {
    let home = temp_home();
    for name in ERROR_FILES {
        let file = fixture(&format!("workflows/errors/{name}.yaml"));
        for verb in ["lint", "run"] {
            let mut cmd = jupyterflow(home.path());
            cmd.arg(verb);
            if verb == "run" {
                cmd.args(["--dry-run", "--pod-file"]).arg(pod("minimal"));
            }
            let out = run(cmd.arg("-f").arg(&file));
            assert_eq!(out.code, 2, "{name} ({verb}): {}", out.stderr);
            assert_eq!(out.stdout, "", "{name} ({verb}) printed output");
            if verb == "lint" {
                insta::assert_snapshot!(format!("error-{name}"), scrub(&out.stderr, home.path()));
            }
        }
    }
}

#[test]
fn one_liner_errors() {
    let home = temp_home();
    for (name, text) in [
        ("empty", "  "),
        ("empty-stage", "echo a >> >> echo b"),
        ("unclosed-group", "echo a >> [echo b, echo c"),
        ("unclosed-quote", "echo 'a >> echo b"),
        ("argo-template", "echo '{{workflow.name}}'"),
    ] {
        let mut cmd = jupyterflow(home.path());
        let out = run(cmd
            .args(["run", "--dry-run", "--pod-file"])
            .arg(pod("minimal"))
            .args(["-c", text]));
        assert_eq!(out.code, 2, "{name}: {}", out.stderr);
        assert_eq!(out.stdout, "");
        insta::assert_snapshot!(format!("c-error-{name}"), out.stderr);
    }
}

#[test]
fn missing_files_and_bad_pods() {
    let home = temp_home();
    let out = run(jupyterflow(home.path()).args(["lint", "-f", "nope.yaml"]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("nope.yaml"), "{}", out.stderr);
    let bad_pod = home.path().join("pod.json");
    std::fs::write(
        &bad_pod,
        "{\"kind\": \"Pod\", \"metadata\": {\"name\": \"x\"}, \"spec\": {\"containers\": []}}",
    )
    .expect("write");
    let out = run(jupyterflow(home.path())
        .args(["run", "--dry-run", "--pod-file"])
        .arg(&bad_pod)
        .args(["-c", "echo a"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("no containers"), "{}", out.stderr);
    // Without a pod there is no Argo Workflow to show: the dry run shows the local plan and
    // says how to get the Workflow instead.
    let out = run(jupyterflow(home.path()).args(["run", "--dry-run", "-c", "echo a"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("--dry-run --pod-file POD"),
        "{}",
        out.stderr
    );
    let out = run(jupyterflow(home.path()).args(["run", "--pod-file", "pod.json", "-c", "echo a"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("--pod-file is for --dry-run"),
        "{}",
        out.stderr
    );
}
