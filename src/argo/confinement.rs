//! Job pods must be no less confined than the notebook. NetworkPolicies select pods by label,
//! and job pods carry none of the notebook's: zero-to-jupyterhub's `singleuser` policy, which
//! blocks the cloud metadata server and the cluster's private addresses, selects the notebook
//! by `component: singleuser-server`, `app: jupyterhub` and `release: <release>`. So job pods
//! get the notebook's labels for exactly the keys the namespace's policies select it by
//! ([`choose`]); when those policies cannot be read (403, or a dry run from a pod file), the
//! labels zero-to-jupyterhub's policies use ([`fallback`]). Pure: `cluster` lists the
//! policies, this decides.
//!
//! Why carrying these labels is safe. Labels are also how controllers find their pods, so
//! a job pod with the notebook's labels must not be taken for the notebook or adopted:
//! - KubeSpawner (jupyterhub/kubespawner `kubespawner/spawner.py`, `_start_watching_pods`)
//!   watches pods with the one selector `component=singleuser-server`, and its reflector
//!   (`kubespawner/reflector.py`, `_list_and_update` and the watch loop) keys every pod by
//!   `"{namespace}/{name}"`. Each spawner looks up only its own key,
//!   `f"{self.namespace}/{self.pod_name}"` (`poll`, `_start`), with `pod_name` from
//!   `pod_name_template` (`jupyter-{username}…`). Job pods are named by Argo after their
//!   workflow (`<workflow>-<template>-<hash>`), so they sit in the hub's cache under names no
//!   spawner asks for: the hub never polls, stops or routes to them. (Only a user named
//!   after a run, `alice-7x2kq-job-…`, would have a pod name a job pod could take.)
//! - KubeSpawner's per-server Service (`get_service_manifest`, with `services_enabled` or
//!   internal SSL) selects `_build_pod_labels`: the common labels, `component`, and
//!   `hub.jupyter.org/username` and `hub.jupyter.org/servername`. `hub.jupyter.org/servername`
//!   is never copied, so no job pod can match that selector and receive the server's traffic.
//! - Labels that make a pod a controller's are never copied, even when a policy selects by them:
//!   a StatefulSet, ReplicaSet, DaemonSet or Job could adopt the pod (and delete it as a surplus
//!   replica) and a Service could route to it ([`is_controller_label`]). Kubeflow's notebook
//!   StatefulSet and its Service select `statefulset: <name>`, and its controller finds the
//!   notebook's pods by `notebook-name`.
//! - jupyterflow's and Argo's own labels are never copied: they say which run a pod belongs to.
//!
//! A policy that selects the notebook by a label job pods cannot carry does not select them:
//! a note says so. Init containers are never copied either (job pods get none): z2jh's
//! `block-cloud-metadata` runs privileged with NET_ADMIN to install iptables rules, which no
//! job should hold; a note names the ones job pods do not run and what confines them instead.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::labels::{MANAGED_BY, is_label_key};
use crate::environment::Environment;

/// The namespace's NetworkPolicies, as far as they are known.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Policies<'a> {
    /// As listed.
    Listed(&'a [NetworkPolicy]),
    /// The list was refused; `missing` names the right (`list networkpolicies in
    /// networking.k8s.io`).
    Forbidden { missing: &'a str },
    /// Not asked: a dry run from a pod file, with no cluster.
    NotAsked,
}

/// The labels zero-to-jupyterhub's policies select user pods by (`jupyterhub.matchLabels`:
/// component, app, release), used when the namespace's policies cannot be read; and the
/// prefix of the labels its other policies let pods in by (`hub.jupyter.org/network-access-hub`…).
const Z2JH_LABELS: &[&str] = &["component", "app", "release"];
/// The `component` of a zero-to-jupyterhub user server.
const Z2JH_COMPONENT: &str = "singleuser-server";
const Z2JH_ACCESS_PREFIX: &str = "hub.jupyter.org/network-access-";

/// Labels by which controllers and Services find their pods: a job pod must never carry one.
const CONTROLLER_LABELS: &[&str] = &[
    // StatefulSet (its revision, the pod's identity and index).
    "controller-revision-hash",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    // Deployment/ReplicaSet, DaemonSet.
    "pod-template-hash",
    "pod-template-generation",
    // Job.
    "controller-uid",
    "batch.kubernetes.io/controller-uid",
    "job-name",
    "batch.kubernetes.io/job-name",
    "batch.kubernetes.io/job-completion-index",
    // Kubeflow's notebook StatefulSet and Service select `statefulset`; its controller finds
    // the notebook's pods by `notebook-name`.
    "statefulset",
    "notebook-name",
    // KubeSpawner's per-server Service selects it (with the user's other labels).
    "hub.jupyter.org/servername",
];

/// Whether `key` identifies a controller's (or a Service's) pods.
pub(crate) fn is_controller_label(key: &str) -> bool {
    CONTROLLER_LABELS.contains(&key)
}

/// Whether `key` is a label jupyterflow or Argo sets on job pods itself.
pub(crate) fn is_own_label(key: &str) -> bool {
    key == MANAGED_BY
        || key.starts_with("jupyterflow.io/")
        || key.starts_with("workflows.argoproj.io/")
}

/// Whether a job pod may carry the notebook's label `key`.
pub(crate) fn may_copy(key: &str) -> bool {
    !is_own_label(key) && !is_controller_label(key) && is_label_key(key)
}

/// Whether `selector` selects a pod with `labels`: every `matchLabels` entry and every
/// `matchExpressions` requirement (`In`, `NotIn`, `Exists`, `DoesNotExist`) holds. An empty
/// selector (or none) selects every pod; an unknown operator selects none (the API server
/// refuses such a policy anyway).
pub(crate) fn selects(selector: Option<&LabelSelector>, labels: &BTreeMap<String, String>) -> bool {
    let Some(selector) = selector else {
        return true;
    };
    let exact = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    exact
        && selector.match_expressions.iter().flatten().all(|e| {
            let values = e.values.as_deref().unwrap_or_default();
            let value = labels.get(&e.key);
            match e.operator.as_str() {
                "In" => value.is_some_and(|v| values.contains(v)),
                "NotIn" => value.is_none_or(|v| !values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        })
}

/// A policy's `podSelector`.
fn selector(policy: &NetworkPolicy) -> Option<&LabelSelector> {
    policy.spec.as_ref().and_then(|s| s.pod_selector.as_ref())
}

/// The label keys a selector looks at.
fn selector_keys(selector: Option<&LabelSelector>) -> BTreeSet<String> {
    let Some(selector) = selector else {
        return BTreeSet::new();
    };
    selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .chain(
            selector
                .match_expressions
                .iter()
                .flatten()
                .map(|e| e.key.clone()),
        )
        .collect()
}

/// What job pods carry, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Confinement {
    /// The notebook's labels job pods carry.
    pub(crate) labels: BTreeMap<String, String>,
    /// The policies that select the notebook and, with these labels, its job pods too.
    pub(crate) confining: Vec<String>,
    /// The policies that select the notebook but not its job pods, with the labels they select
    /// by that job pods must not carry.
    pub(crate) unmatched: Vec<(String, Vec<String>)>,
}

/// The labels job pods carry so that every policy selecting the notebook selects them too:
/// for each such policy, the notebook's labels for the keys its `podSelector` uses, minus the
/// ones a job pod must never carry ([`may_copy`]).
pub(crate) fn choose(
    notebook: &BTreeMap<String, String>,
    policies: &[NetworkPolicy],
) -> Confinement {
    let name = |p: &NetworkPolicy| p.metadata.name.clone().unwrap_or_default();
    let mut selecting: Vec<&NetworkPolicy> = policies
        .iter()
        .filter(|p| selects(selector(p), notebook))
        .collect();
    selecting.sort_by_key(|p| name(p));
    let mut labels = BTreeMap::new();
    for policy in &selecting {
        for key in selector_keys(selector(policy)) {
            if let Some(value) = notebook.get(&key)
                && may_copy(&key)
            {
                labels.insert(key, value.clone());
            }
        }
    }
    // What a job pod will carry: these, and ours (`managed-by: jupyterflow`).
    let mut job_pod = labels.clone();
    job_pod.insert(MANAGED_BY.to_owned(), "jupyterflow".to_owned());
    let mut confinement = Confinement {
        labels,
        ..Confinement::default()
    };
    for policy in selecting {
        if selects(selector(policy), &job_pod) {
            confinement.confining.push(name(policy));
        } else {
            let missing = selector_keys(selector(policy))
                .into_iter()
                .filter(|k| !may_copy(k))
                .collect();
            confinement.unmatched.push((name(policy), missing));
        }
    }
    confinement
}

/// Without the policies: the notebook's labels among those zero-to-jupyterhub's policies use,
/// when it is a zero-to-jupyterhub server (KubeSpawner labels every one
/// `component: singleuser-server`, and the chart's `singleuser` policy selects by it). Other
/// notebooks get none: `app` is a label Services commonly select by (Kubeflow's notebooks carry
/// `app: <name>`), and without their policies nothing says job pods need it.
pub(crate) fn fallback(notebook: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    if notebook.get("component").map(String::as_str) != Some(Z2JH_COMPONENT) {
        return BTreeMap::new();
    }
    notebook
        .iter()
        .filter(|(k, _)| Z2JH_LABELS.contains(&k.as_str()) || k.starts_with(Z2JH_ACCESS_PREFIX))
        .filter(|(k, _)| may_copy(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn keys_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .keys()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn names_text(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Gives job pods the labels the notebook's NetworkPolicies select it by (`env.pod_labels`)
/// and says what was done in `env.notes`, including the notebook's init containers that job
/// pods do not run.
pub(crate) fn confine(env: &mut Environment, pod: &Pod, policies: Policies<'_>) {
    let notebook = pod.metadata.labels.clone().unwrap_or_default();
    // What confines job pods instead of the notebook's init containers, said after them.
    let instead = match policies {
        Policies::Listed(list) => by_policies(env, &notebook, list),
        Policies::Forbidden { missing } => by_fallback(
            env,
            &notebook,
            &format!(
                "cannot read this namespace's NetworkPolicies (missing right: {missing}; `jupyterflow doctor` prints the Role)"
            ),
        ),
        Policies::NotAsked => by_fallback(
            env,
            &notebook,
            "the namespace's NetworkPolicies are read when submitting",
        ),
    };
    let init: Vec<String> = pod
        .spec
        .iter()
        .flat_map(|s| s.init_containers.iter().flatten())
        .map(|c| format!("`{}`", c.name))
        .collect();
    if !init.is_empty() {
        env.notes.push(format!(
            "the notebook's init container{} {} {} not run in job pods; {instead}",
            if init.len() == 1 { "" } else { "s" },
            init.join(", "),
            if init.len() == 1 { "is" } else { "are" },
        ));
    }
}

/// Labels from the listed policies, with notes; returns what confines job pods.
fn by_policies(
    env: &mut Environment,
    notebook: &BTreeMap<String, String>,
    list: &[NetworkPolicy],
) -> &'static str {
    let chosen = choose(notebook, list);
    if !chosen.confining.is_empty() {
        let one = chosen.confining.len() == 1;
        let by = if chosen.labels.is_empty() {
            "they select every pod".to_owned()
        } else {
            format!(
                "job pods carry the notebook's labels {}",
                keys_text(&chosen.labels)
            )
        };
        env.notes.push(format!(
            "NetworkPolic{} {} confine{} job pods as {} the notebook: {by}",
            if one { "y" } else { "ies" },
            names_text(&chosen.confining),
            if one { "s" } else { "" },
            if one { "it does" } else { "they do" },
        ));
    }
    for (policy, missing) in &chosen.unmatched {
        let why = if missing.is_empty() {
            "by labels jupyterflow sets on job pods itself".to_owned()
        } else {
            format!(
                "by {}, which job pods never carry (controllers and Services find their pods by them)",
                names_text(missing)
            )
        };
        env.notes.push(format!(
            "NetworkPolicy `{policy}` selects the notebook {why}: it does not confine job pods"
        ));
    }
    let confined = !chosen.confining.is_empty();
    env.pod_labels = chosen.labels;
    if confined {
        "the NetworkPolicy labels above confine them instead"
    } else {
        "and no NetworkPolicy that selects the notebook selects them: job pods can reach what it cannot"
    }
}

/// zero-to-jupyterhub's labels, when the policies are not known (`why`); returns what
/// confines job pods.
fn by_fallback(
    env: &mut Environment,
    notebook: &BTreeMap<String, String>,
    why: &str,
) -> &'static str {
    let labels = fallback(notebook);
    let instead = if labels.is_empty() {
        env.notes.push(format!(
            "{why}; the notebook is no zero-to-jupyterhub server (no `component: singleuser-server` label), so job pods carry none of its labels"
        ));
        "and job pods carry none of the labels NetworkPolicies may select the notebook by: they may reach what it cannot"
    } else {
        env.notes.push(format!(
            "{why}: job pods carry the notebook's labels {}, which zero-to-jupyterhub's policies select by",
            keys_text(&labels)
        ));
        "the zero-to-jupyterhub labels above confine them instead, if this namespace's policies select by them"
    };
    env.pod_labels = labels;
    instead
}

#[cfg(test)]
mod tests;
