//! A notebook platform as a stock hub gives it, against the fake API server: a pod whose name
//! is longer than its hostname, and `doctor`'s checks one by one.

use serde_json::json;

use crate::cluster_helpers::{NAMESPACE, Notebook, Volume, notebook_pod};
use crate::fake_api::{ArgoCrds, ArgoVersion, Fault, FaultRule};
use crate::helpers::{run, scrub};

/// KubeSpawner 7's pod name shape, longer than the 63 characters a hostname holds.
const LONG_POD: &str = "jupyter-alice-2dsmith-40example-2eorg---0123456789abcdef0123456789";

#[test]
fn a_pod_whose_name_is_longer_than_its_hostname_is_found_by_its_ip() {
    let nb = Notebook::start(Volume::Nfs);
    assert!(LONG_POD.len() > 63);
    let mut pod = notebook_pod(&nb.workdir, Volume::Nfs);
    pod["metadata"]["name"] = json!(LONG_POD);
    pod["status"]["podIP"] = json!("10.8.3.77");
    pod["status"]["phase"] = json!("Running");
    nb.api.add_pod(NAMESPACE, pod);
    let hostname = &LONG_POD[..63];
    let hosts = nb.workdir.join("hosts");
    std::fs::write(
        &hosts,
        format!("127.0.0.1\tlocalhost\n10.8.3.77\t{hostname}\n"),
    )
    .expect("write hosts");
    let out = run(nb
        .in_pod()
        .env("HOSTNAME", hostname)
        .env("JUPYTERFLOW_HOSTS_FILE", &hosts)
        .args(["run", "-v", "-c", "echo a"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "pod `{LONG_POD}` has this container's IP 10.8.3.77, so it is the notebook"
        )),
        "{}",
        out.stderr
    );
    let workflows = nb.workflows();
    assert_eq!(workflows.len(), 1);
    assert_eq!(
        workflows[0]["metadata"]["labels"]["jupyterflow.io/notebook"],
        // The label a run from this pod carries is its hostname: `@latest` finds it either way.
        json!(&LONG_POD[..63])
    );
    // Without the hosts file there is nothing to find it by: the 404 stands, with its hint.
    let out = run(nb
        .in_pod()
        .env("HOSTNAME", hostname)
        .env("JUPYTERFLOW_HOSTS_FILE", nb.workdir.join("no-such-file"))
        .args(["run", "-c", "echo a"]));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("was not found"), "{}", out.stderr);
}

/// `doctor` in the notebook's terminal, its output with this run's addresses and paths scrubbed.
fn doctor(nb: &Notebook, extra: &[&str]) -> (i32, String) {
    let out = run(nb.in_pod().arg("doctor").args(extra));
    let text = scrub(&out.stdout, nb.home.path())
        .replace(&nb.api.url(), "https://[API]")
        .replace(&nb.api.host(), "[API-HOST]")
        .replace(&format!("port: {}", nb.api.port()), "port: [PORT]");
    (out.code, text + &out.stderr)
}

#[test]
fn doctor_says_ready_when_everything_run_needs_is_there() {
    let nb = Notebook::start(Volume::Claim("ReadWriteOnce"));
    let (code, text) = doctor(&nb, &[]);
    assert_eq!(code, 0, "{text}");
    insta::assert_snapshot!("doctor-ready", text);
    let json = run(nb.in_pod().args(["doctor", "-o", "json"]));
    let checks: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert!(
        checks
            .as_array()
            .expect("a list")
            .iter()
            .all(|c| c["verdict"] != "fail"),
        "{checks}"
    );
}

#[test]
fn doctor_without_a_token_prints_the_helm_values() {
    let nb = Notebook::start(Volume::Nfs);
    std::fs::remove_file(nb.service_account.join("token")).expect("remove token");
    let (code, text) = doctor(&nb, &[]);
    assert_eq!(code, 1, "{text}");
    insta::assert_snapshot!("doctor-no-token", text);
}

#[test]
fn doctor_names_each_missing_right_and_prints_the_role() {
    let nb = Notebook::start(Volume::Nfs);
    nb.api.forbid("create", "workflows");
    nb.api.forbid("create", "workflowtaskresults");
    let (code, text) = doctor(&nb, &[]);
    assert_eq!(code, 1, "{text}");
    insta::assert_snapshot!("doctor-forbidden", text);
    // A cluster that does not let us ask skips the check rather than guess.
    nb.api.serve_access_reviews(false);
    let (_, text) = doctor(&nb, &[]);
    assert!(text.contains("–  permissions"), "{text}");
}

#[test]
fn doctor_sees_argo_missing_and_an_api_server_that_does_not_answer() {
    let nb = Notebook::start(Volume::Nfs);
    nb.api.uninstall_argo();
    let (code, text) = doctor(&nb, &[]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("✗  Argo Workflows"), "{text}");
    nb.api.inject(FaultRule::always(
        "GET",
        "/version",
        Fault::Delay(std::time::Duration::from_secs(5)),
    ));
    let (code, text) = doctor(&nb, &["--request-timeout", "1s"]);
    assert_eq!(code, 1, "{text}");
    insta::assert_snapshot!("doctor-timeout", text);
}

#[test]
fn doctor_finds_a_pod_whose_name_is_longer_than_its_hostname() {
    let nb = Notebook::start(Volume::Nfs);
    let mut pod = notebook_pod(&nb.workdir, Volume::Nfs);
    pod["metadata"]["name"] = json!(LONG_POD);
    pod["status"]["podIP"] = json!("10.8.3.78");
    pod["status"]["phase"] = json!("Running");
    nb.api.add_pod(NAMESPACE, pod);
    let hosts = nb.workdir.join("hosts");
    std::fs::write(&hosts, format!("10.8.3.78\t{}\n", &LONG_POD[..63])).expect("hosts");
    let out = run(nb
        .in_pod()
        .env("HOSTNAME", &LONG_POD[..63])
        .env("JUPYTERFLOW_HOSTS_FILE", &hosts)
        .arg("doctor"));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("found by this container's IP 10.8.3.78"),
        "{}",
        out.stdout
    );
}

/// A scheduled pipeline submitted to a cluster of each Argo: the schedule goes in the field
/// that cluster's CronWorkflows take, asked with one strict dry run.
#[test]
fn a_schedule_goes_in_the_field_the_clusters_argo_takes() {
    for (version, crds, field, absent) in [
        (ArgoVersion::V4, ArgoCrds::Full, "schedules", "schedule"),
        (ArgoVersion::V3_6, ArgoCrds::Full, "schedules", "schedule"),
        (ArgoVersion::V3_5, ArgoCrds::Full, "schedule", "schedules"),
        (
            ArgoVersion::V3_5,
            ArgoCrds::Minimal,
            "schedules",
            "schedule",
        ),
    ] {
        let nb = Notebook::start(Volume::Nfs);
        nb.api.argo_version(version);
        nb.api.argo_crds(crds);
        let file = nb.workdir.join("nightly.yaml");
        std::fs::write(
            &file,
            "name: nightly\nschedule: '0 3 * * *'\njobs:\n- python prep.py\n",
        )
        .expect("write");
        let out = run(nb.in_pod().args(["run", "-f", "nightly.yaml"]));
        assert_eq!(out.code, 0, "{version:?} {crds:?}: {}", out.stderr);
        let crons = nb.api.cron_workflows(NAMESPACE);
        assert_eq!(crons.len(), 1, "{version:?} {crds:?}");
        let spec = &crons[0]["spec"];
        assert!(spec.get(field).is_some(), "{version:?} {crds:?}: {spec}");
        assert!(spec.get(absent).is_none(), "{version:?} {crds:?}: {spec}");
        let dry_runs = nb
            .api
            .requests()
            .iter()
            .filter(|r| r.query.contains("dryRun=All"))
            .count();
        assert_eq!(
            dry_runs, 1,
            "{version:?} {crds:?}: one question, nothing stored"
        );
        if crds == ArgoCrds::Minimal {
            assert!(out.stderr.contains("minimal CRDs"), "{}", out.stderr);
        }
    }
}

#[test]
fn the_configs_schedule_field_is_used_without_asking() {
    let nb = Notebook::start(Volume::Nfs);
    nb.api.argo_version(ArgoVersion::V3_5);
    let config = nb.workdir.join("jf.yaml");
    std::fs::write(&config, "cron_schedule_field: schedule\n").expect("write");
    std::fs::write(
        nb.workdir.join("nightly.yaml"),
        "name: nightly\nschedule: '0 3 * * *'\njobs:\n- python prep.py\n",
    )
    .expect("write");
    let out = run(nb.in_pod().env("JUPYTERFLOW_CONFIG_FILE", &config).args([
        "run",
        "-f",
        "nightly.yaml",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        nb.api
            .requests()
            .iter()
            .all(|r| !r.query.contains("dryRun")),
        "the override needs no question"
    );
    assert_eq!(
        nb.api.cron_workflows(NAMESPACE)[0]["spec"]["schedule"],
        "0 3 * * *"
    );
}

#[test]
fn doctor_says_which_schedule_field_the_cluster_takes() {
    let nb = Notebook::start(Volume::Nfs);
    nb.api.argo_version(ArgoVersion::V3_5);
    let (_, text) = doctor(&nb, &[]);
    assert!(
        text.contains("✓  CronWorkflow schedules  spec.schedule (Argo 3.5 or older)"),
        "{text}"
    );
}
