use std::path::Path;

use k8s_openapi::api::core::v1::EnvVar;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::*;

fn cfg_path() -> &'static Path {
    Path::new("/home/jovyan/.jupyterflow.yaml")
}

fn parse_ok(text: &str) -> ConfigFile {
    parse(text, cfg_path()).expect("config parses")
}

fn var(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        value_from: None,
    }
}

fn parse_err(text: &str) -> ConfigError {
    parse(text, cfg_path()).expect_err("config is rejected")
}

// --- parse ---

#[test]
fn empty_file_is_empty_config() {
    assert_eq!(parse_ok(""), ConfigFile::default());
    assert_eq!(parse_ok("# only comments\n"), ConfigFile::default());
    assert_eq!(parse_ok("spec:\n"), ConfigFile::default());
}

#[test]
fn full_original_spec_parses() {
    let config = parse_ok(
        "spec:
  image: me/nb:2
  imagePullPolicy: Always
  imagePullSecrets: [{name: regcred}]
  env: [{name: A, value: b}]
  resources: {requests: {cpu: 1}, limits: {memory: 4Gi}}
  nodeSelector: {k: v}
  runAsUser: 1000
  runAsGroup: 100
  serviceAccountName: sa
  volumes:
    - name: data
      persistentVolumeClaim: {claimName: data}
  volumeMounts:
    - name: data
      mountPath: /data
",
    );
    let spec = &config.spec;
    assert_eq!(spec.image.as_deref(), Some("me/nb:2"));
    assert_eq!(spec.image_pull_policy.as_deref(), Some("Always"));
    assert_eq!(spec.env.as_deref(), Some(&[var("A", "b")][..]));
    let resources = spec.resources.as_ref().expect("resources");
    // An integer quantity is accepted as its text.
    assert_eq!(
        resources.requests.as_ref().and_then(|r| r.get("cpu")),
        Some(&Quantity("1".into()))
    );
    assert_eq!(spec.run_as_user, Some(1000));
    assert_eq!(spec.run_as_group, Some(100));
    assert_eq!(spec.service_account_name.as_deref(), Some("sa"));
    assert_eq!(spec.volumes.as_ref().map(Vec::len), Some(1));
    assert_eq!(
        spec.volume_mounts
            .as_ref()
            .map(|m| m[0].mount_path.as_str()),
        Some("/data")
    );
}

#[test]
fn float_quantity_is_accepted() {
    let config = parse_ok("spec:\n  resources:\n    limits:\n      cpu: 0.5\n");
    let limits = config
        .spec
        .resources
        .and_then(|r| r.limits)
        .expect("limits");
    assert_eq!(limits.get("cpu"), Some(&Quantity("0.5".into())));
}

#[test]
fn extension_keys_parse() {
    let config = parse_ok(
        "backend: argo
argo_ui_url: https://argo.example.com
cron_schedule_field: schedule
namespace: team
log_dir: /tmp/logs
kill_grace_period: 1m30s
",
    );
    assert_eq!(config.backend, Some(Backend::Argo));
    assert_eq!(
        config.argo_ui_url.as_deref(),
        Some("https://argo.example.com")
    );
    assert_eq!(
        config.cron_schedule_field,
        Some(CronScheduleField::Schedule)
    );
    assert_eq!(config.namespace.as_deref(), Some("team"));
    assert_eq!(config.log_dir.as_deref(), Some("/tmp/logs"));
    assert_eq!(config.kill_grace_period.as_deref(), Some("1m30s"));
}

#[test]
fn unknown_top_level_key_has_line_and_suggestion() {
    let err = parse_err("backend: local\n\nnamepsace: x\n");
    let ConfigError::UnknownKey(unknown) = &err else {
        panic!("expected UnknownKey, got {err:?}");
    };
    assert_eq!(unknown.key, "namepsace");
    assert_eq!(unknown.within, "the config file");
    assert_eq!(unknown.line, Some(3));
    assert_eq!(unknown.suggestion.as_deref(), Some("namespace"));
    let message = err.to_string();
    assert!(
        message.starts_with("/home/jovyan/.jupyterflow.yaml:3:"),
        "{message}"
    );
    assert!(message.ends_with("did you mean `namespace`?"), "{message}");
}

#[test]
fn unknown_spec_key_suggests_camel_case() {
    let err = parse_err("spec:\n  image_pull_policy: Always\n");
    let ConfigError::UnknownKey(unknown) = &err else {
        panic!("expected UnknownKey, got {err:?}");
    };
    assert_eq!(unknown.within, "spec");
    assert_eq!(unknown.suggestion.as_deref(), Some("imagePullPolicy"));
    assert_eq!(unknown.line, Some(2));
}

#[test]
fn unknown_key_without_close_match_lists_expected() {
    let err = parse_err("zzz: 1\n");
    let message = err.to_string();
    assert!(
        message.contains("expected one of: spec, backend"),
        "{message}"
    );
}

#[test]
fn unknown_key_inside_kubernetes_object_is_found() {
    let err = parse_err("spec:\n  env:\n    - name: A\n      valu: b\n");
    assert_eq!(
        err,
        ConfigError::UnknownKey(Box::new(UnknownKey {
            path: cfg_path().to_owned(),
            key: "valu".into(),
            within: "spec.env[0]".into(),
            line: Some(4),
            column: None,
            suggestion: None,
            expected: Vec::new(),
        }))
    );
}

#[test]
fn unknown_key_in_volume_source_is_found() {
    let err = parse_err(
        "spec:\n  volumes:\n    - name: d\n      persistentVolumeClaim: {claimName: d, readonly: true}\n",
    );
    let ConfigError::UnknownKey(unknown) = &err else {
        panic!("expected UnknownKey, got {err:?}");
    };
    assert_eq!(
        (unknown.key.as_str(), unknown.within.as_str()),
        ("readonly", "spec.volumes[0].persistentVolumeClaim")
    );
}

#[test]
fn gpu_tolerations_parse_and_their_typos_are_found() {
    let config = parse_ok(
        "gpu_tolerations:\n  - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}\n  - {key: gpu, value: a100, effect: NoSchedule}\n",
    );
    assert_eq!(config.gpu_tolerations.len(), 2);
    assert_eq!(config.gpu_tolerations[1].value.as_deref(), Some("a100"));
    let err = parse_err("gpu_tolerations:\n  - key: nvidia.com/gpu\n    efect: NoSchedule\n");
    let ConfigError::UnknownKey(unknown) = &err else {
        panic!("expected UnknownKey, got {err:?}");
    };
    assert_eq!(
        (unknown.key.as_str(), unknown.within.as_str(), unknown.line),
        ("efect", "gpu_tolerations[0]", Some(3))
    );
    for (text, key, says) in [
        (
            "gpu_tolerations: [{key: a, operator: Is}]",
            "gpu_tolerations[0].operator",
            "Exists, Equal",
        ),
        (
            "gpu_tolerations: [{key: a, effect: NoRun}]",
            "gpu_tolerations[0].effect",
            "NoExecute",
        ),
        (
            "gpu_tolerations: [{effect: NoSchedule}]",
            "gpu_tolerations[0]",
            "without `key`",
        ),
        (
            "gpu_tolerations: [{key: a, operator: Exists, value: b}]",
            "gpu_tolerations[0].value",
            "takes no value",
        ),
    ] {
        let ConfigError::InvalidValue {
            key: got, message, ..
        } = parse_err(text)
        else {
            panic!("{text}: expected InvalidValue");
        };
        assert_eq!(got, key, "{text}");
        assert!(message.contains(says), "{text}: {message}");
    }
}

#[test]
fn null_values_inside_kubernetes_objects_are_not_unknown() {
    let config = parse_ok("spec:\n  env:\n    - name: A\n      value: ~\n");
    assert_eq!(config.spec.env.map(|e| e.len()), Some(1));
}

#[test]
fn bad_backend_is_a_syntax_error_with_line() {
    let err = parse_err("namespace: a\nbackend: cloud\n");
    let ConfigError::Syntax { line, message, .. } = &err else {
        panic!("expected Syntax, got {err:?}");
    };
    assert_eq!(*line, Some(2));
    assert!(message.contains("cloud"), "{message}");
}

#[test]
fn wrong_type_is_a_syntax_error() {
    let err = parse_err("spec:\n  runAsUser: root\n");
    assert!(
        matches!(err, ConfigError::Syntax { line: Some(2), .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("/home/jovyan/.jupyterflow.yaml: ")
    );
}

#[test]
fn broken_yaml_is_a_syntax_error() {
    let err = parse_err("spec: [\n");
    assert!(matches!(err, ConfigError::Syntax { .. }), "{err:?}");
}

#[test]
fn bad_duration_is_invalid() {
    let err = parse_err("kill_grace_period: soon\n");
    assert!(
        matches!(&err, ConfigError::InvalidValue { key, .. } if key == "kill_grace_period"),
        "{err:?}"
    );
    assert!(err.to_string().contains("like 10s"));
}

#[test]
fn bad_url_is_invalid() {
    let err = parse_err("argo_ui_url: argo.example.com\n");
    assert!(
        matches!(&err, ConfigError::InvalidValue { key, .. } if key == "argo_ui_url"),
        "{err:?}"
    );
}

#[test]
fn an_instance_id_must_be_a_label_value() {
    let config = parse("argo_instance_id: team-a\n", Path::new("c.yaml")).expect("valid");
    assert_eq!(config.argo_instance_id.as_deref(), Some("team-a"));
    for bad in ["\"team a\"", "\"\"", "-x"] {
        let err = parse_err(&format!("argo_instance_id: {bad}\n"));
        assert!(
            matches!(&err, ConfigError::InvalidValue { key, .. } if key == "argo_instance_id"),
            "{bad}: {err:?}"
        );
    }
}

#[test]
fn bad_pull_policy_is_invalid() {
    let err = parse_err("spec:\n  imagePullPolicy: always\n");
    assert!(
        matches!(&err, ConfigError::InvalidValue { key, .. } if key == "spec.imagePullPolicy"),
        "{err:?}"
    );
}

#[test]
fn empty_image_is_invalid() {
    let err = parse_err("spec:\n  image: ''\n");
    assert!(
        matches!(&err, ConfigError::InvalidValue { key, .. } if key == "spec.image"),
        "{err:?}"
    );
}

// --- template ---

#[test]
fn template_parses_as_empty_config() {
    assert_eq!(
        parse(template(), Path::new("template")).expect("template parses"),
        ConfigFile::default()
    );
}

/// Uncomments every line of the template that holds a key or list item.
fn uncommented_template() -> String {
    template()
        .lines()
        .map(|line| {
            let indent = line.len() - line.trim_start().len();
            let Some(rest) = line.trim_start().strip_prefix("# ") else {
                return line.to_owned();
            };
            let first = rest.trim_start().split(' ').next().unwrap_or_default();
            if first.ends_with(':') || first == "-" {
                format!("{}{rest}", &line[..indent])
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn template_uncommented_sets_every_key() {
    let text = uncommented_template();
    let config = parse(&text, Path::new("template")).expect("uncommented template parses");
    let spec = &config.spec;
    assert!(spec.image.is_some());
    assert!(spec.image_pull_policy.is_some());
    assert!(spec.image_pull_secrets.is_some());
    assert!(spec.env.is_some());
    assert!(spec.resources.is_some());
    assert!(spec.node_selector.is_some());
    assert!(spec.run_as_user.is_some());
    assert!(spec.run_as_group.is_some());
    assert!(spec.service_account_name.is_some());
    assert!(spec.volumes.is_some());
    assert!(spec.volume_mounts.is_some());
    assert_eq!(config.backend, Some(Backend::Auto));
    assert!(config.argo_ui_url.is_some());
    assert_eq!(
        config.cron_schedule_field,
        Some(CronScheduleField::Schedules)
    );
    assert!(config.namespace.is_some());
    assert!(config.log_dir.is_some());
    assert!(config.kill_grace_period.is_some());
    assert_eq!(config.job_supervisor, Some(true));
    assert_eq!(
        config.gpu_tolerations,
        vec![Toleration {
            key: Some("nvidia.com/gpu".into()),
            operator: Some("Exists".into()),
            effect: Some("NoSchedule".into()),
            ..Toleration::default()
        }]
    );
}

// --- finding and reading the file ---

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write temp file");
    path
}

#[test]
fn config_path_rules() {
    assert_eq!(
        config_path(Some("/etc/jf.yaml"), Some("/home/a")),
        Some(PathBuf::from("/etc/jf.yaml"))
    );
    assert_eq!(
        config_path(Some(""), Some("/home/a")),
        Some(PathBuf::from("/home/a/.jupyterflow.yaml"))
    );
    assert_eq!(
        config_path(None, Some("/home/a")),
        Some(PathBuf::from("/home/a/.jupyterflow.yaml"))
    );
    assert_eq!(config_path(None, None), None);
}

#[test]
fn missing_default_config_is_none() {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().to_str().expect("utf-8 temp dir");
    assert!(
        read_config(&dir.path().join(DEFAULT_CONFIG_FILE_NAME))
            .expect("missing is fine")
            .is_none()
    );
    assert!(load(None, Some(home)).expect("missing default").is_none());
}

#[test]
fn missing_explicit_config_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let named = dir.path().join("jf.yaml");
    let err = load(named.to_str(), None).expect_err("named file must exist");
    assert!(matches!(&err, LoadError::Missing { path } if *path == named));
    assert!(err.to_string().contains("$JUPYTERFLOW_CONFIG_FILE"));
}

#[test]
fn config_is_read_and_parse_errors_name_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().to_str().expect("utf-8 temp dir");
    write(dir.path(), DEFAULT_CONFIG_FILE_NAME, "namespace: team\n");
    let (path, config) = load(None, Some(home)).expect("reads").expect("present");
    assert_eq!(path, dir.path().join(DEFAULT_CONFIG_FILE_NAME));
    assert_eq!(config.namespace.as_deref(), Some("team"));

    let bad = write(dir.path(), "bad.yaml", "namespce: team\n");
    let err = read_config(&bad).expect_err("unknown key");
    assert!(matches!(err, LoadError::Config(ConfigError::UnknownKey(_))));
    assert!(err.to_string().contains("bad.yaml:1"), "{err}");
}

/// The platform guide's config snippets are config files this version reads.
#[test]
fn the_platform_guides_config_snippets_parse() {
    let guide = include_str!("../../../docs/platform.md");
    let snippets: Vec<&str> = guide
        .split("```yaml\n")
        .skip(1)
        .filter_map(|rest| rest.split_once("```").map(|(block, _)| block))
        .map(|block| block.trim_end_matches([' ', '\n']))
        .filter(|block| block.trim_start().starts_with("argo_instance_id:"))
        .collect();
    assert_eq!(snippets.len(), 1, "{snippets:?}");
    for snippet in snippets {
        let mut text = snippet
            .lines()
            .map(str::trim_start)
            .collect::<Vec<_>>()
            .join("\n");
        text.push('\n');
        let config = parse(&text, Path::new("platform.md")).expect("a valid config");
        assert!(config.argo_instance_id.is_some());
    }
}
