//! `lint`, `graph` and `config`, and the `--help` text.

use crate::helpers::{jupyterflow, pod, run, scrub, temp_home, workflow};

#[test]
fn lint_reports_a_summary() {
    let home = temp_home();
    let out = run(jupyterflow(home.path())
        .arg("lint")
        .arg("-f")
        .arg(workflow("ml-pipeline")));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        scrub(&out.stdout, home.path()),
        "[ROOT]/tests/fixtures/workflows/ml-pipeline.yaml: ok (5 jobs in 5 tasks, 3 stages)\n"
    );
    let out = run(jupyterflow(home.path()).args(["lint", "-c", "a >> b {1,2,3}"]));
    assert_eq!(out.stdout, "-c: ok (4 jobs in 2 tasks, 2 stages)\n");
    // Report #16: a group inside a group adds its commands to the stage.
    let out = run(jupyterflow(home.path()).args(["lint", "-c", "a >> [b, [c, d]] >> e"]));
    assert_eq!(
        out.stdout, "-c: ok (5 jobs in 5 tasks, 3 stages)\n",
        "{}",
        out.stderr
    );
}

#[test]
fn graphs_in_three_formats() {
    let home = temp_home();
    for format in ["ascii", "mermaid", "dot"] {
        let out = run(jupyterflow(home.path()).args([
            "graph",
            "--format",
            format,
            "-c",
            "python prep.py >> [python a.py, python b.py --x {1,2}] >> python eval.py",
        ]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        insta::assert_snapshot!(format!("graph-{format}"), out.stdout);
    }
    let out = run(jupyterflow(home.path())
        .arg("graph")
        .arg("-f")
        .arg(workflow("ml-pipeline")));
    insta::assert_snapshot!("graph-ml-pipeline", out.stdout);
}

#[test]
fn a_fifty_job_graph_stays_readable() {
    let home = temp_home();
    let stages: Vec<String> = (0..10)
        .map(|s| {
            let group: Vec<String> = (0..5).map(|j| format!("python step{s}_{j}.py")).collect();
            format!("[{}]", group.join(", "))
        })
        .collect();
    let out = run(jupyterflow(home.path()).args(["graph", "-c", &stages.join(" >> ")]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 51);
    assert!(
        lines.iter().all(|l| l.chars().count() <= 160),
        "{}",
        out.stdout
    );
    assert!(lines[5].starts_with("[2]"), "{}", lines[5]);
}

#[test]
fn config_generate_show_and_refuse_overwrite() {
    let home = temp_home();
    let out = run(jupyterflow(home.path()).arg("config"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("no config file"), "{}", out.stderr);
    let out = run(jupyterflow(home.path()).args(["config", "--generate-config"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(home.path().join(".jupyterflow.yaml").exists());
    let again = run(jupyterflow(home.path()).args(["config", "--generate-config"]));
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    let forced = run(jupyterflow(home.path()).args(["config", "--generate-config", "--force"]));
    assert_eq!(forced.code, 0);
    let shown = run(jupyterflow(home.path()).arg("config"));
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    insta::assert_snapshot!("config-effective", scrub(&shown.stdout, home.path()));
}

#[test]
fn help_text() {
    let home = temp_home();
    let out = run(jupyterflow(home.path()).args(["run", "--help"]));
    assert_eq!(out.code, 0);
    insta::assert_snapshot!("help-run", out.stdout);
}

/// Every verb's `--help`, so the command-line surface is reviewed in diffs.
#[test]
fn help_of_every_verb() {
    let home = temp_home();
    let out = run(jupyterflow(home.path()).arg("--help"));
    assert_eq!(out.code, 0);
    insta::assert_snapshot!("help", out.stdout);
    for verb in [
        "lint",
        "graph",
        "config",
        "list",
        "get",
        "watch",
        "logs",
        "stop",
        "terminate",
        "resubmit",
        "retry",
        "delete",
        "completions",
        "doctor",
        "version",
    ] {
        let out = run(jupyterflow(home.path()).args([verb, "--help"]));
        assert_eq!(out.code, 0, "{verb}: {}", out.stderr);
        insta::assert_snapshot!(format!("help-{verb}"), out.stdout);
    }
}

/// Completion scripts work in the shell they are for: bash completes a verb and a flag.
#[test]
fn completions_complete_and_the_man_page_lists_every_verb() {
    let home = temp_home();
    let bash = run(jupyterflow(home.path()).args(["completions", "bash"]));
    assert_eq!(bash.code, 0, "{}", bash.stderr);
    let script = home.path().join("jf.bash");
    std::fs::write(&script, &bash.stdout).expect("write");
    let complete = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let probe = format!(
            "source {}; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT={}; _jupyterflow jupyterflow '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            words
                .iter()
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(" "),
            words.len() - 1,
            line.len(),
            words[words.len() - 1],
            words[words.len() - 2],
        );
        let out = std::process::Command::new("bash")
            .args(["-c", &probe])
            .output()
            .expect("bash runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let verbs = complete("jupyterflow ru");
    assert!(verbs.lines().any(|w| w == "run"), "{verbs}");
    let flags = complete("jupyterflow run --dry");
    assert!(flags.lines().any(|w| w == "--dry-run"), "{flags}");

    let zsh = run(jupyterflow(home.path()).args(["completions", "zsh"]));
    assert!(
        zsh.stdout.starts_with("#compdef jupyterflow"),
        "{}",
        zsh.stdout
    );
    let fish = run(jupyterflow(home.path()).args(["completions", "fish"]));
    assert!(
        fish.stdout.contains("complete -c jupyterflow"),
        "{}",
        fish.stdout
    );

    let man = run(jupyterflow(home.path()).arg("man"));
    assert_eq!(man.code, 0, "{}", man.stderr);
    assert!(man.stdout.contains(".TH jupyterflow 1"), "{}", man.stdout);
    for verb in [
        "run", "lint", "graph", "list", "get", "logs", "delete", "watch", "resubmit",
    ] {
        assert!(
            man.stdout.contains(&format!("jupyterflow\\-{verb}")),
            "{verb} missing from the man page"
        );
    }
    let version = run(jupyterflow(home.path()).arg("version"));
    assert_eq!(
        version.stdout,
        format!("jupyterflow {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// Report #3/#4: repeated job names of 60+ characters used to hang every verb. Each case must
/// finish (the timeout turns a hang into a failure) with distinct names of at most 63.
#[test]
fn long_repeated_job_names_are_numbered() {
    let home = temp_home();
    for (len, repeats) in [(62, 2), (61, 10), (60, 100), (63, 100)] {
        let stage = format!("python {}.py", "a".repeat(len));
        let text = vec![stage; repeats].join(" >> ");
        let out = run(jupyterflow(home.path())
            .args(["graph", "-c", &text])
            .timeout(std::time::Duration::from_secs(30)));
        assert_eq!(out.code, 0, "{len} × {repeats}: {}", out.stderr);
        let names: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| l.starts_with('['))
            .filter_map(|l| l.split_whitespace().nth(1))
            .collect();
        let distinct: std::collections::HashSet<&&str> = names.iter().collect();
        assert_eq!(distinct.len(), repeats, "{}", out.stdout);
        assert!(names.iter().all(|n| n.len() <= 63), "{}", out.stdout);
    }
}

/// Report #21/#22 and `lint` vs `run --local`: a pipeline too big for one Argo workflow runs
/// locally, so `lint` says ok and warns about Argo (exit 0), while an Argo dry run refuses it
/// with the real limit.
#[test]
fn too_big_for_argo_is_a_lint_warning_and_an_argo_error() {
    let home = temp_home();
    let chain: Vec<String> = (0..10_000).map(|i| format!("true {i}")).collect();
    let text = chain.join(" >> ");
    let out = run(jupyterflow(home.path()).args(["lint", "-c", &text]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "-c: ok (10000 jobs in 10000 tasks, 10000 stages)\n"
    );
    insta::assert_snapshot!("lint-too-large-for-argo", mask_size(&out.stderr));
    let out = run(jupyterflow(home.path())
        .args(["run", "--dry-run", "--pod-file"])
        .arg(pod("minimal"))
        .args(["-c", &text]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    insta::assert_snapshot!("dry-run-too-large-for-argo", mask_size(&out.stderr));
    let out = run(jupyterflow(home.path()).args(["run", "--dry-run", "--local", "-c", &text]));
    assert_eq!(out.code, 0, "{}", out.stderr);

    // 199 jobs with their own env: 201 templates, and the hint blames them.
    let jobs: Vec<String> = (0..199)
        .map(|i| format!("- {{command: true {i}, env: {{A: '{i}'}}}}"))
        .collect();
    let file = home.path().join("own.yaml");
    std::fs::write(&file, format!("jobs:\n{}\n", jobs.join("\n"))).expect("write");
    let out = run(jupyterflow(home.path()).arg("lint").arg("-f").arg(&file));
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("lint-too-many-templates", out.stderr);
}

/// The size of a rendered workflow depends on the working directory's path: masked.
fn mask_size(text: &str) -> String {
    let (before, after) = ("the Workflow is ", " bytes as JSON");
    match (text.find(before), text.find(after)) {
        (Some(start), Some(end)) if start + before.len() <= end => {
            format!("{}[SIZE]{}", &text[..start + before.len()], &text[end..])
        }
        _ => text.to_owned(),
    }
}
