//! `jupyterflow run` against the fake API server: the requests made, what is submitted, the
//! pre-flight, both ways of connecting, and `--watch`.

use std::time::Duration;

use serde_json::json;

use crate::cluster_helpers::{
    NAMESPACE, NODE, Notebook, POD, Volume, requests_with, submitted_name, wait_until,
};
use crate::helpers::run;

#[test]
fn in_a_notebook_pod_run_reads_the_pod_and_creates_one_workflow() {
    let nb = Notebook::start(Volume::Nfs);
    let out = run(nb.in_pod().args(["run", "-v", "-c", "echo a >> echo b"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("3 API requests"), "{}", out.stderr);
    let name = submitted_name(&out.stdout);
    assert_eq!(
        nb.request_lines(),
        vec![
            format!("GET /api/v1/namespaces/{NAMESPACE}/pods/{POD}"),
            format!("GET /apis/networking.k8s.io/v1/namespaces/{NAMESPACE}/networkpolicies"),
            format!("POST /apis/argoproj.io/v1alpha1/namespaces/{NAMESPACE}/workflows"),
        ],
        "exactly three requests on the happy path"
    );
    let workflows = nb.workflows();
    assert_eq!(workflows.len(), 1);
    let wf = &workflows[0];
    assert_eq!(wf["metadata"]["name"], json!(name));
    // Named after the notebook, as the original named its workflows.
    assert!(name.starts_with(&format!("{POD}-")), "{name}");
    let labels = &wf["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/managed-by"], "jupyterflow");
    assert_eq!(labels["jupyterflow.io/notebook"], POD);
    assert_eq!(
        labels["jupyterflow.io/submission-id"]
            .as_str()
            .map(str::len),
        Some(16)
    );
    // The job template runs in the notebook's image, in the working directory.
    let text = wf.to_string();
    assert!(
        text.contains("jupyter/datascience-notebook@sha256:"),
        "{text}"
    );
    assert!(text.contains(&*nb.workdir.to_string_lossy()));
    // Every request carried the service account's token.
    assert!(
        nb.api
            .requests()
            .iter()
            .all(|r| r.token.as_deref() == Some(nb.api.token().as_str()))
    );
    // …and said who made it, for managedFields and audit logs.
    let agent = format!("jupyterflow/{}", env!("CARGO_PKG_VERSION"));
    for request in nb.api.requests() {
        assert_eq!(request.user_agent.as_deref(), Some(agent.as_str()));
    }
}

#[test]
fn a_read_write_once_claim_pins_jobs_to_the_notebook_node() {
    let nb = Notebook::start(Volume::Claim("ReadWriteOnce"));
    let out = run(nb.in_pod().args(["run", "-c", "python train.py"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        nb.request_lines().len(),
        4,
        "pod, claim, network policies, workflow"
    );
    assert!(nb.request_lines()[1].ends_with("/persistentvolumeclaims/claim-alice"));
    assert!(out.stderr.contains("ReadWriteOnce"), "{}", out.stderr);
    let wf = &nb.workflows()[0];
    let selector = wf["spec"]["nodeSelector"]["kubernetes.io/hostname"].clone();
    assert_eq!(selector, json!(NODE), "{wf}");
}

#[test]
fn a_read_write_many_claim_needs_no_pinning() {
    let nb = Notebook::start(Volume::Claim("ReadWriteMany"));
    let out = run(nb.in_pod().args(["run", "-c", "python train.py"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let wf = &nb.workflows()[0];
    assert!(
        wf["spec"]["nodeSelector"]
            .get("kubernetes.io/hostname")
            .is_none()
    );
}

#[test]
fn an_unshared_working_directory_is_refused_before_submitting() {
    let nb = Notebook::start(Volume::EmptyDir);
    let out = run(nb.in_pod().args(["run", "-c", "python train.py"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("job pods would not see your files"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--allow-unshared-workdir"));
    assert!(nb.workflows().is_empty());
    assert_eq!(nb.request_lines().len(), 1, "only the pod was read");

    let out = run(nb
        .in_pod()
        .args(["run", "--allow-unshared-workdir", "-c", "python train.py"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(nb.workflows().len(), 1);
}

#[test]
fn dry_run_reads_the_live_pod_and_submits_nothing() {
    let nb = Notebook::start(Volume::Nfs);
    let out = run(nb.in_pod().args(["run", "--dry-run", "-c", "echo a"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("kind: Workflow"), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!("generateName: {POD}-")),
        "{}",
        out.stdout
    );
    assert!(nb.workflows().is_empty());
    assert_eq!(
        nb.request_lines().len(),
        2,
        "the pod and the network policies"
    );
}

#[test]
fn with_a_kubeconfig_the_pod_and_namespace_come_from_flags() {
    let nb = Notebook::start(Volume::Nfs);
    // No --pod outside a pod: say what to do. `-n` (like --context) means the cluster.
    for flag in ["--argo", "-n=jhub"] {
        let out = run(nb.with_kubeconfig().args(["run", flag, "-c", "echo a"]));
        assert_eq!(out.code, 3, "{flag}: {}", out.stderr);
        assert!(
            out.stderr.contains("pass --pod NAME"),
            "{flag}: {}",
            out.stderr
        );
    }

    let out = run(nb
        .with_kubeconfig()
        .args(["run", "--pod", POD, "-c", "echo a"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(nb.workflows().len(), 1);

    // --context picks another namespace, where the pod is not.
    let out =
        run(nb
            .with_kubeconfig()
            .args(["run", "--context", "other", "--pod", POD, "-c", "echo a"]));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("notebook pod `jupyter-alice` was not found in namespace `elsewhere`"),
        "{}",
        out.stderr
    );
    // A context the kubeconfig lacks is bad input (2), not the cluster's refusal (3): nothing
    // was asked of any cluster.
    nb.api.clear_requests();
    let out = run(nb.with_kubeconfig().args(["list", "--context", "nosuch"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("has no context `nosuch`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("pass --context with one of: fake, other"),
        "{}",
        out.stderr
    );
    assert!(nb.request_lines().is_empty(), "{:?}", nb.request_lines());
    // -n wins over the context's namespace.
    let out = run(nb.with_kubeconfig().args([
        "run",
        "--context",
        "other",
        "-n",
        NAMESPACE,
        "--pod",
        POD,
        "-c",
        "echo a",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(nb.workflows().len(), 2);
}

#[test]
fn output_formats_and_the_argo_ui_link() {
    let nb = Notebook::start(Volume::Nfs);
    let config = nb.workdir.join("config.yaml");
    std::fs::write(&config, "argo_ui_url: https://argo.example.com/\n").expect("config");
    let out = run(nb.in_pod().env("JUPYTERFLOW_CONFIG_FILE", &config).args([
        "run",
        "-o",
        "jsonpath={.metadata.name}",
        "-c",
        "echo a",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let name = out.stdout.trim();
    assert_eq!(nb.workflows()[0]["metadata"]["name"], json!(name));
    assert!(
        out.stderr.contains(&format!(
            "https://argo.example.com/workflows/{NAMESPACE}/{name}"
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn a_scheduled_workflow_becomes_a_cron_workflow() {
    let nb = Notebook::start(Volume::Nfs);
    let file = nb.workdir.join("wf.yaml");
    std::fs::write(
        &file,
        "name: nightly\nschedule: '0 3 * * *'\njobs:\n- python etl.py\n",
    )
    .expect("workflow file");
    let out = run(nb.in_pod().args(["run", "-f", "wf.yaml"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    // A schedule keeps its name: it is one object, not one per run.
    assert_eq!(out.stdout, "cronworkflow.argoproj.io/nightly\n");
    assert_eq!(nb.api.cron_workflows(NAMESPACE).len(), 1);
    // Running the same file again would double the schedule: refused, with what to do.
    let out = run(nb.in_pod().args(["run", "-f", "wf.yaml"]));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("a CronWorkflow named nightly already exists"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("jupyterflow delete --cron nightly"),
        "{}",
        out.stderr
    );
    assert_eq!(nb.api.cron_workflows(NAMESPACE).len(), 1);
}

/// Waits for the run to be submitted, then plays the controller: running, then `phase`.
fn finish_when_submitted(nb: &Notebook, phase: &'static str) -> std::thread::JoinHandle<()> {
    let api = std::sync::Arc::clone(&nb.api);
    std::thread::spawn(move || {
        let name = loop {
            if let Some(wf) = api.workflows(NAMESPACE).first() {
                break wf["metadata"]["name"].as_str().expect("name").to_owned();
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let node = |phase: &str, exit: &str| {
            json!({
                "id": format!("{name}-1"), "name": format!("{name}.echo-a"), "displayName": "echo-a",
                "type": "Pod", "templateName": "job", "phase": phase,
                "startedAt": "2026-11-28T10:00:01Z",
                "finishedAt": if phase == "Running" { serde_json::Value::Null } else { json!("2026-11-28T10:00:09Z") },
                "outputs": {"exitCode": exit}
            })
        };
        std::thread::sleep(Duration::from_millis(100));
        api.patch_workflow_status(
            NAMESPACE,
            &name,
            json!({"phase": "Running", "startedAt": "2026-11-28T10:00:00Z", "progress": "0/1",
                   "nodes": {format!("{name}-1"): node("Running", "")}}),
        );
        std::thread::sleep(Duration::from_millis(100));
        let exit = if phase == "Succeeded" { "0" } else { "2" };
        api.patch_workflow_status(
            NAMESPACE,
            &name,
            json!({"phase": phase, "finishedAt": "2026-11-28T10:00:10Z", "progress": "1/1",
                   "nodes": {format!("{name}-1"): node(if phase == "Succeeded" { "Succeeded" } else { "Failed" }, exit)}}),
        );
    })
}

#[test]
fn watch_exits_zero_when_the_workflow_succeeds() {
    let nb = Notebook::start(Volume::Nfs);
    let controller = finish_when_submitted(&nb, "Succeeded");
    let out = run(nb.in_pod().args(["run", "--watch", "-c", "echo a"]));
    controller.join().expect("controller thread");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("echo-a"), "{}", out.stderr);
    assert!(out.stderr.contains("Succeeded"), "{}", out.stderr);
}

#[test]
fn watch_exits_non_zero_when_the_workflow_fails() {
    let nb = Notebook::start(Volume::Nfs);
    let controller = finish_when_submitted(&nb, "Failed");
    let out = run(nb.in_pod().args(["run", "--watch", "-c", "echo a"]));
    controller.join().expect("controller thread");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("Failed"), "{}", out.stderr);
}

#[test]
fn ctrl_c_detaches_and_the_run_goes_on() {
    let nb = Notebook::start(Volume::Nfs);
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("jupyterflow"))
        .env_clear()
        .envs(nb.pod_env())
        .current_dir(&nb.workdir)
        .args(["run", "--watch", "-c", "echo a"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    while nb.workflows().is_empty() {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid")),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("signal");
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("re-attach with `jupyterflow watch"),
        "{stderr}"
    );
    assert_eq!(nb.workflows().len(), 1, "the workflow is still there");
}

#[test]
fn a_watch_that_fails_after_submitting_says_the_run_goes_on() {
    let nb = Notebook::start(Volume::Nfs);
    nb.api.forbid("watch", "workflows");
    let out = run(nb.in_pod().args(["run", "--watch", "-c", "echo a"]));
    assert_eq!(out.code, 4, "{}", out.stderr);
    let name = nb.workflows()[0]["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    assert!(
        out.stderr
            .contains(&format!("{name} was submitted and goes on running")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("re-attach with `jupyterflow watch {name}`")),
        "{}",
        out.stderr
    );
}

#[test]
fn the_default_kubeconfig_in_home_is_used_without_kubeconfig_set() {
    let nb = Notebook::start(Volume::Nfs);
    let kube_dir = nb.home.path().join(".kube");
    std::fs::create_dir_all(&kube_dir).expect("~/.kube");
    std::fs::write(
        kube_dir.join("config"),
        nb.api.kubeconfig_yaml(&[("fake", Some(NAMESPACE))]),
    )
    .expect("write ~/.kube/config");
    let out = run(crate::helpers::jupyterflow(nb.home.path())
        .current_dir(&nb.workdir)
        .args(["run", "--pod", POD, "-c", "echo a"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(nb.workflows().len(), 1);
}

#[test]
fn run_watch_survives_an_api_server_restart() {
    let nb = Notebook::start(Volume::Nfs);
    let api = std::sync::Arc::clone(&nb.api);
    let controller = std::thread::spawn(move || {
        wait_until("the watch", || requests_with(&api, "watch=true") > 0);
        let name = api.workflows(NAMESPACE)[0]["metadata"]["name"]
            .as_str()
            .expect("name")
            .to_owned();
        let before = requests_with(&api, "watch=true");
        api.restart(Duration::from_secs(2));
        wait_until("a re-watch", || requests_with(&api, "watch=true") > before);
        api.argo_run(NAMESPACE, &name).run_to_end();
    });
    let out = run(nb
        .in_pod()
        .timeout(Duration::from_secs(90))
        .args(["run", "--watch", "-v", "-c", "echo a"]));
    // Rarely, under heavy load, the controller thread has timed out waiting for the re-watch:
    // show what jupyterflow said (with -v, each re-watch and retry) when that happens.
    assert!(
        controller.join().is_ok(),
        "the simulated controller gave up; jupyterflow exited {} and said:\n{}\n{}",
        out.code,
        out.stdout,
        out.stderr
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("Succeeded"), "{}", out.stderr);
    assert_eq!(nb.workflows().len(), 1);
}

/// `run --watch` shows the jobs' output as a local run does (`job | line`), every line once;
/// `--no-log` keeps it to the progress and summary.
#[test]
fn run_watch_shows_the_jobs_output_unless_no_log() {
    for no_log in [false, true] {
        let nb = Notebook::start(Volume::Nfs);
        let api = std::sync::Arc::clone(&nb.api);
        let controller = std::thread::spawn(move || {
            wait_until("the submission", || !api.workflows(NAMESPACE).is_empty());
            let name = api.workflows(NAMESPACE)[0]["metadata"]["name"]
                .as_str()
                .expect("name")
                .to_owned();
            api.argo_run(NAMESPACE, &name)
                .log("prep", "loading\nprepared 3 rows\n")
                .log("train", "epoch 1\nepoch 2\n")
                .run_to_end();
        });
        let mut args = vec!["run", "--watch"];
        if no_log {
            args.push("--no-log");
        }
        args.extend(["-c", "python prep.py >> python train.py"]);
        let out = run(nb.in_pod().timeout(Duration::from_secs(60)).args(&args));
        controller.join().expect("controller thread");
        assert_eq!(out.code, 0, "{}", out.stderr);
        let shown: Vec<&str> = out.stdout.lines().filter(|l| l.contains(" | ")).collect();
        if no_log {
            assert!(shown.is_empty(), "{}", out.stdout);
        } else {
            // Each job's lines in order; the fake controller ends both jobs at once, so the two
            // pods' streams may arrive in either order.
            let of = |job: &str| -> Vec<&str> {
                shown
                    .iter()
                    .copied()
                    .filter(|l| l.starts_with(&format!("{job} | ")))
                    .collect()
            };
            assert_eq!(shown.len(), 4, "{}", out.stdout);
            assert_eq!(
                [of("prep"), of("train")].concat(),
                [
                    "prep | loading",
                    "prep | prepared 3 rows",
                    "train | epoch 1",
                    "train | epoch 2",
                ],
                "{}",
                out.stdout
            );
        }
        assert!(out.stderr.contains("Succeeded"), "{}", out.stderr);
    }
}

#[test]
fn run_watch_shows_the_last_lines_of_a_failed_job() {
    let nb = Notebook::start(Volume::Nfs);
    let api = std::sync::Arc::clone(&nb.api);
    let controller = std::thread::spawn(move || {
        wait_until("the submission", || !api.workflows(NAMESPACE).is_empty());
        let name = api.workflows(NAMESPACE)[0]["metadata"]["name"]
            .as_str()
            .expect("name")
            .to_owned();
        let mut log: String = (1..=25)
            .map(|i| format!("step {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        log.push('\n');
        log.push_str(
            "Traceback (most recent call last):\n  File \"train.py\", line 3\nValueError: boom\n",
        );
        api.argo_run(NAMESPACE, &name)
            .outcome("echo", crate::fake_api::JobOutcome::Failed(2))
            .log("echo", &log)
            .run_to_end();
    });
    let out = run(nb
        .in_pod()
        .timeout(Duration::from_secs(60))
        .args(["run", "--watch", "-c", "echo a"]));
    controller.join().expect("controller thread");
    assert_eq!(out.code, 1, "{}", out.stderr);
    // The pod's last 20 lines (tailLines), in the summary.
    assert!(
        out.stderr.contains("--- echo: last 20 lines ---\nstep 9\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("step 25\nTraceback (most recent call last):\n  File \"train.py\", line 3\nValueError: boom\n"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("step 8\n"), "{}", out.stderr);
    assert!(
        nb.api
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/log") && r.query.contains("tailLines=20")),
        "{:?}",
        nb.request_lines()
    );
}

#[test]
fn a_missing_claim_is_said_with_a_hint_about_claims() {
    let nb = Notebook::start(Volume::Claim("ReadWriteOnce"));
    let mut pod = crate::cluster_helpers::notebook_pod(&nb.workdir, Volume::Claim("ReadWriteOnce"));
    for volume in pod["spec"]["volumes"].as_array_mut().expect("volumes") {
        if volume["name"] == "volume-alice" {
            volume["persistentVolumeClaim"]["claimName"] = json!("claim-gone");
        }
    }
    nb.api.add_pod(NAMESPACE, pod);
    let out = run(nb.in_pod().args(["run", "-c", "python train.py"]));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "persistentvolumeclaims \"claim-gone\" not found in namespace `{NAMESPACE}`"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("kubectl get pvc -n jhub"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("jupyterflow list"), "{}", out.stderr);
    assert!(nb.workflows().is_empty());
}
