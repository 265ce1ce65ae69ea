use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvVar, LocalObjectReference, PodSecurityContext};

use super::*;
use crate::settings::config_file::{ConfigFile, parse};

/// The config file's `spec` comes from YAML in real use; these tests read it the same way.
fn parse_ok(text: &str) -> ConfigFile {
    parse(text, Path::new("/home/jovyan/.jupyterflow.yaml")).expect("config parses")
}

fn var(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        value_from: None,
    }
}

fn base_env() -> Environment {
    Environment {
        image: "jupyter/base-notebook@sha256:00".into(),
        env: vec![var("A", "pod"), var("PATH", "/opt/conda/bin")],
        image_pull_secrets: vec![LocalObjectReference {
            name: "regcred".into(),
        }],
        node_selector: BTreeMap::from([("pool".into(), "user".into())]),
        security_context: Some(PodSecurityContext {
            fs_group: Some(100),
            run_as_user: Some(1000),
            ..PodSecurityContext::default()
        }),
        service_account_name: Some("default".into()),
        notes: vec!["image pinned to jupyter/base-notebook@sha256:00 (…)".into()],
        ..Environment::default()
    }
}

// --- apply ---

#[test]
fn image_replaces_and_drops_pin_note() {
    let mut env = base_env();
    let spec = ConfigSpec {
        image: Some("me/nb:2".into()),
        ..ConfigSpec::default()
    };
    apply(&spec, &mut env);
    assert_eq!(env.image, "me/nb:2");
    assert!(env.notes.is_empty(), "{:?}", env.notes);
}

#[test]
fn empty_spec_changes_nothing() {
    let mut env = base_env();
    apply(&ConfigSpec::default(), &mut env);
    assert_eq!(env, base_env());
}

#[test]
fn env_is_appended_and_config_wins() {
    let mut env = base_env();
    let spec = ConfigSpec {
        env: Some(vec![var("A", "config"), var("B", "new")]),
        ..ConfigSpec::default()
    };
    apply(&spec, &mut env);
    assert_eq!(
        env.env,
        vec![
            var("PATH", "/opt/conda/bin"),
            var("A", "config"),
            var("B", "new")
        ]
    );
}

#[test]
fn scalars_and_maps_replace() {
    let mut env = base_env();
    let spec = parse_ok(
        "spec:
  imagePullPolicy: Always
  resources: {limits: {memory: 4Gi}}
  nodeSelector: {gpu: 'true'}
  runAsUser: 2000
  runAsGroup: 200
  serviceAccountName: runner
",
    )
    .spec;
    apply(&spec, &mut env);
    assert_eq!(env.image_pull_policy.as_deref(), Some("Always"));
    assert_eq!(env.resources, spec.resources);
    assert_eq!(
        env.node_selector,
        BTreeMap::from([("gpu".to_owned(), "true".to_owned())])
    );
    let sc = env.security_context.expect("security context");
    assert_eq!(
        (sc.run_as_user, sc.run_as_group, sc.fs_group),
        (Some(2000), Some(200), Some(100))
    );
    assert_eq!(env.service_account_name.as_deref(), Some("runner"));
}

#[test]
fn run_as_user_creates_security_context() {
    let mut env = Environment::default();
    let spec = ConfigSpec {
        run_as_user: Some(1000),
        ..ConfigSpec::default()
    };
    apply(&spec, &mut env);
    assert_eq!(env.security_context.and_then(|s| s.run_as_user), Some(1000));
}

#[test]
fn pull_secrets_are_added_once() {
    let mut env = base_env();
    let spec = parse_ok("spec:\n  imagePullSecrets: [{name: regcred}, {name: other}]\n").spec;
    apply(&spec, &mut env);
    let names: Vec<_> = env
        .image_pull_secrets
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["regcred", "other"]);
}

#[test]
fn volumes_and_mounts_are_appended_same_name_or_path_replaced() {
    let mut env = base_env();
    env.volumes =
        parse_ok("spec:\n  volumes: [{name: home, emptyDir: {}}, {name: scratch, emptyDir: {}}]\n")
            .spec
            .volumes
            .unwrap_or_default();
    env.volume_mounts =
        parse_ok("spec:\n  volumeMounts: [{name: home, mountPath: /home/jovyan}]\n")
            .spec
            .volume_mounts
            .unwrap_or_default();
    let spec = parse_ok(
        "spec:
  volumes:
    - {name: scratch, persistentVolumeClaim: {claimName: scratch}}
    - {name: data, persistentVolumeClaim: {claimName: data}}
  volumeMounts:
    - {name: data, mountPath: /data}
    - {name: scratch, mountPath: /home/jovyan}
",
    )
    .spec;
    apply(&spec, &mut env);
    let volumes: Vec<_> = env.volumes.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(volumes, ["home", "scratch", "data"]);
    assert!(env.volumes[1].persistent_volume_claim.is_some());
    let mounts: Vec<_> = env
        .volume_mounts
        .iter()
        .map(|m| (m.name.as_str(), m.mount_path.as_str()))
        .collect();
    assert_eq!(mounts, [("data", "/data"), ("scratch", "/home/jovyan")]);
}
