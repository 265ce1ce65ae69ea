//! Turning the notebook's own pod into an [`Environment`]: which container is the notebook,
//! which image to pin, which env/volumes/security settings carry over and which must not
//! (service-account token, JupyterHub credentials). Pure: the pod and the local process
//! context are given; `discover` does the reading.

use std::collections::BTreeSet;
use std::time::SystemTime;

use k8s_openapi::api::core::v1::{
    Container, EnvVar, Pod, PodSecurityContext, PodSpec, SecurityContext, Volume, VolumeMount,
};

use super::Environment;

/// Where Kubernetes mounts the pod's service-account token (and where jupyterflow looks for it,
/// unless `$JUPYTERFLOW_SERVICEACCOUNT_DIR` says otherwise). Jobs get their own token for their
/// own service account; copying the notebook's (`kube-api-access-*`, or the legacy
/// `default-token-*` secret) would pin a token that expires and belongs to another pod.
pub const SERVICE_ACCOUNT_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Containers injected next to the notebook by meshes, secret managers and proxies. They are
/// skipped when guessing which container is the notebook.
const KNOWN_SIDECARS: &[&str] = &[
    "istio-proxy",
    "linkerd-proxy",
    "vault-agent",
    "cloud-sql-proxy",
    "cloudsql-proxy",
    "oauth2-proxy",
    "kube-rbac-proxy",
    "envoy",
    "fluent-bit",
    "datadog-agent",
];

/// JupyterHub credentials: exact names. They authenticate the notebook server to the hub; a
/// job has no business holding them (and they would be written in clear into the Workflow).
const HUB_CREDENTIAL_NAMES: &[&str] = &[
    "JUPYTERHUB_API_TOKEN",
    "JPY_API_TOKEN",
    "JUPYTERHUB_CLIENT_ID",
];

/// JupyterHub credentials: name prefixes (OAuth scopes and callback, cookie settings).
const HUB_CREDENTIAL_PREFIXES: &[&str] =
    &["JUPYTERHUB_OAUTH_", "JUPYTERHUB_COOKIE_", "JPY_COOKIE_"];

/// What the current process knows that the pod does not: where the user is working and the
/// shell environment the notebook kernel actually runs with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalContext {
    /// Absolute directory jobs start in (the notebook's current directory).
    pub working_dir: String,
    /// `$PATH`: conda environments activated in the notebook live here, not in the pod spec.
    pub path: Option<String>,
    pub home: Option<String>,
    pub nb_user: Option<String>,
    /// uid and gid of `$NB_USER`, looked up locally; used when the pod sets no runAsUser.
    pub nb_user_ids: Option<(u32, u32)>,
}

/// Choices the user makes on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodOptions {
    /// Replace the image tag with the digest the notebook is running (`--no-pin-image` clears it).
    pub pin_image: bool,
}

impl Default for PodOptions {
    fn default() -> Self {
        Self { pin_image: true }
    }
}

/// Why a pod cannot serve as the jobs' environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PodError {
    #[error(
        "pod `{pod}` has no spec; pass the pod as the API returns it \
         (kubectl get pod {pod} -o json)"
    )]
    NoSpec { pod: String },
    #[error(
        "pod `{pod}` has no containers, so there is no notebook image to run jobs in; \
         check that this is the notebook's pod"
    )]
    NoContainers { pod: String },
    #[error(
        "container `{container}` of pod `{pod}` has no image; set `spec.image` in the \
         jupyterflow config file"
    )]
    NoImage { pod: String, container: String },
    #[error(
        "container `{container}` of pod `{pod}` mounts volume `{volume}` at `{mount_path}`, \
         but the pod has no such volume; check the pod spec"
    )]
    MissingVolume {
        pod: String,
        container: String,
        volume: String,
        mount_path: String,
    },
    #[error(
        "the config's spec.volumeMounts mounts volume `{volume}` at `{mount_path}`, but neither \
         the notebook pod nor the config's spec.volumes has a volume of that name; add it to \
         spec.volumes in the config file"
    )]
    ConfigMountWithoutVolume { volume: String, mount_path: String },
}

/// Builds the jobs' environment from the notebook pod and the local context.
pub fn from_pod(
    pod: &Pod,
    local: &LocalContext,
    options: &PodOptions,
) -> Result<Environment, PodError> {
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let spec = pod.spec.as_ref().ok_or_else(|| PodError::NoSpec {
        pod: pod_name.clone(),
    })?;
    let container = notebook_container(pod, spec).ok_or_else(|| PodError::NoContainers {
        pod: pod_name.clone(),
    })?;
    let spec_image = container
        .image
        .as_deref()
        .filter(|i| !i.is_empty())
        .ok_or_else(|| PodError::NoImage {
            pod: pod_name.clone(),
            container: container.name.clone(),
        })?;

    let mut notes = Vec::new();
    let image = choose_image(pod, container, spec_image, options.pin_image, &mut notes);

    let (env, left_out) = carry_env(container.env.as_deref().unwrap_or_default(), local);
    if !left_out.is_empty() {
        notes.push(format!(
            "left out {} JupyterHub credential variable{}: {}",
            left_out.len(),
            if left_out.len() == 1 { "" } else { "s" },
            left_out.join(", ")
        ));
    }
    // The hub user names the person (`alice`); NB_USER is the image's account (`jovyan`),
    // the same for everyone, so it only stands in when there is no hub.
    let user = env_value(container, "JUPYTERHUB_USER")
        .or_else(|| local.nb_user.clone())
        .or_else(|| env_value(container, "NB_USER"));

    let (volume_mounts, volumes) = carry_volumes(&pod_name, container, spec)?;
    let (security_context, container_security_context) = split_security(
        spec.security_context.as_ref(),
        container.security_context.as_ref(),
        local,
    );

    Ok(Environment {
        pod_name,
        namespace: pod.metadata.namespace.clone(),
        container_name: container.name.clone(),
        image,
        image_pull_policy: container.image_pull_policy.clone(),
        env,
        env_from: container.env_from.clone().unwrap_or_default(),
        resources: container.resources.clone(),
        notebook_gpus: super::resources::gpus(container.resources.as_ref()),
        volume_mounts,
        volumes,
        image_pull_secrets: spec.image_pull_secrets.clone().unwrap_or_default(),
        node_selector: spec.node_selector.clone().unwrap_or_default(),
        tolerations: spec.tolerations.clone().unwrap_or_default(),
        // Set by the caller from the config and the namespace's NetworkPolicies.
        gpu_tolerations: Vec::new(),
        pod_labels: std::collections::BTreeMap::new(),
        affinity: spec.affinity.clone(),
        // `serviceAccount` is the deprecated alias; older API servers may fill only it.
        service_account_name: spec
            .service_account_name
            .clone()
            .or_else(|| spec.service_account.clone()),
        security_context,
        container_security_context,
        working_dir: local.working_dir.clone(),
        user,
        node_name: spec.node_name.clone(),
        container_started: container_started(pod, &container.name),
        setup: None,
        // Decided later, from where this jupyterflow binary lives (`supervisor`).
        supervisor: None,
        notes,
    })
}

/// When container `name` of `pod` started running (`status.containerStatuses[].state.running`).
fn container_started(pod: &Pod, name: &str) -> Option<SystemTime> {
    let started = pod
        .status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|s| s.name == name)?
        .state
        .as_ref()?
        .running
        .as_ref()?
        .started_at
        .as_ref()?;
    Some(SystemTime::from(started.0))
}

/// The notebook container: JupyterHub names it `notebook`; Kubeflow names it after the
/// Notebook (label `notebook-name`); meshes point `kubectl` at it with the default-container
/// annotation. Failing those, the first container that is not a known sidecar.
fn notebook_container<'a>(pod: &Pod, spec: &'a PodSpec) -> Option<&'a Container> {
    let containers = &spec.containers;
    let by_name = |name: &str| containers.iter().find(|c| c.name == name);
    let label = pod
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("notebook-name"));
    let annotation = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("kubectl.kubernetes.io/default-container"));
    by_name("notebook")
        .or_else(|| label.and_then(|n| by_name(n)))
        .or_else(|| annotation.and_then(|n| by_name(n)))
        .or_else(|| {
            containers
                .iter()
                .find(|c| !KNOWN_SIDECARS.contains(&c.name.as_str()))
        })
        .or_else(|| containers.first())
}

/// The image jobs run in. Pinning by digest makes every job run exactly the bits the notebook
/// runs, even if the tag moves (`latest`) between the notebook's start and the job's.
fn choose_image(
    pod: &Pod,
    container: &Container,
    spec_image: &str,
    pin_image: bool,
    notes: &mut Vec<String>,
) -> String {
    if !pin_image || spec_image.contains('@') {
        return spec_image.to_owned();
    }
    let image_id = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|statuses| statuses.iter().find(|s| s.name == container.name))
        .map(|s| s.image_id.as_str());
    if let Some(digest) = image_id.and_then(registry_digest) {
        let pinned = format!("{}@{digest}", repository(spec_image));
        notes.push(format!(
            "image pinned to {pinned} (from the running notebook; --no-pin-image keeps the tag)"
        ));
        pinned
    } else {
        notes.push(format!(
            "image not pinned: the pod status has no registry digest for container `{}`, \
             so jobs use the tag {spec_image}",
            container.name
        ));
        spec_image.to_owned()
    }
}

/// The `sha256:…` manifest digest in a container status `imageID`, if it is one a registry
/// can serve. containerd reports `repo@sha256:…`, dockershim `docker-pullable://repo@sha256:…`;
/// a bare `sha256:…` (or `docker://sha256:…`) is a local image ID, not pullable, so it is
/// refused rather than producing an image reference no node could pull.
fn registry_digest(image_id: &str) -> Option<&str> {
    let (_, digest) = image_id.rsplit_once('@')?;
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(digest)
}

/// The image reference without its tag. A `:` only starts a tag after the last `/`:
/// in `host:5000/repo:tag` the first `:` is the registry port.
fn repository(image: &str) -> &str {
    let name_start = image.rfind('/').map_or(0, |i| i + 1);
    match image[name_start..].rfind(':') {
        Some(colon) => &image[..name_start + colon],
        None => image,
    }
}

fn is_hub_credential(name: &str) -> bool {
    HUB_CREDENTIAL_NAMES.contains(&name)
        || HUB_CREDENTIAL_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The notebook env minus hub credentials, then PATH/HOME/NB_USER from the current process,
/// with unique names. Returns the names left out, in pod order.
fn carry_env(pod_env: &[EnvVar], local: &LocalContext) -> (Vec<EnvVar>, Vec<String>) {
    let mut left_out = Vec::new();
    let mut env = Vec::with_capacity(pod_env.len() + 3);
    for var in pod_env {
        if is_hub_credential(&var.name) {
            left_out.push(var.name.clone());
        } else {
            // Cloned whole: values stay byte-exact and `valueFrom` stays a reference (secrets
            // are resolved by Kubernetes in the job pod, never read by us).
            env.push(var.clone());
        }
    }
    let locals = [
        ("PATH", &local.path),
        ("HOME", &local.home),
        ("NB_USER", &local.nb_user),
    ];
    for (name, value) in locals {
        if let Some(value) = value {
            env.push(EnvVar {
                name: name.to_owned(),
                // Pod env values are in Kubernetes' form, where `$(X)` expands and `$$` is a
                // `$`; these come from a live process and are literal.
                value: Some(value.replace('$', "$$")),
                value_from: None,
            });
        }
    }
    (dedupe_env(env), left_out)
}

/// Keeps only the last entry of each name, at that last entry's position: a later definition
/// (process over pod, config over both) is the one the user means.
pub(crate) fn dedupe_env(env: Vec<EnvVar>) -> Vec<EnvVar> {
    let mut seen = BTreeSet::new();
    let mut kept: Vec<EnvVar> = env
        .into_iter()
        .rev()
        .filter(|v| seen.insert(v.name.clone()))
        .collect();
    kept.reverse();
    kept
}

fn env_value(container: &Container, name: &str) -> Option<String> {
    container
        .env
        .as_ref()?
        .iter()
        .rev()
        .find(|v| v.name == name)
        .and_then(|v| v.value.clone())
        .filter(|v| !v.is_empty())
}

fn is_service_account_mount(mount: &VolumeMount) -> bool {
    mount
        .mount_path
        .trim_end_matches('/')
        .strip_prefix(SERVICE_ACCOUNT_MOUNT_PATH)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The notebook's mounts (minus the service-account token) and the pod volumes they use, in
/// pod order. Other projected tokens (Kubeflow's pipeline token) are deliberate and kept.
fn carry_volumes(
    pod_name: &str,
    container: &Container,
    spec: &PodSpec,
) -> Result<(Vec<VolumeMount>, Vec<Volume>), PodError> {
    let mounts: Vec<VolumeMount> = container
        .volume_mounts
        .iter()
        .flatten()
        .filter(|m| !is_service_account_mount(m))
        .cloned()
        .collect();
    let pod_volumes = spec.volumes.as_deref().unwrap_or_default();
    for mount in &mounts {
        if !pod_volumes.iter().any(|v| v.name == mount.name) {
            return Err(PodError::MissingVolume {
                pod: pod_name.to_owned(),
                container: container.name.clone(),
                volume: mount.name.clone(),
                mount_path: mount.mount_path.clone(),
            });
        }
    }
    let used: BTreeSet<&str> = mounts.iter().map(|m| m.name.as_str()).collect();
    let volumes = pod_volumes
        .iter()
        .filter(|v| used.contains(v.name.as_str()))
        .cloned()
        .collect();
    Ok((mounts, volumes))
}

/// Pod-level context with the container's uid/gid moved in (the container's win, as in
/// Kubernetes), and the rest of the container context. Jobs must write files as the notebook
/// user, so when neither sets a uid the local `$NB_USER` ids stand in, as the original tool did.
fn split_security(
    pod: Option<&PodSecurityContext>,
    container: Option<&SecurityContext>,
    local: &LocalContext,
) -> (Option<PodSecurityContext>, Option<SecurityContext>) {
    let mut pod_sc = pod.cloned().unwrap_or_default();
    let mut container_sc = container.cloned().unwrap_or_default();
    if let Some(uid) = container_sc.run_as_user.take() {
        pod_sc.run_as_user = Some(uid);
    }
    if let Some(gid) = container_sc.run_as_group.take() {
        pod_sc.run_as_group = Some(gid);
    }
    if pod_sc.run_as_user.is_none()
        && let Some((uid, gid)) = local.nb_user_ids
    {
        pod_sc.run_as_user = Some(i64::from(uid));
        pod_sc.run_as_group.get_or_insert(i64::from(gid));
    }
    let pod_sc = (pod_sc != PodSecurityContext::default()).then_some(pod_sc);
    let container_sc = (container_sc != SecurityContext::default()).then_some(container_sc);
    (pod_sc, container_sc)
}

#[cfg(test)]
mod tests;
