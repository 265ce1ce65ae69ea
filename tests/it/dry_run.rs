//! `run --dry-run`: the manifests users see, for our fixture pods × the original tool's doc
//! examples and our extensions, plus byte-exact values and output formats.

use crate::helpers::{jupyterflow, pod, run, scrub, temp_home, workflow};

pub(crate) const PODS: [&str; 4] = [
    "zero-to-jupyterhub",
    "zero-to-jupyterhub-2020",
    "kubeflow-notebook",
    "minimal",
];
pub(crate) const WORKFLOWS: [&str; 7] = [
    "get-started",
    "basic",
    "ml-pipeline",
    "hello-world",
    "scheduled",
    "sweep",
    "gpu",
];
pub(crate) const ONE_LINERS: [(&str, &str); 4] = [
    (
        "chain",
        "python prep.py >> python train.py --lr 0.1 >> python eval.py",
    ),
    (
        "group",
        "python prep.py >> [python a.py, python b.py] >> python eval.py",
    ),
    (
        "sweep",
        "python prep.py >> python train.py --lr {0.1,0.01} --act {relu,tanh} >> python eval.py",
    ),
    (
        "shell",
        "cat data.csv | wc -l > rows.txt >> echo 'good bye'",
    ),
];

#[test]
fn workflow_files_on_every_pod() {
    let home = temp_home();
    for p in PODS {
        for w in WORKFLOWS {
            let out = run(jupyterflow(home.path())
                .args(["run", "--dry-run", "--pod-file"])
                .arg(pod(p))
                .arg("-f")
                .arg(workflow(w)));
            assert_eq!(out.code, 0, "{p} × {w}: {}", out.stderr);
            insta::assert_snapshot!(format!("{w}@{p}"), scrub(&out.stdout, home.path()));
        }
    }
}

#[test]
fn one_liners_on_the_jupyterhub_pod() {
    let home = temp_home();
    for (name, text) in ONE_LINERS {
        let out = run(jupyterflow(home.path())
            .args(["run", "--dry-run", "--pod-file"])
            .arg(pod("zero-to-jupyterhub"))
            .args(["-c", text]));
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        insta::assert_snapshot!(format!("c-{name}"), scrub(&out.stdout, home.path()));
    }
}

#[test]
fn dry_run_explains_its_choices_on_stderr() {
    let home = temp_home();
    let out = run(jupyterflow(home.path())
        .args(["run", "--dry-run", "--pod-file"])
        .arg(pod("zero-to-jupyterhub"))
        .args(["-c", "echo hi"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("notes-zero-to-jupyterhub", scrub(&out.stderr, home.path()));
    let pinned = run(jupyterflow(home.path())
        .args([
            "run",
            "--dry-run",
            "--no-pin-image",
            "-o",
            "jsonpath={.spec.templates[1].container.image}",
            "--pod-file",
        ])
        .arg(pod("zero-to-jupyterhub"))
        .args(["-c", "echo hi"]));
    assert_eq!(pinned.stdout, "jupyter/datascience-notebook:2023-10-20\n");
}

#[test]
fn output_formats() {
    let home = temp_home();
    let base = |o: &str| {
        run(jupyterflow(home.path())
            .args(["run", "--dry-run", "-o", o, "--pod-file"])
            .arg(pod("minimal"))
            .args(["-c", "echo a >> echo b"]))
    };
    assert_eq!(base("name").stdout, "workflow.argoproj.io/minimal-\n");
    assert_eq!(
        base("jsonpath={.metadata.generateName}").stdout,
        "minimal-\n"
    );
    assert_eq!(base("jsonpath=metadata.generateName").stdout, "minimal-\n");
    assert_eq!(
        base("jsonpath={.spec.templates[0].dag.tasks[*].name}").stdout,
        "echo-1 echo-2\n"
    );
    let json: serde_json::Value = serde_json::from_str(&base("json").stdout).expect("json");
    assert_eq!(json["kind"], "Workflow");
    let bad = base("xml");
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("unknown output format `xml`"),
        "{}",
        bad.stderr
    );
}

/// What the kubelet does to a container's command before running it: `$$` → `$`, and
/// `$(VAR)` → the variable (none are defined here, so it stays as written).
fn kubernetes_expand(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek() == Some(&'$') {
            chars.next();
        }
        out.push(c);
    }
    out
}

/// Values the original tool broke by pasting text into a YAML template must arrive unchanged,
/// in both output formats, and the command must reach the shell with the same argv.
#[test]
fn values_travel_byte_exact() {
    let home = temp_home();
    let odd_dir = home.path().join("my data #1: \"final\" 'v2'");
    std::fs::create_dir_all(&odd_dir).expect("dir");
    let config = home.path().join("config.yaml");
    let tricky_env = "{\"scopes\": [\"a\", \"b\"]}\nline two \\ back 'single' \"double\"";
    std::fs::write(
        &config,
        format!(
            "spec:\n  env:\n  - name: TRICKY\n    value: {}\n",
            serde_json::to_string(tricky_env).expect("json string")
        ),
    )
    .expect("write config");
    let arg = r#"it's "quoted" \ $HOME $(HOME) $$ #not-a-comment: yes"#;
    let command = format!(
        "printf '%s\\n' {}",
        jupyterflow::pipeline::command::quote(arg)
    );
    for format in ["json", "yaml"] {
        let out = run(jupyterflow(home.path())
            .current_dir(&odd_dir)
            .env("JUPYTERFLOW_CONFIG_FILE", &config)
            .args(["run", "--dry-run", "-o", format, "--pod-file"])
            .arg(pod("minimal"))
            .args(["-c", &command]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        let value: serde_json::Value = if format == "json" {
            serde_json::from_str(&out.stdout).expect("json")
        } else {
            serde_saphyr::from_str(&out.stdout).expect("yaml")
        };
        let container = &value["spec"]["templates"][1]["container"];
        let canon = std::fs::canonicalize(&odd_dir).expect("canon");
        assert_eq!(container["workingDir"], canon.to_string_lossy().as_ref());
        let env = container["env"].as_array().expect("env");
        let tricky = env.iter().find(|e| e["name"] == "TRICKY").expect("TRICKY");
        assert_eq!(tricky["value"], tricky_env, "{format}");
        let cmd =
            value["spec"]["templates"][0]["dag"]["tasks"][0]["arguments"]["parameters"][0]["value"]
                .as_str()
                .expect("cmd")
                .to_owned();
        let printed = std::process::Command::new("/bin/sh")
            .args(["-c", &kubernetes_expand(&cmd)])
            .output()
            .expect("sh");
        assert_eq!(String::from_utf8_lossy(&printed.stdout), format!("{arg}\n"));
    }
}
