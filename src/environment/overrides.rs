//! The config file's `spec:` block (the original tool's format: image, env, resources, volumes…)
//! and how it adjusts the environment taken from the notebook pod: env, volumes and
//! volumeMounts are appended, other keys replace. `resolve` is the whole environment: the pod,
//! then the config on top. Pure.

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::core::v1::{
    EnvVar, LocalObjectReference, Pod, ResourceRequirements, Volume, VolumeMount,
};
use serde::Deserialize;

use super::Environment;
use super::pod::{self, LocalContext, PodError, PodOptions, dedupe_env};

/// The `spec:` block. Kubernetes types are used so their fields are type-checked.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ConfigSpec {
    /// Replaces the notebook image; an explicit image is never digest-pinned.
    pub image: Option<String>,
    pub image_pull_policy: Option<String>,
    /// Added to the notebook's pull secrets (same name kept once).
    pub image_pull_secrets: Option<Vec<LocalObjectReference>>,
    /// Appended; a name that is already there is replaced (the config wins).
    pub env: Option<Vec<EnvVar>>,
    pub resources: Option<ResourceRequirements>,
    pub node_selector: Option<BTreeMap<String, String>>,
    pub run_as_user: Option<i64>,
    pub run_as_group: Option<i64>,
    pub service_account_name: Option<String>,
    /// Appended; a volume with the same name is replaced (pod volume names must be unique).
    pub volumes: Option<Vec<Volume>>,
    /// Appended; a mount at the same path is replaced (two mounts cannot share a path).
    pub volume_mounts: Option<Vec<VolumeMount>>,
}

/// The jobs' environment: the notebook pod, then the config's `spec` on top. `config_path`
/// names the file in a note when there is one. An explicit `spec.image` is never pinned.
pub(crate) fn resolve(
    pod: &Pod,
    local: &LocalContext,
    spec: &ConfigSpec,
    pin_image: bool,
    config_path: Option<&Path>,
) -> Result<Environment, PodError> {
    let pin_image = pin_image && spec.image.is_none();
    let mut env = pod::from_pod(pod, local, &PodOptions { pin_image })?;
    apply(spec, &mut env);
    for mount in spec.volume_mounts.iter().flatten() {
        if !env.volumes.iter().any(|v| v.name == mount.name) {
            return Err(PodError::ConfigMountWithoutVolume {
                volume: mount.name.clone(),
                mount_path: mount.mount_path.clone(),
            });
        }
    }
    if let Some(path) = config_path {
        env.notes
            .push(format!("applied config from {}", path.display()));
    }
    Ok(env)
}

/// Applies the `spec` block to an environment built from the pod. The caller adds a note
/// naming the file.
pub(crate) fn apply(config: &ConfigSpec, env: &mut Environment) {
    if let Some(image) = &config.image {
        // An explicit image replaces the pinned one; the pin note no longer applies.
        env.image.clone_from(image);
        env.notes
            .retain(|n| !n.starts_with("image pinned to") && !n.starts_with("image not pinned"));
    }
    if let Some(policy) = &config.image_pull_policy {
        env.image_pull_policy = Some(policy.clone());
    }
    for secret in config.image_pull_secrets.iter().flatten() {
        if !env.image_pull_secrets.iter().any(|s| s.name == secret.name) {
            env.image_pull_secrets.push(secret.clone());
        }
    }
    if let Some(vars) = &config.env {
        let mut all = std::mem::take(&mut env.env);
        all.extend(vars.iter().cloned());
        env.env = dedupe_env(all);
    }
    if let Some(resources) = &config.resources {
        env.resources = Some(resources.clone());
    }
    if let Some(selector) = &config.node_selector {
        env.node_selector.clone_from(selector);
    }
    if config.run_as_user.is_some() || config.run_as_group.is_some() {
        let sc = env.security_context.get_or_insert_with(Default::default);
        if let Some(uid) = config.run_as_user {
            sc.run_as_user = Some(uid);
        }
        if let Some(gid) = config.run_as_group {
            sc.run_as_group = Some(gid);
        }
    }
    if let Some(account) = &config.service_account_name {
        env.service_account_name = Some(account.clone());
    }
    for volume in config.volumes.iter().flatten() {
        env.volumes.retain(|v| v.name != volume.name);
        env.volumes.push(volume.clone());
    }
    for mount in config.volume_mounts.iter().flatten() {
        env.volume_mounts
            .retain(|m| m.mount_path != mount.mount_path);
        env.volume_mounts.push(mount.clone());
    }
}

#[cfg(test)]
mod tests;
