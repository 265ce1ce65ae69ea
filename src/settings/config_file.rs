//! The user's config file (`$JUPYTERFLOW_CONFIG_FILE`, else `~/.jupyterflow.yaml`): its format
//! (the original tool's `spec:` block plus our top-level keys), its parsing with positioned,
//! did-you-mean errors, and how its `spec` adjusts an [`Environment`]. Pure: `discover` reads
//! the file.

use std::io;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{
    EnvVar, LocalObjectReference, ResourceRequirements, Toleration, Volume, VolumeMount,
};
use serde::Deserialize;

use crate::environment::discover::{CONFIG_FILE_CAP, read_capped};

pub(crate) use crate::argo::CronScheduleField;
pub(crate) use crate::environment::drift::DriftPolicy;
pub(crate) use crate::environment::overrides::ConfigSpec;

/// The whole config file. Every key is optional; an empty file is an empty config.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    /// Adjustments to the jobs' pod, in the original tool's format.
    #[serde(default, deserialize_with = "null_as_default")]
    pub spec: ConfigSpec,
    pub backend: Option<Backend>,
    /// Base URL of the Argo UI, for links to submitted workflows.
    pub argo_ui_url: Option<String>,
    pub cron_schedule_field: Option<CronScheduleField>,
    /// What `run` does about packages installed after the notebook started.
    pub drift: Option<DriftPolicy>,
    /// The `instanceID` of the Argo controller to run on, when the cluster's controller has one.
    pub argo_instance_id: Option<String>,
    /// Namespace to submit to, when not the notebook's.
    pub namespace: Option<String>,
    /// Where the local backend writes job logs.
    pub log_dir: Option<String>,
    /// How long a cancelled local job gets between SIGTERM and SIGKILL (`10s`, `1m30s`).
    pub kill_grace_period: Option<String>,
    /// Whether cluster jobs run under `jupyterflow exec-job`, which keeps their logs on the
    /// shared volume (default true).
    pub job_supervisor: Option<bool>,
    /// Tolerations added to every job that asks for a GPU (GPU node pools are usually tainted
    /// `nvidia.com/gpu:NoSchedule`), unless it has the same one already.
    #[serde(default, deserialize_with = "null_as_default")]
    pub gpu_tolerations: Vec<Toleration>,
}

/// Where jobs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Backend {
    Local,
    Argo,
    /// Argo when running in a pod that can reach the cluster, else local.
    Auto,
}

/// What is wrong with a config file. Every variant names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ConfigError {
    /// Boxed: it carries the most context, and keeps every `Result` small.
    #[error(transparent)]
    UnknownKey(Box<UnknownKey>),
    #[error("{}: {message}", .path.display())]
    Syntax {
        path: PathBuf,
        /// The parser's message, which includes the line and column when known.
        message: String,
        line: Option<u64>,
        column: Option<u64>,
    },
    #[error("{}: invalid `{key}`: {message}", .path.display())]
    InvalidValue {
        path: PathBuf,
        key: String,
        message: String,
    },
}

/// A key the config format does not have: usually a typo, so the message offers the closest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{}{}: unknown key `{key}` in {within}{}",
    .path.display(),
    position(*.line, *.column),
    did_you_mean(.suggestion.as_deref(), .expected)
)]
pub(crate) struct UnknownKey {
    pub path: PathBuf,
    pub key: String,
    /// `the config file`, `spec`, or a path like `spec.env[0]`.
    pub within: String,
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub suggestion: Option<String>,
    /// The keys allowed there, when known (empty for keys inside Kubernetes objects).
    pub expected: Vec<String>,
}

fn position(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

fn did_you_mean(suggestion: Option<&str>, expected: &[String]) -> String {
    match suggestion {
        Some(s) => format!("; did you mean `{s}`?"),
        None if !expected.is_empty() => format!("; expected one of: {}", expected.join(", ")),
        None => String::new(),
    }
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Parses a config file's text. `path` is only used in error messages.
pub(crate) fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
    let config: ConfigFile =
        match serde_saphyr::from_str_with_options::<Option<ConfigFile>>(text, yaml_options()) {
            Ok(config) => config.unwrap_or_default(),
            Err(e) => return Err(from_yaml_error(&e, text, path)),
        };
    check_nested_keys(text, path)?;
    validate(&config, path)?;
    Ok(config)
}

/// Parser options. The default budget buffers only 32 comments while looking for a key's
/// value, so `spec:` followed by a commented-out block (our own template, uncommented in part)
/// failed with "too many buffered comments". Config files are small and the user's own.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_buffered_comment_events: 4096,
        },
    }
}

/// Turns a parser error into ours; unknown keys get a did-you-mean. (The parser wraps its
/// errors with a source snippet; the variant is inside.)
fn from_yaml_error(e: &serde_saphyr::Error, text: &str, path: &Path) -> ConfigError {
    let location = e.location();
    let line = location.map(|l| l.line());
    let column = location.map(|l| l.column());
    if let serde_saphyr::Error::SerdeUnknownField {
        field, expected, ..
    } = e.without_snippet()
    {
        let expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        let within = if expected.iter().any(|k| k == "imagePullPolicy") {
            "spec"
        } else {
            "the config file"
        };
        return ConfigError::UnknownKey(Box::new(UnknownKey {
            path: path.to_owned(),
            key: field.clone(),
            within: within.to_owned(),
            line: line.or_else(|| find_key_line(text, field)),
            column,
            suggestion: crate::pipeline::error::suggest(field, expected.iter().map(String::as_str)),
            expected,
        }));
    }
    ConfigError::Syntax {
        path: path.to_owned(),
        message: e.without_snippet().to_string(),
        line,
        column,
    }
}

/// Kubernetes types accept and drop unknown keys, so a typo like `valu:` inside an env entry
/// would silently do nothing. Re-reading the text untyped and comparing its keys with what the
/// typed config serialises back finds them.
fn check_nested_keys(text: &str, path: &Path) -> Result<(), ConfigError> {
    // Both reads already succeeded once as `ConfigFile`; failing here only skips the check.
    #[derive(Deserialize)]
    struct Raw {
        spec: Option<serde_json::Value>,
        gpu_tolerations: Option<serde_json::Value>,
    }
    #[derive(Deserialize, serde::Serialize)]
    struct Typed {
        spec: Option<ConfigSpecOut>,
        gpu_tolerations: Option<Vec<Toleration>>,
    }
    let (Ok(Some(raw)), Ok(Some(typed))) = (
        serde_saphyr::from_str_with_options::<Option<Raw>>(text, yaml_options()),
        serde_saphyr::from_str_with_options::<Option<Typed>>(text, yaml_options()),
    ) else {
        return Ok(());
    };
    let Ok(typed_spec) = serde_json::to_value(&typed.spec) else {
        return Ok(());
    };
    let Ok(typed_tolerations) = serde_json::to_value(&typed.gpu_tolerations) else {
        return Ok(());
    };
    let unknown = raw
        .spec
        .as_ref()
        .and_then(|raw| first_unknown_key(raw, &typed_spec, "spec"))
        .or_else(|| {
            raw.gpu_tolerations
                .as_ref()
                .and_then(|raw| first_unknown_key(raw, &typed_tolerations, "gpu_tolerations"))
        });
    if let Some((within, key)) = unknown {
        return Err(ConfigError::UnknownKey(Box::new(UnknownKey {
            path: path.to_owned(),
            line: find_key_line(text, &key),
            column: None,
            key,
            within,
            suggestion: None,
            expected: Vec::new(),
        })));
    }
    Ok(())
}

/// `ConfigSpec` fields that hold Kubernetes objects, re-serialisable for the key comparison.
#[derive(Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigSpecOut {
    image_pull_secrets: Option<Vec<LocalObjectReference>>,
    env: Option<Vec<EnvVar>>,
    resources: Option<ResourceRequirements>,
    volumes: Option<Vec<Volume>>,
    volume_mounts: Option<Vec<VolumeMount>>,
}

/// The first key in `raw` that the typed round trip `typed` lost, as (where, key).
/// Only objects inside the Kubernetes-typed fields are compared; top-level spec keys are
/// checked by serde already. Null values are skipped: they deserialise to `None` and vanish.
fn first_unknown_key(
    raw: &serde_json::Value,
    typed: &serde_json::Value,
    at: &str,
) -> Option<(String, String)> {
    use serde_json::Value;
    match (raw, typed) {
        (Value::Object(raw), Value::Object(typed)) => raw.iter().find_map(|(key, value)| {
            if value.is_null() {
                return None;
            }
            match typed.get(key) {
                Some(t) => first_unknown_key(value, t, &format!("{at}.{key}")),
                // At the spec level only the typed fields were round-tripped.
                None if at == "spec" => None,
                None => Some((at.to_owned(), key.clone())),
            }
        }),
        (Value::Array(raw), Value::Array(typed)) => raw
            .iter()
            .zip(typed)
            .enumerate()
            .find_map(|(i, (r, t))| first_unknown_key(r, t, &format!("{at}[{i}]"))),
        _ => None,
    }
}

/// The line of the first `key:` that starts a line (after indentation and `- `). Best effort:
/// keys inside flow mappings (`{a: b}`) are not found, and the error then has no line.
fn find_key_line(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .position(|line| {
            let rest = line.trim_start().trim_start_matches(['-', ' ']);
            rest.strip_prefix(key)
                .is_some_and(|after| after.trim_start().starts_with(':'))
        })
        .and_then(|i| u64::try_from(i + 1).ok())
}

fn validate(config: &ConfigFile, path: &Path) -> Result<(), ConfigError> {
    let invalid = |key: &str, message: String| ConfigError::InvalidValue {
        path: path.to_owned(),
        key: key.to_owned(),
        message,
    };
    if let Some(url) = &config.argo_ui_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        return Err(invalid(
            "argo_ui_url",
            format!("`{url}` is not an http(s) URL; write it like https://argo.example.com"),
        ));
    }
    if let Some(id) = &config.argo_instance_id
        && (id.is_empty() || !crate::argo::labels::is_label_value(id))
    {
        return Err(invalid(
            "argo_instance_id",
            format!(
                "`{id}` cannot be a label value (at most 63 letters, digits, `-`, `_`, `.`, starting and ending with a letter or digit); use the controller's `instanceID` as is"
            ),
        ));
    }
    if let Some(period) = &config.kill_grace_period
        && crate::time::parse_duration(period).is_err()
    {
        return Err(invalid(
            "kill_grace_period",
            format!("`{period}` is not a duration; write it like 10s, 2m or 1m30s"),
        ));
    }
    if let Some(policy) = &config.spec.image_pull_policy
        && !["Always", "IfNotPresent", "Never"].contains(&policy.as_str())
    {
        return Err(invalid(
            "spec.imagePullPolicy",
            format!("`{policy}` is not one of Always, IfNotPresent, Never"),
        ));
    }
    if let Some(resources) = &config.spec.resources {
        for (which, map) in [
            ("limits", &resources.limits),
            ("requests", &resources.requests),
        ] {
            for (name, quantity) in map.iter().flatten() {
                if crate::pipeline::quantity::parse(&quantity.0).is_none() {
                    return Err(invalid(
                        &format!("spec.resources.{which}.{name}"),
                        format!(
                            "`{}` is not a Kubernetes quantity; write it like 500m, 2, 4Gi or 1e3",
                            quantity.0
                        ),
                    ));
                }
            }
        }
    }
    for (key, id) in [
        ("spec.runAsUser", config.spec.run_as_user),
        ("spec.runAsGroup", config.spec.run_as_group),
    ] {
        if let Some(id) = id
            && id < 0
        {
            return Err(invalid(
                key,
                format!("{id} is negative; user and group ids are 0 or more"),
            ));
        }
    }
    check_gpu_tolerations(&config.gpu_tolerations, path)?;
    if config.spec.image.as_deref().is_some_and(str::is_empty) {
        return Err(invalid(
            "spec.image",
            "the image is empty; remove the key to use the notebook's image".to_owned(),
        ));
    }
    Ok(())
}

/// The config's `gpu_tolerations`, checked as the API server checks a pod's tolerations.
fn check_gpu_tolerations(tolerations: &[Toleration], path: &Path) -> Result<(), ConfigError> {
    let invalid = |key: &str, message: String| ConfigError::InvalidValue {
        path: path.to_owned(),
        key: key.to_owned(),
        message,
    };
    for (i, toleration) in tolerations.iter().enumerate() {
        let key = format!("gpu_tolerations[{i}]");
        let exists = toleration.operator.as_deref() == Some("Exists");
        if let Some(operator) = &toleration.operator
            && operator != "Exists"
            && operator != "Equal"
        {
            return Err(invalid(
                &format!("{key}.operator"),
                format!("`{operator}` is not one of Exists, Equal"),
            ));
        }
        if let Some(effect) = toleration.effect.as_deref().filter(|e| !e.is_empty())
            && !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect)
        {
            return Err(invalid(
                &format!("{key}.effect"),
                format!("`{effect}` is not one of NoSchedule, PreferNoSchedule, NoExecute"),
            ));
        }
        if toleration.key.as_deref().is_none_or(str::is_empty) && !exists {
            return Err(invalid(
                &key,
                "a toleration without `key` must have `operator: Exists` (it then tolerates every taint)".to_owned(),
            ));
        }
        if exists && toleration.value.as_deref().is_some_and(|v| !v.is_empty()) {
            return Err(invalid(
                &format!("{key}.value"),
                "`operator: Exists` takes no value; remove `value`, or use `operator: Equal`"
                    .to_owned(),
            ));
        }
    }
    Ok(())
}

/// The config file's name in `$HOME` when `$JUPYTERFLOW_CONFIG_FILE` is not set.
pub(crate) const DEFAULT_CONFIG_FILE_NAME: &str = ".jupyterflow.yaml";

/// Why the config file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "config file {} (named by $JUPYTERFLOW_CONFIG_FILE) does not exist; \
         create it (`jupyterflow config --generate-config`) or unset the variable",
        .path.display()
    )]
    Missing { path: PathBuf },
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Where the config file is: `$JUPYTERFLOW_CONFIG_FILE` when set and non-empty, else
/// `$HOME/.jupyterflow.yaml`, else nowhere.
pub(crate) fn config_path(env_config_file: Option<&str>, home: Option<&str>) -> Option<PathBuf> {
    match (env_config_file, home) {
        (Some(file), _) if !file.is_empty() => Some(PathBuf::from(file)),
        (_, Some(home)) if !home.is_empty() => Some(Path::new(home).join(DEFAULT_CONFIG_FILE_NAME)),
        _ => None,
    }
}

/// Reads and parses a config file. A missing file is `Ok(None)`: that is right for the
/// default `~/.jupyterflow.yaml`, which most users never create. When the path came from
/// `$JUPYTERFLOW_CONFIG_FILE` the user asked for that file, so the caller should turn `None`
/// into [`LoadError::Missing`]; [`load`] does exactly that.
pub(crate) fn read_config(path: &Path) -> Result<Option<ConfigFile>, LoadError> {
    let text = match read_capped(path, CONFIG_FILE_CAP) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(LoadError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    Ok(Some(parse(&text, path)?))
}

/// Finds and reads the config file with the rule above: the default file may be missing, an
/// explicitly named one may not. Returns the path read, for the "applied config from" note.
pub(crate) fn load(
    env_config_file: Option<&str>,
    home: Option<&str>,
) -> Result<Option<(PathBuf, ConfigFile)>, LoadError> {
    let Some(path) = config_path(env_config_file, home) else {
        return Ok(None);
    };
    let explicit = env_config_file.is_some_and(|f| !f.is_empty());
    match read_config(&path)? {
        Some(config) => Ok(Some((path, config))),
        None if explicit => Err(LoadError::Missing { path }),
        None => Ok(None),
    }
}

/// A commented config with every key, for `jupyterflow config --generate-config`.
pub(crate) fn template() -> &'static str {
    TEMPLATE
}

const TEMPLATE: &str = r"# jupyterflow config: $JUPYTERFLOW_CONFIG_FILE, else ~/.jupyterflow.yaml
# Every key is optional. Jobs run in the notebook pod's image, env, volumes and working
# directory; `spec` adjusts that.

spec:
  # Image for the jobs. Replaces the notebook's image (which is otherwise pinned by digest).
  # image: jupyter/datascience-notebook:2023-10-20
  # imagePullPolicy: IfNotPresent        # Always | IfNotPresent | Never
  # imagePullSecrets:                     # added to the notebook's
  #   - name: regcred
  # env:                                  # added; a name already set is replaced
  #   - name: MLFLOW_TRACKING_URI
  #     value: http://mlflow:5000
  # resources:                            # replaces the notebook's
  #   requests: {cpu: 1, memory: 2Gi}
  #   limits: {memory: 4Gi}
  # nodeSelector:                         # replaces the notebook's
  #   cloud.google.com/gke-nodepool: batch-pool
  # runAsUser: 1000                       # replaces the notebook's uid
  # runAsGroup: 100
  # serviceAccountName: default           # jobs' service account
  # volumes:                              # added to the notebook's
  #   - name: datasets
  #     persistentVolumeClaim: {claimName: datasets}
  # volumeMounts:                         # added; a mount at the same path is replaced
  #   - name: datasets
  #     mountPath: /data

# Where jobs run: local | argo | auto (argo inside a cluster, else local).
# backend: auto

# Argo UI base URL, for links to submitted workflows.
# argo_ui_url: https://argo.example.com

# CronWorkflow schedule field: schedules (Argo >= 3.6) | schedule (older controllers).
# cron_schedule_field: schedules

# Packages pip or conda installed in the notebook after it started are missing in job pods
# (they start from the image): warn | refuse | replay (each job installs exactly those
# versions first, from wheels saved under .jupyterflow/wheels) | ignore.
# drift: warn

# The instanceID of the Argo controller to run on, when it was started with one
# (a controller with an instanceID ignores every workflow without it).
# argo_instance_id: team-a

# Namespace to submit to (default: the notebook's).
# namespace: jhub

# Directory for local job logs.
# log_dir: ~/.jupyterflow/logs

# Time a cancelled local job gets between SIGTERM and SIGKILL.
# kill_grace_period: 10s

# Cluster jobs run under `jupyterflow exec-job`, which passes their output on unchanged and
# keeps a copy (and each job's exit) in .jupyterflow/runs/<run> on the shared volume, so
# `logs` and `get` still work once Argo has removed the pods or the Workflow. `false` runs
# each job's command directly, as before; its logs then live in its pod only.
# job_supervisor: true

# Tolerations added to every job that asks for a GPU, unless it has the same one already
# (jobs inherit the notebook's GPUs; `gpu: 0` in a job's resources drops them). GPU node
# pools are usually tainted nvidia.com/gpu:NoSchedule.
# gpu_tolerations:
#   - key: nvidia.com/gpu
#     operator: Exists
#     effect: NoSchedule
";

#[cfg(test)]
mod tests;
