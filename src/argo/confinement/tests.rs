//! Tests for confinement: label selectors as Kubernetes evaluates them, the labels job pods
//! carry (and never carry), the 403 fallback, and the notes.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::api::networking::v1::NetworkPolicySpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelectorRequirement, ObjectMeta};

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn requirement(key: &str, operator: &str, values: &[&str]) -> LabelSelectorRequirement {
    LabelSelectorRequirement {
        key: key.into(),
        operator: operator.into(),
        values: (!values.is_empty()).then(|| values.iter().map(|v| (*v).to_owned()).collect()),
    }
}

fn selector(
    match_labels: &[(&str, &str)],
    expressions: Vec<LabelSelectorRequirement>,
) -> LabelSelector {
    LabelSelector {
        match_labels: (!match_labels.is_empty()).then(|| labels(match_labels)),
        match_expressions: (!expressions.is_empty()).then_some(expressions),
    }
}

fn policy(name: &str, pod_selector: LabelSelector) -> NetworkPolicy {
    NetworkPolicy {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(pod_selector),
            ..NetworkPolicySpec::default()
        }),
    }
}

/// The zero-to-jupyterhub notebook's labels (tests/fixtures/pods/zero-to-jupyterhub.json).
fn z2jh() -> BTreeMap<String, String> {
    labels(&[
        ("app", "jupyterhub"),
        ("app.kubernetes.io/component", "singleuser-server"),
        ("app.kubernetes.io/managed-by", "kubespawner"),
        ("component", "singleuser-server"),
        ("hub.jupyter.org/network-access-hub", "true"),
        ("hub.jupyter.org/servername", ""),
        ("hub.jupyter.org/username", "alice"),
        ("release", "jhub"),
    ])
}

/// The chart's `singleuser` policy: `jupyterhub.matchLabels` with component singleuser-server.
fn singleuser() -> NetworkPolicy {
    policy(
        "singleuser",
        selector(
            &[
                ("component", "singleuser-server"),
                ("app", "jupyterhub"),
                ("release", "jhub"),
            ],
            vec![],
        ),
    )
}

fn pod(labels: BTreeMap<String, String>, init: &[&str]) -> Pod {
    Pod {
        metadata: ObjectMeta {
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            init_containers: (!init.is_empty()).then(|| {
                init.iter()
                    .map(|name| Container {
                        name: (*name).into(),
                        ..Container::default()
                    })
                    .collect()
            }),
            ..PodSpec::default()
        }),
        status: None,
    }
}

#[test]
fn selectors_are_evaluated_as_kubernetes_does() {
    let pod = labels(&[("app", "jupyterhub"), ("tier", "gpu")]);
    let cases = [
        (selector(&[], vec![]), true),
        (selector(&[("app", "jupyterhub")], vec![]), true),
        (selector(&[("app", "other")], vec![]), false),
        (selector(&[("release", "jhub")], vec![]), false),
        (
            selector(&[], vec![requirement("tier", "In", &["cpu", "gpu"])]),
            true,
        ),
        (
            selector(&[], vec![requirement("tier", "In", &["cpu"])]),
            false,
        ),
        (
            selector(&[], vec![requirement("zone", "In", &["a"])]),
            false,
        ),
        (
            selector(&[], vec![requirement("tier", "NotIn", &["cpu"])]),
            true,
        ),
        (
            selector(&[], vec![requirement("tier", "NotIn", &["gpu"])]),
            false,
        ),
        (
            selector(&[], vec![requirement("zone", "NotIn", &["a"])]),
            true,
        ),
        (
            selector(&[], vec![requirement("tier", "Exists", &[])]),
            true,
        ),
        (
            selector(&[], vec![requirement("zone", "Exists", &[])]),
            false,
        ),
        (
            selector(&[], vec![requirement("zone", "DoesNotExist", &[])]),
            true,
        ),
        (
            selector(&[], vec![requirement("tier", "DoesNotExist", &[])]),
            false,
        ),
        (
            selector(&[], vec![requirement("tier", "Like", &["gpu"])]),
            false,
        ),
        (
            selector(
                &[("app", "jupyterhub")],
                vec![requirement("tier", "Exists", &[])],
            ),
            true,
        ),
    ];
    for (selector, expected) in cases {
        assert_eq!(selects(Some(&selector), &pod), expected, "{selector:?}");
    }
    assert!(selects(None, &pod), "no selector selects every pod");
}

#[test]
fn the_singleuser_policy_gives_job_pods_its_three_labels() {
    let chosen = choose(&z2jh(), &[singleuser()]);
    assert_eq!(
        chosen.labels,
        labels(&[
            ("app", "jupyterhub"),
            ("component", "singleuser-server"),
            ("release", "jhub")
        ])
    );
    assert_eq!(chosen.confining, vec!["singleuser".to_owned()]);
    assert!(chosen.unmatched.is_empty());
}

#[test]
fn policies_that_do_not_select_the_notebook_give_nothing() {
    let hub = policy("hub", selector(&[("component", "hub")], vec![]));
    let chosen = choose(&z2jh(), &[hub]);
    assert_eq!(chosen, Confinement::default());
}

#[test]
fn expressions_copy_the_keys_they_name_and_an_empty_selector_needs_none() {
    let by_expression = policy(
        "by-expression",
        selector(
            &[],
            vec![
                requirement("hub.jupyter.org/network-access-hub", "Exists", &[]),
                requirement("gpu", "DoesNotExist", &[]),
            ],
        ),
    );
    let everything = policy("default-deny", selector(&[], vec![]));
    let chosen = choose(&z2jh(), &[by_expression, everything]);
    assert_eq!(
        chosen.labels,
        labels(&[("hub.jupyter.org/network-access-hub", "true")])
    );
    assert_eq!(
        chosen.confining,
        vec!["by-expression".to_owned(), "default-deny".to_owned()]
    );
}

#[test]
fn controller_and_own_labels_are_never_copied() {
    let kubeflow = labels(&[
        ("app", "mynb"),
        ("notebook-name", "mynb"),
        ("statefulset", "mynb"),
        ("controller-revision-hash", "mynb-6d4f7b9c8"),
        ("statefulset.kubernetes.io/pod-name", "mynb-0"),
    ]);
    let by_statefulset = policy(
        "kf",
        selector(&[("statefulset", "mynb"), ("app", "mynb")], vec![]),
    );
    let chosen = choose(&kubeflow, &[by_statefulset]);
    assert_eq!(chosen.labels, labels(&[("app", "mynb")]));
    assert!(chosen.confining.is_empty());
    assert_eq!(
        chosen.unmatched,
        vec![("kf".to_owned(), vec!["statefulset".to_owned()])]
    );
    for key in [
        "controller-revision-hash",
        "statefulset.kubernetes.io/pod-name",
        "pod-template-hash",
        "statefulset",
        "notebook-name",
        "hub.jupyter.org/servername",
        "app.kubernetes.io/managed-by",
        "jupyterflow.io/notebook",
        "workflows.argoproj.io/workflow",
    ] {
        assert!(!may_copy(key), "{key}");
    }
    assert!(may_copy("hub.jupyter.org/username"));
    // A policy selecting KubeSpawner's managed-by label cannot select job pods, which say
    // `managed-by: jupyterflow`.
    let by_manager = policy(
        "spawned",
        selector(&[("app.kubernetes.io/managed-by", "kubespawner")], vec![]),
    );
    let chosen = choose(&z2jh(), &[by_manager]);
    assert!(chosen.labels.is_empty());
    assert_eq!(
        chosen.unmatched,
        vec![(
            "spawned".to_owned(),
            vec!["app.kubernetes.io/managed-by".to_owned()]
        )]
    );
}

#[test]
fn the_fallback_takes_zero_to_jupyterhubs_labels() {
    assert_eq!(
        fallback(&z2jh()),
        labels(&[
            ("app", "jupyterhub"),
            ("component", "singleuser-server"),
            ("hub.jupyter.org/network-access-hub", "true"),
            ("release", "jhub"),
        ])
    );
    assert!(fallback(&labels(&[("team", "ml")])).is_empty());
    // Kubeflow's `app: <notebook>` is no zero-to-jupyterhub label.
    assert!(fallback(&labels(&[("app", "mynb"), ("notebook-name", "mynb")])).is_empty());
}

#[test]
fn confine_sets_the_labels_and_names_the_init_container() {
    let mut env = Environment::default();
    let notebook = pod(z2jh(), &["block-cloud-metadata"]);
    confine(&mut env, &notebook, Policies::Listed(&[singleuser()]));
    assert_eq!(env.pod_labels.len(), 3);
    assert_eq!(
        env.notes,
        vec![
            "NetworkPolicy `singleuser` confines job pods as it does the notebook: job pods carry the notebook's labels `app`, `component`, `release`".to_owned(),
            "the notebook's init container `block-cloud-metadata` is not run in job pods; the NetworkPolicy labels above confine them instead".to_owned(),
        ]
    );

    let mut env = Environment::default();
    confine(&mut env, &notebook, Policies::Listed(&[]));
    assert!(env.pod_labels.is_empty());
    assert_eq!(
        env.notes,
        vec!["the notebook's init container `block-cloud-metadata` is not run in job pods; and no NetworkPolicy that selects the notebook selects them: job pods can reach what it cannot".to_owned()]
    );
}

#[test]
fn without_the_right_to_list_policies_zero_to_jupyterhubs_labels_are_used() {
    let mut env = Environment::default();
    let notebook = pod(z2jh(), &["block-cloud-metadata"]);
    confine(
        &mut env,
        &notebook,
        Policies::Forbidden {
            missing: "list networkpolicies in networking.k8s.io",
        },
    );
    assert_eq!(env.pod_labels, fallback(&z2jh()));
    assert_eq!(env.notes.len(), 2);
    assert!(
        env.notes[0].starts_with("cannot read this namespace's NetworkPolicies (missing right: list networkpolicies in networking.k8s.io;"),
        "{}",
        env.notes[0]
    );
    assert!(
        env.notes[0].ends_with("job pods carry the notebook's labels `app`, `component`, `hub.jupyter.org/network-access-hub`, `release`, which zero-to-jupyterhub's policies select by"),
        "{}",
        env.notes[0]
    );
    // A pod with none of them, and no init containers: one note, no labels.
    let mut env = Environment::default();
    confine(
        &mut env,
        &pod(labels(&[("team", "ml")]), &[]),
        Policies::NotAsked,
    );
    assert!(env.pod_labels.is_empty());
    assert_eq!(env.notes.len(), 1);
    assert!(
        env.notes[0].contains("so job pods carry none"),
        "{}",
        env.notes[0]
    );
}
