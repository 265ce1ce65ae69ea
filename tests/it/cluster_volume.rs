//! A cluster run that outlives its pods and its Workflow: submitted through the fake API server,
//! each job run by the real `jupyterflow exec-job` exactly as its container command says (the
//! kubelet's part played by the test), the run played to its end by the simulated controller;
//! then the pods and the Workflow are removed, and `logs`, `get` and `list` read the run folder
//! on the shared volume instead, saying so.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::cluster_helpers::{NAMESPACE, Notebook, Volume, submitted_name};
use crate::helpers::{hermetic_env, run};

/// The container command of job `job` (task `task`, its `cmd` parameter `cmd`) of workflow
/// `name`, with what Argo substitutes substituted; the supervisor from this build, as the
/// copy the manifest names is a stand-in.
fn container_command(workflow: &Value, name: &str, cmd: &str) -> Vec<String> {
    let templates = workflow["spec"]["templates"].as_array().expect("templates");
    let job = templates
        .iter()
        .find(|t| t["name"] == "job")
        .expect("the shared job template");
    job["container"]["command"]
        .as_array()
        .expect("command")
        .iter()
        .skip(1)
        .map(|word| {
            word.as_str()
                .expect("a word")
                .replace("{{workflow.name}}", name)
                .replace("{{inputs.parameters.cmd}}", cmd)
        })
        .collect()
}

/// Each DAG task's name and `cmd` argument.
fn tasks(workflow: &Value) -> Vec<(String, String)> {
    let templates = workflow["spec"]["templates"].as_array().expect("templates");
    let entry = workflow["spec"]["entrypoint"].as_str().expect("entrypoint");
    let dag = templates
        .iter()
        .find(|t| t["name"] == entry)
        .expect("the entrypoint template");
    dag["dag"]["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            let cmd = t["arguments"]["parameters"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == "cmd"))
                .and_then(|p| p["value"].as_str())
                .expect("a cmd parameter");
            (
                t["name"].as_str().expect("task name").to_owned(),
                cmd.to_owned(),
            )
        })
        .collect()
}

/// Runs job `task` as its pod would: in the working directory, with the downward-API variables.
fn run_job(workdir: &Path, name: &str, task: &str, argv: &[String]) {
    let out = Command::new(assert_cmd::cargo::cargo_bin("jupyterflow"))
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", workdir)
        .envs(hermetic_env())
        .env("JUPYTERFLOW_ARGO_NODE", format!("{name}.{task}"))
        .env("JUPYTERFLOW_POD_NAME", format!("{name}-{task}-1234"))
        .env("JUPYTERFLOW_K8S_NODE", "gke-pool-1-abcd")
        .current_dir(workdir)
        .args(argv)
        .output()
        .expect("exec-job runs");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn logs_get_and_list_read_the_shared_volume_once_pods_and_workflow_are_gone() {
    let nb = Notebook::start(Volume::Nfs);
    let out = run(nb
        .in_pod()
        .args(["run", "-c", "echo one >> printf 'two\\n' >&2"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let name = submitted_name(&out.stdout);
    let folder = nb.workdir.join(".jupyterflow/runs").join(&name);
    let record: Value = serde_json::from_slice(
        &std::fs::read(folder.join("run.json")).expect("run.json at submit"),
    )
    .expect("JSON");
    assert_eq!(record["backend"], "argo");
    let copies: Vec<_> = std::fs::read_dir(nb.workdir.join(".jupyterflow/bin"))
        .expect("the binary copied at submit")
        .collect();
    assert_eq!(copies.len(), 1);

    let workflow = nb.workflows().pop().expect("submitted");
    let tasks = tasks(&workflow);
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    for (task, cmd) in &tasks {
        run_job(
            &nb.workdir,
            &name,
            task,
            &container_command(&workflow, &name, cmd),
        );
    }
    nb.api.argo_run(NAMESPACE, &name).run_to_end();

    // While the pods are there, their logs are shown as before.
    let out = run(nb.in_pod().args(["logs", &name]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("shared volume"), "{}", out.stderr);

    // Pod GC: the Workflow says how it went, the volume has the logs.
    nb.api.remove_pods(NAMESPACE, &name);
    let out = run(nb.in_pod().args(["logs", &name]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("(from the run folder on the shared volume: pods are gone)"),
        "{}",
        out.stderr
    );
    let (first, second) = (&tasks[0].0, &tasks[1].0);
    assert_eq!(out.stdout, format!("{first} | one\n{second} | two\n"));
    // -f too: the run is over, so there is nothing to wait for; the exit says how it ended.
    let followed = run(nb.in_pod().args(["logs", "-f", &name]));
    assert_eq!(followed.code, 0, "{}", followed.stderr);
    assert_eq!((followed.stdout, followed.stderr), (out.stdout, out.stderr));

    // The Workflow deleted (or its TTL ran out): get and logs read the volume alone.
    let deleted = run(nb.in_pod().args(["delete", &name]));
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    assert!(nb.workflows().is_empty());
    let out = run(nb.in_pod().args(["logs", &name, second]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("the Workflow is gone from the cluster"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, format!("{second} | two\n"));
    let out = run(nb.in_pod().args(["get", &name]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("the Workflow is gone from the cluster"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("Status:     Succeeded"),
        "{}",
        out.stdout
    );
    for task in [first, second] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with(task.as_str()) && l.contains("Succeeded")),
            "{}",
            out.stdout
        );
    }
    let out = run(nb.in_pod().args(["get", &name, "-o", "json"]));
    let shown: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(
        shown["jobs"][0]["argo"]["pod"],
        format!("{name}-{first}-1234")
    );
    assert_eq!(shown["jobs"][0]["argo"]["node"], "gke-pool-1-abcd");

    latest_reads_the_volume(&nb, &name, second);

    // A name neither the cluster nor the volume knows is still an error.
    let out = run(nb.in_pod().args(["get", "never-was"]));
    assert_ne!(out.code, 0, "{}", out.stdout);

    list_shows_both_backends(&nb, &name);
}

/// `@latest`, with no Workflow left: the newest cluster run folder of this directory (`name`).
fn latest_reads_the_volume(nb: &Notebook, name: &str, second: &str) {
    let out = run(nb.in_pod().args(["logs", "@latest", second]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "(@latest is {name}, the newest run folder on the shared volume: no Workflow of this notebook is left on the cluster)"
        )),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, format!("{second} | two\n"));
    let out = run(nb.in_pod().args(["get", "@latest", "-o", "name"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, format!("{name}\n"));
    assert!(
        out.stderr.contains("the Workflow is gone from the cluster"),
        "{}",
        out.stderr
    );
}

/// `list`: this directory's local runs beside the cluster's (`name`, whose Workflow is gone),
/// each with its backend; `--argo` and `--local` keep one.
fn list_shows_both_backends(nb: &Notebook, name: &str) {
    // list: this directory's local runs beside the cluster's, each with its backend.
    let local = run(nb
        .in_pod()
        .args(["run", "--local", "-c", "/bin/echo three"]));
    assert_eq!(local.code, 0, "{}", local.stderr);
    let backend_of = |stdout: &str, run: &str| -> Option<String> {
        stdout
            .lines()
            .find(|l| l.starts_with(run))
            .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
    };
    let list = run(nb.in_pod().args(["list"]));
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(list.stdout.starts_with("NAME"), "{}", list.stdout);
    assert_eq!(
        backend_of(&list.stdout, name).as_deref(),
        Some("argo"),
        "{}",
        list.stdout
    );
    assert_eq!(list.stdout.lines().count(), 3, "{}", list.stdout);
    assert!(list.stdout.contains(" local "), "{}", list.stdout);
    let wide = run(nb.in_pod().args(["list", "-o", "wide"]));
    assert!(
        wide.stdout.contains("Workflow gone: from the run folder"),
        "{}",
        wide.stdout
    );
    let argo_only = run(nb.in_pod().args(["list", "--argo"]));
    assert_eq!(argo_only.stdout.lines().count(), 2, "{}", argo_only.stdout);
    assert!(
        !argo_only.stdout.contains(" local "),
        "{}",
        argo_only.stdout
    );
    let local_only = run(nb.in_pod().args(["list", "--local"]));
    assert_eq!(
        local_only.stdout.lines().count(),
        2,
        "{}",
        local_only.stdout
    );
    assert!(!local_only.stdout.contains(name), "{}", local_only.stdout);
}

/// A mount table where the working directory is its own mount, with these options.
fn mountinfo(dir: &Path, workdir: &Path, options: &str) -> std::path::PathBuf {
    let path = dir.join("mountinfo");
    std::fs::write(
        &path,
        format!(
            "27 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n\
             40 27 0:50 / {} {options},relatime - nfs 10.0.0.2:/home rw\n",
            workdir.display()
        ),
    )
    .expect("write mountinfo");
    path
}

#[test]
fn a_noexec_or_read_only_volume_falls_back_to_plain_jobs_with_a_warning() {
    let nb = Notebook::start(Volume::Nfs);
    let tables = tempfile::tempdir().expect("temp dir");
    for (options, says) in [
        ("rw,noexec", "is mounted noexec"),
        ("ro", "is mounted read-only"),
    ] {
        let table = mountinfo(tables.path(), &nb.workdir, options);
        let out = run(nb.in_pod().env("JUPYTERFLOW_MOUNTINFO_FILE", &table).args([
            "run",
            "--dry-run",
            "-c",
            "echo one",
        ]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stderr.contains("warning: "), "{}", out.stderr);
        assert!(out.stderr.contains(says), "{}", out.stderr);
        assert!(!out.stdout.contains("exec-job"), "{}", out.stdout);
        assert!(!out.stdout.contains("kubernetes.io/arch"), "{}", out.stdout);
    }
    // On a plain volume a dry run says where a submission would copy the binary, and copies
    // nothing.
    let out = run(nb.in_pod().args(["run", "--dry-run", "-c", "echo one"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("exec-job"), "{}", out.stdout);
    assert!(out.stderr.contains("a submission copies"), "{}", out.stderr);
    assert!(!nb.workdir.join(".jupyterflow/bin").exists());
    // The config turns it off, with a note and no warning.
    let config = nb.home.path().join("off.yaml");
    std::fs::write(&config, "job_supervisor: false\n").expect("write config");
    let out = run(nb.in_pod().env("JUPYTERFLOW_CONFIG_FILE", &config).args([
        "run",
        "--dry-run",
        "-c",
        "echo one",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("exec-job"), "{}", out.stdout);
    assert!(
        out.stderr.contains("note: job_supervisor: false"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}

/// `@latest` with no Workflow and no cluster run folder: an error that says how to start one.
#[test]
fn latest_with_no_run_anywhere_is_an_error() {
    let nb = Notebook::start(Volume::Nfs);
    // A local run's folder is not a cluster run.
    let local = run(nb
        .in_pod()
        .args(["run", "--local", "-c", "/bin/echo three"]));
    assert_eq!(local.code, 0, "{}", local.stderr);
    // Nor is a cluster run of another namespace.
    let elsewhere = nb.workdir.join(".jupyterflow/runs/etl-x1y2z");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");
    let record = serde_json::json!({
        "version": 2, "id": "etl-x1y2z", "name": "etl", "source": {"command_line": "echo"},
        "workdir": nb.workdir, "status": "Succeeded", "started": "2026-12-01T10:00:00Z",
        "finished": "2026-12-01T10:00:01Z", "pid": 1, "jobs": [], "backend": "argo",
        "argo": {"namespace": "elsewhere"}
    });
    std::fs::write(elsewhere.join("run.json"), record.to_string()).expect("write run.json");
    // (a record that reads: --local shows it)
    let readable = run(nb.in_pod().args([
        "get",
        "--local",
        "etl-x1y2z",
        "-o",
        "jsonpath={.argo.namespace}",
    ]));
    assert_eq!(readable.stdout.trim(), "elsewhere", "{}", readable.stderr);
    for verb in ["get", "logs"] {
        let out = run(nb.in_pod().args([verb, "@latest"]));
        assert_eq!(out.code, 2, "{verb}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("there are no jupyterflow runs in namespace `jhub` from notebook"),
            "{verb}: {}",
            out.stderr
        );
        assert!(out.stderr.contains("hint: start one"), "{}", out.stderr);
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    }
}

/// `delete --local` on a cluster run's folder that still says Running: refused with what it is
/// and how to go on (the cluster knows whether the Workflow still runs); `--force` removes it.
#[test]
fn delete_local_of_a_running_cluster_run_folder_says_what_it_is() {
    let nb = Notebook::start(Volume::Nfs);
    let out = run(nb.in_pod().args(["run", "-c", "echo one"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let name = submitted_name(&out.stdout);
    let folder = nb.workdir.join(".jupyterflow/runs").join(&name);
    // Its Workflow is there: the folder is not listed as a run whose Workflow is gone, under
    // any filter.
    let running = run(nb.in_pod().args(["list", "--running", "-o", "name"]));
    assert_eq!(
        running.stdout,
        format!("workflow.argoproj.io/{name}\n"),
        "{}",
        running.stderr
    );
    let completed = run(nb.in_pod().args(["list", "--completed"]));
    assert!(!completed.stdout.contains(&name), "{}", completed.stdout);
    let refused = run(nb.in_pod().args(["delete", "--local", &name]));
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains(&format!(
            "run `{name}` is a cluster run (Workflow {name} in namespace `{NAMESPACE}`)"
        )),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("pid"), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains(&format!("jupyterflow delete --local --force {name}")),
        "{}",
        refused.stderr
    );
    assert!(folder.join("run.json").exists(), "nothing deleted");
    let forced = run(nb.in_pod().args(["delete", "--local", "--force", &name]));
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert_eq!(forced.stdout, format!("deleted {name}\n"));
    assert!(!folder.exists());
    // The Workflow itself is the cluster's business: still there.
    assert_eq!(nb.workflows().len(), 1);
}
