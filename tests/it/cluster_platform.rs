//! A notebook platform as a stock hub gives it, against the fake API server: a pod whose name
//! is longer than its hostname, and `doctor`'s checks one by one.

use serde_json::json;

use crate::cluster_helpers::{NAMESPACE, Notebook, Volume, notebook_pod};
use crate::helpers::run;

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
