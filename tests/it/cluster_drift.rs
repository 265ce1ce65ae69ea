//! The drift guard through the binary: packages installed in the notebook after it started,
//! outside the volumes jobs mount, are named before submitting (warn), stop the submission
//! (refuse), or are saved as wheels every job installs first (replay). The notebook's image is
//! a fixture tree with chosen mtimes around the fixture pod's container start
//! (2025-03-11T09:14:09Z); never this machine's site-packages.

use std::fs::{self, File, FileTimes};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::cluster_helpers::{NAMESPACE, Notebook, Volume};
use crate::helpers::run;

/// Before and after the fixture pod's notebook container started.
fn before() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_735_689_600) // 2025-01-01
}
fn after() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_748_736_000) // 2025-06-01
}

fn touch(path: &Path, when: SystemTime) {
    let file = File::open(path).expect("open to set its time");
    file.set_times(FileTimes::new().set_modified(when))
        .expect("set mtime");
}

/// A dist-info record (a folder) with this mtime.
fn record(site: &Path, entry: &str, when: SystemTime) {
    let dir = site.join(entry);
    fs::create_dir_all(&dir).expect("record dir");
    fs::write(dir.join("METADATA"), "Metadata-Version: 2.1\n").expect("metadata");
    touch(&dir, when);
}

/// The image's conda environment: `bin/python3 -> python3.11` (`python3.11` is `interpreter`'s
/// text), numpy from the image build, seaborn pip-installed after the start. The user site on
/// the home volume (shared) got tqdm after the start too: jobs see that one.
fn conda_image(nb: &Notebook, interpreter: &str) -> PathBuf {
    let conda = nb.image.path().join("opt/conda");
    let bin = conda.join("bin");
    fs::create_dir_all(&bin).expect("bin");
    let python = bin.join("python3.11");
    fs::write(&python, interpreter).expect("interpreter");
    fs::set_permissions(&python, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    std::os::unix::fs::symlink("python3.11", bin.join("python3")).expect("symlink");
    let site = conda.join("lib/python3.11/site-packages");
    record(&site, "numpy-2.1.0.dist-info", before());
    record(&site, "seaborn-0.13.2.dist-info", after());
    let user_site = nb.workdir.join(".local/lib/python3.11/site-packages");
    record(&user_site, "tqdm-4.66.1.dist-info", after());
    conda
}

fn submitted_command(nb: &Notebook) -> String {
    let workflows = nb.api.workflows(NAMESPACE);
    let template = workflows[0]["spec"]["templates"]
        .as_array()
        .expect("templates")
        .iter()
        .find(|t| t["name"] == "job")
        .expect("the shared job template")
        .clone();
    // The script `/bin/sh -c` runs: the command's last word, with or without the supervisor.
    template["container"]["command"]
        .as_array()
        .and_then(|command| command.last())
        .and_then(serde_json::Value::as_str)
        .expect("script")
        .to_owned()
}

#[test]
fn packages_installed_after_the_start_are_named_before_submitting() {
    let nb = Notebook::start(Volume::Nfs);
    conda_image(&nb, "#!/bin/sh\nexit 1\n");
    let out = run(nb.in_pod().args(["run", "-c", "python train.py"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "warning: 1 Python package was installed after the notebook started, outside every \
             volume the jobs mount, so job pods (started from the image) will not have it: \
             seaborn 0.13.2\n  hint: install them on your home volume (`pip install --user …`)"
        ),
        "{}",
        out.stderr
    );
    // numpy came with the image; tqdm is on the home volume the jobs mount.
    assert!(!out.stderr.contains("numpy"), "{}", out.stderr);
    assert!(!out.stderr.contains("tqdm"), "{}", out.stderr);
    assert_eq!(nb.workflows().len(), 1, "warn still submits");
    assert_eq!(submitted_command(&nb), "{{inputs.parameters.cmd}}");

    // -v says what was looked at.
    let out = run(nb.in_pod().args(["run", "-v", "-c", "python train.py"]));
    assert!(
        out.stderr
            .contains("drift: 3 package records in 2 folders of 1 environment(s) looked at in"),
        "{}",
        out.stderr
    );
}

#[test]
fn refuse_submits_nothing_and_a_dry_run_says_it_would() {
    let nb = Notebook::start(Volume::Nfs);
    conda_image(&nb, "#!/bin/sh\nexit 1\n");
    let out = run(nb
        .in_pod()
        .args(["run", "--drift", "refuse", "-c", "python train.py"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("will not have it: seaborn 0.13.2 (drift: refuse)"),
        "{}",
        out.stderr
    );
    assert!(nb.workflows().is_empty());

    let out = run(nb.in_pod().args([
        "run",
        "--dry-run",
        "--drift",
        "refuse",
        "-c",
        "python train.py",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("note: a submission would be refused (drift: refuse): 1 Python package"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_config_can_turn_the_check_off_and_the_flag_wins_over_it() {
    let nb = Notebook::start(Volume::Nfs);
    conda_image(&nb, "#!/bin/sh\nexit 1\n");
    let config = nb.workdir.join("jf.yaml");
    fs::write(&config, "drift: ignore\n").expect("config");
    let out = run(nb.in_pod().env("JUPYTERFLOW_CONFIG_FILE", &config).args([
        "run",
        "-c",
        "python train.py",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("seaborn"), "{}", out.stderr);
    let out = run(nb.in_pod().env("JUPYTERFLOW_CONFIG_FILE", &config).args([
        "run",
        "--drift",
        "refuse",
        "-c",
        "python train.py",
    ]));
    assert_eq!(out.code, 2, "{}", out.stderr);
}

/// A minimal valid wheel of `name` `version`, made with the test's Python (the venv
/// scripts/test makes for the schema checker).
fn wheel(python: &Path, dir: &Path, name: &str, version: &str) {
    let script = format!(
        r#"
import zipfile, sys
name, version, path = "{name}", "{version}", sys.argv[1]
info = f"{{name}}-{{version}}.dist-info"
with zipfile.ZipFile(path, "w") as z:
    z.writestr(f"{{name}}/__init__.py", "VALUE = 1\n")
    z.writestr(f"{{info}}/METADATA", f"Metadata-Version: 2.1\nName: {{name}}\nVersion: {{version}}\n")
    z.writestr(f"{{info}}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    z.writestr(f"{{info}}/RECORD", "")
"#
    );
    let path = dir.join(format!("{name}-{version}-py3-none-any.whl"));
    let status = std::process::Command::new(python)
        .args(["-c", &script])
        .arg(&path)
        .status()
        .expect("python runs");
    assert!(status.success());
}

/// Replay saves the wheels once (with the notebook's pip, here offline from a local folder),
/// proves they install, and makes every job install exactly them first; a second run reuses
/// the cache.
#[test]
fn replay_saves_the_wheels_and_every_job_installs_them_first() {
    let python = PathBuf::from(
        std::env::var_os("JUPYTERFLOW_VALIDATE_PYTHON")
            .expect("JUPYTERFLOW_VALIDATE_PYTHON: run the suite with ./scripts/test"),
    );
    let nb = Notebook::start(Volume::Nfs);
    // The image's python3.11 is the test's Python, so its pip does the saving.
    let conda = conda_image(
        &nb,
        &format!("#!/bin/sh\nexec {} \"$@\"\n", python.display()),
    );
    let index = tempfile::tempdir().expect("index");
    wheel(&python, index.path(), "seaborn", "0.13.2");
    let replay = || {
        run(nb
            .in_pod()
            .env("PIP_NO_INDEX", "1")
            .env("PIP_FIND_LINKS", index.path())
            .env("PIP_NO_CACHE_DIR", "1")
            .args(["run", "--drift", "replay", "-c", "python train.py"]))
    };
    let out = replay();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("note: drift replay: every job first installs 1 package(s) from")
            && out.stderr.contains("(1 wheel(s), ")
            && out.stderr.contains(", saved now); installing them took "),
        "{}",
        out.stderr
    );
    let caches: Vec<PathBuf> = fs::read_dir(nb.workdir.join(".jupyterflow/wheels"))
        .expect("the cache folder")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(caches.len(), 1, "{caches:?}");
    let cache = &caches[0];
    assert!(cache.join("seaborn-0.13.2-py3-none-any.whl").is_file());
    assert!(
        !cache.join(".trial").exists(),
        "the trial install is cleaned up"
    );
    let script = submitted_command(&nb);
    let (setup, command) = script.split_once('\n').expect("setup, then the command");
    assert_eq!(command, "{{inputs.parameters.cmd}}");
    assert_eq!(
        setup,
        format!(
            "{}/bin/python3 -m pip install --quiet --disable-pip-version-check --no-deps \
             --no-index --find-links {} seaborn==0.13.2 || {{ echo 'jupyterflow: installing the \
             packages installed in the notebook after it started failed (drift: replay)' >&2; \
             exit 1; }}",
            conda.display(),
            cache.display()
        )
    );
    let workflow: &Value = &nb.workflows()[0];
    assert!(workflow["metadata"]["name"].is_string());

    let again = replay();
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stderr.contains(", saved by an earlier run)"),
        "{}",
        again.stderr
    );
}

/// A version pip cannot fetch stops the submission, with pip's own words.
#[test]
fn replay_that_cannot_save_the_wheels_submits_nothing() {
    let python = PathBuf::from(
        std::env::var_os("JUPYTERFLOW_VALIDATE_PYTHON")
            .expect("JUPYTERFLOW_VALIDATE_PYTHON: run the suite with ./scripts/test"),
    );
    let nb = Notebook::start(Volume::Nfs);
    conda_image(
        &nb,
        &format!("#!/bin/sh\nexec {} \"$@\"\n", python.display()),
    );
    let empty = tempfile::tempdir().expect("index");
    let out = run(nb
        .in_pod()
        .env("PIP_NO_INDEX", "1")
        .env("PIP_FIND_LINKS", empty.path())
        .env("PIP_NO_CACHE_DIR", "1")
        .args(["run", "--drift", "replay", "-c", "python train.py"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("-m pip wheel seaborn==0.13.2` failed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("No matching distribution found for seaborn==0.13.2"),
        "{}",
        out.stderr
    );
    assert!(nb.workflows().is_empty());
    assert!(
        !nb.workdir.join(".jupyterflow/wheels").exists()
            || fs::read_dir(nb.workdir.join(".jupyterflow/wheels"))
                .expect("read")
                .next()
                .is_none(),
        "no half-made cache is left"
    );
}

/// `doctor` names the packages too: a warning, not a failure (`run` works).
#[test]
fn doctor_warns_about_packages_the_jobs_will_miss() {
    let nb = Notebook::start(Volume::Nfs);
    conda_image(&nb, "#!/bin/sh\nexit 1\n");
    let out = run(nb.in_pod().arg("doctor"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let row = out
        .stdout
        .lines()
        .find(|l| l.contains("installed packages"))
        .expect("a row for installed packages");
    assert!(row.starts_with("!  installed packages"), "{row}");
    assert!(row.ends_with("will not have it: seaborn 0.13.2"), "{row}");
    assert!(
        out.stdout.contains(
            "to fix installed packages:\ninstall them on your home volume (`pip install --user …`)"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .ends_with("ready: `jupyterflow run` will work here, but see the warning above\n"),
        "{}",
        out.stdout
    );
}
