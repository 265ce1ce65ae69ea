//! Bad input: every error class gives a clear message (what, where, how to fix), exit code 2,
//! and nothing on stdout.

use crate::helpers::{fixture, jupyterflow, pod, run, scrub, temp_home};

const ERROR_FILES: [&str; 17] = [
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
    "matrix-unknown-key",
    "wrong-types",
    "name-collision",
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
        // Report #16/#17: grammar holes, refused with their column.
        ("stray-bracket", "echo a >> echo b] >> echo d"),
        ("groups-side-by-side", "echo a >> [echo b][echo c]"),
        ("nested-sweep", "echo {a,{b,c}}"),
        ("empty-sweep-value", "echo {a,}"),
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

/// Report #5-#7: sweeps of 10^10, 3^41 and 2^64 jobs (the last used to wrap to 0 jobs and
/// "succeed") are refused at once, from `-c` braces and from `matrix:`, as is a pipeline whose
/// jobs add up past the cap. Every verb refuses, and none allocates the expansion first.
#[test]
fn too_many_jobs() {
    let home = temp_home();
    let sweep = |values: usize, times: usize| {
        let values: Vec<String> = (0..values).map(|v| v.to_string()).collect();
        format!("echo{}", format!(" {{{}}}", values.join(",")).repeat(times))
    };
    for (name, text) in [
        ("10-pow-10", sweep(10, 10)),
        ("3-pow-41", sweep(3, 41)),
        ("2-pow-64", sweep(2, 64)),
    ] {
        for verb in [
            &["lint"][..],
            &["graph"],
            &["run", "--local"],
            &["run", "--dry-run", "--local"],
        ] {
            let out = run(jupyterflow(home.path())
                .args(verb)
                .args(["-c", &text])
                .timeout(std::time::Duration::from_secs(10)));
            assert_eq!(out.code, 2, "{name} {verb:?}: {}", out.stderr);
            assert_eq!(out.stdout, "", "{name} {verb:?}");
            assert!(
                !home.path().join(".jupyterflow").exists(),
                "{name}: a run started"
            );
        }
        let out = run(jupyterflow(home.path()).args(["lint", "-c", &text]));
        insta::assert_snapshot!(format!("too-many-jobs-{name}"), out.stderr);
    }
    // matrix: ten keys of ten values, and two jobs of 60,000 points each.
    let keys: Vec<String> = (0..10)
        .map(|k| format!("k{k}: [0,1,2,3,4,5,6,7,8,9]"))
        .collect();
    let placeholders: Vec<String> = (0..10).map(|k| format!("{{k{k}}}")).collect();
    let wide = |n: usize| (0..n).map(|v| v.to_string()).collect::<Vec<_>>().join(",");
    for (name, yaml) in [
        (
            "matrix",
            format!(
                "jobs:\n- name: t\n  command: python t.py {}\n  matrix: {{{}}}\n",
                placeholders.join(" "),
                keys.join(", ")
            ),
        ),
        (
            "total",
            format!(
                "jobs:\n- name: a\n  command: echo {{x}} {{y}}\n  matrix: {{x: [{}], y: [{}]}}\n- name: b\n  command: echo {{x}} {{y}}\n  matrix: {{x: [{}], y: [{}]}}\n",
                wide(300),
                wide(200),
                wide(300),
                wide(200)
            ),
        ),
    ] {
        let file = home.path().join(format!("{name}.yaml"));
        std::fs::write(&file, yaml).expect("write");
        let out = run(jupyterflow(home.path())
            .arg("lint")
            .arg("-f")
            .arg(&file)
            .timeout(std::time::Duration::from_secs(10)));
        assert_eq!(out.code, 2, "{name}: {}", out.stderr);
        assert_eq!(out.stdout, "");
        insta::assert_snapshot!(
            format!("too-many-jobs-{name}"),
            scrub(&out.stderr, home.path())
        );
    }
}

/// Report #8: a `>>` meant as a redirection made the file a stage of its own. A stage (or a
/// workflow.yaml job) whose program is plainly a data file is refused, with a hint that shows
/// the redirection that works.
#[test]
fn data_file_as_a_program() {
    let home = temp_home();
    std::fs::write(
        home.path().join("notes"),
        "an existing, non-executable file\n",
    )
    .expect("write");
    let out =
        run(jupyterflow(home.path()).args(["lint", "-c", "python train.py >> log.txt >> notes"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    insta::assert_snapshot!("c-error-data-file", out.stderr);
    let file = home.path().join("workflow.yaml");
    std::fs::write(&file, "jobs:\n- python train.py\n- results.csv\n").expect("write");
    let out = run(jupyterflow(home.path()).arg("lint").arg("-f").arg(&file));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    insta::assert_snapshot!("error-data-file", scrub(&out.stderr, home.path()));
}

/// Report #9: a job named `"1"` referenced by `depends: ["1"]` or `dags: ["1 >> c"]` used to
/// mean the first job, silently. Numbers are positions; a job named with one is refused.
#[test]
fn numeric_job_names() {
    let home = temp_home();
    for (name, refer) in [
        (
            "depends",
            "- {name: c, command: echo c, depends: [\"1\"]}\n",
        ),
        ("dags", "- {name: c, command: echo c}\ndags: [\"1 >> c\"]\n"),
    ] {
        let file = home.path().join(format!("{name}.yaml"));
        std::fs::write(
            &file,
            format!("jobs:\n- {{name: x, command: echo x}}\n- {{name: \"1\", command: echo one}}\n{refer}"),
        )
        .expect("write");
        for verb in [&["lint"][..], &["run", "--local"]] {
            let out = run(jupyterflow(home.path()).args(verb).arg("-f").arg(&file));
            assert_eq!(out.code, 2, "{name} {verb:?}: {}", out.stderr);
            assert_eq!(out.stdout, "");
        }
        let out = run(jupyterflow(home.path()).arg("lint").arg("-f").arg(&file));
        insta::assert_snapshot!(
            format!("numeric-name-{name}"),
            scrub(&out.stderr, home.path())
        );
    }
}

/// Report #12/#13/#19: values Kubernetes or Argo would refuse (or a local run would mangle)
/// are refused with file:line:column and the key, by `lint` and by a local run alike.
#[test]
fn values_kubernetes_would_refuse() {
    let home = temp_home();
    for (name, yaml) in [
        (
            "env-and-limits",
            "timeout: 213503982334601d\nttl: 99999999999s\njobs:\n- name: a\n  command: env\n  env: {'1BAD=X': v, '': e, OK: fine}\n  timeout: 0s\n",
        ),
        (
            "zones-and-schedule",
            "schedule: '0 0 30 2 *'\ntimezone: Mars/Olympus\njobs: [echo a]\n",
        ),
        (
            "cron-tz",
            "schedule: 'CRON_TZ=Europe/Pariss 0 3 * * *'\njobs: [echo a]\n",
        ),
    ] {
        let file = home.path().join(format!("{name}.yaml"));
        std::fs::write(&file, yaml).expect("write");
        for verb in [&["lint"][..], &["run", "--local"]] {
            let out = run(jupyterflow(home.path()).args(verb).arg("-f").arg(&file));
            assert_eq!(out.code, 2, "{name} {verb:?}: {}", out.stderr);
            assert_eq!(out.stdout, "");
        }
        let out = run(jupyterflow(home.path()).arg("lint").arg("-f").arg(&file));
        insta::assert_snapshot!(
            format!("refused-values-{name}"),
            scrub(&out.stderr, home.path())
        );
    }
    assert!(!home.path().join(".jupyterflow").exists(), "a run started");
}

/// Report #28: a workflow file, pod file or config file that never ends (or is far too big)
/// is refused at once, naming the cap, instead of being read until memory runs out.
#[test]
fn endless_inputs_are_refused_at_their_cap() {
    let home = temp_home();
    let big = home.path().join("big.yaml");
    std::fs::write(&big, format!("jobs:\n{}", "- echo a\n".repeat(2 << 20))).expect("write");
    let quick = std::time::Duration::from_secs(20);
    for (name, cmd) in [
        (
            "workflow-file",
            jupyterflow(home.path())
                .args(["lint", "-f", "/dev/zero"])
                .timeout(quick),
        ),
        (
            "workflow-file-big",
            jupyterflow(home.path())
                .arg("lint")
                .arg("-f")
                .arg(&big)
                .timeout(quick),
        ),
        (
            "pod-file",
            jupyterflow(home.path())
                .args([
                    "run",
                    "--dry-run",
                    "--pod-file",
                    "/dev/zero",
                    "-c",
                    "echo a",
                ])
                .timeout(quick),
        ),
        (
            "config-file",
            jupyterflow(home.path())
                .env("JUPYTERFLOW_CONFIG_FILE", "/dev/zero")
                .arg("config")
                .timeout(quick),
        ),
    ] {
        let out = run(cmd);
        assert_eq!(out.code, 2, "{name}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{name}");
        insta::assert_snapshot!(
            format!("capped-read-{name}"),
            scrub(&out.stderr, home.path())
        );
    }
}
