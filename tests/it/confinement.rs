//! Job pods are no less confined than the notebook: they carry the labels the namespace's
//! NetworkPolicies select the notebook by (zero-to-jupyterhub's when the policies cannot be
//! read), never a controller's, and no init container; the notes say so.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::cluster_helpers::{NAMESPACE, Notebook, POD, Volume, submitted_name};
use crate::helpers::run;

/// zero-to-jupyterhub's `singleuser` policy (chart 4.2.0, `templates/singleuser/netpol.yaml`):
/// selects user servers by `jupyterhub.matchLabels`, blocks the metadata server.
fn singleuser_policy() -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "singleuser", "namespace": NAMESPACE},
        "spec": {
            "podSelector": {"matchLabels": {
                "component": "singleuser-server", "app": "jupyterhub", "release": "jhub"
            }},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{
                "ports": [{"port": "notebook-port"}],
                "from": [{"podSelector": {"matchLabels": {"hub.jupyter.org/network-access-singleuser": "true"}}}]
            }],
            "egress": [
                {"ports": [{"port": 8081}], "to": [{"podSelector": {"matchLabels": {
                    "component": "hub", "app": "jupyterhub", "release": "jhub"
                }}}]},
                {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
                {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [
                    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.169.254/32"
                ]}}]}
            ]
        }
    })
}

/// The chart's `hub` policy: selects the hub, not user servers.
fn hub_policy() -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "hub", "namespace": NAMESPACE},
        "spec": {
            "podSelector": {"matchLabels": {"component": "hub", "app": "jupyterhub", "release": "jhub"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"hub.jupyter.org/network-access-hub": "true"}}}]}]
        }
    })
}

fn pod_labels(wf: &Value) -> BTreeMap<String, String> {
    serde_json::from_value(wf["spec"]["podMetadata"]["labels"].clone()).expect("labels")
}

#[test]
fn job_pods_carry_the_labels_the_notebooks_policies_select_it_by() {
    let nb = Notebook::start(Volume::Nfs);
    nb.api.add_network_policy(NAMESPACE, singleuser_policy());
    nb.api.add_network_policy(NAMESPACE, hub_policy());
    let out = run(nb.in_pod().args(["run", "-c", "echo a >> echo b"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let name = submitted_name(&out.stdout);
    let wf = &nb.workflows()[0];
    assert_eq!(
        pod_labels(wf),
        BTreeMap::from([
            ("app".to_owned(), "jupyterhub".to_owned()),
            (
                "app.kubernetes.io/managed-by".to_owned(),
                "jupyterflow".to_owned()
            ),
            ("component".to_owned(), "singleuser-server".to_owned()),
            ("release".to_owned(), "jhub".to_owned()),
        ]),
        "the singleuser policy's three labels, and ours"
    );
    assert!(
        out.stderr.contains("note: NetworkPolicy `singleuser` confines job pods as it does the notebook: job pods carry the notebook's labels `app`, `component`, `release`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("note: the notebook's init container `block-cloud-metadata` is not run in job pods; the NetworkPolicy labels above confine them instead"),
        "{}",
        out.stderr
    );
    // Job pods run no init container of the notebook's: templates hold none.
    for template in wf["spec"]["templates"].as_array().expect("templates") {
        assert!(template.get("initContainers").is_none(), "{template}");
    }
    assert!(!wf.to_string().contains("block-cloud-metadata"));

    // What the hub sees: KubeSpawner's reflector lists pods by `component=singleuser-server`
    // and keys them `namespace/name`; each spawner looks up its own pod's key only.
    nb.api.argo_run(NAMESPACE, &name).run_to_end();
    let reflected: BTreeMap<String, Value> = nb
        .api
        .pods(NAMESPACE)
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["component"] == "singleuser-server")
        .map(|p| {
            let key = format!(
                "{}/{}",
                p["metadata"]["namespace"].as_str().unwrap_or_default(),
                p["metadata"]["name"].as_str().unwrap_or_default()
            );
            (key, p)
        })
        .collect();
    assert_eq!(reflected.len(), 3, "the notebook and its two job pods");
    let notebook = &reflected[&format!("{NAMESPACE}/{POD}")];
    assert!(
        notebook["metadata"]["labels"]
            .get("workflows.argoproj.io/workflow")
            .is_none(),
        "the notebook's key still names the notebook"
    );
    for (key, job) in reflected
        .iter()
        .filter(|(k, _)| !k.ends_with(&format!("/{POD}")))
    {
        let labels = &job["metadata"]["labels"];
        assert_eq!(
            labels["workflows.argoproj.io/workflow"],
            name.as_str(),
            "{key}"
        );
        // Never what KubeSpawner's per-server Service or a controller selects by.
        for never in [
            "hub.jupyter.org/servername",
            "hub.jupyter.org/username",
            "controller-revision-hash",
            "statefulset.kubernetes.io/pod-name",
        ] {
            assert!(labels.get(never).is_none(), "{key}: {never}");
        }
        assert!(
            job["spec"]["initContainers"]
                .as_array()
                .is_none_or(|init| { init.iter().all(|c| c["name"] != "block-cloud-metadata") })
        );
    }
}

#[test]
fn without_policies_selecting_the_notebook_the_note_says_job_pods_are_unconfined() {
    let nb = Notebook::start(Volume::Nfs);
    nb.api.add_network_policy(NAMESPACE, hub_policy());
    let out = run(nb.in_pod().args(["run", "--dry-run", "-c", "echo a"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("note: the notebook's init container `block-cloud-metadata` is not run in job pods; and no NetworkPolicy that selects the notebook selects them: job pods can reach what it cannot"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stdout.contains("component: singleuser-server"),
        "{}",
        out.stdout
    );
}

#[test]
fn without_the_right_to_list_policies_job_pods_get_zero_to_jupyterhubs_labels() {
    let nb = Notebook::start(Volume::Nfs);
    nb.api.add_network_policy(NAMESPACE, singleuser_policy());
    nb.api.forbid("list", "networkpolicies");
    let out = run(nb.in_pod().args(["run", "-c", "echo a"]));
    assert_eq!(
        out.code, 0,
        "a missing right is a note, not a failure: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("note: cannot read this namespace's NetworkPolicies (missing right: list networkpolicies in networking.k8s.io; `jupyterflow doctor` prints the Role): job pods carry the notebook's labels `app`, `component`, `hub.jupyter.org/network-access-hub`, `release`, which zero-to-jupyterhub's policies select by"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("the zero-to-jupyterhub labels above confine them instead"),
        "{}",
        out.stderr
    );
    let labels = pod_labels(&nb.workflows()[0]);
    assert_eq!(labels["component"], "singleuser-server");
    assert_eq!(labels["hub.jupyter.org/network-access-hub"], "true");
    assert!(!labels.contains_key("hub.jupyter.org/servername"));
    assert!(!labels.contains_key("hub.jupyter.org/username"));
}
