//! Test helpers: a `jupyterflow` command with a clean, fixed environment, fixture paths, and
//! insta filters for what varies between machines (the checkout path).

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures").join(rel)
}

pub(crate) fn pod(name: &str) -> PathBuf {
    fixture(&format!("pods/{name}.json"))
}

pub(crate) fn workflow(name: &str) -> PathBuf {
    fixture(&format!("workflows/{name}.yaml"))
}

/// The environment every test gives the binary besides PATH and HOME, so nothing depends on
/// the machine the suite runs on: UTC, an account database without `jovyan` (a Jupyter image
/// has one; the uid fallback is tested on its own), a mount table where every path is on a
/// plain read-write file system (the machine's /tmp may be noexec), and a small stand-in for
/// the binary job pods run, so a copy's name (its content's hash) is the same on every build.
pub(crate) fn hermetic_env() -> [(&'static str, PathBuf); 4] {
    [
        ("TZ", PathBuf::from("UTC")),
        ("JUPYTERFLOW_PASSWD_FILE", fixture("passwd-no-jovyan")),
        (
            "JUPYTERFLOW_MOUNTINFO_FILE",
            fixture("supervisor/mountinfo"),
        ),
        ("JUPYTERFLOW_EXE", fixture("supervisor/jupyterflow")),
    ]
}

/// The binary, with the environment a notebook would give it and no user config file.
pub(crate) fn jupyterflow(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("jupyterflow").expect("binary built");
    cmd.env_clear()
        .env("PATH", "/opt/conda/bin:/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home)
        .env("NB_USER", "jovyan")
        .envs(hermetic_env())
        .current_dir(home);
    cmd
}

pub(crate) struct Output {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

pub(crate) fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("runs");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// Replaces machine-specific paths so snapshots are the same everywhere.
pub(crate) fn scrub(text: &str, home: &Path) -> String {
    let root = root();
    let root_canon = std::fs::canonicalize(&root).unwrap_or(root.clone());
    let home_canon = std::fs::canonicalize(home).unwrap_or(home.to_path_buf());
    text.replace(&*root_canon.to_string_lossy(), "[ROOT]")
        .replace(&*root.to_string_lossy(), "[ROOT]")
        .replace(&*home_canon.to_string_lossy(), "[HOME]")
        .replace(&*home.to_string_lossy(), "[HOME]")
        // Job pods are pinned to the CPU of the machine that renders them.
        .replace(
            &format!("kubernetes.io/arch: {}", arch()),
            "kubernetes.io/arch: [ARCH]",
        )
        .replace(&format!("to {} nodes", arch()), "to [ARCH] nodes")
}

/// This machine's CPU as Kubernetes names it (`kubernetes.io/arch`).
pub(crate) fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub(crate) fn temp_home() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("jf-home")
        .tempdir()
        .expect("temp dir")
}
