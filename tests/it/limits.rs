//! Issue 11: limits Argo and Linux enforce only once a run is under way, refused before
//! anything is submitted or started: the 1 MiB object Argo keeps once the status of every
//! node is in, and the 128 KiB Linux takes in the one argument a job's command reaches it as.

use crate::helpers::{jupyterflow, pod, run, scrub, temp_home};

/// Replaces the number after each `marker` with `[N]`: sizes depend on the length of the
/// working directory's path, which is in the spec.
fn mask_numbers(text: &str, markers: &[&str]) -> String {
    let mut out = text.to_owned();
    for marker in markers {
        let mut from = 0;
        while let Some(at) = out[from..].find(marker) {
            let start = from + at + marker.len();
            let len = out[start..]
                .find(|c: char| !c.is_ascii_digit() && c != ',')
                .unwrap_or(out.len() - start);
            if len > 0 {
                out.replace_range(start..start + len, "[N]");
            }
            from = start;
        }
    }
    out
}

/// The number after `marker` in `text`.
fn number_after(text: &str, marker: &str) -> usize {
    let at = text.find(marker).expect("marker") + marker.len();
    text[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("a number")
}

fn chain(n: usize) -> String {
    (0..n)
        .map(|i| format!("true {i}"))
        .collect::<Vec<_>>()
        .join(" >> ")
}

/// A chain of 5,000 fits as submitted (~0.6 MiB here) but not once Argo records the status
/// of its nodes: the dry run refuses it (exit 2) saying how many fit, and that many do;
/// `lint` warns and passes (it runs locally as it is); a local plan is not affected.
#[test]
fn a_chain_that_outgrows_argo_once_run_is_refused_for_argo_only() {
    let home = temp_home();
    let text = chain(5_000);
    let dry_run = |text: &str| {
        run(jupyterflow(home.path())
            .args(["run", "--dry-run", "--pod-file"])
            .arg(pod("zero-to-jupyterhub"))
            .args(["-c", text]))
    };
    let out = dry_run(&text);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains("(this pipeline has 5,000)"),
        "{}",
        out.stderr
    );
    let markers = ["about ", "at ~", "at most "];
    insta::assert_snapshot!(
        "dry-run-too-large-once-run",
        mask_numbers(&out.stderr, &markers)
    );
    let fit = number_after(&out.stderr, "bytes a job, about ");
    assert!((2_000..5_000).contains(&fit), "{fit}");
    let fits = dry_run(&chain(fit));
    assert_eq!(fits.code, 0, "{fit} jobs: {}", fits.stderr);

    let out = run(jupyterflow(home.path()).args(["lint", "-c", &text]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "-c: ok (5000 jobs in 5000 tasks, 5000 stages)\n"
    );
    insta::assert_snapshot!(
        "lint-too-large-once-run",
        mask_numbers(&out.stderr, &markers)
    );

    let out = run(jupyterflow(home.path()).args(["run", "--dry-run", "--local", "-c", &text]));
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// A job's command is one argument of `/bin/sh -c`: over 128 KiB it could never start.
/// `lint`, a local run and an Argo dry run refuse 129 KiB (exit 2, nothing started or
/// printed); 127 KiB passes all three, and runs.
#[test]
fn a_command_over_one_argument_is_refused_on_both_backends() {
    let home = temp_home();
    let write = |name: &str, kib: usize| {
        let file = home.path().join(format!("{name}.yaml"));
        let data = "a".repeat(kib * 1024 - "echo ".len());
        std::fs::write(
            &file,
            format!("jobs:\n- name: {name}\n  command: echo {data} > /dev/null\n"),
        )
        .expect("write");
        file
    };
    let verbs: [&[&str]; 3] = [&["lint"], &["run", "--local"], &["run", "--dry-run"]];
    let with_pod = |verb: &[&str]| {
        let mut cmd = jupyterflow(home.path());
        cmd.args(verb);
        if verb.contains(&"--dry-run") {
            cmd.arg("--pod-file").arg(pod("zero-to-jupyterhub"));
        }
        cmd
    };
    let big = write("big", 129);
    for verb in verbs {
        let out = run(with_pod(verb).arg("-f").arg(&big));
        assert_eq!(out.code, 2, "{verb:?}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{verb:?}");
        assert!(
            out.stderr.contains("job `big`: the command is 132,"),
            "{verb:?}: {}",
            out.stderr
        );
    }
    assert!(!home.path().join(".jupyterflow").exists(), "a run started");
    let out = run(jupyterflow(home.path()).arg("lint").arg("-f").arg(&big));
    insta::assert_snapshot!("command-over-one-argument", scrub(&out.stderr, home.path()));

    let fine = write("fine", 127);
    for verb in verbs {
        let out = run(with_pod(verb).arg("-f").arg(&fine));
        assert_eq!(out.code, 0, "{verb:?}: {}", out.stderr);
    }
}
