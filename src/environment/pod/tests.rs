use k8s_openapi::api::core::v1::{EnvVar, Pod};
use serde_json::json;

use super::*;

const Z2JH: &str = include_str!("../../../tests/fixtures/pods/zero-to-jupyterhub.json");
const Z2JH_2020: &str = include_str!("../../../tests/fixtures/pods/zero-to-jupyterhub-2020.json");
const KUBEFLOW: &str = include_str!("../../../tests/fixtures/pods/kubeflow-notebook.json");
const MINIMAL: &str = include_str!("../../../tests/fixtures/pods/minimal.json");

fn pod(text: &str) -> Pod {
    serde_json::from_str(text).expect("fixture is a valid pod")
}

fn pod_value(value: serde_json::Value) -> Pod {
    serde_json::from_value(value).expect("inline pod is valid")
}

fn local() -> LocalContext {
    LocalContext {
        working_dir: "/home/jovyan/project".into(),
        path: Some("/opt/conda/envs/ml/bin:/usr/bin".into()),
        home: Some("/home/jovyan".into()),
        nb_user: Some("jovyan".into()),
        nb_user_ids: Some((1000, 100)),
    }
}

fn bare_local() -> LocalContext {
    LocalContext {
        working_dir: "/work".into(),
        ..LocalContext::default()
    }
}

fn pinned() -> PodOptions {
    PodOptions { pin_image: true }
}

fn env_names(env: &Environment) -> Vec<&str> {
    env.env.iter().map(|v| v.name.as_str()).collect()
}

fn env_var<'a>(env: &'a Environment, name: &str) -> Option<&'a EnvVar> {
    env.env.iter().find(|v| v.name == name)
}

fn one_container(container: &serde_json::Value, status: Option<serde_json::Value>) -> Pod {
    let mut value = json!({
        "metadata": {"name": "nb", "namespace": "ns"},
        "spec": {"containers": [container.clone()]},
    });
    if let Some(status) = status {
        value["status"] = status;
    }
    pod_value(value)
}

const DIGEST: &str = "sha256:4f1c6b0c8d2e9a7f3b5d1e0c9a8b7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a";

// --- container choice ---

#[test]
fn jupyterhub_container_is_notebook() {
    let env = from_pod(&pod(Z2JH), &local(), &pinned()).expect("z2jh pod");
    assert_eq!(env.container_name, "notebook");
    assert_eq!(env.pod_name, "jupyter-alice");
    assert_eq!(env.namespace.as_deref(), Some("jhub"));
}

#[test]
fn kubeflow_container_from_notebook_name_label_not_sidecar() {
    let env = from_pod(&pod(KUBEFLOW), &local(), &pinned()).expect("kubeflow pod");
    assert_eq!(env.container_name, "mynb");
    assert!(
        env.image
            .starts_with("ghcr.io/kubeflow/kubeflow/notebook-servers/jupyter-scipy@")
    );
}

#[test]
fn default_container_annotation_is_used() {
    let p = pod_value(json!({
        "metadata": {"name": "p", "annotations": {"kubectl.kubernetes.io/default-container": "work"}},
        "spec": {"containers": [
            {"name": "helper", "image": "busybox"},
            {"name": "work", "image": "me/nb:1"},
        ]},
    }));
    let env = from_pod(&p, &bare_local(), &pinned()).expect("pod");
    assert_eq!(env.container_name, "work");
}

#[test]
fn sidecar_first_is_skipped() {
    let p = pod_value(json!({
        "metadata": {"name": "p"},
        "spec": {"containers": [
            {"name": "istio-proxy", "image": "istio/proxyv2:1.24.2"},
            {"name": "linkerd-proxy", "image": "linkerd/proxy"},
            {"name": "lab", "image": "me/lab:1"},
        ]},
    }));
    let env = from_pod(&p, &bare_local(), &pinned()).expect("pod");
    assert_eq!(env.container_name, "lab");
    assert_eq!(env.image, "me/lab:1");
}

#[test]
fn only_sidecars_falls_back_to_first() {
    let p = pod_value(json!({
        "metadata": {"name": "p"},
        "spec": {"containers": [
            {"name": "istio-proxy", "image": "istio/proxyv2:1.24.2"},
            {"name": "vault-agent", "image": "vault"},
        ]},
    }));
    let env = from_pod(&p, &bare_local(), &pinned()).expect("pod");
    assert_eq!(env.container_name, "istio-proxy");
}

// --- image ---

#[test]
fn image_is_pinned_from_status_with_note() {
    let env = from_pod(&pod(Z2JH), &local(), &pinned()).expect("z2jh pod");
    let expected = format!("jupyter/datascience-notebook@{DIGEST}");
    assert_eq!(env.image, expected);
    assert!(
        env.notes.iter().any(|n| n
            == &format!(
                "image pinned to {expected} (from the running notebook; --no-pin-image keeps the tag)"
            )),
        "notes: {:?}",
        env.notes
    );
}

#[test]
fn docker_pullable_prefix_is_stripped() {
    let env = from_pod(&pod(Z2JH_2020), &local(), &pinned()).expect("2020 pod");
    assert_eq!(
        env.image,
        "jupyter/datascience-notebook@sha256:2b8e0d6c4a2f8e6d4c2a0f8e6d4c2b0a8f6e4d2c0b8a6f4e2d0c8b6a4f2e0d8c"
    );
}

#[test]
fn untagged_image_is_pinned() {
    let env = from_pod(&pod(MINIMAL), &bare_local(), &pinned()).expect("minimal pod");
    assert_eq!(
        env.image,
        "jupyter/base-notebook@sha256:0000000000000000000000000000000000000000000000000000000000000000"
    );
}

#[test]
fn no_pin_keeps_tag() {
    let env = from_pod(&pod(Z2JH), &local(), &PodOptions { pin_image: false }).expect("pod");
    assert_eq!(env.image, "jupyter/datascience-notebook:2023-10-20");
    assert!(!env.notes.iter().any(|n| n.contains("pinned")));
}

#[test]
fn registry_with_port_keeps_port() {
    let p = one_container(
        &json!({"name": "notebook", "image": "registry.local:5000/team/nb:v2"}),
        Some(json!({"containerStatuses": [{
            "name": "notebook", "image": "registry.local:5000/team/nb:v2",
            "imageID": format!("registry.local:5000/team/nb@{DIGEST}"),
            "ready": true, "restartCount": 0,
        }]})),
    );
    let env = from_pod(&p, &bare_local(), &pinned()).expect("pod");
    assert_eq!(env.image, format!("registry.local:5000/team/nb@{DIGEST}"));
}

#[test]
fn registry_with_port_and_no_tag() {
    assert_eq!(repository("host:5000/repo"), "host:5000/repo");
    assert_eq!(repository("host:5000/repo:tag"), "host:5000/repo");
    assert_eq!(repository("repo:tag"), "repo");
    assert_eq!(repository("repo"), "repo");
}

#[test]
fn image_with_digest_is_kept() {
    let image = format!("me/nb:1@{DIGEST}");
    let p = one_container(
        &json!({"name": "notebook", "image": image}),
        Some(json!({"containerStatuses": [{
            "name": "notebook", "image": "me/nb:1",
            "imageID": "docker.io/me/nb@sha256:1111111111111111111111111111111111111111111111111111111111111111",
            "ready": true, "restartCount": 0,
        }]})),
    );
    let env = from_pod(&p, &bare_local(), &pinned()).expect("pod");
    assert_eq!(env.image, image);
}

#[test]
fn no_status_keeps_tag_and_says_so() {
    let p = one_container(&json!({"name": "notebook", "image": "me/nb:1"}), None);
    let env = from_pod(&p, &bare_local(), &pinned()).expect("pod");
    assert_eq!(env.image, "me/nb:1");
    assert!(env.notes.iter().any(|n| n.starts_with("image not pinned")));
}

#[test]
fn local_image_id_is_not_a_registry_digest() {
    assert_eq!(
        registry_digest(
            "docker://sha256:1111111111111111111111111111111111111111111111111111111111111111"
        ),
        None
    );
    assert_eq!(registry_digest("repo@sha256:short"), None);
    assert_eq!(
        registry_digest(&format!("docker-pullable://repo@{DIGEST}")),
        Some(DIGEST)
    );
}

#[test]
fn status_of_other_container_is_not_used() {
    let p = one_container(
        &json!({"name": "notebook", "image": "me/nb:1"}),
        Some(json!({"containerStatuses": [{
            "name": "istio-proxy", "image": "istio/proxyv2",
            "imageID": format!("istio/proxyv2@{DIGEST}"),
            "ready": true, "restartCount": 0,
        }]})),
    );
    let env = from_pod(&p, &bare_local(), &pinned()).expect("pod");
    assert_eq!(env.image, "me/nb:1");
}

// --- carried-over fields ---

#[test]
fn z2jh_carries_pod_settings() {
    let env = from_pod(&pod(Z2JH), &local(), &pinned()).expect("pod");
    assert_eq!(env.image_pull_policy.as_deref(), Some("IfNotPresent"));
    let secrets: Vec<_> = env
        .image_pull_secrets
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(secrets, ["regcred"]);
    assert_eq!(
        env.node_selector
            .get("cloud.google.com/gke-nodepool")
            .map(String::as_str),
        Some("user-pool")
    );
    assert_eq!(env.tolerations.len(), 4);
    assert!(env.affinity.is_some());
    assert_eq!(env.service_account_name.as_deref(), Some("default"));
    assert_eq!(
        env.node_name.as_deref(),
        Some("gke-jhub-user-pool-3f1c9a2b-k7xq")
    );
    let resources = env.resources.as_ref().expect("resources");
    let limits = resources.limits.as_ref().expect("limits");
    assert_eq!(limits.get("memory").map(|q| q.0.as_str()), Some("4Gi"));
    assert_eq!(env.working_dir, "/home/jovyan/project");
}

#[test]
fn deprecated_service_account_is_fallback() {
    let p = pod_value(json!({
        "metadata": {"name": "p"},
        "spec": {"serviceAccount": "old-sa", "containers": [{"name": "notebook", "image": "i"}]},
    }));
    let env = from_pod(&p, &bare_local(), &pinned()).expect("pod");
    assert_eq!(env.service_account_name.as_deref(), Some("old-sa"));
}

#[test]
fn minimal_pod_has_empty_optionals() {
    let env = from_pod(&pod(MINIMAL), &bare_local(), &pinned()).expect("minimal pod");
    assert!(env.volumes.is_empty());
    assert!(env.volume_mounts.is_empty());
    assert!(env.env.is_empty());
    assert!(env.env_from.is_empty());
    assert_eq!(env.resources, None);
    assert_eq!(env.service_account_name, None);
    assert_eq!(env.security_context, None);
    assert_eq!(env.container_security_context, None);
    assert_eq!(env.user, None);
}

// --- volumes ---

fn volume_names(env: &Environment) -> Vec<&str> {
    env.volumes.iter().map(|v| v.name.as_str()).collect()
}

fn mount_names(env: &Environment) -> Vec<&str> {
    env.volume_mounts.iter().map(|m| m.name.as_str()).collect()
}

#[test]
fn z2jh_drops_kube_api_access_token() {
    let env = from_pod(&pod(Z2JH), &local(), &pinned()).expect("pod");
    assert_eq!(mount_names(&env), ["volume-alice", "shared-nfs"]);
    assert_eq!(volume_names(&env), ["volume-alice", "shared-nfs"]);
}

#[test]
fn legacy_default_token_is_dropped() {
    let env = from_pod(&pod(Z2JH_2020), &local(), &pinned()).expect("pod");
    assert_eq!(mount_names(&env), ["volume-alice"]);
    assert_eq!(volume_names(&env), ["volume-alice"]);
}

#[test]
fn kubeflow_keeps_pipeline_token_and_only_used_volumes() {
    let env = from_pod(&pod(KUBEFLOW), &local(), &pinned()).expect("pod");
    assert_eq!(
        mount_names(&env),
        ["dshm", "mynb-workspace", "volume-kf-pipeline-token"]
    );
    // Pod order, and none of the istio sidecar's volumes.
    assert_eq!(
        volume_names(&env),
        ["dshm", "mynb-workspace", "volume-kf-pipeline-token"]
    );
}

#[test]
fn mount_without_volume_is_an_error() {
    let p = one_container(
        &json!({"name": "notebook", "image": "i", "volumeMounts": [{"name": "ghost", "mountPath": "/data"}]}),
        None,
    );
    let err = from_pod(&p, &bare_local(), &pinned()).expect_err("dangling mount");
    assert_eq!(
        err,
        PodError::MissingVolume {
            pod: "nb".into(),
            container: "notebook".into(),
            volume: "ghost".into(),
            mount_path: "/data".into(),
        }
    );
    assert!(err.to_string().contains("has no such volume"));
}

// --- security ---

#[test]
fn z2jh_container_uid_moves_to_pod_context() {
    let env = from_pod(&pod(Z2JH), &local(), &pinned()).expect("pod");
    let pod_sc = env.security_context.expect("pod security context");
    assert_eq!(pod_sc.fs_group, Some(100));
    assert_eq!(pod_sc.run_as_user, Some(1000));
    // The pod named a uid, so the local gid is not added.
    assert_eq!(pod_sc.run_as_group, None);
    let container_sc = env.container_security_context.expect("container context");
    assert_eq!(container_sc.allow_privilege_escalation, Some(false));
    assert_eq!(container_sc.run_as_user, None);
}

#[test]
fn container_uid_wins_over_pod_uid() {
    let p = pod_value(json!({
        "metadata": {"name": "p"},
        "spec": {
            "securityContext": {"runAsUser": 1, "runAsGroup": 2, "fsGroup": 3},
            "containers": [{"name": "notebook", "image": "i",
                "securityContext": {"runAsUser": 1000, "runAsGroup": 100}}],
        },
    }));
    let env = from_pod(&p, &local(), &pinned()).expect("pod");
    let pod_sc = env.security_context.expect("pod security context");
    assert_eq!(
        (pod_sc.run_as_user, pod_sc.run_as_group, pod_sc.fs_group),
        (Some(1000), Some(100), Some(3))
    );
    // Nothing else was in the container context, so nothing is left of it.
    assert_eq!(env.container_security_context, None);
}

#[test]
fn kubeflow_without_uid_uses_local_nb_user_ids() {
    let env = from_pod(&pod(KUBEFLOW), &local(), &pinned()).expect("pod");
    let pod_sc = env.security_context.expect("pod security context");
    assert_eq!(
        (pod_sc.run_as_user, pod_sc.run_as_group, pod_sc.fs_group),
        (Some(1000), Some(100), Some(100))
    );
    assert_eq!(env.container_security_context, None);
}

#[test]
fn no_uid_and_no_local_ids_leaves_uid_unset() {
    let env = from_pod(&pod(KUBEFLOW), &bare_local(), &pinned()).expect("pod");
    let pod_sc = env.security_context.expect("fsGroup still set");
    assert_eq!(pod_sc.run_as_user, None);
}

// --- env ---

#[test]
fn hub_credentials_are_left_out_with_note() {
    let env = from_pod(&pod(Z2JH), &local(), &pinned()).expect("pod");
    for name in [
        "JUPYTERHUB_API_TOKEN",
        "JPY_API_TOKEN",
        "JUPYTERHUB_CLIENT_ID",
        "JUPYTERHUB_OAUTH_SCOPES",
        "JUPYTERHUB_OAUTH_ACCESS_SCOPES",
        "JUPYTERHUB_OAUTH_CALLBACK_URL",
        "JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES",
        "JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED",
    ] {
        assert!(env_var(&env, name).is_none(), "{name} was copied");
    }
    assert!(
        env.notes.contains(
            &"left out 8 JupyterHub credential variables: JPY_API_TOKEN, JUPYTERHUB_API_TOKEN, \
          JUPYTERHUB_CLIENT_ID, JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED, \
          JUPYTERHUB_OAUTH_ACCESS_SCOPES, JUPYTERHUB_OAUTH_CALLBACK_URL, \
          JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES, JUPYTERHUB_OAUTH_SCOPES"
                .to_owned()
        ),
        "notes: {:?}",
        env.notes
    );
    // Non-credential hub variables stay.
    assert!(env_var(&env, "JUPYTERHUB_API_URL").is_some());
}

#[test]
fn jpy_cookie_prefix_is_left_out() {
    let p = one_container(
        &json!({"name": "notebook", "image": "i", "env": [
            {"name": "JPY_COOKIE_SECRET", "value": "s"},
            {"name": "KEEP", "value": "k"},
        ]}),
        None,
    );
    let env = from_pod(&p, &bare_local(), &pinned()).expect("pod");
    assert_eq!(env_names(&env), ["KEEP"]);
    assert!(
        env.notes
            .contains(&"left out 1 JupyterHub credential variable: JPY_COOKIE_SECRET".to_owned())
    );
}

#[test]
fn no_credentials_means_no_note() {
    let env = from_pod(&pod(KUBEFLOW), &local(), &pinned()).expect("pod");
    assert!(!env.notes.iter().any(|n| n.starts_with("left out")));
}

#[test]
fn env_values_are_byte_exact_and_empty_vars_kept() {
    let p = one_container(
        &json!({"name": "notebook", "image": "i", "env": [
            {"name": "JSON", "value": "[\"a\", \"b\"]"},
            {"name": "MULTI", "value": "{}\n  x: 'y'\n"},
            {"name": "EMPTY"},
        ]}),
        None,
    );
    let env = from_pod(&p, &bare_local(), &pinned()).expect("pod");
    assert_eq!(
        env_var(&env, "JSON").and_then(|v| v.value.as_deref()),
        Some("[\"a\", \"b\"]")
    );
    assert_eq!(
        env_var(&env, "MULTI").and_then(|v| v.value.as_deref()),
        Some("{}\n  x: 'y'\n")
    );
    assert_eq!(
        env_var(&env, "EMPTY"),
        Some(&EnvVar {
            name: "EMPTY".into(),
            value: None,
            value_from: None
        })
    );
}

#[test]
fn z2jh_json_env_values_survive() {
    let env = from_pod(&pod(Z2JH), &local(), &pinned()).expect("pod");
    assert_eq!(
        env_var(&env, "JUPYTERHUB_HOST").map(|v| v.value.as_ref()),
        Some(None)
    );
    assert_eq!(
        env_var(&env, "JUPYTER_IMAGE").and_then(|v| v.value.as_deref()),
        Some("jupyter/datascience-notebook:2023-10-20")
    );
}

#[test]
fn value_from_stays_a_reference() {
    let p = one_container(
        &json!({"name": "notebook", "image": "i",
            "env": [
                {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            ],
            "envFrom": [{"configMapRef": {"name": "settings"}}],
        }),
        None,
    );
    let env = from_pod(&p, &bare_local(), &pinned()).expect("pod");
    let secret = env_var(&env, "DB_PASSWORD").expect("kept");
    assert_eq!(secret.value, None);
    let key = secret
        .value_from
        .as_ref()
        .and_then(|f| f.secret_key_ref.as_ref())
        .expect("secret ref");
    assert_eq!((key.name.as_str(), key.key.as_str()), ("db", "password"));
    assert!(
        env_var(&env, "POD_IP")
            .and_then(|v| v.value_from.as_ref())
            .is_some()
    );
    assert_eq!(env.env_from.len(), 1);
}

#[test]
fn local_path_home_nb_user_replace_pod_values() {
    let env = from_pod(&pod(Z2JH_2020), &local(), &pinned()).expect("pod");
    let names = env_names(&env);
    assert_eq!(names[names.len() - 3..], ["PATH", "HOME", "NB_USER"]);
    assert_eq!(
        env_var(&env, "PATH").and_then(|v| v.value.as_deref()),
        Some("/opt/conda/envs/ml/bin:/usr/bin")
    );
}

#[test]
fn duplicate_env_names_keep_the_later_at_its_position() {
    let p = one_container(
        &json!({"name": "notebook", "image": "i", "env": [
            {"name": "A", "value": "1"},
            {"name": "PATH", "value": "/pod/bin"},
            {"name": "B", "value": "2"},
            {"name": "A", "value": "3"},
        ]}),
        None,
    );
    let env = from_pod(&p, &local(), &pinned()).expect("pod");
    assert_eq!(env_names(&env), ["B", "A", "PATH", "HOME", "NB_USER"]);
    assert_eq!(
        env_var(&env, "A").and_then(|v| v.value.as_deref()),
        Some("3")
    );
    assert_eq!(
        env_var(&env, "PATH").and_then(|v| v.value.as_deref()),
        Some("/opt/conda/envs/ml/bin:/usr/bin")
    );
}

// --- user ---

#[test]
fn user_prefers_the_hub_user_over_nb_user() {
    // NB_USER is the image's shared account (jovyan); the hub user names the person.
    let env = from_pod(&pod(Z2JH), &local(), &pinned()).expect("pod");
    assert_eq!(env.user.as_deref(), Some("alice"));
    let env = from_pod(&pod(Z2JH), &bare_local(), &pinned()).expect("pod");
    assert_eq!(env.user.as_deref(), Some("alice"));
}

#[test]
fn user_falls_back_to_local_nb_user() {
    let p = one_container(&json!({"name": "notebook", "image": "i"}), None);
    let env = from_pod(&p, &local(), &pinned()).expect("pod");
    assert_eq!(env.user.as_deref(), Some("jovyan"));
}

#[test]
fn user_falls_back_to_pod_nb_user() {
    let p = one_container(
        &json!({"name": "notebook", "image": "i", "env": [{"name": "NB_USER", "value": "bob"}]}),
        None,
    );
    let env = from_pod(&p, &bare_local(), &pinned()).expect("pod");
    assert_eq!(env.user.as_deref(), Some("bob"));
}

// --- errors ---

#[test]
fn pod_without_spec_is_an_error() {
    let p = pod_value(json!({"metadata": {"name": "p"}}));
    let err = from_pod(&p, &bare_local(), &pinned()).expect_err("no spec");
    assert_eq!(err, PodError::NoSpec { pod: "p".into() });
}

#[test]
fn pod_without_containers_is_an_error() {
    let p = pod_value(json!({"metadata": {"name": "p"}, "spec": {"containers": []}}));
    let err = from_pod(&p, &bare_local(), &pinned()).expect_err("no containers");
    assert_eq!(err, PodError::NoContainers { pod: "p".into() });
    assert!(err.to_string().contains("notebook's pod"));
}

#[test]
fn container_without_image_is_an_error() {
    let p = one_container(&json!({"name": "notebook"}), None);
    let err = from_pod(&p, &bare_local(), &pinned()).expect_err("no image");
    assert_eq!(
        err,
        PodError::NoImage {
            pod: "nb".into(),
            container: "notebook".into()
        }
    );
}
