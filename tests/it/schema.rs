//! Every manifest rendered from the test inputs must pass Argo's own schema and full CRDs:
//! `validate.py --strict --crd` from ../shared/argo (Python deps installed by scripts/test).

use std::path::PathBuf;

use crate::dry_run::{ONE_LINERS, PODS, WORKFLOWS};
use crate::helpers::{jupyterflow, pod, run, temp_home, workflow};

fn validator() -> (PathBuf, PathBuf) {
    let python = std::env::var_os("JUPYTERFLOW_VALIDATE_PYTHON").map(PathBuf::from);
    let argo = std::env::var_os("JUPYTERFLOW_ARGO_DIR").map_or_else(
        || crate::helpers::root().join("../shared/argo"),
        PathBuf::from,
    );
    let Some(python) = python else {
        panic!(
            "JUPYTERFLOW_VALIDATE_PYTHON is not set: run the tests with ./scripts/test, which \
             installs the validator's Python dependencies"
        );
    };
    let script = argo.join("validate.py");
    assert!(
        script.exists(),
        "{} is missing: the Argo reference data must sit next to the project",
        script.display()
    );
    (python, script)
}

#[test]
fn rendered_manifests_pass_argo_schema_and_crds() {
    let home = temp_home();
    let out_dir = home.path().join("manifests");
    std::fs::create_dir_all(&out_dir).expect("dir");
    let mut files = Vec::new();
    // `run --dry-run --pod-file POD FLAG VALUE` (FLAG: -f or -c), saved for the validator.
    let mut render = |name: String, pod_file: &str, flag: &str, value: &str| {
        let out = run(jupyterflow(home.path()).args([
            "run",
            "--dry-run",
            "--pod-file",
            pod_file,
            flag,
            value,
        ]));
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        let path = out_dir.join(format!("{name}.yaml"));
        std::fs::write(&path, out.stdout).expect("write");
        files.push(path);
    };
    for p in PODS {
        let pod_file = pod(p).display().to_string();
        for w in WORKFLOWS {
            render(
                format!("{w}@{p}"),
                &pod_file,
                "-f",
                &workflow(w).display().to_string(),
            );
        }
        for (name, text) in ONE_LINERS {
            render(format!("c-{name}@{p}"), &pod_file, "-c", text);
        }
    }
    // Large shapes: nested DAGs under the 200-task cap, and a big sweep, as large as fits
    // with the status Argo adds as they run (issue 11).
    let pod_file = pod("zero-to-jupyterhub").display().to_string();
    let chain: Vec<String> = (0..2500).map(|i| format!("python step.py {i}")).collect();
    let values: Vec<String> = (0..4_000).map(|i| i.to_string()).collect();
    let sweep = format!("python train.py --seed {{{}}}", values.join(","));
    render("chain-2500".into(), &pod_file, "-c", &chain.join(" >> "));
    render("sweep-4000".into(), &pod_file, "-c", &sweep);
    assert_valid(&files);
}

/// Asserts that Argo's schema and full CRDs accept every manifest in `files`.
pub(crate) fn assert_valid(files: &[PathBuf]) {
    let (python, script) = validator();
    let output = std::process::Command::new(python)
        .arg(script)
        .args(["--strict", "--crd", "-q"])
        .args(files)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "validate.py rejected a manifest:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
