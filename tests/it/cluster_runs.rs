//! Managing runs on the cluster through the real binary and the fake API server: list, get,
//! watch, logs (with -f), stop, terminate, delete and resubmit, with `@latest` and label scope.
//! Workflows come from `tests/fixtures/argo-status`, shaped like the Argo controller writes them.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cluster_helpers::{NAMESPACE, Notebook, Volume, requests_with, wait_until};
use crate::helpers::{fixture, run};

fn status_fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(&format!("argo-status/{name}.json")))
        .expect("status fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// A notebook whose namespace holds the fixture runs, one CronWorkflow and one workflow that
/// jupyterflow did not make.
fn seeded() -> Notebook {
    let nb = Notebook::start(Volume::Nfs);
    for name in ["failed", "running-chain", "stopped", "succeeded", "sweep"] {
        nb.api.add_workflow(NAMESPACE, status_fixture(name));
    }
    nb.api.add_workflow(
        NAMESPACE,
        json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": "someone-elses", "namespace": NAMESPACE,
                         "creationTimestamp": "2026-11-28T09:00:00Z"},
            "spec": {"entrypoint": "main", "templates": []},
            "status": {"phase": "Succeeded", "finishedAt": "2026-11-28T09:05:00Z"}
        }),
    );
    let cron = status_fixture("cron");
    nb.api.add_cron_workflow(NAMESPACE, cron);
    nb
}

fn names(stdout: &str) -> Vec<String> {
    let mut names: Vec<String> = stdout
        .lines()
        .map(|l| l.trim_start_matches("workflow.argoproj.io/").to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn list_shows_jupyterflow_runs_and_all_widens_the_scope() {
    let nb = seeded();
    let out = run(nb.in_pod().args(["list", "-o", "name"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        names(&out.stdout),
        [
            "chain-q9z4m",
            "chain-s3n5d",
            "chain-x7k2p",
            "nightly-1788224400",
            "sweep-b2v8c"
        ]
    );
    let out = run(nb.in_pod().args(["list", "--all", "-o", "name"]));
    assert!(names(&out.stdout).contains(&"someone-elses".to_owned()));
    let out = run(nb.in_pod().args(["list", "--running", "-o", "name"]));
    assert_eq!(names(&out.stdout), ["chain-x7k2p", "sweep-b2v8c"]);
    let out = run(nb.in_pod().args(["list", "--completed", "-o", "name"]));
    assert_eq!(
        names(&out.stdout),
        ["chain-q9z4m", "chain-s3n5d", "nightly-1788224400"]
    );

    let out = run(nb.in_pod().args(["list"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let header = out.stdout.lines().next().expect("header");
    assert!(
        header.starts_with("NAME") && header.contains("STATUS") && header.contains("PROGRESS"),
        "{header}"
    );
    assert!(
        header.contains("AGE") && header.contains("DURATION"),
        "{header}"
    );
    let failed = out
        .stdout
        .lines()
        .find(|l| l.starts_with("chain-q9z4m"))
        .expect("failed run listed");
    assert!(
        failed.contains("Failed") && failed.contains("3/3"),
        "{failed}"
    );

    let out = run(nb.in_pod().args(["list", "--cron"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("nightly"), "{}", out.stdout);
    assert!(out.stdout.contains("SCHEDULE"), "{}", out.stdout);

    let out = run(nb.in_pod().args(["list", "-o", "json"]));
    let list: Value = serde_json::from_str(&out.stdout).expect("json list");
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(5));
}

#[test]
fn get_shows_each_job_and_latest_is_the_newest_from_this_notebook() {
    let nb = seeded();
    let out = run(nb.in_pod().args(["get", "chain-q9z4m"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let train = out
        .stdout
        .lines()
        .find(|l| l.starts_with("train"))
        .expect("train row");
    assert!(train.contains("Failed") && train.contains(" 2 "), "{train}");
    assert!(out.stdout.contains("Status:"), "{}", out.stdout);

    let out = run(nb.in_pod().args(["get", "chain-q9z4m", "-o", "json"]));
    let object: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(object["status"]["phase"], "Failed");

    let newest = nb
        .workflows()
        .into_iter()
        .filter(|w| w["metadata"]["labels"]["jupyterflow.io/notebook"] == "jupyter-alice")
        .max_by_key(|w| {
            w["metadata"]["creationTimestamp"]
                .as_str()
                .map(str::to_owned)
        })
        .expect("a run");
    let out = run(nb.in_pod().args(["get", "@latest", "-o", "name"]));
    assert_eq!(
        out.stdout.trim(),
        format!(
            "workflow.argoproj.io/{}",
            newest["metadata"]["name"].as_str().expect("name")
        )
    );

    let out = run(nb.in_pod().args(["get", "no-such-run"]));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("workflows.argoproj.io \"no-such-run\" not found in namespace `jhub`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("jupyterflow list"), "{}", out.stderr);
}

/// A job pod as Argo makes it: labelled with its workflow, annotated with its node.
fn job_pod(workflow: &str, node: &str, phase: &str) -> Value {
    let pod = format!("{workflow}-{}", node.rsplit('.').next().unwrap_or(node));
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": pod, "namespace": NAMESPACE,
            "labels": {"workflows.argoproj.io/workflow": workflow},
            "annotations": {"workflows.argoproj.io/node-name": node}
        },
        "spec": {"containers": [{"name": "wait", "image": "argoexec"}, {"name": "main", "image": "nb"}]},
        "status": {"phase": phase}
    })
}

#[test]
fn logs_prefix_each_line_with_its_job() {
    let nb = seeded();
    for (node, phase, text) in [
        ("chain-q9z4m.prep", "Succeeded", "loading data\n10 rows\n"),
        (
            "chain-q9z4m.train",
            "Failed",
            "Traceback (most recent call last):\nValueError: lr\n",
        ),
    ] {
        let pod = job_pod("chain-q9z4m", node, phase);
        let name = pod["metadata"]["name"].as_str().expect("name").to_owned();
        nb.api.add_pod(NAMESPACE, pod);
        nb.api.append_pod_log(NAMESPACE, &name, text);
        nb.api.finish_pod_log(NAMESPACE, &name);
    }
    let out = run(nb.in_pod().args(["logs", "chain-q9z4m"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "prep | loading data\nprep | 10 rows\ntrain | Traceback (most recent call last):\ntrain | ValueError: lr\n"
    );
    let out = run(nb.in_pod().args(["logs", "chain-q9z4m", "train"]));
    assert_eq!(out.stdout.lines().count(), 2, "{}", out.stdout);
    let out = run(nb.in_pod().args(["logs", "chain-q9z4m", "nope"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("its jobs are: prep, train"),
        "{}",
        out.stderr
    );

    // A finished run whose pods Argo already removed.
    let out = run(nb.in_pod().args(["logs", "chain-s3n5d"]));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("are gone"), "{}", out.stderr);
    assert!(out.stderr.contains("archiveLogs"), "{}", out.stderr);
}

#[test]
fn logs_follow_streams_until_the_workflow_ends() {
    let nb = seeded();
    let workflow = "chain-x7k2p";
    let prep = job_pod(workflow, "chain-x7k2p.prep", "Succeeded");
    let train = job_pod(workflow, "chain-x7k2p.train", "Running");
    let train_pod = train["metadata"]["name"].as_str().expect("name").to_owned();
    let prep_pod = prep["metadata"]["name"].as_str().expect("name").to_owned();
    nb.api.add_pod(NAMESPACE, prep);
    nb.api.add_pod(NAMESPACE, train);
    nb.api.append_pod_log(NAMESPACE, &prep_pod, "prepared\n");
    nb.api.finish_pod_log(NAMESPACE, &prep_pod);
    nb.api.append_pod_log(NAMESPACE, &train_pod, "epoch 1\n");
    let api = Arc::clone(&nb.api);
    let controller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        api.append_pod_log(NAMESPACE, &train_pod, "epoch 2\n");
        std::thread::sleep(Duration::from_millis(100));
        api.finish_pod_log(NAMESPACE, &train_pod);
        api.patch_workflow_status(
            NAMESPACE,
            workflow,
            json!({"phase": "Succeeded", "finishedAt": "2026-11-28T10:10:00Z"}),
        );
    });
    let out = run(nb
        .in_pod()
        .timeout(Duration::from_secs(20))
        .args(["logs", "-v", "-f", workflow]));
    controller.join().expect("controller");
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let mut lines: Vec<&str> = out.stdout.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        ["prep | prepared", "train | epoch 1", "train | epoch 2"]
    );
}

/// A workflow no controller has taken (no phase) for longer than a controller ever needs: the
/// usual causes are named, once, and following goes on until one does take it.
#[test]
fn watch_says_when_no_controller_takes_the_workflow() {
    let nb = seeded();
    let mut stuck = status_fixture("running-chain");
    stuck["metadata"]["name"] = json!("stuck-q2w3e");
    stuck["metadata"]["labels"]["workflows.argoproj.io/controller-instanceid"] = json!("team-a");
    stuck["metadata"]["creationTimestamp"] = json!("2026-11-28T10:00:00Z");
    stuck.as_object_mut().expect("object").remove("status");
    nb.api.add_workflow(NAMESPACE, stuck);
    let api = Arc::clone(&nb.api);
    let controller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        api.patch_workflow_status(NAMESPACE, "stuck-q2w3e", json!({"phase": "Running"}));
        std::thread::sleep(Duration::from_millis(200));
        api.patch_workflow_status(
            NAMESPACE,
            "stuck-q2w3e",
            json!({"phase": "Succeeded", "finishedAt": "2026-11-28T10:10:00Z"}),
        );
    });
    let out = run(nb
        .in_pod()
        .timeout(Duration::from_secs(20))
        .args(["watch", "stuck-q2w3e"]));
    controller.join().expect("controller");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let warning = "no Argo controller has picked up stuck-q2w3e";
    assert_eq!(out.stderr.matches(warning).count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "does it watch namespace `{NAMESPACE}` (a namespaced install watches only its own), \
             is there a controller with instanceID `team-a`"
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn watch_follows_a_running_workflow_to_its_end() {
    let nb = seeded();
    let api = Arc::clone(&nb.api);
    let controller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        api.patch_workflow_status(
            NAMESPACE,
            "chain-x7k2p",
            json!({"phase": "Failed", "finishedAt": "2026-11-28T10:10:00Z",
                   "message": "child failed"}),
        );
    });
    let out = run(nb
        .in_pod()
        .timeout(Duration::from_secs(20))
        .args(["watch", "chain-x7k2p"]));
    controller.join().expect("controller");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("prep"), "{}", out.stderr);
    assert!(!out.stderr.contains("no Argo controller"), "{}", out.stderr);
    // The watch API, not polling: one GET, then watch requests.
    let gets = nb
        .request_lines()
        .iter()
        .filter(|l| l.starts_with("GET") && l.ends_with("/workflows/chain-x7k2p"))
        .count();
    assert_eq!(gets, 1, "{:?}", nb.request_lines());
    assert!(
        nb.api
            .requests()
            .iter()
            .any(|r| r.query.contains("watch=true")),
        "{:?}",
        nb.request_lines()
    );
}

fn shutdown_of(nb: &Notebook, name: &str) -> Value {
    nb.workflows()
        .into_iter()
        .find(|w| w["metadata"]["name"] == name)
        .map(|w| w["spec"]["shutdown"].clone())
        .expect("workflow")
}

#[test]
fn stop_and_terminate_set_argos_shutdown() {
    let nb = seeded();
    let out = run(nb.in_pod().args(["stop", "chain-x7k2p"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "workflow.argoproj.io/chain-x7k2p stopped\n");
    assert_eq!(shutdown_of(&nb, "chain-x7k2p"), "Stop");
    let out = run(nb.in_pod().args(["terminate", "sweep-b2v8c"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(shutdown_of(&nb, "sweep-b2v8c"), "Terminate");
    let out = run(nb.in_pod().args(["stop", "chain-q9z4m"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("already finished"), "{}", out.stderr);
    assert_eq!(shutdown_of(&nb, "chain-q9z4m"), Value::Null);
}

#[test]
fn delete_checks_every_name_first_and_filters_by_state_and_age() {
    let nb = seeded();
    let before = nb.workflows().len();
    let out = run(nb.in_pod().args(["delete", "chain-q9z4m", "typo"]));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_eq!(nb.workflows().len(), before, "a typo deletes nothing");

    let out = run(nb.in_pod().args(["delete", "chain-q9z4m"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "workflow.argoproj.io/chain-q9z4m deleted\n");

    // None of the fixtures finished 1000 days ago.
    let out = run(nb.in_pod().args(["delete", "--older-than", "1000d"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    let out = run(nb.in_pod().args(["delete", "--completed"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        names(&out.stdout.replace(" deleted", "")),
        ["chain-s3n5d", "nightly-1788224400"]
    );
    let left: Vec<String> = nb
        .workflows()
        .iter()
        .map(|w| w["metadata"]["name"].as_str().expect("name").to_owned())
        .collect();
    assert!(
        left.contains(&"someone-elses".to_owned()),
        "out of scope stays"
    );
    assert!(left.contains(&"chain-x7k2p".to_owned()), "running stays");

    let out = run(nb.in_pod().args(["delete", "--cron", "nightly"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(nb.api.cron_workflows(NAMESPACE).is_empty());
}

fn workflow_names(nb: &Notebook) -> Vec<String> {
    let mut names: Vec<String> = nb
        .workflows()
        .iter()
        .map(|w| w["metadata"]["name"].as_str().expect("name").to_owned())
        .collect();
    names.sort();
    names
}

fn deletes(nb: &Notebook) -> usize {
    nb.request_lines()
        .iter()
        .filter(|l| l.starts_with("DELETE"))
        .count()
}

#[test]
fn delete_refuses_a_running_run_unless_forced() {
    let nb = seeded();
    let before = workflow_names(&nb);
    // The finished run comes first: it must not be deleted either.
    let out = run(nb.in_pod().args(["delete", "chain-q9z4m", "chain-x7k2p"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("refusing to delete workflow `chain-x7k2p`: it has not finished (Running)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("stop it first (jupyterflow stop chain-x7k2p) or pass --force"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
    assert_eq!(workflow_names(&nb), before, "nothing deleted");
    assert_eq!(deletes(&nb), 0, "{:?}", nb.request_lines());

    let out = run(nb
        .in_pod()
        .args(["delete", "chain-q9z4m", "chain-x7k2p", "--force"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "workflow.argoproj.io/chain-q9z4m deleted\nworkflow.argoproj.io/chain-x7k2p deleted\n"
    );
    let left = workflow_names(&nb);
    assert!(!left.contains(&"chain-x7k2p".to_owned()), "{left:?}");
}

#[test]
fn delete_refuses_runs_jupyterflow_did_not_make_unless_all() {
    let nb = seeded();
    let before = workflow_names(&nb);
    let out = run(nb.in_pod().args(["delete", "chain-q9z4m", "someone-elses"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "refusing to delete workflow `someone-elses`: it has no label app.kubernetes.io/managed-by=jupyterflow"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("not made by jupyterflow; pass --all to delete it anyway"),
        "{}",
        out.stderr
    );
    assert_eq!(workflow_names(&nb), before, "nothing deleted");
    assert_eq!(deletes(&nb), 0, "{:?}", nb.request_lines());

    let out = run(nb.in_pod().args(["delete", "someone-elses", "--all"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "workflow.argoproj.io/someone-elses deleted\n");
    assert!(!workflow_names(&nb).contains(&"someone-elses".to_owned()));
}

#[test]
fn delete_older_than_keeps_runs_that_finished_recently() {
    let nb = seeded();
    // A copy of a fixture that finished just now; the fixtures finished months ago.
    let mut fresh = status_fixture("failed");
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    fresh["metadata"]["name"] = json!("chain-f4e5h");
    fresh["metadata"]["creationTimestamp"] = json!(now);
    fresh["status"]["startedAt"] = json!(now);
    fresh["status"]["finishedAt"] = json!(now);
    nb.api.add_workflow(NAMESPACE, fresh);

    let out = run(nb.in_pod().args(["delete", "--older-than", "30d"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        names(&out.stdout.replace(" deleted", "")),
        ["chain-q9z4m", "chain-s3n5d", "nightly-1788224400"]
    );
    // Kept: the fresh run, the running ones, and the run jupyterflow did not make.
    assert_eq!(
        workflow_names(&nb),
        ["chain-f4e5h", "chain-x7k2p", "someone-elses", "sweep-b2v8c"]
    );
    let out = run(nb
        .in_pod()
        .args(["delete", "--completed", "--older-than", "30d"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("nothing deleted"), "{}", out.stderr);
}

#[test]
fn delete_latest_is_the_newest_run_of_this_notebook() {
    let nb = seeded();
    // Newer than every fixture, finished, made by jupyterflow — from another notebook.
    let mut other = status_fixture("succeeded");
    other["metadata"]["name"] = json!("other-nb-k2m4p");
    other["metadata"]["creationTimestamp"] = json!("2026-11-28T12:00:00Z");
    other["metadata"]["labels"]["jupyterflow.io/notebook"] = json!("other-nb");
    nb.api.add_workflow(NAMESPACE, other);

    // This notebook's newest is the running chain: refused, which shows which one it picked.
    let out = run(nb.in_pod().args(["delete", "@latest"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("`chain-x7k2p`: it has not finished"),
        "{}",
        out.stderr
    );
    let out = run(nb.in_pod().args(["delete", "@latest", "--force"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "workflow.argoproj.io/chain-x7k2p deleted\n");
    assert!(workflow_names(&nb).contains(&"other-nb-k2m4p".to_owned()));
}

#[test]
fn resubmit_starts_a_new_run_from_the_old_spec() {
    let nb = seeded();
    let old = status_fixture("stopped");
    let out = run(nb.in_pod().args(["resubmit", "chain-s3n5d"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let name = out
        .stdout
        .trim()
        .strip_prefix("workflow.argoproj.io/")
        .expect("name")
        .to_owned();
    assert_ne!(name, "chain-s3n5d");
    let new = nb
        .workflows()
        .into_iter()
        .find(|w| w["metadata"]["name"] == name.as_str())
        .expect("resubmitted");
    let mut old_spec = old["spec"].clone();
    old_spec.as_object_mut().expect("spec").remove("shutdown");
    assert_eq!(new["spec"], old_spec);
    assert_eq!(
        new["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "jupyterflow"
    );
    assert!(new.get("status").is_none_or(Value::is_null));
}

#[test]
fn cluster_verbs_on_local_runs_say_what_to_do() {
    let home = crate::helpers::temp_home();
    for verb in ["watch", "stop", "terminate", "resubmit"] {
        let out = run(crate::helpers::jupyterflow(home.path()).args([verb, "@latest"]));
        // A usage problem (2), not the cluster's (3): no cluster was asked anything.
        assert_eq!(out.code, 2, "{verb}: {}", out.stderr);
        assert!(
            out.stderr
                .contains(&format!("`{verb}` is for runs on the cluster")),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("-n/--context"), "{}", out.stderr);
    }
}

#[test]
fn logs_follow_picks_up_pods_that_start_later() {
    let nb = seeded();
    let workflow = "chain-x7k2p";
    let prep = job_pod(workflow, "chain-x7k2p.prep", "Succeeded");
    let prep_pod = prep["metadata"]["name"].as_str().expect("name").to_owned();
    nb.api.add_pod(NAMESPACE, prep);
    nb.api.append_pod_log(NAMESPACE, &prep_pod, "prepared\n");
    nb.api.finish_pod_log(NAMESPACE, &prep_pod);
    let api = Arc::clone(&nb.api);
    let controller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        // The train pod appears only now; the controller's next status write announces it.
        let train = job_pod(workflow, "chain-x7k2p.train", "Running");
        let train_pod = train["metadata"]["name"].as_str().expect("name").to_owned();
        api.add_pod(NAMESPACE, train);
        api.append_pod_log(NAMESPACE, &train_pod, "epoch 1\n");
        api.patch_workflow_status(NAMESPACE, workflow, json!({"progress": "1/2"}));
        std::thread::sleep(Duration::from_millis(300));
        api.finish_pod_log(NAMESPACE, &train_pod);
        api.patch_workflow_status(
            NAMESPACE,
            workflow,
            json!({"phase": "Failed", "finishedAt": "2026-11-28T10:10:00Z"}),
        );
    });
    let out = run(nb
        .in_pod()
        .timeout(Duration::from_secs(20))
        .args(["logs", "-f", workflow]));
    controller.join().expect("controller");
    assert_eq!(
        out.code, 1,
        "the run failed: {}\n{}",
        out.stdout, out.stderr
    );
    assert_eq!(out.stdout, "prep | prepared\ntrain | epoch 1\n");
}

#[test]
fn watch_recovers_from_a_dropped_stream_and_410_gone() {
    let nb = seeded();
    nb.api.inject(crate::fake_api::FaultRule::once(
        "GET",
        "watch=true",
        crate::fake_api::Fault::DropBefore,
    ));
    nb.api.inject(crate::fake_api::FaultRule::once(
        "GET",
        "watch=true",
        crate::fake_api::Fault::Status {
            code: 410,
            retry_after: None,
        },
    ));
    let api = Arc::clone(&nb.api);
    let controller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        api.patch_workflow_status(
            NAMESPACE,
            "chain-x7k2p",
            json!({"phase": "Succeeded", "finishedAt": "2026-11-28T10:10:00Z"}),
        );
    });
    let out =
        run(nb
            .in_pod()
            .timeout(Duration::from_secs(20))
            .args(["watch", "-v", "chain-x7k2p"]));
    controller.join().expect("controller");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let watches = nb
        .api
        .requests()
        .iter()
        .filter(|r| r.query.contains("watch=true"))
        .count();
    assert!(
        watches >= 3,
        "dropped, 410, then a working watch: {watches}"
    );
    // After the 410 the workflow was read again before watching from its new version.
    let gets = nb
        .request_lines()
        .iter()
        .filter(|l| l.starts_with("GET") && l.ends_with("/workflows/chain-x7k2p"))
        .count();
    assert_eq!(gets, 2, "{:?}", nb.request_lines());
}

/// How long the API server is away in the restart tests: far longer than one quick retry.
const RESTART: Duration = Duration::from_secs(2);

#[test]
fn watch_survives_an_api_server_restart() {
    let nb = seeded();
    let api = Arc::clone(&nb.api);
    let controller = std::thread::spawn(move || {
        wait_until("the watch", || requests_with(&api, "watch=true") > 0);
        let before = requests_with(&api, "watch=true");
        api.restart(RESTART);
        // Back, and watched again from where it was.
        wait_until("a re-watch", || requests_with(&api, "watch=true") > before);
        api.patch_workflow_status(
            NAMESPACE,
            "chain-x7k2p",
            json!({"phase": "Succeeded", "finishedAt": "2026-11-28T10:10:00Z"}),
        );
    });
    let out =
        run(nb
            .in_pod()
            .timeout(Duration::from_secs(90))
            .args(["watch", "-v", "chain-x7k2p"]));
    controller.join().expect("controller");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("connection refused"), "{}", out.stderr);
}

/// The `chain-x7k2p` fixture with a finished `prep` pod and a running `train` pod: returns the
/// train pod's name.
fn running_train(nb: &Notebook) -> String {
    let workflow = "chain-x7k2p";
    let prep = job_pod(workflow, "chain-x7k2p.prep", "Succeeded");
    let prep_pod = prep["metadata"]["name"].as_str().expect("name").to_owned();
    let train = job_pod(workflow, "chain-x7k2p.train", "Running");
    let train_pod = train["metadata"]["name"].as_str().expect("name").to_owned();
    nb.api.add_pod(NAMESPACE, prep);
    nb.api.add_pod(NAMESPACE, train);
    nb.api.append_pod_log(NAMESPACE, &prep_pod, "prepared\n");
    nb.api.finish_pod_log(NAMESPACE, &prep_pod);
    train_pod
}

/// Ends the train pod's log and the workflow (Succeeded).
fn finish_train(api: &crate::fake_api::FakeApi, train_pod: &str) {
    api.finish_pod_log(NAMESPACE, train_pod);
    api.patch_workflow_status(
        NAMESPACE,
        "chain-x7k2p",
        json!({"phase": "Succeeded", "finishedAt": "2026-11-28T10:10:00Z"}),
    );
}

#[test]
fn logs_follow_reads_on_after_a_broken_stream_without_losing_or_repeating_lines() {
    let nb = seeded();
    let train_pod = running_train(&nb);
    // Forty lines, two to a time stamp, 0.3 s apart: a cut leaves lines of the same second,
    // and of the very same time, on both sides.
    let start = std::time::SystemTime::now() - Duration::from_secs(60);
    let lines: Vec<String> = (0..40).map(|i| format!("line {i:02}")).collect();
    for (i, line) in lines.iter().enumerate() {
        let at = start + Duration::from_millis(300) * u32::try_from(i / 2).expect("small");
        nb.api
            .append_pod_log_at(NAMESPACE, &train_pod, &format!("{line}\n"), at);
    }
    // Each line goes out as "<time, 31 bytes> line NN\n" (39 bytes): cut mid-line, twice.
    let log_path = format!("/pods/{train_pod}/log");
    for bytes in [39 * 13 + 10, 39 * 7 + 20] {
        nb.api.inject(crate::fake_api::FaultRule::once(
            "GET",
            &log_path,
            crate::fake_api::Fault::CutStreamAfter(bytes),
        ));
    }
    let api = Arc::clone(&nb.api);
    let pod = train_pod.clone();
    let path = log_path.clone();
    let controller = std::thread::spawn(move || {
        // Cut twice, then read on: three requests for the train pod's log.
        wait_until("the third log request", || requests_with(&api, &path) >= 3);
        api.append_pod_log(NAMESPACE, &pod, "line 40\nline 41\n");
        finish_train(&api, &pod);
    });
    let out =
        run(nb
            .in_pod()
            .timeout(Duration::from_secs(60))
            .args(["logs", "-v", "-f", "chain-x7k2p"]));
    controller.join().expect("controller");
    assert_eq!(out.code, 0, "the run succeeded: {}", out.stderr);
    let train: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("train | "))
        .collect();
    let mut expected: Vec<String> = lines.clone();
    expected.extend(["line 40".to_owned(), "line 41".to_owned()]);
    assert_eq!(train, expected, "every line once, in order: {}", out.stderr);
    assert!(out.stdout.contains("prep | prepared\n"), "{}", out.stdout);
    assert!(
        out.stderr.contains("broke"),
        "noted with -v: {}",
        out.stderr
    );
    let resumed: Vec<String> = nb
        .api
        .requests()
        .iter()
        .filter(|r| r.path.contains(&log_path))
        .map(|r| r.query.clone())
        .collect();
    assert!(
        resumed[1..].iter().all(|q| q.contains("sinceTime=")),
        "{resumed:?}"
    );
}

#[test]
fn logs_follow_survives_an_api_server_restart() {
    let nb = seeded();
    let train_pod = running_train(&nb);
    nb.api.append_pod_log(NAMESPACE, &train_pod, "epoch 1\n");
    let api = Arc::clone(&nb.api);
    let pod = train_pod.clone();
    let controller = std::thread::spawn(move || {
        let log_path = format!("/pods/{pod}/log");
        wait_until("the log stream and the watch", || {
            requests_with(&api, &log_path) > 0 && requests_with(&api, "watch=true") > 0
        });
        let (logs, watches) = (
            requests_with(&api, &log_path),
            requests_with(&api, "watch=true"),
        );
        api.restart(RESTART);
        wait_until("both followed again", || {
            requests_with(&api, &log_path) > logs && requests_with(&api, "watch=true") > watches
        });
        api.append_pod_log(NAMESPACE, &pod, "epoch 2\n");
        finish_train(&api, &pod);
    });
    let out = run(nb
        .in_pod()
        .timeout(Duration::from_secs(90))
        .args(["logs", "-f", "chain-x7k2p"]));
    controller.join().expect("controller");
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let mut lines: Vec<&str> = out.stdout.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        ["prep | prepared", "train | epoch 1", "train | epoch 2"]
    );
}

#[test]
fn watch_of_a_failed_run_shows_its_pods_last_lines_and_nothing_when_they_are_gone() {
    let nb = seeded();
    // Argo already removed the pods: no tail, and no error either.
    let out = run(nb.in_pod().args(["watch", "-v", "chain-q9z4m"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stderr.contains("last lines"), "{}", out.stderr);
    assert!(!out.stderr.contains("error"), "{}", out.stderr);

    let pod = job_pod("chain-q9z4m", "chain-q9z4m.train", "Failed");
    let name = pod["metadata"]["name"].as_str().expect("name").to_owned();
    nb.api.add_pod(NAMESPACE, pod);
    nb.api.append_pod_log(
        NAMESPACE,
        &name,
        "Traceback (most recent call last):\nValueError: lr\n",
    );
    nb.api.finish_pod_log(NAMESPACE, &name);
    let out = run(nb.in_pod().args(["watch", "chain-q9z4m"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "--- train: last 2 lines ---\nTraceback (most recent call last):\nValueError: lr\n"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn a_watch_that_every_stream_ends_at_once_says_so_and_gives_up() {
    let nb = seeded();
    nb.api.inject(crate::fake_api::FaultRule::always(
        "GET",
        "watch=true",
        crate::fake_api::Fault::EndStreamAfter(0),
    ));
    let out =
        run(nb
            .in_pod()
            .timeout(Duration::from_secs(90))
            .args(["watch", "-v", "chain-x7k2p"]));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the API server ended 10 watches in a row right after opening them"),
        "{}",
        out.stderr
    );
    // Each re-watch was a note, with its growing pause.
    assert!(
        out.stderr
            .contains("watching again in 200 ms (1 in a row ended at once)"),
        "{}",
        out.stderr
    );
    let watches = requests_with(&nb.api, "watch=true");
    assert_eq!(watches, 10, "bounded: {:?}", nb.request_lines());
}
